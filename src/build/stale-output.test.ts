// What the next write to an output does with what an earlier writer left: a dead writer's temporary
// is removed and reported, a commit it left half done is undone or finished, a live writer (here,
// on another host, or before a reboot) is told apart from a dead one. Leftovers are made by hand
// in the exact shapes the protocol leaves them; the real kill -9 is in test/durability.test.ts.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildError } from "../errors.js";
import { prepareOutput } from "./atomic-output.js";
import { lockPathFor, ownOwner, TMP_MARKER, type OutputOwner } from "./output-owner.js";

let root: string;
let n = 0;
/** the pid of a process that has exited */
let deadPid: number;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dusk-stale-"));
  deadPid = spawnSync(process.execPath, ["-e", ""]).pid!;
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function fresh(): Promise<string> {
  const d = join(root, `case-${++n}`);
  await mkdir(d, { recursive: true });
  return d;
}

/** The lock a writer with `pid` left for `output`, naming its temporary. */
async function leaveLock(output: string, pid: number, extra: Partial<OutputOwner> = {}): Promise<string> {
  const tmp = `.${basename(output)}${TMP_MARKER}${pid}-0badf00d`;
  const { startTicks: _ours, ...owner } = await ownOwner(tmp);
  await writeFile(lockPathFor(output), JSON.stringify({ ...owner, pid, ...extra }));
  return join(dirname(output), tmp);
}

