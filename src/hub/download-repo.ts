// Downloads (part of) a model or dataset repo into the shared Hugging Face cache and reports
// progress as events. @huggingface/hub resolves the revision to a commit (modelInfo/datasetInfo)
// and lists the files (listFiles, GET /api/{type}s/{repo}/tree/{commit}?recursive=true);
// resumable-download.ts fetches the bytes. Rendering progress is the CLI's job, not this one's.

import { datasetInfo, listFiles, modelInfo } from "@huggingface/hub";
import { HubError } from "../errors.js";
import { HUB_LIMITS } from "../limits.js";
import {
  COMMIT_HASH,
  assertSafeRepoPath,
  fileSize,
  isValidEtag,
  linkSnapshotFile,
  readRef,
  repoCachePaths,
  writeRef,
  type RepoCachePaths,
} from "./cache-layout.js";
import { compileSelection, type FileSelection } from "./file-filter.js";
import { resolveHubSettings, type HubSettings, type HubSettingsOverrides } from "./hub-config.js";
import { HUB_ERROR_CODES, httpStatusError, type HubSubject } from "./hub-errors.js";
import { DEFAULT_RETRY, fetchForHubLibrary, type HubClient, type RetryNotice, type RetryPolicy } from "./hub-fetch.js";
import { listSnapshotFiles } from "./snapshot-files.js";
import { parseModelRef, validateRepoId, validateRevision, type HubRef, type RepoType } from "./model-ref.js";
import { downloadBlob } from "./resumable-download.js";

export interface DownloadOptions extends HubSettingsOverrides {
  /** patterns like ["*.safetensors", "*.json", "tokenizer.model"], or a predicate; default all */
  files?: FileSelection;
  signal?: AbortSignal;
  retry?: Partial<RetryPolicy>;
  /** default 30 s */
  headerTimeoutMs?: number;
  /** default 60 s without a byte */
  idleTimeoutMs?: number;
  /** transport override (proxies, tests); default globalThis.fetch */
  fetch?: typeof fetch;
  /** told before each retry wait (429, 5xx, dropped connection) */
  onRetry?: (notice: RetryNotice) => void;
}

export interface RepoFile {
  path: string;
  size: number;
}

/** Progress as data. `bytes`/`total` are per file, except in "resolved" and "done" (all files). */
export type HubEvent =
  | { type: "resolved"; repo: string; repoType: RepoType; revision: string; commit: string; snapshotDir: string; files: RepoFile[]; total: number }
  /** `bytes` > 0 when resuming a partial file; `cached` when nothing needs fetching */
  | { type: "file-start"; file: string; bytes: number; total: number; snapshotDir: string; cached: boolean }
  | { type: "progress"; file: string; bytes: number; total: number; snapshotDir: string }
  | { type: "file-done"; file: string; bytes: number; total: number; snapshotDir: string; cached: boolean }
  | { type: "done"; bytes: number; total: number; snapshotDir: string; commit: string; files: string[] };

interface ListedFile extends RepoFile {
  etag: string;
}

function makeClient(settings: HubSettings, o: DownloadOptions): HubClient {
  return {
    settings,
    retry: { ...DEFAULT_RETRY, ...o.retry },
    headerTimeoutMs: o.headerTimeoutMs ?? 30_000,
    idleTimeoutMs: o.idleTimeoutMs ?? 60_000,
    signal: o.signal,
    fetch: o.fetch ?? globalThis.fetch,
    onRetry: o.onRetry,
  };
}

function resolveUrl(endpoint: string, ref: HubRef, commit: string, file: string): string {
  const repoPart = `${ref.repoType === "dataset" ? "datasets/" : ""}${ref.repo}`;
  return `${endpoint}/${repoPart}/resolve/${commit}/${file.split("/").map(encodeURIComponent).join("/")}`;
}

function badListing(subject: HubSubject, what: string): HubError {
  return new HubError(HUB_ERROR_CODES.badResponse, `The Hub's answer for ${subject.repo} is malformed: ${what}`, {
    hint: `Check that HF_ENDPOINT (now ${subject.endpoint}) is a Hugging Face Hub or a faithful mirror.`,
  });
}

