// Cross-implementation checks: the TypeScript engine and llama.cpp agree on the logits of the
// same checkpoint; a built stack agrees with the virtual stack (base layers run in plan order),
// both in llama.cpp after conversion and for GGUFs restacked directly.

import { beforeAll, describe, expect, test } from "vitest";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildModel } from "../src/build/build.js";
import { checkpointHeader, openCheckpoint, type Checkpoint } from "../src/checkpoint/open-checkpoint.js";
import { convertPlan } from "../src/convert/convert-checkpoint.js";
import { checkpointWeights, planWeights } from "../src/engine/checkpoint-weights.js";
import { forward, tokenLogprobs } from "../src/engine/index.js";
import { makePlan } from "../src/plan/plan.js";
import { dusRecipe, idusRecipe, recipeToMergekitYaml, type Recipe } from "../src/recipe/index.js";
import { llamaLogprobs, maxAbsDiff } from "./helpers/llama-logprobs.js";
import { makeTinyHf, tempDir, tinyTokenizer, toGguf } from "./helpers/models.js";
import { Tokenizer } from "@huggingface/tokenizers";

// A large init (std 0.15, vs 0.02 in real models) so logits are peaked and layer order
// visibly matters; larger still and llama.cpp's f16/q8 activations dominate the differences.
const MODEL = { layers: 8, hidden: 64, heads: 4, kvHeads: 2, std: 0.15, seed: 11 } as const;
const TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?";

let hf: string;
let tokens: number[];
let work: string;

beforeAll(async () => {
  hf = await makeTinyHf({ ...MODEL, dtype: "F32" });
  work = await tempDir();
  const t = tinyTokenizer();
  const tok = new Tokenizer(JSON.parse(t.tokenizerJson), JSON.parse(t.tokenizerConfig));
  tokens = tok.encode(TEXT).ids;
  expect(tokens.length).toBeGreaterThan(10);
});

async function engineNext(c: Checkpoint | { plan: ReturnType<typeof makePlan>; sources: Checkpoint[] }): Promise<number[]> {
  const w = "plan" in c ? planWeights(c.plan, c.sources) : checkpointWeights(c);
  return [...(await tokenLogprobs(w, tokens))];
}

describe("engine vs llama.cpp on converted checkpoints", () => {
  test("f32: log-probabilities agree within 1e-3", async () => {
    const c = await openCheckpoint(hf);
    try {
      const engine = await engineNext(c);
      const gguf = await toGguf(hf, "f32");
      const llama = await llamaLogprobs(gguf, tokens);
      const diff = maxAbsDiff(engine, llama.next);
      console.log(`f32 max |Δ log p| = ${diff.toExponential(2)} over ${engine.length} positions`);
      expect(diff).toBeLessThan(1e-3);
      // The GGUF read back by the engine (Q/K un-permuted) gives the same numbers as the HF source.
      const g = await openCheckpoint(gguf);
      try {
        expect(maxAbsDiff(await engineNext(g), engine)).toBeLessThan(1e-5);
      } finally {
        await g.close();
      }
    } finally {
      await c.close();
    }
  });

  // Quantized and half-precision models: the engine reads the same stored weights (widened or
  // dequantized); what remains is llama.cpp computing with f16/q8 activations. Tolerances are
  // stated on this model: mean and max |Δ log p| over every position (measured: f16 1.5e-3 /
  // 5e-3, bf16 1.4e-2 / 3.8e-2, q8_0 3.8e-2 / 1.3e-1, q4_0 3.3e-2 / 1.5e-1).
  test.each([
    ["f16", 4e-3, 1.5e-2],
    ["bf16", 3e-2, 1e-1],
    ["q8_0", 8e-2, 3e-1],
    ["q4_0", 8e-2, 3e-1],
  ] as const)("%s: llama.cpp agrees with the engine on the same stored weights (mean < %s, max < %s)", async (type, meanTol, maxTol) => {
    const gguf = await toGguf(hf, type);
    const g = await openCheckpoint(gguf);
    try {
      const engine = await engineNext(g);
      const llama = await llamaLogprobs(gguf, tokens);
      const diffs = engine.map((e, i) => Math.abs(e - llama.next[i]!));
      const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
      const max = Math.max(...diffs);
      console.log(`${type}: mean |Δ log p| = ${mean.toExponential(2)}, max = ${max.toExponential(2)}`);
      expect(mean).toBeLessThan(meanTol);
      expect(max).toBeLessThan(maxTol);
    } finally {
      await g.close();
    }
  });
});

