import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildError } from "../errors.js";
import { prepareOutput, TMP_MARKER } from "./atomic-output.js";

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
