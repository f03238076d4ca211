// End-to-end: `dusk build/plan/inspect/verify` run in-process (main(argv)) on generated 32-layer
// HF safetensors models. Each layout is checked against its definition written out here by hand
// (SOLAR DUS, iDUS, LLaMA-Pro expand, prune), reading the output's tensors back from disk.
// Bad inputs and interrupted builds are in build-errors.test.ts.

import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyHfModel } from "../src/fixtures/tiny-model.js";
import { fromFloat32, toFloat32 } from "../src/formats/dtype-convert.js";
import { tensorType } from "../src/formats/tensor-types.js";
import type { Plan } from "../src/plan/types.js";
import { exists, layerTensors, leftoverTemps, readTensorBytes, runCli, tempDirs } from "./helpers/cli.js";

const SHAPE = { layers: 32, hidden: 32, heads: 4, kvHeads: 2, vocabSize: 64 } as const;
const TOKENIZER_FILES = {
  "tokenizer.json": JSON.stringify({ version: "1.0", model: { type: "BPE", vocab: { a: 0, b: 1 } } }),
  "tokenizer_config.json": JSON.stringify({ bos_token: "<s>", eos_token: "</s>" }),
  "special_tokens_map.json": JSON.stringify({ bos_token: "<s>" }),
};

const temps = tempDirs();
let root: string;
let modelA: string;
let modelB: string;
let modelBf16: string;
let modelSharded: string;
let baseA: Map<string, Uint8Array>;
let baseB: Map<string, Uint8Array>;

/** [source letter, base layer] for each output layer, from the papers' definitions. */
type Layout = [string, number][];
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const fromA = (layers: number[]): Layout => layers.map((l) => ["A", l]);
const DUS_LAYOUT = fromA([...range(0, 24), ...range(8, 32)]);
// iDUS-8layer = A[0,8) B[8,16) A[8,16) B[16,24) A[16,24) B[24,32)
const IDUS8_LAYOUT = fromA([...range(0, 8), ...range(8, 16), ...range(8, 16), ...range(16, 24), ...range(16, 24), ...range(24, 32)]);
// iDUS-1layer = 0, 8, 1, 9, …, 23, 31
const IDUS1_LAYOUT = fromA(range(0, 24).flatMap((k) => [k, k + 8]));

async function build(args: string[]): Promise<void> {
  const r = await runCli(["build", ...args, "--quiet"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^built /);
}

async function readConfig(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
}

/** Every output layer's tensors equal the base layer the layout names; non-layer tensors too. */
function expectLayout(out: Map<string, Uint8Array>, layout: Layout, bases: Record<string, Map<string, Uint8Array>>, tensorsPerLayer = 9) {
  expect(out.has(`model.layers.${layout.length}.input_layernorm.weight`)).toBe(false);
  layout.forEach(([letter, baseLayer], i) => {
    const got = layerTensors(out, i);
    const want = layerTensors(bases[letter]!, baseLayer);
    expect(got.size, `output layer ${i}`).toBe(tensorsPerLayer);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [template, bytes] of want) {
      expect(Buffer.compare(got.get(template)!, bytes), `output layer ${i} ${template} = ${letter}${baseLayer}`).toBe(0);
    }
  });
}

function expectSameTensors(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>) {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, bytes] of a) expect(Buffer.compare(bytes, b.get(name)!), name).toBe(0);
}

beforeAll(async () => {
  root = await temps.make();
  modelA = join(root, "model-a");
  modelB = join(root, "model-b");
  modelBf16 = join(root, "model-bf16");
  modelSharded = join(root, "model-a-sharded");
  await writeTinyHfModel(modelA, { ...SHAPE, dtype: "F32", seed: 11, tokenizerFiles: TOKENIZER_FILES });
  await writeTinyHfModel(modelB, { ...SHAPE, dtype: "F32", seed: 22 });
  await writeTinyHfModel(modelBf16, { ...SHAPE, dtype: "BF16", seed: 33 });
  // The same weights as model A, in ~200 kB shards.
  await writeTinyHfModel(modelSharded, { ...SHAPE, dtype: "F32", seed: 11, shardBytes: 200_000 });
  baseA = await readTensorBytes(modelA);
  baseB = await readTensorBytes(modelB);
});
afterAll(() => temps.cleanup());

