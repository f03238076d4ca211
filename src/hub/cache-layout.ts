// The huggingface_hub cache layout, so Python tools and dusk reuse each other's downloads:
//   {cacheDir}/models--org--name/            (datasets--org--name for datasets)
//     blobs/<etag>                           file bytes; etag = LFS sha256 or git blob sha1
//     blobs/<etag>.incomplete                a partial download, resumed by size
//     snapshots/<commit>/<path>              relative symlink → ../../blobs/<etag>
//     refs/<revision>                        the commit hash the branch/tag pointed to (no newline)
// Paths and links only; fetching bytes is resumable-download's job.

import { randomBytes } from "node:crypto";
import { copyFile, lstat, mkdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { HubError } from "../errors.js";
import { HUB_ERROR_CODES } from "./hub-errors.js";
import type { RepoType } from "./model-ref.js";

export const COMMIT_HASH = /^[0-9a-f]{40}$/;
// git blob sha1 (40 hex) or LFS sha256 (64 hex); anything else must not become a file name.
const ETAG = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function repoFolderName(repoType: RepoType, repo: string): string {
  return [`${repoType}s`, ...repo.split("/")].join("--");
}

export interface RepoCachePaths {
  /** {cacheDir}/models--org--name */
  root: string;
  blob(etag: string): string;
  snapshot(commit: string): string;
  pointer(commit: string, file: string): string;
  ref(revision: string): string;
}

export function repoCachePaths(cacheDir: string, repoType: RepoType, repo: string): RepoCachePaths {
  const root = join(cacheDir, repoFolderName(repoType, repo));
  return {
    root,
    blob: (etag) => join(root, "blobs", etag),
    snapshot: (commit) => join(root, "snapshots", commit),
    pointer: (commit, file) => join(root, "snapshots", commit, ...file.split("/")),
    ref: (revision) => join(root, "refs", ...revision.split("/")),
  };
}

/** ETag headers come as `"abc"` or `W/"abc"`; huggingface_hub names blobs by the bare value. */
export function normalizeEtag(header: string | null): string | undefined {
  if (header === null) return undefined;
  return header.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

export function isValidEtag(etag: string): boolean {
  return ETAG.test(etag);
}

/**
 * A repo file path from a listing becomes a path under snapshots/: refuse anything that could
 * escape it or that the cache cannot hold (absolute, '..', '.', empty segments, backslashes, NUL).
 */
export function assertSafeRepoPath(path: string, repo: string): void {
  const segments = path.split("/");
  const bad =
    path.length === 0 ||
    path.length > 4096 ||
    path.includes("\\") ||
    path.includes("\0") ||
    segments.some((s) => s === "" || s === "." || s === "..");
  if (bad) {
    throw new HubError(HUB_ERROR_CODES.badResponse, `The file list of ${repo} contains an unsafe path ${JSON.stringify(path.slice(0, 200))}`, {
      hint: "Paths must be relative, without '..' or empty parts. The server (HF_ENDPOINT) may be misbehaving; report it to the repo owner.",
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Size of a file following symlinks, or undefined if it is missing or dangling. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

/** Write `data` through a temporary sibling and a rename, so readers never see half of it. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function writeRef(paths: RepoCachePaths, revision: string, commit: string): Promise<void> {
  await writeFileAtomic(paths.ref(revision), commit);
}

export async function readRef(paths: RepoCachePaths, revision: string): Promise<string | undefined> {
  try {
    const text = (await readFile(paths.ref(revision), "utf8")).trim();
    return COMMIT_HASH.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Point snapshots/<commit>/<file> at blobs/<etag> with a relative symlink (so the cache folder
 * can move), as huggingface_hub does; where symlinks are not allowed, copy the blob instead.
 */
export async function linkSnapshotFile(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  if (await exists(pointer)) await rm(pointer, { force: true });
  try {
    await symlink(relative(dirname(pointer), blob), pointer);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code !== "EPERM" && code !== "EACCES" && code !== "ENOTSUP") throw e;
    const tmp = `${pointer}.${randomBytes(6).toString("hex")}.tmp`;
    await copyFile(blob, tmp);
    await rename(tmp, pointer);
  }
}
