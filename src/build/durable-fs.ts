// File-system steps that make a rename durable: fsync every file and directory of a temporary
// before it is renamed, fsync the parent directory after, and measure free space (statfs) and the
// size of a tree. Not the output protocol itself (atomic-output.ts) and not the owner lock.

import { lstat, open, readdir, statfs as fsStatfs } from "node:fs/promises";
import { join } from "node:path";

/** What the free-space check reads from statfs(2); tests may inject one. */
export interface FreeSpace {
  /** blocks available to an unprivileged user */
  bavail: number | bigint;
  /** bytes per block */
  bsize: number | bigint;
}

export type StatfsFn = (dir: string) => Promise<FreeSpace>;

export const realStatfs: StatfsFn = (dir) => fsStatfs(dir);

/** Bytes free for new data in the file system holding `dir`. */
export async function freeBytes(dir: string, statfs: StatfsFn = realStatfs): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** fsync one file: its data and size reach the disk before anything renames it. */
export async function fsyncFile(path: string): Promise<void> {
  const h = await open(path, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * fsync a directory, so the entries created or renamed in it survive a power loss. Windows cannot
 * open a directory for that (EISDIR/EPERM) and orders its metadata itself, so there it is skipped.
 */
export async function fsyncDir(path: string): Promise<void> {
  let h;
  try {
    h = await open(path, "r");
  } catch (e) {
    if (process.platform === "win32" && isErrno(e, "EISDIR", "EPERM", "EACCES")) return;
    throw e;
  }
  try {
    await h.sync();
  } catch (e) {
    // Some file systems (and Windows) refuse fsync on a directory handle; the rename still happened.
    if (!isErrno(e, "EINVAL", "EISDIR", "EPERM", "EBADF", "ENOTSUP")) throw e;
  } finally {
    await h.close();
  }
}

/** fsync every regular file and directory under `path` (or `path` itself when it is a file). */
export async function fsyncTree(path: string): Promise<void> {
  const st = await lstat(path);
  if (st.isFile()) return fsyncFile(path);
  if (!st.isDirectory()) return; // symlinks and the like carry no data of ours
  for (const name of await readdir(path)) await fsyncTree(join(path, name));
  await fsyncDir(path);
}

/** Total bytes of the regular files under `path` (0 when it is gone). */
export async function treeBytes(path: string): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  if (st.isFile()) return st.size;
  if (!st.isDirectory()) return 0;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await treeBytes(join(path, name));
  return total;
}

export function isErrno(e: unknown, ...codes: string[]): e is NodeJS.ErrnoException {
  return typeof e === "object" && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? "");
}

export const pathExists = (p: string) => lstat(p).then(() => true, () => false);