describe("presets through dusk build", () => {
  it("dus --drop 8: 0..23 + 8..31, with config, side files, card and recipe", async () => {
    const out = join(root, "dus");
    await build(["--preset", "dus", "--drop", "8", modelA, "-o", out]);
    const tensors = await readTensorBytes(out);
    expectLayout(tensors, DUS_LAYOUT, { A: baseA });
    for (const name of ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"]) {
      expect(Buffer.compare(tensors.get(name)!, baseA.get(name)!), name).toBe(0);
    }
    const config = await readConfig(out);
    expect(config.num_hidden_layers).toBe(48);
    expect(config.torch_dtype).toBe("float32");
    expect(config.hidden_size).toBe(32);
    const files = (await readdir(out)).sort();
    expect(files).toEqual([
      "README.md", "config.json", "generation_config.json", "mergekit_config.yml", "model.safetensors",
      "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json",
    ]);
    for (const [name, content] of Object.entries(TOKENIZER_FILES)) expect(await readFile(join(out, name), "utf8")).toBe(content);
    expect(await readFile(join(out, "generation_config.json"), "utf8")).toBe(await readFile(join(modelA, "generation_config.json"), "utf8"));
    const card = await readFile(join(out, "README.md"), "utf8");
    expect(card).toContain("0..23, 8..31");
    expect(card).toContain(`dusk build --preset dus --drop 8 ${modelA} -o ${out}`);
    expect(card).toMatch(/\| seams[^|]*\| 1 \|/);
    const yml = await readFile(join(out, "mergekit_config.yml"), "utf8");
    expect(yml).toContain("merge_method: passthrough");
    expect(yml).toContain("layer_range: [0, 24]");
    expect(yml).toContain("layer_range: [8, 32]");
    expect(await leftoverTemps(out)).toEqual([]);
  });

  it("idus --group 8 interlocks groups of 8", async () => {
    const out = join(root, "idus8");
    await build(["--preset", "idus", "--drop", "8", "--group", "8", modelA, "-o", out]);
    expectLayout(await readTensorBytes(out), IDUS8_LAYOUT, { A: baseA });
    expect((await readConfig(out)).num_hidden_layers).toBe(48);
  });

  it("idus --group 1 is exactly 0, 8, 1, 9, …, 23, 31", async () => {
    const out = join(root, "idus1");
    await build(["--preset", "idus", "--drop", "8", "--group", "1", modelA, "-o", out]);
    const tensors = await readTensorBytes(out);
    expect((await readConfig(out)).num_hidden_layers).toBe(48);
    // Spelled out for the first pairs, then the whole layout.
    const q = (m: Map<string, Uint8Array>, l: number) => m.get(`model.layers.${l}.self_attn.q_proj.weight`)!;
    expect(Buffer.compare(q(tensors, 1), q(baseA, 8))).toBe(0);
    expect(Buffer.compare(q(tensors, 2), q(baseA, 1))).toBe(0);
    expect(Buffer.compare(q(tensors, 3), q(baseA, 9))).toBe(0);
    expect(Buffer.compare(q(tensors, 47), q(baseA, 31))).toBe(0);
    expectLayout(tensors, IDUS1_LAYOUT, { A: baseA });
  });

  it("expand --blocks 8: 40 layers, each inserted copy zeroes o_proj/down_proj and keeps the rest", async () => {
    const out = join(root, "expand");
    await build(["--preset", "expand", "--blocks", "8", modelA, "-o", out]);
    const tensors = await readTensorBytes(out);
    expect((await readConfig(out)).num_hidden_layers).toBe(40);
    // LLaMA-Pro: after every 4 layers a copy of the 4th.
    const plain: Layout = [];
    const copies: number[] = [];
    for (let j = 0; j < 8; j++) {
      plain.push(...fromA(range(4 * j, 4 * j + 4)));
      copies.push(plain.length);
      plain.push(["A", 4 * j + 3]);
    }
    expect(plain).toHaveLength(40);
    plain.forEach(([, baseLayer], i) => {
      const got = layerTensors(tensors, i);
      const want = layerTensors(baseA, baseLayer);
      expect(got.size).toBe(9);
      for (const [template, bytes] of want) {
        const zeroed = copies.includes(i) && (template.includes("o_proj") || template.includes("down_proj"));
        if (zeroed) {
          expect(got.get(template)!.byteLength).toBe(bytes.byteLength);
          expect(got.get(template)!.every((b) => b === 0), `layer ${i} ${template} is zero`).toBe(true);
        } else {
          expect(Buffer.compare(got.get(template)!, bytes), `layer ${i} ${template}`).toBe(0);
        }
      }
    });
  });

  it("prune --drop-range 20:28 keeps 0..19 and 28..31", async () => {
    const out = join(root, "prune");
    await build(["--preset", "prune", "--drop-range", "20:28", modelA, "-o", out]);
    expect((await readConfig(out)).num_hidden_layers).toBe(24);
    expectLayout(await readTensorBytes(out), fromA([...range(0, 20), ...range(28, 32)]), { A: baseA });
  });

  it("layers --layers 0-23,8-31 gives the dus output, tensor for tensor", async () => {
    const out = join(root, "layers-dus");
    await build(["--preset", "layers", "--layers", "0-23,8-31", modelA, "-o", out]);
    expectSameTensors(await readTensorBytes(out), await readTensorBytes(join(root, "dus")));
  });

  it("a plan that keeps every layer in order reproduces the source bytes", async () => {
    const out = join(root, "identity");
    await build(["--preset", "layers", "--layers", "0-31", modelA, "-o", out]);
    expectSameTensors(await readTensorBytes(out), baseA);
    expect(await readConfig(out)).toEqual(await readConfig(modelA));
  });

  it("dus from two models of one shape: A's first 24 layers and embedding, B's 8..31, norm and head", async () => {
    const out = join(root, "dus-ab");
    await build(["--preset", "dus", "--drop", "8", modelA, modelB, "-o", out]);
    const tensors = await readTensorBytes(out);
    const layout: Layout = [...fromA(range(0, 24)), ...range(8, 32).map((l): [string, number] => ["B", l])];
    expectLayout(tensors, layout, { A: baseA, B: baseB });
    expect(Buffer.compare(tensors.get("model.embed_tokens.weight")!, baseA.get("model.embed_tokens.weight")!)).toBe(0);
    expect(Buffer.compare(tensors.get("model.norm.weight")!, baseB.get("model.norm.weight")!)).toBe(0);
    expect(Buffer.compare(tensors.get("lm_head.weight")!, baseB.get("lm_head.weight")!)).toBe(0);
    expect(Buffer.compare(tensors.get("lm_head.weight")!, baseA.get("lm_head.weight")!)).not.toBe(0);
    const v = await runCli(["verify", out, "--quiet"]);
    expect(v.stderr).toBe("");
    expect(v.code).toBe(0);
  });

  for (const [label, dtype] of [["F32", "F32"], ["BF16", "BF16"]] as const) {
    it(`--dtype float16 from ${label}: every tensor rounded to nearest even, config says float16, verify passes`, async () => {
      const src = dtype === "F32" ? modelA : modelBf16;
      const out = join(root, `f16-from-${label}`);
      await build(["--preset", "dus", "--drop", "8", src, "--dtype", "float16", "-o", out]);
      const config = await readConfig(out);
      expect(config.torch_dtype).toBe("float16");
      const base = dtype === "F32" ? baseA : await readTensorBytes(src);
      const tensors = await readTensorBytes(out);
      const from = tensorType(dtype)!;
      const f16 = tensorType("F16")!;
      const expectConverted = (outName: string, srcName: string) => {
        const want = fromFloat32(toFloat32(base.get(srcName)!, from), f16);
        const got = tensors.get(outName)!;
        expect(got.byteLength).toBe(base.get(srcName)!.byteLength / from.blockBytes * 2);
        expect(Buffer.compare(got, want), `${outName} from ${srcName}`).toBe(0);
      };
      expectConverted("model.embed_tokens.weight", "model.embed_tokens.weight");
      expectConverted("lm_head.weight", "lm_head.weight");
      for (let i = 0; i < 48; i++) {
        const b = DUS_LAYOUT[i]![1];
        for (const template of layerTensors(base, b).keys()) expectConverted(`model.layers.${i}.${template}`, `model.layers.${b}.${template}`);
      }
      const v = await runCli(["verify", out, "--quiet"]);
      expect(v.stderr).toBe("");
      expect(v.code).toBe(0);
    });
  }

  it("--shard-size splits the output into model-0000i-of-0000N shards with an index; verify passes", async () => {
    const out = join(root, "dus-sharded");
    await build(["--preset", "dus", "--drop", "8", modelA, "--shard-size", "500KB", "-o", out]);
    const files = await readdir(out);
    const shards = files.filter((f) => f.endsWith(".safetensors")).sort();
    expect(shards.length).toBeGreaterThan(2);
    const n = String(shards.length).padStart(5, "0");
    shards.forEach((s, i) => expect(s).toBe(`model-${String(i + 1).padStart(5, "0")}-of-${n}.safetensors`));
    expect(files).toContain("model.safetensors.index.json");
    expect(files).not.toContain("model.safetensors");
    const index = JSON.parse(await readFile(join(out, "model.safetensors.index.json"), "utf8")) as { weight_map: Record<string, string> };
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(shards));
    expectSameTensors(await readTensorBytes(out), await readTensorBytes(join(root, "dus")));
    const v = await runCli(["verify", out, "--quiet"]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^ok: all 435 tensors/);
  });

  it("other families: qwen2 (QKV biases, tied head, BF16) and mistral (F16) keep their config and verify", async () => {
    for (const [family, dtype, tied, perLayer] of [["qwen2", "BF16", true, 12], ["mistral", "F16", false, 9]] as const) {
      const src = join(root, `model-${family}`);
      await writeTinyHfModel(src, { ...SHAPE, layers: 8, family, dtype, tied, seed: 44 });
      const out = join(root, `idus-${family}`);
      await build(["--preset", "idus", "--drop", "2", "--group", "2", src, "-o", out]);
      // A[0,2) B[2,4) A[2,4) B[4,6) A[4,6) B[6,8)
      expectLayout(await readTensorBytes(out), fromA([0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7]), { A: await readTensorBytes(src) }, perLayer);
      const config = await readConfig(out);
      const original = await readConfig(src);
      expect(config).toEqual({ ...original, num_hidden_layers: 12 });
      expect((await readTensorBytes(out)).has("lm_head.weight")).toBe(!tied);
      const v = await runCli(["verify", out, "--quiet"]);
      expect(v.stderr).toBe("");
      expect(v.code).toBe(0);
    }
  });

  it("reads a sharded input: same bytes as the same weights unsharded", async () => {
    expect((await readdir(modelSharded)).filter((f) => f.endsWith(".safetensors")).length).toBeGreaterThan(2);
    const out = join(root, "dus-from-sharded");
    await build(["--preset", "dus", "--drop", "8", modelSharded, "-o", out]);
    expectSameTensors(await readTensorBytes(out), await readTensorBytes(join(root, "dus")));
  });
});

