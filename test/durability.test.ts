// Durability as a user meets it, with real processes and real file systems: a `dusk build` killed
// with kill -9 mid-write and the next build to that output; two builds of one output at once; a
// folder dusk may not write (EACCES, as another user when the tests run as root); a read-only file
// system (EROFS) and a full disk (ENOSPC) on mounts made for the test; the free-space check against
// a real statfs; the fsync/rename order as strace sees it. Each failure must be a typed error naming
// the path, with a hint, leaving nothing. Mounts and strace are skipped, with the reason, where absent.

import { spawnSync } from "node:child_process";
import { chmod, mkdir, readdir, readFile, statfs } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyHfModel } from "../src/fixtures/tiny-model.js";
import { cachedGguf } from "../src/runtime/gguf-cache.js";
import { DUSK_BIN, ensureFreshDist, spawnDusk } from "./helpers/child.js";
import { exists, leftoverTemps, runCli, tempDirs } from "./helpers/cli.js";
import { bindReadOnly, mountSupport, mountTmpfs, unmount } from "./helpers/mounts.js";
import { makeTinyHf } from "./helpers/models.js";

const SMALL = { layers: 4, hidden: 32, heads: 4, kvHeads: 2, vocabSize: 64, dtype: "F32", seed: 5 } as const;
/** 4 layers of hidden 256 restacked 12 times: a ~110 MB output, so a build takes a moment to write */
const WIDE = { layers: 4, hidden: 256, heads: 4, kvHeads: 2, vocabSize: 64, dtype: "F32", seed: 6 } as const;
const LAYERS_48 = Array.from({ length: 12 }, () => "0-3").join(",");
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

const temps = tempDirs("dusk-durable-");
let root: string;
let small: string;
let wide: string;
/** with the tiny SentencePiece tokenizer, which dusk convert reads */
let withTokenizer: string;
let noMount: string | undefined;
let n = 0;
const outPath = (name = "out") => join(root, `${name}-${++n}`);
const wideBuild = (out: string) => ["build", "--preset", "layers", "--layers", LAYERS_48, wide, "-o", out];

beforeAll(async () => {
  root = await temps.make();
  await chmod(root, 0o755); // another user (the EACCES test) must read the source model
  small = join(root, "small");
  wide = join(root, "wide");
  // A 2 MB tokenizer.json: the build copies it after the weights, past the free-space check's sum.
  const padding = JSON.stringify({ version: "1.0", model: { type: "BPE", vocab: { a: 0 } }, padding: "x".repeat(2_000_000) });
  await writeTinyHfModel(small, { ...SMALL, tokenizerFiles: { "tokenizer.json": padding } });
  await writeTinyHfModel(wide, WIDE);
  withTokenizer = await makeTinyHf({ layers: 2, hidden: 32, heads: 4, kvHeads: 2 }, join(root, "with-tokenizer"));
  noMount = await mountSupport();
  await ensureFreshDist();
}, 180_000);
afterAll(() => temps.cleanup());

