// End-to-end refusals: every bad input to `dusk build` (corrupt shards and indexes, bad configs,
// bad recipes, bad output paths) must exit non-zero with a message naming the file or field and a
// hint, and leave NOTHING at the output path — no output, no `.NAME.dusk-tmp-*` beside it. Also
// interrupted library builds, and a real child process of bin/dusk.js.

import { execFile } from "node:child_process";
import { cp, mkdir, readFile, readdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModel, checkpointHeader, idusRecipe, makePlan, openCheckpoint, recipeToMergekitYaml, type BuildEvent } from "../src/index.js";
import { CHUNK_BYTES, newChunkBuffers, streamTensor } from "../src/build/tensor-stream.js";
import { BuildError } from "../src/errors.js";
import type { ByteSource } from "../src/formats/byte-source.js";
import { tensorType } from "../src/formats/tensor-types.js";
import type { TensorOp } from "../src/plan/types.js";
import { writeTinyHfModel } from "../src/fixtures/tiny-model.js";
import { exists, leftoverTemps, readTensorBytes, runCli, tempDirs, type CliResult } from "./helpers/cli.js";

const SMALL = { layers: 4, hidden: 32, heads: 4, kvHeads: 2, vocabSize: 64, dtype: "F32", seed: 5 } as const;
const VICTIM = "model.layers.1.mlp.up_proj.weight";

const temps = tempDirs();
let root: string;
/** a good 4-layer model, copied and then damaged by each test */
let pristine: string;
/** a good 4-layer model in several shards */
let pristineSharded: string;
let model32: string;
let counter = 0;

/** A fresh copy of a good model, for one test to damage. */
async function copyOf(model: string): Promise<string> {
  const dir = join(root, `case-${++counter}`);
  await cp(model, dir, { recursive: true });
  return dir;
}

function outPath(): string {
  return join(root, `out-${++counter}`);
}

/** The refusal every bad input must give: exit ≠ 0, `error:` naming things, a hint, nothing written. */
async function expectRefused(r: CliResult, output: string, mentions: (string | RegExp)[]): Promise<void> {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.code, r.stderr).not.toBe(70); // 70 = an internal error, not a typed one
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).toMatch(/\nhint: \S/);
  for (const m of mentions) {
    if (typeof m === "string") expect(r.stderr).toContain(m);
    else expect(r.stderr).toMatch(m);
  }
  expect(await exists(output), `${output} must not exist`).toBe(false);
  expect(await leftoverTemps(output)).toEqual([]);
}

async function buildDus(model: string, output: string, extra: string[] = []): Promise<CliResult> {
  return runCli(["build", "--preset", "dus", "--drop", "1", model, "-o", output, "--quiet", ...extra]);
}

/** Rewrites a safetensors file's JSON header (data bytes unchanged). */
async function editHeader(file: string, edit: (header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>) => void) {
  const buf = await readFile(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  await writeFile(file, Buffer.concat([len, json, buf.subarray(8 + n)]));
}

async function setHeaderLength(file: string, length: bigint) {
  const buf = await readFile(file);
  buf.writeBigUInt64LE(length, 0);
  await writeFile(file, buf);
}

async function writeYaml(name: string, text: string): Promise<string> {
  const file = join(root, name);
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  root = await temps.make();
  pristine = join(root, "pristine");
  pristineSharded = join(root, "pristine-sharded");
  model32 = join(root, "model-32");
  await writeTinyHfModel(pristine, SMALL);
  await writeTinyHfModel(pristineSharded, { ...SMALL, shardBytes: 30_000 });
  await writeTinyHfModel(model32, { ...SMALL, layers: 32 });
});
afterAll(() => temps.cleanup());

