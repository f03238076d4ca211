// Cleaning up after a writer that died (kill -9, a crash, a power cut): its temporary is removed,
// and a commit it left half done is finished or undone, so the output is the previous state or
// the complete new one. Used by the next write to the same output, and by a failed write itself.

import { readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { pathExists, treeBytes } from "./durable-fs.js";

/** One thing a write found beside its output, left by an earlier writer, and what it did with it. */
export interface StaleOutput {
  /** the temporary, or the previous output that a commit had moved aside */
  path: string;
  /** `kept`: its writer may still run, so it was left alone */
  action: "removed" | "restored" | "kept";
  /** the writer that left it */
  pid: number;
  host?: string;
  /** bytes freed (removed) or kept */
  bytes: number;
  /** why, e.g. `pid 4242 on vm is no longer running` */
  reason: string;
}

/**
 * The temporary `tmpName` of `output` (and `tmpName.old`, where a commit moves the previous output)
 * after its writer is gone. The rule: while the temporary still holds the new output (its directory,
 * file, or a split set's first part), the commit did not finish — put back what it moved aside;
 * otherwise it finished, and what was moved aside is garbage.
 */
export async function recoverTemp(
  parent: string,
  output: string,
  tmpName: string,
  parts: string[] | undefined,
  who: { pid: number; host?: string; reason: string },
): Promise<StaleOutput[]> {
  const tmp = join(parent, tmpName);
  const aside = `${tmp}.old`;
  const notes: StaleOutput[] = [];
  const note = (path: string, action: StaleOutput["action"], bytes: number) =>
    notes.push({ path, action, pid: who.pid, ...(who.host ? { host: who.host } : {}), bytes, reason: who.reason });
  const tmpThere = await pathExists(tmp);
  const asideThere = await pathExists(aside);
  if (parts && parts.length > 0) {
    const unfinished = tmpThere && (await pathExists(join(tmp, parts[0]!)));
    if (unfinished) {
      // New parts already moved out of the temporary are half a set: remove them, then put the
      // previous set's parts back.
      for (const f of parts) {
        if (!(await pathExists(join(tmp, f))) && (await pathExists(join(parent, f)))) await rm(join(parent, f), { force: true });
      }
      if (asideThere) {
        for (const f of await readdir(aside)) await rename(join(aside, f), join(parent, f));
        note(join(parent, parts[0]!), "restored", 0);
      }
    }
    if (asideThere) await rm(aside, { recursive: true, force: true });
  } else if (asideThere) {
    if (!(await pathExists(output))) {
      // Killed between moving the previous output aside and renaming the new one in.
      await rename(aside, output);
      note(output, "restored", 0);
    } else {
      const bytes = await treeBytes(aside);
      await rm(aside, { recursive: true, force: true });
      note(aside, "removed", bytes);
    }
  }
  if (tmpThere) {
    const bytes = await treeBytes(tmp);
    await rm(tmp, { recursive: true, force: true });
    note(tmp, "removed", bytes);
  }
  return notes;
}
