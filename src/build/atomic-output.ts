// Outputs appear whole or not at all: everything is written into a temporary sibling
// (`.name.dusk-tmp-<pid>-<random>`) and renamed into place at the end. An input is never
// overwritten, and an existing output is replaced only when asked.

import { randomBytes } from "node:crypto";
import { mkdir, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, isAbsolute } from "node:path";
import { BuildError } from "../errors.js";

export interface AtomicOutput {
  /** the final path */
  path: string;
  /** where to write now: a directory (HF) or a file path (GGUF) */
  tmpPath: string;
  /** rename into place (replacing an old output when `force`) */
  commit(): Promise<void>;
  /** remove the temporary output */
  abort(): Promise<void>;
}

export const TMP_MARKER = ".dusk-tmp-";

export async function prepareOutput(
  out: string,
  inputs: readonly string[],
  options: { kind: "directory" | "file"; force?: boolean },
): Promise<AtomicOutput> {
  const path = resolve(out);
  const real = await realpathOrSelf(path);
  for (const input of inputs) {
    const inReal = await realpathOrSelf(resolve(input));
    if (real === inReal || isInside(real, inReal) || isInside(inReal, real)) {
      throw new BuildError("build.output-is-input", `the output ${out} ${real === inReal ? "is" : "overlaps"} the input ${input}`, {
        hint: "choose an output path outside every source model (dusk never overwrites an input)",
      });
    }
  }
  const exists = await stat(path).then(() => true, () => false);
  if (exists && !options.force) {
    throw new BuildError("build.output-exists", `${out} already exists`, { hint: "choose another path, or pass --force to replace it" });
  }
  await mkdir(dirname(path), { recursive: true });
  const tmpPath = join(dirname(path), `.${basename(path)}${TMP_MARKER}${process.pid}-${randomBytes(4).toString("hex")}`);
  if (options.kind === "directory") await mkdir(tmpPath);
  return {
    path,
    tmpPath,
    async commit() {
      if (await stat(path).then(() => true, () => false)) {
        // Move the old output aside first so a crash between the two renames loses nothing.
        const old = `${tmpPath}.old`;
        await rename(path, old);
        await rename(tmpPath, path);
        await rm(old, { recursive: true, force: true });
      } else {
        await rename(tmpPath, path);
      }
    },
    async abort() {
      await rm(tmpPath, { recursive: true, force: true });
    },
  };
}

async function realpathOrSelf(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    // Not there yet: resolve its parent so symlinked folders still compare equal.
    try {
      return join(await realpath(dirname(p)), basename(p));
    } catch {
      return p;
    }
  }
}

function isInside(child: string, parent: string): boolean {
  const r = relative(parent, child);
  return r !== "" && !r.startsWith("..") && !isAbsolute(r);
}
