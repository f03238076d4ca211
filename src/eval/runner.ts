// Runs one task against a Scorer: loads its data, orders docs and draws shots per protocol,
// sends each doc's requests in batches, scores, logs samples, and aggregates — as an async
// generator of events the CLI draws (progress with done/total, per-sample, final result).
// Not here: printing, progress bars, backends, result files (results.ts).

import { lockOutput, type OutputLock } from "../build/durable-write.js";
import { outputError } from "../build/output-errors.js";
import { stat } from "node:fs/promises";
import { EvalError } from "../errors.js";
import { loadSplit } from "./dataset.js";
import { meanStderr, mean } from "./metrics.js";
import { PROTOCOL_SEEDS, prepareDocs, type PreparedDoc } from "./protocol.js";
import { checkResumable, readSampleLog, SampleLogWriter, type SampleLogHeader, type SampleRecord } from "./sample-log.js";
import type { EvalRequest, GenerateRequest, LoglikelihoodRequest, Scorer } from "./scorer.js";
import type { EvalTask, ProtocolName, ScorerResponse } from "./task.js";

export interface RunTaskOptions {
  /** directory laid out as the Hub: DIR/<repo>/<dir>/<split>-00000-of-00001.parquet (unused by built tasks) */
  dataDir?: string;
  protocol: ProtocolName;
  shots?: number;
  limit?: number;
  /** requests per scorer call (docs are never split across calls); default 32 */
  batchSize?: number;
  /** JSONL sample log; with `resume`, docs already in it are not scored again */
  sampleLog?: string;
  resume?: boolean;
}

export interface TaskResult {
  task: string;
  version: number;
  protocol: ProtocolName;
  seed: number;
  shots: number;
  /** metric → mean over docs */
  metrics: Record<string, number>;
  /** metric → lm-eval's stderr of the mean (null below two docs) */
  stderr: Record<string, number | null>;
  /** docs in the split, docs scored (after --limit) */
  nSamples: { original: number; effective: number };
  /** requests whose prompt the scorer cut from the left */
  truncations: number;
  /** docs taken from an existing sample log instead of being scored */
  resumed: number;
}

export type EvalEvent =
  | { type: "progress"; task: string; done: number; total: number }
  | { type: "sample"; task: string; record: SampleRecord }
  | { type: "result"; task: string; result: TaskResult };

export async function* runTask<D>(task: EvalTask<D>, scorer: Scorer, opts: RunTaskOptions): AsyncGenerator<EvalEvent, TaskResult> {
  const shots = opts.shots ?? task.defaultShots;
  const batchSize = opts.batchSize ?? 32;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new EvalError("EVAL_BAD_BATCH", `batch size must be a positive integer, got ${batchSize}`);
  const { evalDocs, shotDocs } = await loadDocs(task, opts.dataDir, shots);
  const prepared = prepareDocs(task, evalDocs, shotDocs, { protocol: opts.protocol, shots, ...(opts.limit === undefined ? {} : { limit: opts.limit }) });
  const header: SampleLogHeader = {
    type: "header",
    task: task.name,
    version: task.version,
    protocol: opts.protocol,
    seed: PROTOCOL_SEEDS[opts.protocol],
    shots,
    limit: opts.limit ?? null,
    ...(task.dataset.kind === "built" ? { built: task.dataset.description } : {}),
  };

  const done = new Map<number, SampleRecord>();
  let writer: SampleLogWriter | undefined;
  let lock: OutputLock | undefined;
  if (opts.sampleLog !== undefined) {
    // One writer per log: a second `dusk eval --samples` of the same file is refused, not interleaved.
    lock = await lockOutput(opts.sampleLog, { purpose: "dusk eval (sample log)" });
    try {
      const exists = await stat(opts.sampleLog).then((s) => s.isFile(), () => false);
      let resumeAt: number | undefined;
      if (opts.resume && exists) {
        const existing = await readSampleLog(opts.sampleLog);
        checkResumable(opts.sampleLog, existing.header, header);
        for (const p of prepared) {
          const rec = existing.samples.get(p.docId);
          if (rec !== undefined && rec.task === task.name) done.set(p.docId, rec);
        }
        resumeAt = existing.validBytes;
      }
      writer = await SampleLogWriter.open(opts.sampleLog, header, resumeAt);
    } catch (e) {
      await lock.release();
      throw outputError(e, opts.sampleLog, false);
    }
  }
  const resumed = done.size;

  try {
    yield { type: "progress", task: task.name, done: done.size, total: prepared.length };
    const pending = prepared.filter((p) => !done.has(p.docId));
    for (const batch of batchesOf(pending, (p) => task.buildRequests(p.doc, p.context, opts.protocol), batchSize)) {
      const responses = await score(scorer, batch.flatMap((b) => b.requests));
      let at = 0;
      for (const { item, requests } of batch) {
        const own = responses.slice(at, at + requests.length);
        at += requests.length;
        const record = toRecord(task, item, requests, own, opts.protocol);
        done.set(item.docId, record);
        await writer?.append(record);
        yield { type: "sample", task: task.name, record };
      }
      yield { type: "progress", task: task.name, done: done.size, total: prepared.length };
    }
  } finally {
    await writer?.close();
    await lock?.release();
  }

  const records = prepared.map((p) => done.get(p.docId)!);
  const metrics: Record<string, number> = {};
  const stderr: Record<string, number | null> = {};
  for (const name of task.metricNames) {
    const values = records.map((r) => r.metrics[name]);
    if (values.some((v) => typeof v !== "number")) {
      throw new EvalError("EVAL_SAMPLE_LOG_METRIC", `${task.name}: a logged sample lacks metric "${name}"`, { hint: "Delete the sample log and run the task again." });
    }
    metrics[name] = mean(values as number[]);
    stderr[name] = meanStderr(values as number[]);
  }
  const result: TaskResult = {
    task: task.name,
    version: task.version,
    protocol: opts.protocol,
    seed: PROTOCOL_SEEDS[opts.protocol],
    shots,
    metrics,
    stderr,
    nSamples: { original: evalDocs.length, effective: prepared.length },
    truncations: records.reduce((n, r) => n + (r.truncated ?? 0), 0),
    resumed,
  };
  yield { type: "result", task: task.name, result };
  return result;
}

