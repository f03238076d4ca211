// The typed errors of writing an output: a full disk, a directory dusk may not write, a read-only
// file system, and another process writing the same output. Each names the output (and the file
// the system call failed on), says what happened and gives a hint, instead of a bare errno text.

import { BuildError } from "../errors.js";
import { isErrno } from "./durable-fs.js";

/** Stable codes, matched by tests and by callers that react to one of them. */
export const OUTPUT_ERROR_CODES = {
  noSpace: "build.no-space",
  noPermission: "build.no-permission",
  readOnly: "build.read-only",
  busy: "build.output-busy",
  exists: "build.output-exists",
} as const;

/**
 * The DuskError for a failed write of `output`, or `e` itself when it is not one of the failures
 * above (a DuskError already, or a bug). `removed`: the temporary is (being) removed, so nothing of
 * this write remains.
 */
export function outputError(e: unknown, output: string, removed = true): unknown {
  if (!isErrno(e, "ENOSPC", "EDQUOT", "EACCES", "EPERM", "EROFS")) return e;
  // copyFile's error carries the source in `path` and the file it could not write in `dest`
  const file = (e as NodeJS.ErrnoException & { dest?: string }).dest ?? e.path;
  const at = file && file !== output ? ` (${e.syscall ?? "write"} ${file})` : "";
  const after = removed ? "; nothing was written" : "";
  if (e.code === "ENOSPC" || e.code === "EDQUOT") {
    const what = e.code === "EDQUOT" ? "the disk quota is used up" : "the disk is full";
    return new BuildError(OUTPUT_ERROR_CODES.noSpace, `cannot write ${output}: ${what}${at}${after}`, {
      hint: "free space on that disk, or write the output to another one (-o)",
      cause: e,
    });
  }
  if (e.code === "EROFS") {
    return new BuildError(OUTPUT_ERROR_CODES.readOnly, `cannot write ${output}: the file system is read-only${at}${after}`, {
      hint: "choose an output on a writable disk (-o), or remount this one read-write",
      cause: e,
    });
  }
  return new BuildError(OUTPUT_ERROR_CODES.noPermission, `cannot write ${output}: permission denied${at}${after}`, {
    hint: "choose an output in a directory you may write to (-o), or change that directory's owner or mode",
    cause: e,
  });
}

/** Free space checked before the first byte: the output would not fit. */
export function noSpaceError(output: string, dir: string, needed: number, free: number): BuildError {
  return new BuildError(OUTPUT_ERROR_CODES.noSpace, `cannot write ${output}: it needs ${formatBytes(needed)} and ${dir} has ${formatBytes(free)} free; nothing was written`, {
    hint: "free space on that disk, or write the output to another one (-o)",
  });
}

export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