describe("dusk plan", () => {
  const cases = [
    { name: "dus", args: ["--preset", "dus", "--drop", "8"], layout: DUS_LAYOUT, seams: 1, backward: 15 },
    { name: "idus-8", args: ["--preset", "idus", "--drop", "8", "--group", "8"], layout: IDUS8_LAYOUT, seams: 2, backward: 7 },
    { name: "idus-1", args: ["--preset", "idus", "--drop", "8", "--group", "1"], layout: IDUS1_LAYOUT, seams: 47, backward: 7 },
  ];
  for (const c of cases) {
    it(`--json for ${c.name}: a Plan with ${c.seams} seam(s), largest backward jump ${c.backward}`, async () => {
      const r = await runCli(["plan", ...c.args, modelA, "--json"]);
      expect(r.code).toBe(0);
      const plan = JSON.parse(r.stdout) as Plan;
      expect(plan.version).toBe(1);
      expect(plan.arch).toBe("llama");
      expect(plan.format).toBe("safetensors");
      expect(plan.sources).toEqual([{ ref: modelA, format: "safetensors", numLayers: 32 }]);
      expect(plan.layers.map((l) => l.layer)).toEqual(c.layout.map(([, l]) => l));
      expect(plan.metrics.numLayers).toBe(48);
      expect(plan.metrics.seams).toBe(c.seams);
      expect(plan.metrics.largestBackwardJump).toBe(c.backward);
      expect(plan.metrics.jumps).toHaveLength(47);
      expect(plan.tensors).toHaveLength(3 + 48 * 9);
      for (const t of plan.tensors) expect(t.byteLength).toBe(t.shape.reduce((a, b) => a * b, 1) * 4);
      expect(plan.metrics.outputBytes).toBe(plan.tensors.reduce((s, t) => s + t.byteLength, 0));
      expect((plan.config as Record<string, unknown>).num_hidden_layers).toBe(48);
    });
  }

  it("text output shows the layout and the metrics", async () => {
    const r = await runCli(["plan", "--preset", "idus", "--drop", "8", "--group", "8", modelA]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("layout   0..7, 8..15, 8..15, 16..23, 16..23, 24..31");
    expect(r.stdout).toMatch(/seams\s+2\n/);
    expect(r.stdout).toMatch(/largest backward\s+7\n/);
    expect(r.stdout).toContain("← seam");
  });

  it("--emit mergekit YAML builds the same bytes as the preset, and the YAML is recorded byte for byte", async () => {
    const r = await runCli(["plan", "--preset", "idus", "--drop", "8", "--group", "8", modelA, "--emit", "mergekit"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("merge_method: passthrough");
    // The user's own YAML, with a comment of theirs that an export would not write.
    const yaml = `# my iDUS-8 recipe\n${r.stdout}`;
    const file = join(root, "idus8.yml");
    await writeFile(file, yaml);
    const out = join(root, "idus8-from-yaml");
    await build([file, "-o", out]);
    expectSameTensors(await readTensorBytes(out), await readTensorBytes(join(root, "idus8")));
    expect(await readConfig(out)).toEqual(await readConfig(join(root, "idus8")));
    expect(await readFile(join(out, "mergekit_config.yml"), "utf8")).toBe(yaml);
    const v = await runCli(["verify", out, "--quiet"]);
    expect(v.code).toBe(0);
  });
});

describe("dusk verify", () => {
  it("passes on a good build and fails, naming the tensor, when one byte is flipped", async () => {
    const out = join(root, "verify-me");
    await build(["--preset", "idus", "--drop", "8", "--group", "8", modelA, "-o", out]);
    const ok = await runCli(["verify", out]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("ok: all 435 tensors");

    // Flip one byte in the middle of one tensor's data, on disk.
    const victim = "model.layers.17.mlp.up_proj.weight";
    const { openCheckpoint } = await import("../src/checkpoint/open-checkpoint.js");
    const c = await openCheckpoint(out);
    const entry = c.tensors.get(victim)!;
    const at = entry.offset + Math.floor(entry.byteLength / 2);
    await c.close();
    const file = join(out, "model.safetensors");
    const bytes = await readFile(file);
    bytes[at] = bytes[at]! ^ 0x40;
    await writeFile(file, bytes);

    const bad = await runCli(["verify", out, "--quiet"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`MISMATCH ${victim}:`);
    expect(bad.stdout.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/^error: 1 of 435 tensors do not match\nhint: /);
  });
});

describe("dusk verify: sources and JSON", () => {
  it("--json reports; a recipe naming a missing source says so with a hint; --against points elsewhere", async () => {
    const out = join(root, "verify-json");
    const b = await runCli(["build", "--preset", "prune", "--drop-range", "0:16", modelA, "-o", out, "--json"]);
    expect(b.code).toBe(0);
    const summary = JSON.parse(b.stdout) as { output: string; files: string[]; metrics: { numLayers: number } };
    expect(summary.output).toBe(out);
    expect(summary.metrics.numLayers).toBe(16);
    expect(summary.files).toContain("model.safetensors");

    const ok = await runCli(["verify", out, "--json"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, tensors: 3 + 16 * 9, mismatches: [] });

    // The same recipe with a relative model path that does not exist from here.
    const recorded = await readFile(join(out, "mergekit_config.yml"), "utf8");
    const moved = join(root, "moved.yml");
    await writeFile(moved, recorded.replaceAll(modelA, "./no-such-model-dir"));
    const missing = await runCli(["verify", out, "--recipe", moved, "--quiet"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("error: the recipe names source ./no-such-model-dir, and there is nothing at ");
    expect(missing.stderr).toMatch(/\nhint: .*--against/);
    const against = await runCli(["verify", out, "--recipe", moved, "--against", modelA, "--quiet"]);
    expect(against.stderr).toBe("");
    expect(against.code).toBe(0);
    // …and against a different model of the same shape, every layer tensor differs.
    const wrong = await runCli(["verify", out, "--recipe", moved, "--against", modelB, "--json"]);
    expect(wrong.code).toBe(1);
    const report = JSON.parse(wrong.stdout) as { ok: boolean; mismatches: { tensor: string }[] };
    expect(report.ok).toBe(false);
    expect(report.mismatches).toHaveLength(3 + 16 * 9);
  });
});

describe("dusk inspect", () => {
  it("prints the family, layers, dims, dtypes and size", async () => {
    const r = await runCli(["inspect", modelA]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^format\s+safetensors$/m);
    expect(r.stdout).toMatch(/^family\s+llama \(LlamaForCausalLM\)$/m);
    expect(r.stdout).toMatch(/^layers\s+32$/m);
    expect(r.stdout).toMatch(/^hidden\s+32$/m);
    expect(r.stdout).toMatch(/^heads\s+4 \(kv 2\)$/m);
    expect(r.stdout).toMatch(/^vocab\s+64$/m);
    expect(r.stdout).toMatch(/^dtypes\s+F32×291$/m);
    expect(r.stdout).toMatch(/^tensors\s+291$/m);
  });

  it("--json describes a sharded model", async () => {
    const r = await runCli(["inspect", modelSharded, "--json", "--tensors"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown> & { tensors: { name: string; bytes: number }[]; files: string[] };
    expect(s.format).toBe("safetensors");
    expect(s.family).toBe("llama");
    expect(s.layers).toBe(32);
    expect(s.hiddenSize).toBe(32);
    expect(s.vocabSize).toBe(64);
    expect(s.tiedEmbeddings).toBe(false);
    expect(s.tensorCount).toBe(291);
    expect(s.files.length).toBeGreaterThan(2);
    const params = 64 * 32 * 2 + 32 + 32 * (2 * 32 + 32 * 32 + 2 * 16 * 32 + 32 * 32 + 3 * 64 * 32);
    expect(s.parameterCount).toBe(params);
    expect(s.bytes).toBe(params * 4);
    expect(s.tensors.reduce((n, t) => n + t.bytes, 0)).toBe(params * 4);
    expect(await exists(modelSharded)).toBe(true);
  });
});