describe("Llama 3.x RoPE scaling (rope_type llama3 → rope_freqs.weight)", () => {
  // Llama 3.1's factors with a short original context (64), so that most rotary dimensions of
  // this small model are rescaled within the text; plain RoPE then disagrees visibly.
  test("f32: engine (from config.json and from the GGUF's tensor) and llama.cpp agree within 1e-3", async () => {
    const dir = await makeTinyHf({ ...MODEL, dtype: "F32", ropeTheta: 500000, maxPositions: 131072 });
    const configPath = join(dir, "config.json");
    const config = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
    config.rope_scaling = { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
    await writeFile(configPath, JSON.stringify(config));
    const c = await openCheckpoint(dir);
    try {
      const gguf = await toGguf(dir, "f32");
      const g = await openCheckpoint(gguf);
      try {
        expect(g.tensors.get("rope_freqs.weight")?.shape).toEqual([MODEL.hidden / MODEL.heads / 2]);
        const llama = (await llamaLogprobs(gguf, tokens)).next;
        const fromHf = await engineNext(c);
        const fromGguf = await engineNext(g);
        const w = checkpointWeights(c);
        const { ropeFreqFactors: _dropped, ...plainConfig } = w.config;
        const plain = [...(await tokenLogprobs({ ...w, config: plainConfig }, tokens))];
        const d = { hf: maxAbsDiff(fromHf, llama), gguf: maxAbsDiff(fromGguf, llama), plain: maxAbsDiff(plain, llama) };
        console.log(`llama3 rope: max |Δ log p| engine vs llama.cpp ${d.hf.toExponential(2)} (config.json), ${d.gguf.toExponential(2)} (rope_freqs.weight); plain RoPE ${d.plain.toExponential(2)}`);
        expect(d.hf).toBeLessThan(1e-3);
        expect(d.gguf).toBeLessThan(1e-3);
        expect(d.plain).toBeGreaterThan(1e-2);
      } finally {
        await g.close();
      }
    } finally {
      await c.close();
    }
  });
});

describe("built stacks agree with the virtual plan", () => {
  const layouts: [string, (n: number) => Recipe][] = [
    ["dus", (n) => dusRecipe({ model: "SRC", layers: n, drop: 2 })],
    ["idus-2", (n) => idusRecipe({ model: "SRC", layers: n, drop: 2, group: 2 })],
    ["idus-1", (n) => idusRecipe({ model: "SRC", layers: n, drop: 2, group: 1 })],
  ];
  const seen = new Map<string, number[]>();

  test.each(layouts)("%s: HF build → convert → llama.cpp equals the engine's virtual plan", async (name, make) => {
    const src = await openCheckpoint(hf, "SRC");
    try {
      const recipe = make(src.numLayers);
      const plan = makePlan(recipe, [checkpointHeader(src)]);
      const virtual = await engineNext({ plan, sources: [src] });
      // Built as HF, then converted, in one pass.
      const out = join(work, `${name}.gguf`);
      for await (const _ of convertPlan(plan, [src], { output: out, type: "f32", recipeYaml: recipeToMergekitYaml(recipe), layout: name })) void _;
      const llama = await llamaLogprobs(out, tokens);
      const diff = maxAbsDiff(virtual, llama.next);
      console.log(`${name}: max |Δ log p| llama.cpp(built) vs engine(virtual) = ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(1e-3);
      // And the HF build itself, read by the engine, is the virtual plan exactly.
      const hfOut = join(work, `${name}-hf`);
      for await (const _ of buildModel(plan, [src], { output: hfOut, recipeYaml: recipeToMergekitYaml(recipe), layout: name })) void _;
      const built = await openCheckpoint(hfOut);
      try {
        expect(maxAbsDiff(await engineNext(built), virtual)).toBe(0);
      } finally {
        await built.close();
      }
      seen.set(name, virtual);
    } finally {
      await src.close();
    }
  });

  test("the layouts really differ (the checks above are not vacuous)", () => {
    expect(seen.size).toBe(3);
    expect(maxAbsDiff(seen.get("dus")!, seen.get("idus-1")!)).toBeGreaterThan(0.05);
    expect(maxAbsDiff(seen.get("dus")!, seen.get("idus-2")!)).toBeGreaterThan(0.05);
  });

  test.each(["f32", "q8_0"] as const)("a %s GGUF restacked directly (iDUS-1) gives in llama.cpp the virtual plan's logits", async (type) => {
    const gguf = await toGguf(hf, type);
    const src = await openCheckpoint(gguf, "SRC");
    try {
      const recipe = idusRecipe({ model: "SRC", layers: src.numLayers, drop: 2, group: 1 });
      const plan = makePlan(recipe, [checkpointHeader(src)]);
      const out = join(work, `restacked-${type}.gguf`);
      for await (const _ of buildModel(plan, [src], { output: out, recipeYaml: recipeToMergekitYaml(recipe), layout: "idus-1" })) void _;
      const llama = await llamaLogprobs(out, tokens);
      const virtual = await engineNext({ plan, sources: [src] });
      const diff = maxAbsDiff(virtual, llama.next);
      console.log(`restacked ${type}: max |Δ log p| = ${diff.toExponential(2)}`);
      // q8_0: both sides dequantize the same bytes; llama.cpp quantizes activations to q8 too.
      expect(diff).toBeLessThan(type === "f32" ? 1e-3 : 3e-1);
    } finally {
      await src.close();
    }
  });
});

describe("an identity plan reproduces the source exactly", () => {
  test("layers 0..n−1 in order: same logits in llama.cpp as the source GGUF", async () => {
    const gguf = await toGguf(hf, "f16");
    const src = await openCheckpoint(gguf, "SRC");
    try {
      const recipe = dusRecipe({ model: "SRC", layers: src.numLayers, drop: 0 });
      // drop 0 stacks all layers twice; the identity is one slice over every layer.
      recipe.slices = [recipe.slices[0]!];
      const plan = makePlan(recipe, [checkpointHeader(src)]);
      const out = join(work, "identity.gguf");
      for await (const _ of buildModel(plan, [src], { output: out, recipeYaml: recipeToMergekitYaml(recipe), layout: "identity" })) void _;
      const a = await llamaLogprobs(gguf, tokens);
      const b = await llamaLogprobs(out, tokens);
      expect(b.next).toEqual(a.next);
      const fa = await forward(checkpointWeights(src), tokens, { logitsFor: "last" });
      const o = await openCheckpoint(out);
      try {
        const fb = await forward(checkpointWeights(o), tokens, { logitsFor: "last" });
        expect([...fb.logits]).toEqual([...fa.logits]);
      } finally {
        await o.close();
      }
    } finally {
      await src.close();
    }
  });
});
