// The record `dusk data pull` leaves beside a dataset (DIR/<org>/<name>/.dusk-dataset.json): which
// repo, which revision was asked for, which commit it resolved to, and per file the commit and size
// it was fetched at — so `dusk eval` can say which data it scored. Not here: downloading (src/hub),
// reading rows (dataset.ts).
//
// Shape (format 1): { format: 1, repo, revision, commit, pulled_at,
//                     files: { "<path in repo>": { revision, commit, size, pulled_at } } }
// The top-level revision/commit/pulled_at are those of the latest pull; `files` accumulates over
// pulls (pulling mmlu after arc into the same DIR keeps both), each file keeping its own commit.

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeFileDurably } from "../build/durable-write.js";
import { FormatError } from "../errors.js";
import { taskDataFiles } from "./dataset.js";
import type { EvalTask } from "./task.js";

export const DATASET_MANIFEST_NAME = ".dusk-dataset.json";
/** a manifest is a few hundred bytes per file; MMLU's 57 subjects × 2 splits stay far below this */
const MANIFEST_MAX_BYTES = 16 * 1024 * 1024;
const COMMIT = /^[0-9a-f]{40}$/;

export interface ManifestFile {
  /** the revision asked for when this file was pulled ("main", a tag, a commit) */
  revision: string;
  /** the 40-hex commit it resolved to */
  commit: string;
  size: number;
  /** ISO 8601 */
  pulled_at: string;
}

export interface DatasetManifest {
  format: 1;
  repo: string;
  revision: string;
  commit: string;
  pulled_at: string;
  files: Record<string, ManifestFile>;
}

/** What one pull fetched from one repo. */
export interface PulledDataset {
  repo: string;
  revision: string;
  commit: string;
  files: readonly { path: string; size: number }[];
  pulledAt?: Date;
}

/** Which data a task was scored on: the repo, and the commit of its files or "unknown". */
export interface TaskDatasetSource {
  repo: string;
  /** 40-hex commit; "unknown" when there is no manifest, a file is not in it, or on-disk size differs */
  commit: string;
  /** the revision asked for at pull time, when known */
  revision?: string;
  /** when commit is "unknown", why */
  reason?: string;
  /** for a task that built its documents in memory (no repo): how, e.g. the text's hash and the seed */
  built?: string;
}

export function manifestPath(dataDir: string, repo: string): string {
  return join(dataDir, ...repo.split("/"), DATASET_MANIFEST_NAME);
}

/** Reads DIR/<repo>/.dusk-dataset.json; undefined when absent. A malformed one is a FormatError naming the field. */
export async function readDatasetManifest(dataDir: string, repo: string): Promise<DatasetManifest | undefined> {
  const file = manifestPath(dataDir, repo);
  const st = await stat(file).catch(() => undefined);
  if (st === undefined) return undefined;
  const bad = (field: string, expected: string, actual: string): FormatError =>
    new FormatError("EVAL_DATASET_MANIFEST", "bad dataset manifest", {
      file,
      field,
      expected,
      actual,
      hint: `Delete it and pull again (dusk data pull --to ${dataDir}), or delete it to evaluate the data as unrecorded.`,
    });
  if (!st.isFile() || st.size > MANIFEST_MAX_BYTES) throw bad("(file)", `a JSON file ≤ ${MANIFEST_MAX_BYTES} bytes`, st.isFile() ? `${st.size} bytes` : "not a file");
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw bad("(file)", "JSON", e instanceof Error ? e.message : String(e));
  }
  const obj = asRecord(parsed);
  if (obj === undefined) throw bad("(file)", "an object", typeName(parsed));
  if (obj.get("format") !== 1) throw bad("format", "1", JSON.stringify(obj.get("format")));
  const text = (o: Map<string, unknown>, key: string, where: string): string => {
    const v = o.get(key);
    if (typeof v !== "string") throw bad(where + key, "string", typeName(v));
    return v;
  };
  const commit = (o: Map<string, unknown>, where: string): string => {
    const v = text(o, "commit", where);
    if (!COMMIT.test(v)) throw bad(where + "commit", "a 40-hex commit", JSON.stringify(v));
    return v;
  };
  const repoInFile = text(obj, "repo", "");
  if (repoInFile !== repo) throw bad("repo", JSON.stringify(repo), JSON.stringify(repoInFile));
  const filesObj = asRecord(obj.get("files"));
  if (filesObj === undefined) throw bad("files", "an object", typeName(obj.get("files")));
  const files: Record<string, ManifestFile> = Object.create(null);
  for (const [path, entry] of filesObj) {
    const e = asRecord(entry);
    const where = `files[${JSON.stringify(path)}].`;
    if (e === undefined) throw bad(where.slice(0, -1), "an object", typeName(entry));
    const size = e.get("size");
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw bad(where + "size", "a byte count", JSON.stringify(size));
    files[path] = { revision: text(e, "revision", where), commit: commit(e, where), size, pulled_at: text(e, "pulled_at", where) };
  }
  return { format: 1, repo, revision: text(obj, "revision", ""), commit: commit(obj, ""), pulled_at: text(obj, "pulled_at", ""), files };
}

