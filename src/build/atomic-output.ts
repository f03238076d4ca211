// Outputs appear whole or not at all, and survive a crash or power loss: everything is written into
// a temporary sibling (`.NAME.dusk-tmp-<pid>-<random>`), every file in it is fsynced, it is renamed
// into place and the directory is fsynced. One lock per output (output-owner.ts) refuses a second
// live writer and lets the next write clean up after a dead one. Inputs are never overwritten.

import { randomBytes } from "node:crypto";
import { mkdir, readdir, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { BuildError } from "../errors.js";
import { freeBytes, fsyncDir, fsyncTree, isErrno, pathExists, type StatfsFn } from "./durable-fs.js";
import { formatBytes, noSpaceError, OUTPUT_ERROR_CODES, outputError } from "./output-errors.js";
import { createLock, holdsLock, lockPathFor, ownerState, ownOwner, pidRunning, readOwner, releaseLock, rewriteLock, takeDeadLock, TMP_MARKER, type OutputOwner, type OwnerState } from "./output-owner.js";
import { recoverTemp, type StaleOutput } from "./stale-output.js";

export { TMP_MARKER } from "./output-owner.js";
export type { StaleOutput } from "./stale-output.js";

export interface AtomicOutput {
  /** the final path */
  path: string;
  /** where to write now: a directory (HF) or a file path (GGUF) */
  tmpPath: string;
  /** fsync the temporary, rename it into place (replacing an old output when `force`), fsync the folder */
  commit(): Promise<void>;
  /** remove the temporary output (and put back a previous output a failed commit moved aside) */
  abort(): Promise<void>;
  /** what preparing this output did with temporaries that dead writers left beside it */
  stale: StaleOutput[];
  /**
   * A file set (gguf-split parts) written in the temporary directory: moved beside the output
   * directory's path, the first part (which makes the set visible) last. Returns their paths.
   */
  commitParts(files: string[]): Promise<string[]>;
  /** the typed error (full disk, permission, read-only) for a failure while writing; else `e` */
  failure(e: unknown): unknown;
}

export interface PrepareOutputOptions {
  kind: "directory" | "file";
  /** replace an existing output (never an input) */
  force?: boolean;
  /** bytes the output will take: checked against the free space before the first byte is written */
  bytes?: number;
  /** statfs(2) for the free-space check; tests inject one (default: the real one) */
  statfs?: StatfsFn;
  /** what is writing, shown to a second writer that is refused (e.g. `dusk build`) */
  purpose?: string;
  /** the output as the user named it, for messages (default: the resolved path) */
  label?: string;
  /** told of each stale temporary removed or restored while preparing */
  onStale?: (s: StaleOutput) => void;
}

export async function prepareOutput(out: string, inputs: readonly string[], options: PrepareOutputOptions): Promise<AtomicOutput> {
  const path = resolve(out);
  const label = options.label ?? out;
  const force = options.force ?? false;
  const real = await realpathOrSelf(path);
  for (const input of inputs) {
    const inReal = await realpathOrSelf(resolve(input));
    if (real === inReal || isInside(real, inReal) || isInside(inReal, real)) {
      throw new BuildError("build.output-is-input", `the output ${out} ${real === inReal ? "is" : "overlaps"} the input ${input}`, {
        hint: "choose an output path outside every source model (dusk never overwrites an input)",
      });
    }
  }
  if ((await pathExists(path)) && !force) throw existsError(label);
  const parent = dirname(path);
  const held = await lockFor(path, label, options);
  const { lock, tmpName, stale } = held;
  let owner = held.owner;
  const tmpPath = join(parent, tmpName);
  const aside = `${tmpPath}.old`;
  try {
    if (options.bytes !== undefined) {
      const free = await freeBytes(parent, options.statfs);
      if (free < options.bytes) throw noSpaceError(label, parent, options.bytes, free);
    }
    if (options.kind === "directory") await mkdir(tmpPath);
  } catch (e) {
    await releaseLock(lock, owner.token);
    throw outputError(e, label, false);
  }

  let done = false;
  const stillOurs = async () => {
    if (!(await holdsLock(lock, owner.token))) {
      throw new BuildError(OUTPUT_ERROR_CODES.busy, `${label}: another process took over this output while it was being written; this write was not used`, {
        hint: "run one writer per output at a time",
      });
    }
  };
  const finish = async () => {
    done = true;
    await rm(tmpPath, { recursive: true, force: true });
    await releaseLock(lock, owner.token);
  };
  return {
    path,
    tmpPath,
    stale,
    async commit() {
      try {
        await stillOurs();
        const existing = await stat(path).catch(() => undefined);
        if (existing && !force) throw existsError(label);
        await fsyncTree(tmpPath);
        if (existing && (existing.isDirectory() || options.kind === "directory")) {
          // A directory cannot be renamed over a full one: move the old output aside first. A crash
          // between the two renames is undone by the next write (stale-output.ts puts it back).
          await rename(path, aside);
          await rename(tmpPath, path);
          await fsyncDir(parent);
          await rm(aside, { recursive: true, force: true });
        } else {
          await rename(tmpPath, path); // atomic, replacing an old file
          await fsyncDir(parent);
        }
        await finish();
      } catch (e) {
        throw isErrno(e, "ENOTEMPTY", "EEXIST") ? existsError(label) : outputError(e, label);
      }
    },
    async commitParts(files) {
      try {
        await stillOurs();
        const into = parent;
        if (!force) for (const f of files) if (await pathExists(join(into, f))) throw existsError(join(into, f));
        await fsyncTree(tmpPath);
        // Recorded first, so that a crash in the moves below can be rolled back or forward.
        owner = { ...owner, parts: files };
        await rewriteLock(lock, owner);
        // The previous set's first part goes first (the old set stops being visible), then the rest.
        for (const f of files) {
          if (await pathExists(join(into, f))) {
            await mkdir(aside, { recursive: true });
            await rename(join(into, f), join(aside, f));
          }
        }
        for (const f of [...files.slice(1), files[0]!]) await rename(join(tmpPath, f), join(into, f));
        await fsyncDir(into);
        await rm(aside, { recursive: true, force: true });
        await finish();
        return files.map((f) => join(into, f));
      } catch (e) {
        throw outputError(e, label);
      }
    },
    async abort() {
      if (done) return;
      done = true;
      // The same steps as cleaning up after a dead writer: remove the temporary, and put back a
      // previous output (or split set) that a failed commit had begun to move aside.
      await recoverTemp(parent, path, tmpName, owner.parts, { pid: process.pid, reason: "this write failed" }).catch(() => undefined);
      await rm(tmpPath, { recursive: true, force: true });
      await releaseLock(lock, owner.token);
    },
    failure: (e) => outputError(e, label),
  };
}

/**
 * The output's lock alone, for a file that grows in place (an append-only log): a second live
 * writer is refused, and temporaries of dead ones are cleaned up, as for prepareOutput.
 */
export async function acquireOutputLock(out: string, options: Pick<PrepareOutputOptions, "purpose" | "label" | "onStale"> = {}): Promise<{ stale: StaleOutput[]; release(): Promise<void> }> {
  const { lock, owner, stale } = await lockFor(resolve(out), options.label ?? out, options);
  return { stale, release: () => releaseLock(lock, owner.token) };
}

/** Creates the folder, takes the lock (cleaning up after dead writers), removes orphans. */
async function lockFor(path: string, label: string, options: Pick<PrepareOutputOptions, "purpose" | "onStale">) {
  const parent = dirname(path);
  const tmpName = `.${basename(path)}${TMP_MARKER}${process.pid}-${randomBytes(4).toString("hex")}`;
  const lock = lockPathFor(path);
  const owner = await ownOwner(tmpName, options.purpose);
  const stale: StaleOutput[] = [];
  const note = (s: StaleOutput) => {
    stale.push(s);
    options.onStale?.(s);
  };
  try {
    await mkdir(parent, { recursive: true });
    await acquire(lock, owner, path, label, note);
  } catch (e) {
    throw outputError(e, label, false);
  }
  try {
    await removeOrphans(parent, path, tmpName, note);
  } catch (e) {
    await releaseLock(lock, owner.token);
    throw outputError(e, label, false);
  }
  return { lock, owner, tmpName, stale };
}

/**
 * Waits while a live writer on this host holds `output`'s lock (a cache entry another process is
 * converting, say). `free`: no writer, or a dead one the next write cleans up after; `elsewhere`:
 * the writer is on another host, so waiting could last forever.
 */
export async function waitForWriter(output: string, o: { signal?: AbortSignal; pollMs?: number } = {}): Promise<"free" | "elsewhere"> {
  const lock = lockPathFor(resolve(output));
  for (;;) {
    const found = await readOwner(lock);
    if (found === undefined || found === "torn") return "free";
    if (found !== "fresh") {
      const state = await ownerState(found);
      if (state !== "alive") return state === "dead" ? "free" : "elsewhere";
    }
    if (o.signal?.aborted) throw new BuildError("build.aborted", `stopped waiting for the writer of ${output}`, { cause: o.signal.reason });
    await new Promise((r) => setTimeout(r, o.pollMs ?? 200));
  }
}

/** Takes the output's lock: refused while a live writer holds it, taken over from a dead one. */
async function acquire(lock: string, owner: OutputOwner, path: string, label: string, note: (s: StaleOutput) => void): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await createLock(lock, owner)) return;
    const found = await readOwner(lock);
    if (found === undefined) continue; // released meanwhile
    if (found === "fresh") {
      await new Promise((r) => setTimeout(r, 20)); // its writer is filling it in
      continue;
    }
    if (found !== "torn") {
      const state = await ownerState(found);
      if (state !== "dead") throw busyError(label, lock, found, state);
    }
    const taken = await takeDeadLock(lock, found);
    if (taken && taken !== "torn") {
      const who = { pid: taken.pid, host: taken.host, reason: deadReason(taken) };
      for (const s of await recoverTemp(dirname(path), path, taken.tmp, taken.parts, who)) note(s);
    }
  }
  throw new BuildError(OUTPUT_ERROR_CODES.busy, `${label}: could not take the output's lock ${lock}; other processes keep writing it`, {
    hint: "run one writer per output at a time",
  });
}

