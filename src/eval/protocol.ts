// Document order and few-shot draws for the two protocols, the part that decides which prompts
// a model sees. v1 (lm-eval b281b09, the leaderboard): one Random(42) shuffles the docs, then the
// same generator draws each doc's shots as it advances. v0.4: dataset order, fresh Random(1234).
// Not here: prompt text (tasks), scoring (runner).

import { EvalError } from "../errors.js";
import { PythonRandom } from "./python-random.js";
import { assembleContext, type EvalTask, type ProtocolName } from "./task.js";

export const PROTOCOL_SEEDS: Readonly<Record<ProtocolName, number>> = { v1: 42, "v0.4": 1234 };

export interface PreparedDoc<D> {
  /** position in the protocol's order (lm-eval's doc_id) */
  docId: number;
  /** row index in the eval split file */
  datasetIndex: number;
  doc: D;
  context: string;
}

export interface PrepareOptions {
  protocol: ProtocolName;
  /** shots per doc; the task's default when undefined */
  shots?: number;
  /** first N docs after the protocol's ordering */
  limit?: number;
}

/**
 * The docs to score, in order, each with its assembled context. v1 draws happen here, in
 * sequence, even for docs a resumed run will skip: later shots depend on earlier draws.
 * `shotDocs` must be in dataset order; when shots come from the eval split itself, pass the
 * same array (k+1 are drawn and the doc itself removed, as lm-eval does).
 */
export function prepareDocs<D>(task: EvalTask<D>, evalDocs: readonly D[], shotDocs: readonly D[], opts: PrepareOptions): PreparedDoc<D>[] {
  const k = opts.shots ?? task.defaultShots;
  if (!Number.isSafeInteger(k) || k < 0) throw new EvalError("EVAL_BAD_SHOTS", `--shots must be a non-negative integer, got ${k}`);
  if (k > 0 && task.shotSelection === "none") {
    throw new EvalError("EVAL_BAD_SHOTS", `${task.name} is zero-shot only (got --shots ${k})`, { hint: "Drop --shots for this task." });
  }
  if (k > 0 && task.shotSelection === "sample" && k > shotDocs.length) {
    throw new EvalError("EVAL_BAD_SHOTS", `${task.name}: cannot draw ${k} shots from ${shotDocs.length} documents`);
  }
  if (opts.limit !== undefined && (!Number.isSafeInteger(opts.limit) || opts.limit < 1)) {
    throw new EvalError("EVAL_BAD_LIMIT", `--limit must be a positive integer, got ${opts.limit}`);
  }
  const rnd = new PythonRandom(PROTOCOL_SEEDS[opts.protocol]);
  const order = evalDocs.map((_, i) => i);
  if (opts.protocol === "v1") rnd.shuffle(order);
  const count = Math.min(order.length, opts.limit ?? order.length);
  const sameSplit = shotDocs === evalDocs;
  const out: PreparedDoc<D>[] = [];
  for (let docId = 0; docId < count; docId++) {
    const datasetIndex = order[docId]!;
    const doc = evalDocs[datasetIndex]!;
    let shots: D[] = [];
    if (k > 0 && task.shotSelection === "first-n") {
      shots = shotDocs.slice(0, k);
    } else if (k > 0 && task.shotSelection === "sample") {
      // lm-eval compares docs by value; the same object is the same row here.
      shots = sameSplit ? rnd.sample(shotDocs, Math.min(k + 1, shotDocs.length)).filter((s) => s !== doc).slice(0, k) : rnd.sample(shotDocs, k);
    }
    out.push({ docId, datasetIndex, doc, context: assembleContext(task, shots, doc) });
  }
  return out;
}
