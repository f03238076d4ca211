// Who is writing an output: one lock file per output (`.NAME.dusk-tmp-lock`, created with O_EXCL)
// records the writer's pid, host, boot id and process start time and names its temporary sibling,
// so the next writer can tell a live concurrent writer (refused) from a dead one (cleaned up).
// Not the cleanup itself (atomic-output.ts) and not fsync (durable-fs.ts).

import { randomBytes } from "node:crypto";
import { link, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { isErrno } from "./durable-fs.js";

/** Every temporary of an output NAME starts with `.NAME` + this marker. */
export const TMP_MARKER = ".dusk-tmp-";

export interface OutputOwner {
  format: 1;
  pid: number;
  host: string;
  /** Linux's /proc/sys/kernel/random/boot_id: a pid from before a reboot is dead whatever runs now */
  bootId?: string;
  /** the process's start time in clock ticks after boot (/proc/PID/stat field 22), against pid reuse */
  startTicks?: string;
  /** basename of the temporary sibling this writer writes into */
  tmp: string;
  /** unique per lock: tells a lock from a newer one at the same path */
  token: string;
  /** ISO time the write began */
  started: string;
  /** what is writing, for another writer's message (e.g. `dusk build`) */
  purpose?: string;
  /** a split set being committed: its part files, first part first, as named in the parent */
  parts?: string[];
}

/** `alive`: this host, running; `dead`: gone (or from before a reboot); `elsewhere`: another host. */
export type OwnerState = "alive" | "dead" | "elsewhere";

/** why 10 s: a live writer fills its lock within milliseconds of creating it */
const TORN_LOCK_GRACE_MS = 10_000;

export function lockPathFor(output: string): string {
  return join(dirname(output), `.${basename(output)}${TMP_MARKER}lock`);
}

export async function ownOwner(tmp: string, purpose?: string): Promise<OutputOwner> {
  const [bootId, startTicks] = await Promise.all([readBootId(), readStartTicks(process.pid)]);
  return {
    format: 1,
    pid: process.pid,
    host: hostname(),
    ...(bootId ? { bootId } : {}),
    ...(startTicks ? { startTicks } : {}),
    tmp,
    token: randomBytes(8).toString("hex"),
    started: new Date().toISOString(),
    ...(purpose ? { purpose } : {}),
  };
}

export async function ownerState(o: Pick<OutputOwner, "pid" | "host" | "bootId" | "startTicks">): Promise<OwnerState> {
  if (o.host !== hostname()) return "elsewhere";
  const bootId = await readBootId();
  if (o.bootId && bootId && o.bootId !== bootId) return "dead";
  if (!pidRunning(o.pid)) return "dead";
  if (o.startTicks) {
    const now = await readStartTicks(o.pid);
    if (now && now !== o.startTicks) return "dead"; // the pid now belongs to another process
  }
  return "alive";
}

export function pidRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, "EPERM"); // exists, owned by another user
  }
}

/** The lock's record; `torn` when it is empty or unreadable (its writer died while creating it). */
export async function readOwner(lock: string): Promise<OutputOwner | "torn" | "fresh" | undefined> {
  let text: string;
  try {
    text = await readFile(lock, "utf8");
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw e;
  }
  const parsed = parseOwner(text);
  if (parsed) return parsed;
  const age = Date.now() - (await stat(lock).then((s) => s.mtimeMs, () => 0));
  return age > TORN_LOCK_GRACE_MS ? "torn" : "fresh";
}

function parseOwner(text: string): OutputOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<OutputOwner>;
    if (o && o.format === 1 && Number.isSafeInteger(o.pid) && typeof o.host === "string" && typeof o.tmp === "string" && typeof o.token === "string") {
      // the temporary's name is used as a path: never let a hostile lock point outside the folder
      if (o.tmp !== basename(o.tmp) || !o.tmp.startsWith(".")) return undefined;
      if (o.parts && !(Array.isArray(o.parts) && o.parts.every((p) => typeof p === "string" && p === basename(p)))) return undefined;
      return o as OutputOwner;
    }
  } catch {
    /* torn */
  }
  return undefined;
}

/** Creates the lock with O_EXCL; false when one exists. The record is on disk before it returns. */
export async function createLock(lock: string, owner: OutputOwner): Promise<boolean> {
  let h;
  try {
    h = await open(lock, "wx");
  } catch (e) {
    if (isErrno(e, "EEXIST")) return false;
    throw e;
  }
  try {
    await h.writeFile(JSON.stringify(owner) + "\n");
    await h.sync();
  } finally {
    await h.close();
  }
  return true;
}

/** Replaces our lock's record whole (a crash leaves the old record or the new one). */
export async function rewriteLock(lock: string, owner: OutputOwner): Promise<void> {
  const next = `${lock}.${process.pid}-${randomBytes(4).toString("hex")}`;
  const h = await open(next, "wx");
  try {
    await h.writeFile(JSON.stringify(owner) + "\n");
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(next, lock);
}

/** Is the lock still ours? (false when another writer took it over) */
export async function holdsLock(lock: string, token: string): Promise<boolean> {
  const o = await readOwner(lock).catch(() => undefined);
  return typeof o === "object" && o.token === token;
}

/** Removes the lock if it is still ours. */
export async function releaseLock(lock: string, token: string): Promise<void> {
  if (await holdsLock(lock, token)) await unlink(lock).catch(() => undefined);
}

/**
 * Takes a dead writer's lock out of the way: renamed to a unique name first, so that of two
 * processes cleaning up at once only one gets it, and a lock that turns out to be newer than the
 * one judged dead is put back. Returns the dead record to clean up after, or undefined.
 */
export async function takeDeadLock(lock: string, dead: OutputOwner | "torn"): Promise<OutputOwner | "torn" | undefined> {
  const aside = `${lock}.${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(lock, aside);
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined; // someone else took it
    throw e;
  }
  const moved = parseOwner(await readFile(aside, "utf8").catch(() => ""));
  const same = dead === "torn" ? moved === undefined : moved?.token === dead.token;
  if (!same) {
    // A live writer's brand-new lock: put it back (unless yet another appeared meanwhile).
    await link(aside, lock).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
    return undefined;
  }
  await unlink(aside).catch(() => undefined);
  return dead;
}

let bootIdCache: Promise<string | undefined> | undefined;
function readBootId(): Promise<string | undefined> {
  bootIdCache ??= readFile("/proc/sys/kernel/random/boot_id", "utf8").then((s) => s.trim() || undefined, () => undefined);
  return bootIdCache;
}

async function readStartTicks(pid: number): Promise<string | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last ')'.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return fields[19]; // field 22 of stat(5); fields[0] is field 3
  } catch {
    return undefined;
  }
}