describe("a writer that dies, and two writers at once (real dusk processes)", () => {
  it("kill -9 mid-write leaves the temporary; the next build removes it, says so, and writes the output", async () => {
    const out = outPath("killed");
    const first = spawnDusk(wideBuild(out));
    await first.waitForStderr(/^build: \d+%/m);
    process.kill(first.pid, "SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    expect(await exists(out), "the killed build must not have finished").toBe(false);
    const left = (await leftoverTemps(out)).sort();
    const tmp = left.find((f) => f.startsWith(`.${out.split("/").pop()}.dusk-tmp-${first.pid}-`))!;
    expect(left).toEqual([tmp, `.${out.split("/").pop()}.dusk-tmp-lock`].sort());
    expect((await readdir(join(root, tmp))).length).toBeGreaterThan(0);

    const next = await runCli(wideBuild(out));
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(new RegExp(`^note: removed ${escape(join(root, tmp))} \\(\\d+(\\.\\d)? [KMG]?B\\), left by an earlier write that did not finish \\(pid ${first.pid} on ${escape(hostname())} is no longer running\\)$`, "m"));
    expect(await leftoverTemps(out)).toEqual([]);
    const verify = await runCli(["verify", out, "--quiet"]);
    expect(verify.code, verify.stderr).toBe(0);
  }, 120_000);

  it("a second build of the same output is refused while the first runs, naming it; the first then completes", async () => {
    const out = outPath("twice");
    const first = spawnDusk(wideBuild(out));
    await first.waitForStderr(/^build: \d+%/m);
    process.kill(first.pid, "SIGSTOP"); // hold it mid-write
    try {
      const second = spawnDusk([...wideBuild(out), "--force"]);
      expect((await second.exited).code).toBe(1);
      expect(second.stderr()).toMatch(new RegExp(`^error: ${escape(out)} is being written by dusk build \\(pid ${first.pid} on ${escape(hostname())}, since \\S+\\)\\n`));
      expect(second.stderr()).toMatch(/\nhint: wait for it to finish \(or stop it\), or write to another path \(-o\)\n$/);
    } finally {
      process.kill(first.pid, "SIGCONT");
    }
    const done = await first.exited;
    expect(done.code, first.stderr()).toBe(0);
    expect(await leftoverTemps(out)).toEqual([]);
    const verify = await runCli(["verify", out, "--quiet"]);
    expect(verify.code, verify.stderr).toBe(0);
  }, 120_000);
});

describe("a shared cache entry", () => {
  it("two loads needing the same cached GGUF at once: one converts, the other waits for it and reuses it", async () => {
    const cacheDir = outPath("cache");
    const [a, b] = await Promise.all([cachedGguf(withTokenizer, { cacheDir }), cachedGguf(withTokenizer, { cacheDir })]);
    expect(a.path).toBe(b.path);
    expect([a.converted, b.converted].sort()).toEqual([false, true]);
    expect(await readdir(cacheDir)).toEqual([basename(a.path)]);
  });
});

describe("the order of writes on disk", () => {
  it("every file of the temporary is fsynced, then the temporary itself, then the rename, then the folder (strace)", async (ctx) => {
    const probe = spawnSync("strace", ["-f", "-o", "/dev/null", process.execPath, "-e", ""]);
    if (probe.error || probe.status !== 0) return ctx.skip("strace is not installed here, or may not trace (ptrace refused)");
    const out = outPath("traced");
    const trace = `${out}.strace`;
    const r = spawnSync("strace", ["-f", "-y", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2", "-o", trace, process.execPath, DUSK_BIN, "build", "--preset", "dus", "--drop", "1", small, "-o", out, "--quiet"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    // `PID fsync(FD</path>) = 0` and `PID rename("from", "to") = 0`, in the order they happened
    const calls = (await readFile(trace, "utf8")).split("\n").flatMap((l) => {
      const sync = /\b(?:fsync|fdatasync)\(\d+<([^>]+)>\) += 0$/.exec(l);
      if (sync) return [`sync ${sync[1]}`];
      const mv = /\brename(?:at2?)?\(.*?"([^"]+)",.*?"([^"]+)".*\) += 0$/.exec(l);
      return mv ? [`rename ${mv[1]} ${mv[2]}`] : [];
    });
    const rename = calls.findIndex((c) => c.startsWith("rename ") && c.endsWith(` ${out}`));
    expect(rename, calls.join("\n")).toBeGreaterThan(0);
    const tmp = calls[rename]!.split(" ")[1]!;
    const before = new Set(calls.slice(0, rename));
    for (const f of await readdir(out)) expect(before.has(`sync ${join(tmp, f)}`), `${f} fsynced before the rename`).toBe(true);
    expect(before.has(`sync ${tmp}`), "the temporary folder fsynced before the rename").toBe(true);
    expect(calls.slice(rename + 1)).toContain(`sync ${root}`);
  });
});

describe("folders and disks that refuse the write", () => {
  it("a folder dusk may not write: permission denied, naming it, with a hint, nothing left", async (ctx) => {
    const parent = outPath("not-yours");
    await mkdir(parent);
    const out = join(parent, "model");
    let code: number | null;
    let stderr: string;
    if (process.getuid?.() === 0) {
      // Root writes anywhere. Drop the capabilities that let it (setpriv, util-linux), so the
      // folder's mode applies to its owner; or else run dusk as `nobody` (which must be able to
      // read this checkout, unlike a clone in a private temporary folder).
      await chmod(parent, 0o555);
      const argv = ["build", "--preset", "dus", "--drop", "1", small, "-o", out];
      const setpriv = spawnSync("setpriv", ["--bounding-set", "-dac_override,-dac_read_search", "--", "true"]).status === 0;
      const nobodyReads = spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(DUSK_BIN)}, 4)`], { uid: 65534, gid: 65534 }).status === 0;
      if (!setpriv && !nobodyReads) return ctx.skip("running as root without setpriv, and user nobody cannot read this checkout");
      const child = setpriv ? spawnDusk(argv, { wrapper: ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"] }) : spawnDusk(argv, { uid: 65534, gid: 65534 });
      code = (await child.exited).code;
      stderr = child.stderr();
      await chmod(parent, 0o755);
    } else {
      await chmod(parent, 0o555);
      const r = await runCli(["build", "--preset", "dus", "--drop", "1", small, "-o", out]);
      [code, stderr] = [r.code, r.stderr];
      await chmod(parent, 0o755);
    }
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(new RegExp(`^error: cannot write ${escape(out)}: permission denied \\(open ${escape(parent)}/\\.model\\.dusk-tmp-lock\\)\\n`));
    expect(stderr).toMatch(/\nhint: choose an output in a directory you may write to \(-o\)/);
    expect(await readdir(parent)).toEqual([]);
  }, 60_000);

  async function onTmpfs(bytes: number, use: (dir: string) => Promise<void>): Promise<void> {
    const disk = await mountTmpfs(bytes);
    try {
      await use(disk);
    } finally {
      await unmount(disk);
    }
  }

  /** Runs `dusk ARGV` against the mounted `dir`: exit 1, `error:` as `pattern`, nothing left on it. */
  async function refusedOn(dir: string, argv: string[], pattern: string): Promise<string> {
    const r = await runCli(argv);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${pattern}\\n`));
    expect(await readdir(dir)).toEqual([]);
    return r.stderr;
  }

  it("a read-only file system: dusk convert says so, naming the output", async (ctx) => {
    if (noMount) return ctx.skip(noMount);
    const target = outPath("ro-source");
    await mkdir(target);
    const ro = await bindReadOnly(target);
    try {
      const out = join(ro, "model.gguf");
      const stderr = await refusedOn(ro, ["convert", withTokenizer, "-o", out, "--quiet"], `cannot write ${escape(out)}: the file system is read-only .*`);
      expect(stderr).toMatch(/\nhint: choose an output on a writable disk \(-o\)/);
    } finally {
      await unmount(ro);
    }
  });

  it("a disk that fills up mid-write: a typed error, the temporary removed and its space given back", async (ctx) => {
    if (noMount) return ctx.skip(noMount);
    // 1 MB: room for the ~0.3 MB of weights the free-space check counts, not for the 2 MB tokenizer.json
    await onTmpfs(1024 * 1024, async (disk) => {
      const freeBefore = await statfs(disk).then((s) => s.bavail);
      const tokenizer = `${escape(disk)}/\\.model\\.dusk-tmp-\\d+-[0-9a-f]+/tokenizer\\.json`;
      const out = join(disk, "model");
      const stderr = await refusedOn(disk, ["build", "--preset", "dus", "--drop", "1", small, "-o", out, "--quiet"], `cannot write ${escape(out)}: the disk is full \\(copyfile ${tokenizer}\\); nothing was written`);
      expect(stderr).toMatch(/\nhint: free space on that disk, or write the output to another one \(-o\)\n$/);
      expect(await statfs(disk).then((s) => s.bavail)).toBe(freeBefore);
    });
  });

  it("the free-space check (a real statfs) refuses an output that cannot fit before writing a byte", async (ctx) => {
    if (noMount) return ctx.skip(noMount);
    await onTmpfs(64 * 1024, async (disk) => {
      const out = join(disk, "model");
      await refusedOn(disk, ["build", "--preset", "dus", "--drop", "1", small, "-o", out], `cannot write ${escape(out)}: it needs \\d+\\.\\d KB and ${escape(disk)} has \\d+\\.\\d KB free; nothing was written`);
    });
  });
});