/**
 * Merges one pull into DIR/<repo>/.dusk-dataset.json (files pulled now replace their old entries)
 * and writes it through a temporary sibling and a rename. Returns the path.
 */
export async function recordDatasetPull(dataDir: string, pull: PulledDataset): Promise<string> {
  const file = manifestPath(dataDir, pull.repo);
  const pulledAt = (pull.pulledAt ?? new Date()).toISOString();
  let previous: DatasetManifest | undefined;
  try {
    previous = await readDatasetManifest(dataDir, pull.repo);
  } catch {
    previous = undefined; // a damaged record of an earlier pull is replaced, not trusted
  }
  const files: Record<string, ManifestFile> = Object.create(null);
  for (const [path, entry] of Object.entries(previous?.files ?? {})) files[path] = entry;
  for (const f of pull.files) files[f.path] = { revision: pull.revision, commit: pull.commit, size: f.size, pulled_at: pulledAt };
  const sorted: Record<string, ManifestFile> = Object.create(null);
  for (const path of Object.keys(files).sort()) sorted[path] = files[path]!;
  const manifest: DatasetManifest = { format: 1, repo: pull.repo, revision: pull.revision, commit: pull.commit, pulled_at: pulledAt, files: sorted };
  await writeFileDurably(file, JSON.stringify(manifest, null, 2) + "\n", { purpose: "dusk data pull" });
  return file;
}

/**
 * The source of the files a task reads (taskDataFiles at `shots`): their commit when every one is
 * in the repo's manifest at one commit and still has the recorded size; else "unknown" with why.
 */
export async function taskDatasetSource(dataDir: string | undefined, task: EvalTask<unknown>, shots = task.defaultShots): Promise<TaskDatasetSource> {
  if (task.dataset.kind === "built") return { repo: `dusk:${task.name}`, commit: "unknown", built: task.dataset.description };
  const repo = task.dataset.repo;
  if (dataDir === undefined) return { repo, commit: "unknown", reason: "no data directory" };
  const manifest = await readDatasetManifest(dataDir, repo);
  if (manifest === undefined) return { repo, commit: "unknown", reason: `no ${DATASET_MANIFEST_NAME} (data not pulled with dusk data pull)` };
  const entries: ManifestFile[] = [];
  for (const f of taskDataFiles(task, shots)) {
    const entry = Object.hasOwn(manifest.files, f.pathInRepo) ? manifest.files[f.pathInRepo] : undefined;
    if (entry === undefined) return { repo, commit: "unknown", reason: `${f.pathInRepo} is not in ${DATASET_MANIFEST_NAME}` };
    const onDisk = await stat(join(dataDir, ...repo.split("/"), ...f.pathInRepo.split("/"))).catch(() => undefined);
    if (onDisk === undefined || !onDisk.isFile() || onDisk.size !== entry.size) {
      return { repo, commit: "unknown", reason: `${f.pathInRepo} is missing or changed since it was pulled` };
    }
    entries.push(entry);
  }
  const commits = new Set(entries.map((e) => e.commit));
  if (commits.size !== 1) return { repo, commit: "unknown", reason: `its files were pulled at different commits (${[...commits].join(", ")})` };
  return { repo, commit: entries[0]!.commit, revision: entries[0]!.revision };
}

function asRecord(v: unknown): Map<string, unknown> | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  return new Map(Object.entries(v as Record<string, unknown>));
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}