async function resolveCommit(client: HubClient, ref: HubRef, revision: string, subject: HubSubject): Promise<string> {
  const params = {
    name: ref.repo,
    revision,
    additionalFields: ["sha" as const],
    hubUrl: client.settings.endpoint,
    fetch: fetchForHubLibrary(client, subject),
  };
  const info = ref.repoType === "model" ? await modelInfo(params) : await datasetInfo(params);
  const sha: unknown = info.sha;
  if (typeof sha !== "string" || !COMMIT_HASH.test(sha)) throw badListing(subject, `"sha" is ${JSON.stringify(sha)}, expected 40 hex digits`);
  return sha;
}

async function listRepoFiles(client: HubClient, ref: HubRef, commit: string, subject: HubSubject): Promise<ListedFile[]> {
  const out: ListedFile[] = [];
  const entries = listFiles({
    repo: { type: ref.repoType, name: ref.repo },
    revision: commit,
    recursive: true,
    hubUrl: client.settings.endpoint,
    fetch: fetchForHubLibrary(client, subject),
  });
  for await (const entry of entries) {
    if (entry.type !== "file") continue;
    if (out.length >= HUB_LIMITS.repoFiles) throw badListing(subject, `more than ${HUB_LIMITS.repoFiles} files`);
    assertSafeRepoPath(entry.path, ref.repo);
    const etag = entry.lfs?.oid ?? entry.oid;
    if (typeof etag !== "string" || !isValidEtag(etag)) throw badListing(subject, `file "${entry.path}" has id ${JSON.stringify(etag)}`);
    const size = entry.lfs?.size ?? entry.size;
    if (!Number.isSafeInteger(size) || size < 0) throw badListing(subject, `file "${entry.path}" has size ${JSON.stringify(size)}`);
    out.push({ path: entry.path, size, etag });
  }
  return out;
}

function select<T extends RepoFile>(files: T[], selection: FileSelection | undefined, subject: HubSubject): T[] {
  const compiled = compileSelection(selection);
  const present = new Set(files.map((f) => f.path));
  for (const name of compiled.exactNames) {
    if (!present.has(name)) throw httpStatusError(404, "EntryNotFound", "", { ...subject, file: name });
  }
  const chosen = files.filter((f) => compiled.matches(f.path));
  if (chosen.length === 0) {
    const sample = files.slice(0, 10).map((f) => f.path).join(", ");
    throw new HubError(HUB_ERROR_CODES.noMatchingFiles, `No file of ${subject.repo} at ${subject.revision} matches ${JSON.stringify(selection)}`, {
      hint: files.length === 0 ? "The repo has no files at this revision." : `Its files include: ${sample}${files.length > 10 ? ", …" : ""}`,
    });
  }
  return chosen;
}

async function* fromCacheOnly(ref: HubRef, revision: string, paths: RepoCachePaths, o: DownloadOptions, subject: HubSubject): AsyncGenerator<HubEvent, string> {
  const commit = COMMIT_HASH.test(revision) ? revision : await readRef(paths, revision);
  const missing = (what: string): HubError =>
    new HubError(HUB_ERROR_CODES.offlineMissing, `Offline mode (HF_HUB_OFFLINE): ${what} of ${ref.repo} is not in the cache ${paths.root}`, {
      hint: "Download it once while online (unset HF_HUB_OFFLINE), or point HF_HOME / HF_HUB_CACHE at a cache that has it.",
    });
  if (commit === undefined) throw missing(`revision ${revision}`);
  const snapshotDir = paths.snapshot(commit);
  const files = await listSnapshotFiles(snapshotDir);
  if (files.length === 0) throw missing(`snapshot ${commit}`);
  let chosen: RepoFile[];
  try {
    chosen = select(files, o.files, subject);
  } catch (e) {
    throw e instanceof HubError ? missing(e.message) : e;
  }
  const total = chosen.reduce((a, f) => a + f.size, 0);
  yield { type: "resolved", repo: ref.repo, repoType: ref.repoType, revision, commit, snapshotDir, files: chosen, total };
  for (const f of chosen) {
    yield { type: "file-start", file: f.path, bytes: f.size, total: f.size, snapshotDir, cached: true };
    yield { type: "file-done", file: f.path, bytes: f.size, total: f.size, snapshotDir, cached: true };
  }
  yield { type: "done", bytes: total, total, snapshotDir, commit, files: chosen.map((f) => f.path) };
  return snapshotDir;
}