/** Temporaries beside the output that no lock names (an older dusk, or a lost lock). */
async function removeOrphans(parent: string, path: string, ownTmp: string, note: (s: StaleOutput) => void): Promise<void> {
  const prefix = `.${basename(path)}${TMP_MARKER}`;
  const temps = new Map<string, number>();
  for (const name of await readdir(parent)) {
    if (!name.startsWith(prefix) || name === ownTmp || name === `${ownTmp}.old`) continue;
    const rest = name.slice(prefix.length);
    const lockLeftover = /^lock\.(\d+)-[0-9a-f]+$/.exec(rest); // a takeover or rewrite cut short
    if (lockLeftover) {
      if (!pidRunning(Number(lockLeftover[1]))) await rm(join(parent, name), { force: true });
      continue;
    }
    const m = /^(\d+)-[0-9a-f]+(?:\.old)?$/.exec(rest);
    if (m) temps.set(name.replace(/\.old$/, ""), Number(m[1]));
  }
  for (const [tmp, pid] of temps) {
    if (pidRunning(pid)) {
      note({ path: join(parent, tmp), action: "kept", pid, bytes: 0, reason: `pid ${pid} is running; remove it by hand if that is not a dusk process` });
      continue;
    }
    for (const s of await recoverTemp(parent, path, tmp, undefined, { pid, reason: `pid ${pid} is no longer running` })) note(s);
  }
}

