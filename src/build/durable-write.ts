// Small outputs written whole through the same protocol as models (atomic-output.ts): a results
// JSON, a Markdown table, a chart, a job directory of a few text files. Also the output lock alone,
// for files that grow in place (append-only logs), so two writers of one log are refused too.

import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { BuildError } from "../errors.js";
import { acquireOutputLock, prepareOutput, type StaleOutput } from "./atomic-output.js";
import type { StatfsFn } from "./durable-fs.js";

export interface DurableWriteOptions {
  /** replace an existing output (default true for files: results and tables are rewritten) */
  force?: boolean;
  /** paths the output must not be or overlap (dusk never overwrites an input) */
  inputs?: readonly string[];
  /** what is writing, shown to a second writer that is refused */
  purpose?: string;
  /** the output as the user named it, for messages */
  label?: string;
  statfs?: StatfsFn;
  onStale?: (s: StaleOutput) => void;
}

/** Writes one whole file: temporary sibling, fsync, rename, fsync of the folder. */
export async function writeFileDurably(path: string, data: string | Uint8Array, o: DurableWriteOptions = {}): Promise<StaleOutput[]> {
  const bytes = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
  const out = await prepareOutput(path, o.inputs ?? [], { kind: "file", bytes, ...common(o), force: o.force ?? true });
  try {
    await writeFile(out.tmpPath, data, { flag: "wx" });
    await out.commit();
  } catch (e) {
    await out.abort();
    throw out.failure(e);
  }
  return out.stale;
}

/**
 * Writes a directory of files (relative path → content) whole: the directory appears with every
 * file in it, or not at all. Refuses an existing directory unless `force`.
 */
export async function writeDirectoryDurably(path: string, files: Readonly<Record<string, string | Uint8Array>>, o: DurableWriteOptions = {}): Promise<StaleOutput[]> {
  const bytes = Object.values(files).reduce((n, d) => n + (typeof d === "string" ? Buffer.byteLength(d) : d.byteLength), 0);
  const out = await prepareOutput(path, o.inputs ?? [], { kind: "directory", bytes, ...common(o), force: o.force ?? false });
  try {
    for (const [rel, data] of Object.entries(files)) {
      const target = resolve(out.tmpPath, rel);
      if (!target.startsWith(out.tmpPath + "/") && !target.startsWith(out.tmpPath + "\\")) {
        throw new BuildError("build.output-file", `${rel} is not a path inside the output directory ${path}`);
      }
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, data, { flag: "wx" });
    }
    await out.commit();
  } catch (e) {
    await out.abort();
    throw out.failure(e);
  }
  return out.stale;
}

export interface OutputLock {
  /** stale temporaries of dead writers removed when taking it */
  stale: StaleOutput[];
  release(): Promise<void>;
}

/**
 * The output's lock without a temporary, for a file written in place (a sample log that resumes by
 * appending): a second live writer is refused with the same typed error as for models.
 */
export async function lockOutput(path: string, o: Pick<DurableWriteOptions, "purpose" | "label" | "onStale"> = {}): Promise<OutputLock> {
  return acquireOutputLock(path, common(o));
}

function common(o: Pick<DurableWriteOptions, "purpose" | "label" | "statfs" | "onStale">) {
  return {
    ...(o.purpose ? { purpose: o.purpose } : {}),
    ...(o.label ? { label: o.label } : {}),
    ...(o.statfs ? { statfs: o.statfs } : {}),
    ...(o.onStale ? { onStale: o.onStale } : {}),
  };
}