/** Download the selected files of a Hub repo (model or dataset) into the cache. */
export async function* downloadRepo(ref: HubRef, o: DownloadOptions = {}): AsyncGenerator<HubEvent, string> {
  validateRepoId(ref.repo);
  const revision = ref.revision ?? "main";
  validateRevision(revision);
  const settings = resolveHubSettings(o);
  const paths = repoCachePaths(settings.cacheDir, ref.repoType, ref.repo);
  const subject: HubSubject = { repo: ref.repo, repoType: ref.repoType, revision, endpoint: settings.endpoint };
  if (settings.offline) return yield* fromCacheOnly(ref, revision, paths, o, subject);

  const client = makeClient(settings, o);
  const commit = await resolveCommit(client, ref, revision, subject);
  const chosen = select(await listRepoFiles(client, ref, commit, subject), o.files, subject);
  if (revision !== commit) await writeRef(paths, revision, commit);
  const snapshotDir = paths.snapshot(commit);
  const total = chosen.reduce((a, f) => a + f.size, 0);
  yield { type: "resolved", repo: ref.repo, repoType: ref.repoType, revision, commit, snapshotDir, files: chosen.map(({ path, size }) => ({ path, size })), total };

  let done = 0;
  for (const f of chosen) {
    const pointer = paths.pointer(commit, f.path);
    const blob = paths.blob(f.etag);
    // A snapshot path is immutable per commit, so a present pointer of the right size is final.
    const cached = (await fileSize(pointer)) === f.size || (await fileSize(blob)) === f.size;
    if (cached) {
      if ((await fileSize(pointer)) !== f.size) await linkSnapshotFile(blob, pointer);
      yield { type: "file-start", file: f.path, bytes: f.size, total: f.size, snapshotDir, cached: true };
    } else {
      const subjectForFile = { ...subject, revision: commit, file: f.path };
      const url = resolveUrl(settings.endpoint, ref, commit, f.path);
      for await (const p of downloadBlob(client, { url, blobPath: blob, etag: f.etag, size: f.size, subject: subjectForFile })) {
        if (p.type === "start") yield { type: "file-start", file: f.path, bytes: p.resumeFrom, total: f.size, snapshotDir, cached: false };
        else if (p.type === "bytes") yield { type: "progress", file: f.path, bytes: p.bytes, total: f.size, snapshotDir };
      }
      await linkSnapshotFile(blob, pointer);
    }
    done += f.size;
    yield { type: "file-done", file: f.path, bytes: f.size, total: f.size, snapshotDir, cached };
  }
  yield { type: "done", bytes: done, total, snapshotDir, commit, files: chosen.map((f) => f.path) };
  return snapshotDir;
}

function toHubRef(ref: HubRef | string, repoType: RepoType): HubRef {
  if (typeof ref !== "string") return ref;
  const parsed = parseModelRef(ref, { repoType, exists: () => false });
  if (parsed.kind === "local") {
    throw new HubError(HUB_ERROR_CODES.badRef, `"${ref}" is a local path, not a Hub repo; there is nothing to download`, {
      hint: "Use org/name[@revision] for a Hub repo, or pass the local folder directly where a model is expected.",
    });
  }
  return parsed;
}

/** Download a model repo: `downloadModel("org/name@rev", {files: ["*.safetensors", "*.json"]})`. */
export function downloadModel(ref: HubRef | string, o: DownloadOptions = {}): AsyncGenerator<HubEvent, string> {
  return downloadRepo(toHubRef(ref, "model"), o);
}

/** Download files of a dataset repo (`/datasets/{repo}/resolve/…`) into the cache. */
export function downloadDataset(repo: string, files?: FileSelection, o: DownloadOptions & { revision?: string } = {}): AsyncGenerator<HubEvent, string> {
  const ref = toHubRef(repo.startsWith("datasets/") ? repo : `datasets/${repo}`, "dataset");
  const withRev: HubRef = o.revision === undefined ? ref : { ...ref, revision: o.revision };
  return downloadRepo(withRev, files === undefined ? o : { ...o, files });
}

/**
 * A folder holding the model: a local ref as is, a Hub ref after downloading. `onEvent` sees the
 * download's events (a CLI draws its bars from them).
 */
export async function resolveModelDir(text: string, o: DownloadOptions & { onEvent?: (e: HubEvent) => void } = {}): Promise<string> {
  const ref = parseModelRef(text);
  if (ref.kind === "local") return ref.path;
  const events = downloadRepo(ref, o);
  for (;;) {
    const next = await events.next();
    if (next.done) return next.value;
    o.onEvent?.(next.value);
  }
}