describe("a dead writer's leftovers", () => {
  it("its temporary (named by its lock) is removed, reported with its size, and the new output is written", async () => {
    const parent = await fresh();
    const out = join(parent, "model");
    const tmp = await leaveLock(out, deadPid);
    await mkdir(tmp);
    await writeFile(join(tmp, "model.safetensors"), new Uint8Array(3000));
    const o = await prepareOutput(out, [], { kind: "directory" });
    expect(o.stale).toEqual([{ path: tmp, action: "removed", pid: deadPid, host: hostname(), bytes: 3000, reason: `pid ${deadPid} on ${hostname()} is no longer running` }]);
    await writeFile(join(o.tmpPath, "config.json"), "{}");
    await o.commit();
    expect(await readdir(parent)).toEqual(["model"]);
  });

  it("a temporary no lock names (an older dusk, or a lost lock) is removed when its pid is gone, kept while it runs", async () => {
    const parent = await fresh();
    const out = join(parent, "model");
    const dead = join(parent, `.model${TMP_MARKER}${deadPid}-12ab34cd`);
    const live = join(parent, `.model${TMP_MARKER}${process.pid}-12ab34cd`);
    await writeFile(dead, new Uint8Array(10));
    await writeFile(live, new Uint8Array(20));
    const o = await prepareOutput(out, [], { kind: "file" });
    expect(o.stale.map((s) => [s.path, s.action, s.bytes])).toEqual(
      expect.arrayContaining([[dead, "removed", 10], [live, "kept", 0]]),
    );
    await o.abort();
    expect((await readdir(parent)).sort()).toEqual([`.model${TMP_MARKER}${process.pid}-12ab34cd`]);
  });

  it("a lock from before a reboot is dead even if its pid runs now; so is a pid now owned by another process", async () => {
    // Without /proc there is no boot id or start time to compare (the pid alone decides).
    if (!existsSync("/proc/self/stat")) return;
    for (const extra of [{ bootId: "00000000-0000-0000-0000-000000000000" }, { startTicks: "1" }]) {
      const parent = await fresh();
      const out = join(parent, "model");
      const tmp = await leaveLock(out, process.pid, extra);
      await writeFile(tmp, "half");
      const o = await prepareOutput(out, [], { kind: "file" });
      expect(o.stale.map((s) => s.action)).toEqual(["removed"]);
      await o.abort();
      expect(await readdir(parent)).toEqual([]);
    }
  });

  it("a lock whose writer died before filling it in (empty, older than a few seconds) is taken over", async () => {
    const parent = await fresh();
    const out = join(parent, "model");
    await writeFile(lockPathFor(out), "");
    const old = new Date(Date.now() - 60_000);
    await utimes(lockPathFor(out), old, old);
    const o = await prepareOutput(out, [], { kind: "file" });
    await writeFile(o.tmpPath, "x");
    await o.commit();
    expect(await readdir(parent)).toEqual(["model"]);
  });

  /** A forced directory commit killed with the new output at `newAt` and the old one moved aside. */
  async function killedCommit(newAt: "temporary" | "output") {
    const parent = await fresh();
    const out = join(parent, "model");
    const tmp = await leaveLock(out, deadPid);
    const newDir = newAt === "temporary" ? tmp : out;
    await mkdir(newDir);
    await writeFile(join(newDir, "new.txt"), "new");
    await mkdir(`${tmp}.old`);
    await writeFile(join(`${tmp}.old`, "old.txt"), "old");
    const o = await prepareOutput(out, [], { kind: "directory", force: true });
    const seen = o.stale.map((s) => [s.path, s.action, s.bytes]);
    const kept = await readdir(out);
    await o.abort();
    expect(await readdir(parent)).toEqual(["model"]);
    return { tmp, out, seen, kept };
  }

  it("killed between moving the old output aside and renaming the new one in: the old output comes back", async () => {
    const { tmp, out, seen, kept } = await killedCommit("temporary");
    expect(seen).toEqual([[out, "restored", 0], [tmp, "removed", 3]]);
    expect(kept).toEqual(["old.txt"]);
  });

  it("killed after the new output was renamed in: what was moved aside is removed, the new output stays", async () => {
    const { tmp, seen, kept } = await killedCommit("output");
    expect(seen).toEqual([[`${tmp}.old`, "removed", 3]]);
    expect(kept).toEqual(["new.txt"]);
  });

  it("a split set killed mid-move is rolled back to the previous set; one killed after its first part is kept", async () => {
    const parts = ["m-00001-of-00002.gguf", "m-00002-of-00002.gguf"];
    // Rolled back: the new second part was moved in, the new first part is still in the temporary.
    let parent = await fresh();
    let out = join(parent, "m.parts");
    let tmp = await leaveLock(out, deadPid, { parts });
    await mkdir(tmp);
    await writeFile(join(tmp, parts[0]!), "new-1");
    await writeFile(join(parent, parts[1]!), "new-2");
    await mkdir(`${tmp}.old`);
    await writeFile(join(`${tmp}.old`, parts[0]!), "old-1");
    await writeFile(join(`${tmp}.old`, parts[1]!), "old-2");
    let o = await prepareOutput(out, [], { kind: "directory", force: true });
    await o.abort();
    expect((await readdir(parent)).sort()).toEqual(parts);
    expect(await readFile(join(parent, parts[0]!), "utf8")).toBe("old-1");
    expect(await readFile(join(parent, parts[1]!), "utf8")).toBe("old-2");
    // Kept: every new part is in place (the temporary is empty), only the old set's copy remains.
    parent = await fresh();
    out = join(parent, "m.parts");
    tmp = await leaveLock(out, deadPid, { parts });
    await mkdir(tmp);
    for (const [i, p] of parts.entries()) await writeFile(join(parent, p), `new-${i + 1}`);
    await mkdir(`${tmp}.old`);
    await writeFile(join(`${tmp}.old`, parts[0]!), "old-1");
    o = await prepareOutput(out, [], { kind: "directory", force: true });
    await o.abort();
    expect((await readdir(parent)).sort()).toEqual(parts);
    expect(await readFile(join(parent, parts[0]!), "utf8")).toBe("new-1");
  });
});

describe("a writer that may still run", () => {
  it("on another host: refused, naming the host, pid, lock and temporary to remove if it is gone", async () => {
    const parent = await fresh();
    const out = join(parent, "model");
    const tmp = await leaveLock(out, 4242, { host: "some-other-host", purpose: "dusk build" });
    const e = await prepareOutput(out, [], { kind: "directory" }).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(BuildError);
    expect((e as BuildError).code).toBe("build.output-busy");
    expect((e as BuildError).message).toContain(`${out} is being written by dusk build (pid 4242 on some-other-host`);
    expect((e as BuildError).hint).toContain(lockPathFor(out));
    expect((e as BuildError).hint).toContain(tmp);
    expect((await readdir(parent)).length).toBe(1); // only its lock; nothing of ours
  });
});
