// End-to-end merges: `dusk plan/build/verify` in-process on generated tiny models. The merged
// tensors of a build are checked against the kernels run directly on the inputs (the kernels
// themselves are checked against mergekit's goldens in src/merge), with and without worker
// threads; a recipe's bad inputs are refused before anything is written.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { checkpointHeader, openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { writeTinyHfModel } from "../src/fixtures/tiny-model.js";
import { toFloat32 } from "../src/formats/dtype-convert.js";
import { mergeTensorValues } from "../src/merge/executor.js";
import { BLOCK_KERNELS } from "../src/merge/block-kernels.js";
import { makePlan } from "../src/plan/plan.js";
import { parseMergekitYaml } from "../src/recipe/index.js";
import { exists, readTensorBytes, runCli, tempDirs } from "./helpers/cli.js";

// mlp matrices of 1024 × 128 = 131072 elements: large enough for the worker pool (INLINE_BELOW)
const SHAPE = { layers: 4, hidden: 128, intermediate: 1024, heads: 4, kvHeads: 2, vocabSize: 64 } as const;
const temps = tempDirs();
let root: string;
let base: string;
let a: string;
let b: string;

beforeAll(async () => {
  root = await temps.make();
  base = join(root, "base");
  a = join(root, "a");
  b = join(root, "b");
  await writeTinyHfModel(base, { ...SHAPE, seed: 1 });
  await writeTinyHfModel(a, { ...SHAPE, seed: 2 });
  await writeTinyHfModel(b, { ...SHAPE, seed: 3, dtype: "BF16" });
});
afterAll(() => temps.cleanup());

async function recipe(name: string, text: string): Promise<string> {
  const file = join(root, name);
  await writeFile(file, text);
  return file;
}

const TIES = () => `merge_method: ties
base_model: ${base}
models:
  - model: ${a}
    parameters: {weight: 0.6, density: [0.5, 0.9]}
  - model: ${b}
    parameters:
      weight: [{filter: mlp, value: 0.3}, {value: 0.8}]
      density: 0.4
parameters:
  lambda: 0.9
dtype: float32
`;

/** The plan's merged tensors recomputed directly (no workers) against a built output's bytes. */
async function expectMergedAsPlanned(file: string, out: string, seed = 0): Promise<number> {
  const r = parseMergekitYaml(await (await import("node:fs/promises")).readFile(file, "utf8"), file);
  const refs = [...new Set([r.baseModel, ...(r.models ?? []).map((m) => m.model), ...r.slices.flatMap((s) => s.sources.map((x) => x.model))].filter((x): x is string => x !== undefined))];
  const cps = await Promise.all(refs.map((ref) => openCheckpoint(ref)));
  try {
    const plan = makePlan(r, cps.map(checkpointHeader));
    const built = await readTensorBytes(out);
    let merged = 0;
    for (const op of plan.tensors) {
      const got = built.get(op.name)!;
      expect(got, op.name).toBeDefined();
      if (!op.merge) continue;
      merged++;
      const want = await mergeTensorValues(op, cps, { seed });
      const values = toFloat32(got, { name: op.type, blockElems: 1, blockBytes: op.type === "F32" ? 4 : 2, float: true });
      expect(Buffer.from(values.buffer).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength)), op.name).toBe(true);
    }
    return merged;
  } finally {
    await Promise.all(cps.map((c) => c.close()));
  }
}