/** The eval docs and shot pool: built in memory, or parsed from the split files under `dataDir`. */
async function loadDocs<D>(task: EvalTask<D>, dataDir: string | undefined, shots: number): Promise<{ evalDocs: readonly D[]; shotDocs: readonly D[] }> {
  const dataset = task.dataset;
  if (dataset.kind === "built") return { evalDocs: dataset.docs, shotDocs: [] };
  if (dataDir === undefined) {
    throw new EvalError("EVAL_NO_DATA", `${task.name} reads its documents from a data directory, and none was given`, {
      hint: `Fetch them with \`dusk data pull --tasks ${task.group ?? task.name} --to ./datasets\`, then pass --data ./datasets.`,
    });
  }
  const evalDocs = (await loadSplit(dataDir, task as EvalTask<unknown>, dataset.evalSplit)).map((r) => task.parseDoc(r));
  const shotSplit = dataset.shotSplit;
  if (shots === 0 || shotSplit === undefined) return { evalDocs, shotDocs: [] };
  // the same array when shots come from the eval split: prepareDocs then removes the doc itself
  if (shotSplit === dataset.evalSplit) return { evalDocs, shotDocs: evalDocs };
  return { evalDocs, shotDocs: (await loadSplit(dataDir, task as EvalTask<unknown>, shotSplit)).map((r) => task.parseDoc(r)) };
}

interface BatchItem<D> {
  item: PreparedDoc<D>;
  requests: EvalRequest[];
}

/** Groups whole docs until a batch holds at least `size` requests. */
function* batchesOf<D>(items: readonly PreparedDoc<D>[], build: (p: PreparedDoc<D>) => EvalRequest[], size: number): Generator<BatchItem<D>[]> {
  let batch: BatchItem<D>[] = [];
  let count = 0;
  for (const item of items) {
    const requests = build(item);
    batch.push({ item, requests });
    count += requests.length;
    if (count >= size) {
      yield batch;
      batch = [];
      count = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

/** Sends loglikelihood and generate requests in one call per kind, and checks the answers' count. */
async function score(scorer: Scorer, requests: readonly EvalRequest[]): Promise<ScorerResponse[]> {
  const ll: LoglikelihoodRequest[] = [];
  const gen: GenerateRequest[] = [];
  for (const r of requests) (r.kind === "loglikelihood" ? ll : gen).push(r as never);
  const llOut = ll.length > 0 ? await scorer.loglikelihood(ll) : [];
  const genOut = gen.length > 0 ? await scorer.generate(gen) : [];
  if (llOut.length !== ll.length || genOut.length !== gen.length) {
    throw new EvalError("EVAL_SCORER_COUNT", `scorer ${scorer.name} answered ${llOut.length + genOut.length} of ${requests.length} requests`, {
      hint: "A Scorer must return one result per request, in order.",
    });
  }
  let i = 0;
  let j = 0;
  return requests.map((r) => (r.kind === "loglikelihood" ? llOut[i++]! : genOut[j++]!));
}

function toRecord<D>(task: EvalTask<D>, p: PreparedDoc<D>, requests: EvalRequest[], responses: ScorerResponse[], protocol: ProtocolName): SampleRecord {
  const scored = task.score(p.doc, responses, protocol);
  const contexts = requests.map((r) => r.context);
  const record: SampleRecord = {
    type: "sample",
    task: task.name,
    docId: p.docId,
    datasetIndex: p.datasetIndex,
    prompt: p.context,
    continuations: requests.map((r) => (r.kind === "loglikelihood" ? r.continuation : "")),
    choices: task.choices(p.doc),
    prediction: scored.prediction,
    gold: scored.gold,
    metrics: scored.metrics,
    truncated: responses.filter((r) => r.truncated === true).length,
  };
  if (contexts.some((c) => c !== p.context)) record.contexts = contexts;
  if (responses.every((r) => "logprob" in r)) {
    record.loglikelihoods = responses.map((r) => ("logprob" in r ? r.logprob : NaN));
    record.greedy = responses.map((r) => ("greedy" in r ? r.greedy : false));
  } else {
    record.generation = responses.map((r) => ("text" in r ? r.text : "")).join("");
  }
  return record;
}
