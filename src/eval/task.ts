// What an evaluation task is: where its data lives, how a document becomes prompt strings and
// requests, and how the answers become per-document metrics. The six leaderboard tasks implement
// it in tasks/*.ts. Not here: document order and shot draws (protocol.ts), running (runner.ts).

import type { EvalRequest, GenerateResult, LoglikelihoodResult } from "./scorer.js";
import type { DatasetRow } from "./dataset-row.js";
import { accuracy, argmax, normalizedAccuracy } from "./metrics.js";

export type ProtocolName = "v1" | "v0.4";

/** Where the split files of a task live, relative to the data directory: `${repo}/${dir}/${split}-00000-of-00001.parquet`. */
export interface TaskDataset {
  readonly kind?: "files";
  /** HF dataset repo, e.g. "allenai/ai2_arc" */
  readonly repo: string;
  /** HF config name (what `load_dataset` takes), e.g. "ARC-Challenge"; undefined when none */
  readonly config: string | undefined;
  /** the folder under the repo that holds the split files ("data" for hellaswag, else the config) */
  readonly dir: string;
  readonly evalSplit: string;
  /** where shots come from; undefined for zero-shot-only tasks */
  readonly shotSplit: string | undefined;
}

/**
 * Documents a task built in memory (nextline builds them from a text) instead of reading split
 * files: such a task needs no data directory, and `dusk data pull` has nothing to fetch for it.
 */
export interface BuiltDataset<D> {
  readonly kind: "built";
  readonly docs: readonly D[];
  /** how the documents were built (source text hash, seed, counts), recorded with the results */
  readonly description: string;
}

/** How shots are chosen: `sample` draws with rnd.sample; `first-n` takes the first k rows (MMLU dev). */
export type ShotSelection = "sample" | "first-n" | "none";

export interface DocScore {
  /** per-document metric values (0/1 for accuracies, a probability for mc2) */
  metrics: Record<string, number>;
  /** what the model chose: an index, or the extracted answer string */
  prediction: number | string;
  gold: number | string;
}

export type ScorerResponse = LoglikelihoodResult | GenerateResult;

export interface EvalTask<D = unknown> {
  readonly name: string;
  /** the name a user asks for when it differs (every MMLU subject belongs to "mmlu") */
  readonly group?: string;
  /** lm-eval's task VERSION, recorded in results */
  readonly version: number;
  readonly dataset: TaskDataset | BuiltDataset<D>;
  readonly defaultShots: number;
  readonly shotSelection: ShotSelection;
  readonly metricNames: readonly string[];
  /** the metric the Open LLM Leaderboard v1 reports for this task */
  readonly leaderboardMetric: string;
  /** validates a dataset row; errors name the file, row and field */
  parseDoc(row: DatasetRow): D;
  /** a line put before the shots, followed by "\n\n" (MMLU) */
  description(): string | undefined;
  docToText(doc: D): string;
  /** what follows the text in a shot, including its leading delimiter (" " + answer) */
  docToTarget(doc: D): string;
  /** `context` is the assembled few-shot prompt ending in this doc's text */
  buildRequests(doc: D, context: string, protocol: ProtocolName): EvalRequest[];
  /** the strings being compared, for sample logs (choices, or the gold answer for generation) */
  choices(doc: D): string[];
  score(doc: D, responses: readonly ScorerResponse[], protocol: ProtocolName): DocScore;
}

/**
 * lm-eval's fewshot_context: description + "\n\n", then the shots (text + target) joined by
 * "\n\n", then "\n\n" when there are shots, then the document's own text.
 */
export function assembleContext<D>(task: EvalTask<D>, shots: readonly D[], doc: D): string {
  const description = task.description();
  const head = description ? description + "\n\n" : "";
  const labeled = shots.length > 0 ? shots.map((s) => task.docToText(s) + task.docToTarget(s)).join("\n\n") + "\n\n" : "";
  return head + labeled + task.docToText(doc);
}

/** One continuation per choice, each `delimiter` + choice (lm-eval's target_delimiter), all on the same context. */
export function choiceRequests(context: string, choices: readonly string[], delimiter = " "): EvalRequest[] {
  return choices.map((c) => ({ kind: "loglikelihood", context, continuation: delimiter + c }));
}

/** The log-likelihoods of a doc's loglikelihood responses, in request order. */
export function logprobsOf(responses: readonly ScorerResponse[]): number[] {
  return responses.map((r) => {
    if (!("logprob" in r)) throw new TypeError("expected loglikelihood results, got a generation");
    return r.logprob;
  });
}

/** A document that is a query with answer choices, one of them gold. */
export interface ChoiceDoc {
  query: string;
  choices: string[];
  gold: number;
}

/**
 * The parts ARC, HellaSwag and nextline share: no description, the query as text, each choice
 * scored as `delimiter` + choice on the same context (" " for the leaderboard tasks), and
 * acc / acc_norm (acc_norm divides by the choice's length in code points, without the delimiter).
 */
export function choiceTaskParts<D extends ChoiceDoc>(delimiter = " "): Pick<EvalTask<D>, "description" | "docToText" | "docToTarget" | "buildRequests" | "choices" | "score"> {
  return {
    description: () => undefined,
    docToText: (doc) => doc.query,
    docToTarget: (doc) => delimiter + doc.choices[doc.gold]!,
    buildRequests: (doc, context) => choiceRequests(context, doc.choices, delimiter),
    choices: (doc) => doc.choices,
    score(doc, responses) {
      const lls = logprobsOf(responses);
      return {
        metrics: { acc: accuracy(lls, doc.gold), acc_norm: normalizedAccuracy(lls, doc.choices, doc.gold) },
        prediction: argmax(lls),
        gold: doc.gold,
      };
    },
  };
}