describe("corrupt safetensors shards", () => {
  it("a truncated shard", async () => {
    const m = await copyOf(pristine);
    const file = join(m, "model.safetensors");
    await truncate(file, (await stat(file)).size - 10);
    const out = outPath();
    await expectRefused(await buildDus(m, out), out, [file, "truncated", "ends before the last tensor"]);
  });

  it("a header length past the end of the file", async () => {
    const m = await copyOf(pristine);
    const file = join(m, "model.safetensors");
    await setHeaderLength(file, BigInt((await stat(file)).size));
    const out = outPath();
    await expectRefused(await buildDus(m, out), out, [file, "header length", "past the end"]);
  });

  it("an over-long header", async () => {
    const m = await copyOf(pristine);
    const file = join(m, "model.safetensors");
    await setHeaderLength(file, 1n << 40n);
    const out = outPath();
    await expectRefused(await buildDus(m, out), out, [file, "header length", "over the limit"]);
  });

  it("overlapping offsets", async () => {
    const m = await copyOf(pristine);
    const file = join(m, "model.safetensors");
    await editHeader(file, (h) => {
      const [b, e] = h[VICTIM]!.data_offsets;
      h[VICTIM]!.data_offsets = [b - 4, e - 4];
    });
    const out = outPath();
    await expectRefused(await buildDus(m, out), out, [file, VICTIM, "overlaps"]);
  });

  it("holey offsets", async () => {
    const m = await copyOf(pristine);
    const file = join(m, "model.safetensors");
    await editHeader(file, (h) => {
      const [b, e] = h[VICTIM]!.data_offsets;
      h[VICTIM]!.data_offsets = [b + 4, e + 4];
    });
    const out = outPath();
    await expectRefused(await buildDus(m, out), out, [file, VICTIM, "gap"]);
  });

  it("a dtype/shape that does not match the byte count", async () => {
    const m = await copyOf(pristine);
    const file = join(m, "model.safetensors");
    await editHeader(file, (h) => {
      h[VICTIM]!.dtype = "F16";
    });
    const out = outPath();
    await expectRefused(await buildDus(m, out), out, [file, VICTIM, "does not match shape × dtype size"]);
  });
});

describe("sharded checkpoints with a bad index", () => {
  it("an index naming a missing shard", async () => {
    const m = await copyOf(pristineSharded);
    const shards = (await readdir(m)).filter((f) => f.endsWith(".safetensors")).sort();
    expect(shards.length).toBeGreaterThan(2);
    await rm(join(m, shards[1]!));
    const out = outPath();
    await expectRefused(await buildDus(m, out), out, [join(m, "model.safetensors.index.json"), shards[1]!, "not in the directory"]);
  });

  it("an index naming a tensor that its shard lacks", async () => {
    const m = await copyOf(pristineSharded);
    const indexFile = join(m, "model.safetensors.index.json");
    const index = JSON.parse(await readFile(indexFile, "utf8")) as { weight_map: Record<string, string> };
    const shard = Object.values(index.weight_map)[0]!;
    index.weight_map["model.layers.0.mlp.extra_proj.weight"] = shard;
    await writeFile(indexFile, JSON.stringify(index, null, 2));
    const out = outPath();
    await expectRefused(await buildDus(m, out), out, [indexFile, "weight_map.model.layers.0.mlp.extra_proj.weight", shard]);
  });
});

describe("bad configs and recipes", () => {
  it("an unknown architecture names it and the known families", async () => {
    const m = await copyOf(pristine);
    const configFile = join(m, "config.json");
    const config = JSON.parse(await readFile(configFile, "utf8")) as Record<string, unknown>;
    config.architectures = ["FrobnicatorForCausalLM"];
    config.model_type = "frobnicator";
    await writeFile(configFile, JSON.stringify(config));
    const out = outPath();
    const r = await buildDus(m, out);
    await expectRefused(r, out, [configFile, /Frobnicator|frobnicator/, /known families: .*llama/]);
  });

  it("a YAML layer_range past the model names slices[i].sources[0].layer_range", async () => {
    const yaml = await writeYaml("past-end.yml", `merge_method: passthrough\nslices:\n  - sources:\n      - model: ${model32}\n        layer_range: [0, 24]\n  - sources:\n      - model: ${model32}\n        layer_range: [0, 40]\n`);
    const out = outPath();
    await expectRefused(await runCli(["build", yaml, "-o", out, "--quiet"]), out, [`${yaml} slices[1].sources[0].layer_range`, "32 layers"]);
  });

  it("an empty plan", async () => {
    const yaml = await writeYaml("empty.yml", `merge_method: passthrough\nslices:\n  - sources:\n      - model: ${model32}\n        layer_range: [4, 4]\n`);
    const out = outPath();
    await expectRefused(await runCli(["build", yaml, "-o", out, "--quiet"]), out, ["slices", "no layers"]);
  });

  it("a YAML syntax error gives file:line:col", async () => {
    const yaml = await writeYaml("syntax.yml", `merge_method: passthrough\nslices:\n  - sources: [\n      - model: x\n`);
    const out = outPath();
    await expectRefused(await runCli(["build", yaml, "-o", out, "--quiet"]), out, [new RegExp(`${yaml.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:\\d+:\\d+`)]);
  });

  it("an unknown key gives file:line:col and its path", async () => {
    const yaml = await writeYaml("unknown-key.yml", `merge_method: passthrough\nslices:\n  - sources:\n      - model: ${model32}\n        layer_range: [0, 8]\n        layer_rnage: [0, 8]\n`);
    const out = outPath();
    await expectRefused(await runCli(["build", yaml, "-o", out, "--quiet"]), out, [`${yaml}:6:9`, "layer_rnage"]);
  });

  it("sources of different shapes name the tensor", async () => {
    const wide = join(root, "wide");
    await writeTinyHfModel(wide, { ...SMALL, hidden: 64 });
    const out = outPath();
    await expectRefused(await buildDus(pristine, out, [wide]), out, [/model\.(layers\.\d+|embed_tokens)\.[\w.]+ has shape/]);
  });

  it("--group 0", async () => {
    const out = outPath();
    await expectRefused(await runCli(["build", "--preset", "idus", "--group", "0", model32, "-o", out]), out, ["--group"]);
  });
});

