import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildError } from "../errors.js";
import { prepareOutput, TMP_MARKER } from "./atomic-output.js";
import { lockOutput, writeDirectoryDurably, writeFileDurably } from "./durable-write.js";

let root: string;
let n = 0;
const fresh = () => join(root, `case-${++n}`);
const exists = (p: string) => stat(p).then(() => true, () => false);

async function refused(p: Promise<unknown>, code: string): Promise<BuildError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(BuildError);
  expect((e as BuildError).code).toBe(code);
  expect((e as BuildError).hint).toBeTruthy();
  return e as BuildError;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dusk-atomic-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("prepareOutput", () => {
  it("a directory output is written in a hidden sibling and appears whole on commit", async () => {
    const parent = fresh();
    const out = join(parent, "model");
    const o = await prepareOutput(out, [], { kind: "directory" });
    expect(dirname(o.tmpPath)).toBe(parent);
    expect(basename(o.tmpPath).startsWith(`.model${TMP_MARKER}${process.pid}-`)).toBe(true);
    expect((await stat(o.tmpPath)).isDirectory()).toBe(true);
    await writeFile(join(o.tmpPath, "config.json"), "{}");
    expect(await exists(out)).toBe(false);
    await o.commit();
    expect(await readdir(out)).toEqual(["config.json"]);
    expect(await readdir(parent)).toEqual(["model"]);
  });

  it("a file output: the temp path is not created for the caller, and commit renames it", async () => {
    const out = join(fresh(), "model.gguf");
    const o = await prepareOutput(out, [], { kind: "file" });
    expect(await exists(o.tmpPath)).toBe(false);
    await writeFile(o.tmpPath, "GGUF");
    await o.commit();
    expect(await readFile(out, "utf8")).toBe("GGUF");
    expect(await readdir(dirname(out))).toEqual(["model.gguf"]);
  });

  it("abort leaves nothing: no output, no temp", async () => {
    const parent = fresh();
    const out = join(parent, "model");
    const o = await prepareOutput(out, [], { kind: "directory" });
    await writeFile(join(o.tmpPath, "model.safetensors"), "half");
    await o.abort();
    expect(await readdir(parent)).toEqual([]);
  });

  it("an existing output is refused without force, and replaced whole with it", async () => {
    const parent = fresh();
    const out = join(parent, "model");
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "old.txt"), "old");
    const e = await refused(prepareOutput(out, [], { kind: "directory" }), "build.output-exists");
    expect(e.message).toContain(out);
    expect(await readdir(parent)).toEqual(["model"]);

    const o = await prepareOutput(out, [], { kind: "directory", force: true });
    await writeFile(join(o.tmpPath, "new.txt"), "new");
    // the old output stays in place until commit
    expect(await readdir(out)).toEqual(["old.txt"]);
    await o.commit();
    expect(await readdir(out)).toEqual(["new.txt"]);
    expect(await readdir(parent)).toEqual(["model"]);
  });

  it("refuses an output that is an input, inside one, or contains one — even with force", async () => {
    const input = join(fresh(), "base");
    await mkdir(input, { recursive: true });
    await writeFile(join(input, "model.safetensors"), "weights");
    const shard = join(input, "model.safetensors");
    for (const out of [input, join(input, "sub"), dirname(input), shard]) {
      const e = await refused(prepareOutput(out, [input, shard], { kind: "directory", force: true }), "build.output-is-input");
      expect(e.message).toContain(input);
    }
    expect(await readdir(input)).toEqual(["model.safetensors"]);
    expect(await readdir(dirname(input))).toEqual(["base"]);
  });

  it("sees through symlinks: a link to the input, or a path under one, is the input", async () => {
    const parent = fresh();
    const input = join(parent, "base");
    await mkdir(input, { recursive: true });
    const link = join(parent, "link");
    await symlink(input, link);
    await refused(prepareOutput(link, [input], { kind: "directory", force: true }), "build.output-is-input");
    await refused(prepareOutput(join(link, "out"), [input], { kind: "directory" }), "build.output-is-input");
    expect(await readdir(input)).toEqual([]);
  });

  it("a sibling whose name merely starts with the input's is not inside it", async () => {
    const parent = fresh();
    const input = join(parent, "base");
    await mkdir(input, { recursive: true });
    const o = await prepareOutput(join(parent, "base-dus"), [input], { kind: "directory" });
    await o.commit();
    expect((await readdir(parent)).sort()).toEqual(["base", "base-dus"]);
  });
});

