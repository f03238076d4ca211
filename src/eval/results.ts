// lm-eval-shaped results files: results[task][metric] (+ "<metric>_stderr"), versions, config,
// n-samples, and the protocol/seed/BOS/truncations that decide whether two files compare.
// The MMLU group row is the unweighted mean of its subjects. Not here: tables (compare.ts).

import { FormatError } from "../errors.js";
import { mean } from "./metrics.js";
import type { TaskDatasetSource } from "./dataset-manifest.js";
import type { TaskResult } from "./runner.js";
import type { ScorerDescription } from "./scorer.js";
import type { ProtocolName } from "./task.js";

export interface ResultsFile {
  results: Record<string, Record<string, number | null>>;
  versions: Record<string, number>;
  config: {
    model: string;
    backend: string;
    bos: boolean;
    protocol: ProtocolName;
    seed: number;
    limit: number | null;
    /** "repo@commit" per dataset, comma-separated; "unknown" when none was recorded */
    datasetRevision: string;
    /** task → the repo and commit its data was pulled at ("unknown" without a manifest) */
    datasets?: Record<string, TaskDatasetSource>;
    shots: Record<string, number>;
    scorer: ScorerDescription;
  };
  "n-samples": Record<string, { original: number; effective: number }>;
  protocol: ProtocolName;
  seed: number;
  bos: boolean;
  truncations: Record<string, number>;
}

export interface ResultsMeta {
  scorer: ScorerDescription;
  protocol: ProtocolName;
  seed: number;
  limit?: number;
  /** dataset revision(s) the data was pulled at; "unknown" when not recorded */
  datasetRevision?: string;
  /** task → where its data came from (dataset-manifest.ts); also summarised into datasetRevision */
  datasets?: Record<string, TaskDatasetSource>;
}

/** "org/a@<commit>, org/b@unknown" over the distinct repo/commit pairs; "unknown" when nothing is known. */
export function summarizeDatasetRevisions(datasets: Readonly<Record<string, TaskDatasetSource>>): string {
  const pairs = new Set(Object.values(datasets).map((d) => `${d.repo}@${d.commit}`));
  if (![...pairs].some((p) => !p.endsWith("@unknown"))) return "unknown";
  return [...pairs].sort().join(", ");
}

export function buildResults(taskResults: readonly TaskResult[], meta: ResultsMeta): ResultsFile {
  const results: ResultsFile["results"] = Object.create(null);
  const versions: ResultsFile["versions"] = Object.create(null);
  const nSamples: ResultsFile["n-samples"] = Object.create(null);
  const truncations: ResultsFile["truncations"] = Object.create(null);
  const shots: Record<string, number> = Object.create(null);
  for (const r of taskResults) {
    const row: Record<string, number | null> = Object.create(null);
    for (const [metric, value] of Object.entries(r.metrics)) {
      row[metric] = value;
      row[`${metric}_stderr`] = r.stderr[metric] ?? null;
    }
    results[r.task] = row;
    versions[r.task] = r.version;
    nSamples[r.task] = r.nSamples;
    truncations[r.task] = r.truncations;
    shots[r.task] = r.shots;
  }
  const subjects = taskResults.filter((r) => r.task.startsWith("mmlu_"));
  if (subjects.length > 0) {
    results.mmlu = { acc: mean(subjects.map((r) => r.metrics.acc ?? NaN)) };
    // acc_norm only when every subject has it (results from before it was reported lack it)
    if (subjects.every((r) => r.metrics.acc_norm !== undefined)) results.mmlu.acc_norm = mean(subjects.map((r) => r.metrics.acc_norm!));
    versions.mmlu = subjects[0]!.version;
    nSamples.mmlu = {
      original: subjects.reduce((n, r) => n + r.nSamples.original, 0),
      effective: subjects.reduce((n, r) => n + r.nSamples.effective, 0),
    };
    truncations.mmlu = subjects.reduce((n, r) => n + r.truncations, 0);
  }
  return {
    results,
    versions,
    config: {
      model: meta.scorer.model,
      backend: meta.scorer.backend,
      bos: meta.scorer.bos,
      protocol: meta.protocol,
      seed: meta.seed,
      limit: meta.limit ?? null,
      datasetRevision: meta.datasetRevision ?? (meta.datasets ? summarizeDatasetRevisions(meta.datasets) : "unknown"),
      ...(meta.datasets ? { datasets: meta.datasets } : {}),
      shots,
      scorer: meta.scorer,
    },
    "n-samples": nSamples,
    protocol: meta.protocol,
    seed: meta.seed,
    bos: meta.scorer.bos,
    truncations,
  };
}

/** Checks the parts of a results file that `compare` reads; errors name the file and field. */
export function parseResultsFile(text: string, file: string): ResultsFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new FormatError("EVAL_RESULTS_JSON", "not valid JSON", { file, actual: e instanceof Error ? e.message : String(e) });
  }
  const obj = parsed as Partial<ResultsFile> | null;
  if (typeof obj !== "object" || obj === null || typeof obj.results !== "object" || obj.results === null) {
    throw new FormatError("EVAL_RESULTS_SHAPE", "not a results file", { file, field: "results", expected: "object", hint: "Pass files written by `dusk eval`." });
  }
  if (obj.protocol !== "v1" && obj.protocol !== "v0.4") {
    throw new FormatError("EVAL_RESULTS_SHAPE", "unknown protocol", { file, field: "protocol", expected: '"v1" or "v0.4"', actual: JSON.stringify(obj.protocol) });
  }
  if (typeof obj.config !== "object" || obj.config === null || typeof obj.config.model !== "string") {
    throw new FormatError("EVAL_RESULTS_SHAPE", "missing model name", { file, field: "config.model", expected: "string" });
  }
  return obj as ResultsFile;
}
