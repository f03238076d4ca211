// Winogrande (allenai/winogrande "winogrande_xl", validation, 5-shot from train, acc) with
// partial scoring: one context per option (the sentence up to "_" with the option filled in),
// one shared continuation (the rest of the sentence); shots are complete sentences.

import { invalidValue, stringField, type DatasetRow } from "../dataset.js";
import { argmax } from "../metrics.js";
import { pythonStrip } from "../python-strings.js";
import { logprobsOf, type EvalTask } from "../task.js";

export interface WinograndeDoc {
  sentence: string;
  options: [string, string];
  /** 0 or 1 */
  gold: number;
  /** index of "_" in the sentence (UTF-16 units; slicing with it matches Python's) */
  blank: number;
}

export function winograndePartialContext(doc: WinograndeDoc, option: string): string {
  return doc.sentence.slice(0, doc.blank) + option;
}

export function winograndePartialTarget(doc: WinograndeDoc): string {
  return " " + pythonStrip(doc.sentence.slice(doc.blank + 1));
}

/**
 * lm-eval's append_context: split the assembled context on "\n\n", drop the last piece (this
 * doc's text with the correct option), and put the partial context for `option` in its place.
 */
function replaceLastPiece(context: string, partial: string): string {
  const pieces = context.split("\n\n");
  pieces.pop();
  return pieces.length > 0 ? [...pieces, partial].join("\n\n") : partial;
}

export const winogrande: EvalTask<WinograndeDoc> = {
  name: "winogrande",
  version: 0,
  dataset: { repo: "allenai/winogrande", config: "winogrande_xl", dir: "winogrande_xl", evalSplit: "validation", shotSplit: "train" },
  defaultShots: 5,
  shotSelection: "sample",
  metricNames: ["acc"],
  leaderboardMetric: "acc",
  parseDoc(row: DatasetRow): WinograndeDoc {
    const sentence = stringField(row, "sentence");
    const blank = sentence.indexOf("_");
    if (blank === -1) throw invalidValue(row, "sentence", 'a "_" blank', JSON.stringify(sentence.slice(0, 80)));
    const answer = stringField(row, "answer");
    if (answer !== "1" && answer !== "2") throw invalidValue(row, "answer", '"1" or "2"', JSON.stringify(answer));
    return { sentence, options: [stringField(row, "option1"), stringField(row, "option2")], gold: Number(answer) - 1, blank };
  },
  description: () => undefined,
  docToText: (doc) => winograndePartialContext(doc, doc.options[doc.gold]!),
  docToTarget: (doc) => winograndePartialTarget(doc),
  buildRequests: (doc, context) =>
    doc.options.map((option) => ({
      kind: "loglikelihood" as const,
      context: replaceLastPiece(context, winograndePartialContext(doc, option)),
      continuation: winograndePartialTarget(doc),
    })),
  choices: (doc) => [...doc.options],
  score(doc, responses) {
    const lls = logprobsOf(responses);
    const prediction = argmax(lls);
    return { metrics: { acc: prediction === doc.gold ? 1 : 0 }, prediction, gold: doc.gold };
  },
};