describe("output paths", () => {
  it("an output equal to an input, or inside it, is refused (even with --force)", async () => {
    const m = await copyOf(pristine);
    const before = (await readdir(m)).sort();
    const same = await buildDus(m, m, ["--force"]);
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/^error: the output .* is the input/);
    expect(same.stderr).toMatch(/\nhint: /);
    const inside = join(m, "deeper");
    await expectRefused(await buildDus(m, inside, ["--force"]), inside, ["overlaps the input"]);
    expect((await readdir(m)).sort()).toEqual(before);
    expect(await leftoverTemps(m)).toEqual([]);
  });

  it("an existing output is kept without --force and replaced with it", async () => {
    const out = outPath();
    await mkdir(out);
    await writeFile(join(out, "precious.txt"), "keep me");
    const r = await buildDus(pristine, out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("already exists");
    expect(r.stderr).toContain("hint: choose another path, or pass --force");
    expect(await readdir(out)).toEqual(["precious.txt"]);
    expect(await leftoverTemps(out)).toEqual([]);
    const forced = await buildDus(pristine, out, ["--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await exists(join(out, "precious.txt"))).toBe(false);
    expect(await exists(join(out, "model.safetensors"))).toBe(true);
    expect((await readdir(root)).filter((n) => n.includes(".dusk-tmp-"))).toEqual([]);
  });
});

describe("interrupted library builds leave nothing that looks complete", () => {
  async function planned(model: string) {
    const checkpoint = await openCheckpoint(model);
    const recipe = idusRecipe({ model, layers: checkpoint.numLayers, drop: 8, group: 8 });
    const plan = makePlan(recipe, [checkpointHeader(checkpoint)]);
    return { checkpoint, recipe, plan };
  }

  it("an AbortSignal fired after the first progress event", async () => {
    const { checkpoint, recipe, plan } = await planned(model32);
    const output = outPath();
    const controller = new AbortController();
    const seen: BuildEvent["type"][] = [];
    try {
      const run = async () => {
        for await (const e of buildModel(plan, [checkpoint], { output, signal: controller.signal, recipeYaml: recipeToMergekitYaml(recipe), layout: "idus-8" })) {
          seen.push(e.type);
          if (e.type === "progress") controller.abort(new Error("test abort"));
        }
      };
      const err = await run().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(BuildError);
      expect((err as BuildError).code).toBe("build.aborted");
    } finally {
      await checkpoint.close();
    }
    expect(seen.filter((t) => t === "progress")).toHaveLength(1);
    expect(seen).not.toContain("done");
    expect(await exists(output)).toBe(false);
    expect(await leftoverTemps(output)).toEqual([]);
  });

  it("a consumer that stops iterating early", async () => {
    const { checkpoint, recipe, plan } = await planned(model32);
    const output = outPath();
    try {
      for await (const e of buildModel(plan, [checkpoint], { output, recipeYaml: recipeToMergekitYaml(recipe), layout: "idus-8" })) {
        if (e.type === "progress" && e.index === 10) break;
      }
    } finally {
      await checkpoint.close();
    }
    expect(await exists(output)).toBe(false);
    expect(await leftoverTemps(output)).toEqual([]);
  });

  it("a source truncated between planning and building fails with a typed error naming it", async () => {
    const m = await copyOf(model32);
    const { checkpoint, recipe, plan } = await planned(m);
    const file = join(m, "model.safetensors");
    await truncate(file, Math.floor((await stat(file)).size / 2));
    const output = outPath();
    try {
      const run = async () => {
        for await (const e of buildModel(plan, [checkpoint], { output, recipeYaml: recipeToMergekitYaml(recipe), layout: "idus-8" })) void e;
      };
      const err = await run().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(BuildError);
      expect((err as BuildError).message).toContain(file);
      expect((err as BuildError).hint).toBeTruthy();
    } finally {
      await checkpoint.close();
    }
    expect(await exists(output)).toBe(false);
    expect(await leftoverTemps(output)).toEqual([]);
  });

  it("a write that fails while the next chunk is being read rejects the build (no unhandled rejection)", async () => {
    // Three chunks; reads after the first are slow, the first write fails fast — so the write's
    // rejection happens while streamTensor awaits the read-ahead.
    const byteLength = 2 * CHUNK_BYTES + 64;
    const bytes = new Uint8Array(byteLength);
    const source: ByteSource = {
      name: "<slow source>",
      size: byteLength,
      read: async (offset, length) => bytes.slice(offset, offset + length),
      readInto: async (offset, into) => {
        if (offset > 0) await new Promise((r) => setTimeout(r, 80));
        into.set(bytes.subarray(offset, offset + into.byteLength));
      },
      close: async () => {},
    };
    const f32 = tensorType("F32")!;
    const shape = [byteLength / 4];
    const op: TensorOp = { name: "t", source: 0, from: "t", fromType: "F32", type: "F32", shape, byteLength, transform: { kind: "copy" } };
    const failingWrite = async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw new Error("ENOSPC: no space left on device");
    };
    await expect(streamTensor(op, { name: "t", type: f32, shape, offset: 0, byteLength, source }, failingWrite, newChunkBuffers())).rejects.toThrow("ENOSPC");
    // Give a stray rejection time to surface as an unhandled one (vitest fails the run on it).
    await new Promise((r) => setTimeout(r, 120));
  });

  it("the library barrel builds a model that verifies", async () => {
    const { checkpoint, recipe, plan } = await planned(model32);
    const output = outPath();
    const events: BuildEvent[] = [];
    try {
      for await (const e of buildModel(plan, [checkpoint], { output, recipeYaml: recipeToMergekitYaml(recipe), layout: "idus-8" })) events.push(e);
    } finally {
      await checkpoint.close();
    }
    expect(events[0]!.type).toBe("start");
    const done = events.at(-1)!;
    expect(done.type).toBe("done");
    expect(events.filter((e) => e.type === "progress")).toHaveLength(plan.tensors.length);
    const tensors = await readTensorBytes(output);
    expect(tensors.size).toBe(plan.tensors.length);
    const v = await runCli(["verify", output, "--quiet"]);
    expect(v.code, v.stderr).toBe(0);
  });
});

describe("bin/dusk.js as a child process", () => {
  const run = promisify(execFile);
  const bin = resolve("bin/dusk.js");

  beforeAll(async () => {
    // bin/dusk.js runs the compiled dist/ (npm test compiles first); compile when it is missing.
    if (!(await exists(resolve("dist/cli/main.js")))) await run("npx", ["tsc", "-p", "."], { cwd: resolve(".") });
  });

  it("exits 1 with error and hint on stderr for a truncated shard, and writes nothing", async () => {
    const m = await copyOf(pristine);
    const file = join(m, "model.safetensors");
    await truncate(file, (await stat(file)).size - 3);
    const out = outPath();
    const r = await run(process.execPath, [bin, "build", "--preset", "dus", "--drop", "1", m, "-o", out]).then(
      () => ({ code: 0, stdout: "", stderr: "" }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}.*file ends before the last tensor's data`));
    expect(r.stderr).toMatch(/\nhint: .*download it again/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack without --verbose
    expect(await exists(out)).toBe(false);
    expect(await leftoverTemps(out)).toEqual([]);
  });

  it("a reader that closes the pipe early (dusk inspect --tensors | head) ends it quietly, exit 0", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [bin, "inspect", "--tensors", model32], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy(); // every write the child makes now fails with EPIPE
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((done) => child.on("close", done));
    expect(stderr).not.toContain("EPIPE");
    expect(code).toBe(0);
  });

  it("exits 0 for a good build and prints what it built", async () => {
    const out = outPath();
    const r = await run(process.execPath, [bin, "build", "--preset", "dus", "--drop", "1", pristine, "-o", out]);
    expect(r.stdout).toMatch(/^built .* \(\d+ files, 6 layers\)/);
    expect(r.stderr).toContain("layout   0..2, 1..3");
    expect((await readdir(out)).sort()).toContain("model.safetensors");
  });
});