describe("two writers, free space, and outputs that appear meanwhile", () => {
  it("a second writer of the same output is refused while the first runs, naming it; the first then commits", async () => {
    const parent = fresh();
    const out = join(parent, "model");
    const first = await prepareOutput(out, [], { kind: "directory", purpose: "dusk build" });
    const e = await refused(prepareOutput(out, [], { kind: "directory", force: true }), "build.output-busy");
    expect(e.message).toContain(`${out} is being written by dusk build (pid ${process.pid} on `);
    await writeFile(join(first.tmpPath, "a.txt"), "a");
    await first.commit();
    expect(await readdir(parent)).toEqual(["model"]);
    // and once it is done, the next (forced) writer gets the lock
    const second = await prepareOutput(out, [], { kind: "directory", force: true });
    await second.abort();
    expect(await readdir(parent)).toEqual(["model"]);
  });

  it("the free space is checked before anything is written (statfs injected; the real one in test/durability)", async () => {
    const parent = fresh();
    const out = join(parent, "model");
    const statfs = async () => ({ bavail: 10n, bsize: 4096n });
    const e = await refused(prepareOutput(out, [], { kind: "directory", bytes: 1_000_000, statfs }), "build.no-space");
    expect(e.message).toBe(`cannot write ${out}: it needs 1.0 MB and ${parent} has 41.0 KB free; nothing was written`);
    expect(await readdir(parent)).toEqual([]);
    const o = await prepareOutput(out, [], { kind: "directory", bytes: 40_000, statfs });
    await o.abort();
  });

  it("an output that appears during the write is not replaced without force", async () => {
    const parent = fresh();
    const out = join(parent, "model.gguf");
    const o = await prepareOutput(out, [], { kind: "file" });
    await writeFile(o.tmpPath, "new");
    await writeFile(out, "someone else's");
    await refused(o.commit(), "build.output-exists");
    await o.abort();
    expect(await readFile(out, "utf8")).toBe("someone else's");
    expect(await readdir(parent)).toEqual(["model.gguf"]);
  });

  it("a forced file output replaces the old file in one rename", async () => {
    const parent = fresh();
    const out = join(parent, "model.gguf");
    await mkdir(parent, { recursive: true });
    await writeFile(out, "old");
    const o = await prepareOutput(out, [], { kind: "file", force: true });
    await writeFile(o.tmpPath, "new");
    await o.commit();
    expect(await readFile(out, "utf8")).toBe("new");
    expect(await readdir(parent)).toEqual(["model.gguf"]);
  });
});

describe("small outputs", () => {
  it("writeFileDurably replaces a file whole; writeDirectoryDurably writes a folder whole and refuses paths outside it", async () => {
    const parent = fresh();
    const file = join(parent, "results.json");
    await writeFileDurably(file, "{\"a\":1}\n");
    await writeFileDurably(file, "{\"a\":2}\n");
    expect(await readFile(file, "utf8")).toBe("{\"a\":2}\n");
    const dir = join(parent, "job");
    await writeDirectoryDurably(dir, { "config.yml": "a: 1\n", "scripts/launch.sh": "#!/bin/sh\n" });
    expect((await readdir(dir)).sort()).toEqual(["config.yml", "scripts"]);
    await refused(writeDirectoryDurably(dir, { "x": "" }), "build.output-exists");
    const e = await writeDirectoryDurably(join(parent, "evil"), { "../escape.txt": "x" }).then(() => undefined, (err: unknown) => err);
    expect((e as BuildError).code).toBe("build.output-file");
    expect((await readdir(parent)).sort()).toEqual(["job", "results.json"]);
  });

  it("lockOutput: a file written in place has one writer at a time", async () => {
    const parent = fresh();
    const log = join(parent, "samples.jsonl");
    const lock = await lockOutput(log, { purpose: "dusk eval (sample log)" });
    await refused(lockOutput(log), "build.output-busy");
    await lock.release();
    const again = await lockOutput(log);
    await again.release();
    expect(await readdir(parent)).toEqual([]);
  });
});

describe("split sets (commitParts)", () => {
  const parts = ["m-00001-of-00002.gguf", "m-00002-of-00002.gguf"];
  async function writeSet(parent: string, force: boolean, tag: string) {
    const o = await prepareOutput(join(parent, "m.parts"), [], { kind: "directory", force });
    for (const p of parts) await writeFile(join(o.tmpPath, p), `${tag}:${p}`);
    return o;
  }

  it("moves the parts beside the output, replaces an old set only with force, and leaves nothing else", async () => {
    const parent = fresh();
    const first = await writeSet(parent, false, "old");
    expect(await first.commitParts(parts)).toEqual(parts.map((p) => join(parent, p)));
    expect((await readdir(parent)).sort()).toEqual(parts);
    const again = await writeSet(parent, false, "new");
    await refused(again.commitParts(parts), "build.output-exists");
    await again.abort();
    expect(await readFile(join(parent, parts[0]!), "utf8")).toBe(`old:${parts[0]}`);
    const forced = await writeSet(parent, true, "new");
    await forced.commitParts(parts);
    expect((await readdir(parent)).sort()).toEqual(parts);
    for (const p of parts) expect(await readFile(join(parent, p), "utf8")).toBe(`new:${p}`);
  });
});