function deadReason(o: OutputOwner): string {
  return `pid ${o.pid} on ${o.host} is no longer running`;
}

function busyError(label: string, lock: string, o: OutputOwner, state: Exclude<OwnerState, "dead">): BuildError {
  const who = `${o.purpose ?? "another dusk process"} (pid ${o.pid} on ${o.host}, since ${o.started})`;
  if (state === "elsewhere") {
    return new BuildError(OUTPUT_ERROR_CODES.busy, `${label} is being written by ${who}; dusk cannot tell from here whether it still runs`, {
      hint: `wait for it, or write elsewhere (-o); if nothing runs on ${o.host} any more, remove ${lock} and ${join(dirname(lock), o.tmp)}`,
    });
  }
  return new BuildError(OUTPUT_ERROR_CODES.busy, `${label} is being written by ${who}`, {
    hint: `wait for it to finish (or stop it), or write to another path (-o)`,
  });
}

function existsError(label: string): BuildError {
  return new BuildError(OUTPUT_ERROR_CODES.exists, `${label} already exists`, { hint: "choose another path, or pass --force to replace it" });
}

/** A one-line description of a stale-temporary note, for progress output. */
export function describeStale(s: StaleOutput): string {
  const size = s.bytes > 0 ? ` (${formatBytes(s.bytes)})` : "";
  if (s.action === "restored") return `restored ${s.path}, which an earlier write had moved aside and did not replace (${s.reason})`;
  if (s.action === "kept") return `left ${s.path} in place: ${s.reason}`;
  return `removed ${s.path}${size}, left by an earlier write that did not finish (${s.reason})`;
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