describe("dusk plan and build with merge methods", () => {
  it("plan shows every merged tensor's inputs, method and evaluated parameters", async () => {
    const file = await recipe("ties.yml", TIES());
    const r = await runCli(["plan", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/merged tensors \(39\)/); // embed + 4 layers × 9 + norm + head
    // layer 0: density gradient at t = 0, the mlp filter picks weight 0.3 for b; the base, not
    // among the models, is added last (mergekit's normalize_config)
    expect(r.stdout).toMatch(/model\.layers\.0\.mlp\.up_proj\.weight \(F32\) ← ties\(int8_mask=false, normalize=true, rescale=false, lambda=0\.9\) of \[1\] model\.layers\.0\.mlp\.up_proj\.weight \{weight=0\.6, density=0\.5\}, \[2\] model\.layers\.0\.mlp\.up_proj\.weight \{weight=0\.3, density=0\.4\}, \[0\] model\.layers\.0\.mlp\.up_proj\.weight \{density=1\}\*/);
    // layer 3 of 4: t = 1 → density 0.9; attention takes b's default weight
    expect(r.stdout).toMatch(/model\.layers\.3\.self_attn\.q_proj\.weight \(F32\) ← ties\(.*\) of .*\{weight=0\.6, density=0\.9\}, .*\{weight=0\.8, density=0\.4\}/);
    // embeddings and head evaluate gradients at t = 0
    expect(r.stdout).toMatch(/lm_head\.weight \(F32\) ← ties\(.*\) of .*\{weight=0\.6, density=0\.5\}/);
    const json = await runCli(["plan", file, "--json"]);
    const plan = JSON.parse(json.stdout);
    expect(plan.tensors.filter((t: { merge?: unknown }) => t.merge)).toHaveLength(39);
  });

  it("a TIES build equals the kernels run tensor by tensor, with 2 worker threads or none, and verifies", async () => {
    const file = await recipe("ties.yml", TIES());
    const threaded = join(root, "ties-threads");
    const inline = join(root, "ties-inline");
    for (const [out, workers] of [[threaded, "2"], [inline, "0"]] as const) {
      const r = await runCli(["build", file, "-o", out, "--workers", workers, "--quiet"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    const x = await readTensorBytes(threaded);
    const y = await readTensorBytes(inline);
    for (const [name, bytes] of x) expect(Buffer.from(bytes).equals(Buffer.from(y.get(name)!)), name).toBe(true);
    expect(await expectMergedAsPlanned(file, threaded)).toBe(39);
    const v = await runCli(["verify", threaded]);
    expect(v.stdout).toMatch(/^ok: all 39 tensors/);
    expect(v.code).toBe(0);
  });

  it("bf16 models merge on bf16 storage (TIES with 3 deltas, task arithmetic) into the bytes of the float32 path", async () => {
    const models = ["base16", "a16", "b16", "c16"].map((m) => join(root, m));
    for (const [i, m] of models.entries()) await writeTinyHfModel(m, { ...SHAPE, seed: 11 + i, dtype: "BF16" });
    const [base16, ...others] = models;
    const ties = await recipe("ties16.yml", `merge_method: ties\nbase_model: ${base16}\nmodels:\n${others.map((m, i) => `  - {model: ${m}, parameters: {weight: ${[0.6, 0.3, -0.2][i]}, density: ${[0.5, 0.3, 0.9][i]}}}`).join("\n")}\n`);
    const sum = await recipe("ta16.yml", `merge_method: task_arithmetic\nbase_model: ${base16}\nmodels:\n  - {model: ${others[0]}, parameters: {weight: 0.7}}\n  - {model: ${others[1]}, parameters: {weight: 0.4}}\nparameters: {lambda: 0.9}\n`);
    const packed = vi.spyOn(BLOCK_KERNELS, "combineBf16");
    for (const file of [ties, sum]) {
      const outs = [join(root, `${file}-w2`), join(root, `${file}-w0`)];
      for (const [i, out] of outs.entries()) expect((await runCli(["build", file, "-o", out, "--workers", i === 0 ? "2" : "0", "--quiet"])).code).toBe(0);
      const [x, y] = await Promise.all(outs.map(readTensorBytes));
      for (const [name, bytes] of x!) expect(Buffer.from(bytes).equals(Buffer.from(y!.get(name)!)), name).toBe(true);
      expect(await expectMergedAsPlanned(file, outs[0]!)).toBe(39);
    }
    expect(packed).toHaveBeenCalled(); // by the build on this thread (--workers 0)
    packed.mockRestore();
  });

  it("DARE is reproducible per seed whatever the workers, and another seed draws other masks", async () => {
    const file = await recipe("dare.yml", `merge_method: dare_ties\nbase_model: ${base}\nmodels:\n  - {model: ${a}, parameters: {weight: 1, density: 0.5}}\n  - {model: ${b}, parameters: {weight: 1, density: 0.5}}\ndtype: float32\n`);
    const outs = [join(root, "dare-s7-w2"), join(root, "dare-s7-w0"), join(root, "dare-s8")];
    expect((await runCli(["build", file, "-o", outs[0]!, "--seed", "7", "--workers", "2", "--quiet"])).code).toBe(0);
    expect((await runCli(["build", file, "-o", outs[1]!, "--seed", "7", "--workers", "0", "--quiet"])).code).toBe(0);
    expect((await runCli(["build", file, "-o", outs[2]!, "--seed", "8", "--quiet"])).code).toBe(0);
    const [x, y, z] = await Promise.all(outs.map(readTensorBytes));
    const q = "model.layers.1.self_attn.q_proj.weight";
    expect(Buffer.from(x!.get(q)!).equals(Buffer.from(y!.get(q)!))).toBe(true);
    expect(Buffer.from(x!.get(q)!).equals(Buffer.from(z!.get(q)!))).toBe(false);
    expect(await expectMergedAsPlanned(file, outs[0]!, 7)).toBe(39);
    expect((await runCli(["verify", outs[0]!, "--seed", "7"])).code).toBe(0);
    expect((await runCli(["verify", outs[0]!, "--seed", "8"])).code).not.toBe(0);
  });

  it("a seam blended with a slerp gradient: one-source slices are copied, the blended slice merged", async () => {
    const file = await recipe("seam.yml", `merge_method: slerp
base_model: ${a}
slices:
  - sources: [{model: ${a}, layer_range: [0, 2]}]
  - sources:
      - {model: ${a}, layer_range: [2, 4]}
      - {model: ${b}, layer_range: [0, 2]}
    parameters:
      t: [0.25, 0.75]
  - sources: [{model: ${b}, layer_range: [2, 4]}]
parameters:
  t: 0.5 # mergekit reads t for every tensor, the copied ones too
dtype: float32
`);
    const plan = await runCli(["plan", file, "--json"]);
    const p = JSON.parse(plan.stdout);
    const kinds = (layer: number) => new Set(p.tensors.filter((t: { layer?: number }) => t.layer === layer).map((t: { transform: { kind: string } }) => t.transform.kind));
    expect([...kinds(0)]).toEqual(["copy"]);
    const missing = await runCli(["plan", await recipe("seam-no-t.yml", (await (await import("node:fs/promises")).readFile(file, "utf8")).replace(/parameters:\n  t: 0\.5.*\n/, ""))]);
    expect(missing.stderr).toMatch(/no value of `t` applies to model\.embed_tokens\.weight/);
    expect([...kinds(2)]).toEqual(["merge"]);
    expect([...kinds(5)]).toEqual(["convert"]); // b is BF16, the recipe asks float32
    const t = p.tensors.filter((x: { layer?: number; merge?: { params: { t: number } } }) => x.layer === 3 && x.merge).map((x: { merge: { params: { t: number } } }) => x.merge.params.t);
    expect(new Set(t)).toEqual(new Set([0.75]));
    const out = join(root, "seam");
    expect((await runCli(["build", file, "-o", out, "--quiet"])).code).toBe(0);
    expect(await expectMergedAsPlanned(file, out)).toBe(18);
  });

  it("the dus-blend preset: plan shows the slerped window and the warning that mergekit would collapse it", async () => {
    const r = await runCli(["plan", "--preset", "dus-blend", a]);
    expect(r.code).toBe(0);
    // n = 4, m = 1, h = 1: A[0, 2) + slerp(A[2, 4), B[0, 2)) with t = 1/3, 2/3 + B[2, 4)
    expect(r.stdout).toMatch(/^layout {3}0\.\.1, 2\.\.3, 2\.\.3 \(slerp of /m);
    expect(r.stdout).toMatch(/model\.layers\.2\.mlp\.up_proj\.weight \(F32\) ← slerp\(t=0\.333333\) of \[0\] model\.layers\.2\.mlp\.up_proj\.weight\*, \[0\] model\.layers\.0\.mlp\.up_proj\.weight/);
    expect(r.stdout).toMatch(/model\.layers\.3\.self_attn\.q_proj\.weight \(F32\) ← slerp\(t=0\.666667\) of \[0\] model\.layers\.3\.self_attn\.q_proj\.weight\*, \[0\] model\.layers\.1\.self_attn\.q_proj\.weight/);
    expect(r.stdout).toMatch(/warning: slices\[1\] merges two layer ranges of .*mergekit keys a slice's inputs by model/);
  });

  it("hostile recipes fail with a hint and write nothing", async () => {
    const cases: [string, string, RegExp][] = [
      ["zero.yml", `merge_method: linear\nmodels:\n  - {model: ${a}, parameters: {weight: 1}}\n  - {model: ${b}, parameters: {weight: -1}}\n`, /weights sum to 0/],
      ["nobase.yml", `merge_method: ties\nmodels:\n  - {model: ${a}, parameters: {weight: 1}}\n`, /needs a base model/],
      ["nan.yml", `merge_method: linear\nmodels:\n  - {model: ${a}, parameters: {weight: .nan}}\n`, /finite number/],
      ["density.yml", `merge_method: ties\nbase_model: ${base}\nmodels:\n  - {model: ${a}, parameters: {weight: 1, density: 1.5}}\n`, /density is the fraction/],
      ["method.yml", `merge_method: blend\nmodels:\n  - {model: ${a}}\n`, /unknown merge_method "blend"/],
      ["lengths.yml", `merge_method: slerp\nbase_model: ${a}\nparameters: {t: 0.5}\nslices:\n  - sources:\n      - {model: ${a}, layer_range: [0, 2]}\n      - {model: ${b}, layer_range: [0, 3]}\n`, /equal lengths/],
      ["della.yml", `merge_method: della\nbase_model: ${base}\nmodels:\n  - {model: ${a}, parameters: {weight: 1, density: 0.1, epsilon: 0.2}}\n`, /density 0\.1 ± epsilon 0\.2 leaves \(0, 1\)/],
    ];
    for (const [name, text, message] of cases) {
      const out = join(root, `bad-${name}`);
      const r = await runCli(["build", await recipe(name, text), "-o", out]);
      expect(r.code, name).not.toBe(0);
      expect(r.stderr, name).toMatch(message);
      expect(r.stderr, name).toMatch(/hint:/);
      expect(await exists(out), name).toBe(false);
    }
  });
});
