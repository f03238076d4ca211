// Reading a cached snapshot folder (snapshots/<commit>/…, symlinks into blobs/) and placing its
// files into a plain directory, as `dusk data pull` does into DIR/org/name/…. Each target file
// appears whole through a temporary sibling and a rename. It does not download anything.

import { randomBytes } from "node:crypto";
import { copyFile, link, mkdir, readdir, realpath, rename, rm, stat, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { HubError } from "../errors.js";
import { assertSafeRepoPath } from "./cache-layout.js";
import { compileSelection, type FileSelection } from "./file-filter.js";
import { HUB_ERROR_CODES } from "./hub-errors.js";

export interface SnapshotFile {
  /** repo-relative, '/'-separated */
  path: string;
  size: number;
}

/** Files below a snapshot folder (symlinks followed; dangling ones skipped), sorted by path. */
export async function listSnapshotFiles(snapshotDir: string): Promise<SnapshotFile[]> {
  const out: SnapshotFile[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const full = join(dir, name);
      const rel = prefix === "" ? name : `${prefix}/${name}`;
      const s = await stat(full).catch(() => undefined);
      if (s?.isDirectory()) await walk(full, rel);
      else if (s?.isFile()) out.push({ path: rel, size: s.size });
    }
  };
  await walk(snapshotDir, "");
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** copy: independent files (default). link: hard links, copies across devices. symlink: to the blobs. */
export type ExportMode = "copy" | "link" | "symlink";

export interface ExportOptions {
  files?: FileSelection;
  mode?: ExportMode;
}

/**
 * Place the snapshot's files under `targetDir` keeping their repo paths, e.g. a dataset snapshot
 * into DIR/allenai/ai2_arc/ARC-Challenge/test-00000-of-00001.parquet. Returns the written paths.
 */
export async function exportSnapshot(snapshotDir: string, targetDir: string, o: ExportOptions = {}): Promise<string[]> {
  const mode = o.mode ?? "copy";
  const selection = compileSelection(o.files);
  const files = (await listSnapshotFiles(snapshotDir)).filter((f) => selection.matches(f.path));
  if (files.length === 0) {
    throw new HubError(HUB_ERROR_CODES.noMatchingFiles, `No files to export from ${snapshotDir}`, {
      hint: "Download the repo (or the selected files) first; the snapshot folder is empty or the filter matched nothing.",
    });
  }
  const written: string[] = [];
  for (const f of files) {
    assertSafeRepoPath(f.path, snapshotDir);
    const source = await realpath(join(snapshotDir, ...f.path.split("/")));
    const target = join(targetDir, ...f.path.split("/"));
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      if (mode === "symlink") await symlink(source, tmp);
      else if (mode === "link") await link(source, tmp).catch(() => copyFile(source, tmp));
      else await copyFile(source, tmp);
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    written.push(target);
  }
  return written;
}
