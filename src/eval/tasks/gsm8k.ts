// GSM8K (openai/gsm8k "main", test, 5-shot from train): greedy generation, scored by the v1 rule
// (`acc`: the first "#### N" of completion and gold, commas removed) and v0.4's strict-match and
// flexible-extract exact matches. Stop strings depend on the protocol.

import { invalidValue, stringField, type DatasetRow } from "../dataset.js";
import { extractGsm8kAnswer, flexibleExtractFilter, gsm8kExactMatch, INVALID_ANSWER, strictMatchFilter } from "../metrics.js";
import { cutAtStopStrings } from "../scorer.js";
import type { EvalTask, ProtocolName } from "../task.js";

/** v1 (b281b09) stops at ":" too, which cuts many answers short; v0.4 at "Question:" and EOS markers. */
export const GSM8K_STOP_STRINGS: Readonly<Record<ProtocolName, readonly string[]>> = {
  v1: [":", "Question:", "Question"],
  "v0.4": ["Question:", "</s>", "<|im_end|>"],
};

export const GSM8K_MAX_TOKENS = 256;

export interface Gsm8kDoc {
  question: string;
  answer: string;
  goldAnswer: string;
}

export const gsm8k: EvalTask<Gsm8kDoc> = {
  name: "gsm8k",
  version: 0,
  dataset: { repo: "openai/gsm8k", config: "main", dir: "main", evalSplit: "test", shotSplit: "train" },
  defaultShots: 5,
  shotSelection: "sample",
  metricNames: ["acc", "strict_match", "flexible_extract"],
  leaderboardMetric: "acc",
  parseDoc(row: DatasetRow): Gsm8kDoc {
    const answer = stringField(row, "answer");
    const goldAnswer = extractGsm8kAnswer(answer);
    if (goldAnswer === INVALID_ANSWER) throw invalidValue(row, "answer", 'a "#### N" line', JSON.stringify(answer.slice(-60)));
    return { question: stringField(row, "question"), answer, goldAnswer };
  },
  description: () => undefined,
  docToText: (doc) => "Question: " + doc.question + "\nAnswer:",
  docToTarget: (doc) => " " + doc.answer,
  buildRequests: (_doc, context, protocol) => [
    { kind: "generate", context, until: GSM8K_STOP_STRINGS[protocol], maxTokens: GSM8K_MAX_TOKENS },
  ],
  choices: (doc) => [doc.goldAnswer],
  score(doc, responses, protocol) {
    const r = responses[0];
    if (r === undefined || !("text" in r)) throw new TypeError("gsm8k expects one generation per document");
    const text = cutAtStopStrings(r.text, GSM8K_STOP_STRINGS[protocol]);
    const prediction = extractGsm8kAnswer(text);
    return {
      metrics: {
        acc: prediction === doc.goldAnswer ? 1 : 0,
        strict_match: gsm8kExactMatch(strictMatchFilter(text), doc.answer),
        flexible_extract: gsm8kExactMatch(flexibleExtractFilter(text), doc.answer),
      },
      prediction,
      gold: doc.goldAnswer,
    };
  },
};
