// The engine and the trainer on every new family's tiny HF checkpoint (src/fixtures/tiny-family):
// a built iDUS stack equals the same stack run virtually; LLaMA-Pro copies are exact identities
// (post-norm families zero the post norms' gain, stored −1 for Gemma's (1+w)) and their first
// healing steps stay small; two healing steps lower the held-out loss and write the model back
// in the family's own tensor names, shapes and dtypes (Phi-3's fused tensors stay fused).

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkpointHeader, type Checkpoint } from "../src/checkpoint/open-checkpoint.js";
import { checkpointWeights, planWeights, nextTokenLossAndGradients, tokenLogprobs } from "../src/engine/index.js";
import { defaultCorpus } from "../src/fixtures/corpus.js";
import { writeTinyFamilyModel, type TinyFamilyName } from "../src/fixtures/tiny-family.js";
import { makePlan } from "../src/plan/plan.js";
import { expandRecipe, idusRecipe } from "../src/recipe/index.js";
import { heal } from "../src/train/index.js";
import { exists, readTensorBytes, runCli, tempDirs } from "./helpers/cli.js";
import { tinyTokenizer, tinyTokenizerFiles, toGguf, withCheckpoint } from "./helpers/models.js";

const FAMILIES: TinyFamilyName[] = ["qwen3", "gemma", "gemma2", "gemma3", "gemma3-multimodal", "phi3", "phi3-longrope", "phi4-mini"];
const POST_NORM = new Set<TinyFamilyName>(["gemma2", "gemma3", "gemma3-multimodal"]);
const dirs = tempDirs("dusk-families-engine-");
const TEXT = defaultCorpus();
let root: string;
const model = new Map<TinyFamilyName, string>();
let tokens: number[];

beforeAll(async () => {
  root = await dirs.make();
  const tk = tinyTokenizer();
  for (const family of FAMILIES) {
    const dir = join(root, family);
    // window 8 < the 40-token texts below, so sliding layers really slide
    await writeTinyFamilyModel(dir, { family, layers: 4, hidden: 32, std: 0.1, seed: 5, vocabSize: tk.pieces.length, tokenizerFiles: tinyTokenizerFiles() });
    model.set(family, dir);
  }
  const { Tokenizer } = await import("@huggingface/tokenizers");
  const hf = new Tokenizer(JSON.parse(tk.tokenizerJson), JSON.parse(tk.tokenizerConfig));
  tokens = hf.encode(TEXT.slice(5000, 5400)).ids.slice(0, 40);
  await writeFile(join(root, "text.txt"), TEXT.slice(0, 20_000));
});
afterAll(() => dirs.cleanup());

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe.each(FAMILIES)("%s", (family) => {
  it("a built iDUS-1 stack gives the log-probs of the same stack run virtually", async () => {
    const out = join(root, `${family}-idus`);
    const r = await runCli(["build", "--preset", "idus", "--group", "1", "--drop", "1", model.get(family)!, "-o", out, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const built = await withCheckpoint(out, async (c) => [...(await tokenLogprobs(checkpointWeights(c), tokens))]);
    const virtual = await withCheckpoint(model.get(family)!, async (src) => {
      const plan = makePlan(idusRecipe({ model: "SRC", layers: src.numLayers, group: 1, drop: 1 }), [checkpointHeader(src)]);
      return [...(await tokenLogprobs(planWeights(plan, [src]), tokens))];
    }, "SRC");
    const base = await withCheckpoint(model.get(family)!, async (c) => [...(await tokenLogprobs(checkpointWeights(c), tokens))]);
    expect(maxDiff(built, virtual)).toBeLessThan(1e-5);
    expect(maxDiff(built, base)).toBeGreaterThan(1e-3); // the stack is another model
  });

  it(`LLaMA-Pro copies are identities (${POST_NORM.has(family) ? "post norms' gain zeroed" : "o_proj/down_proj zeroed"}) and their first gradients are small`, async () => {
    await withCheckpoint(model.get(family)!, async (src) => {
      const recipe = expandRecipe({ model: "SRC", layers: src.numLayers, blocks: 2, ...(POST_NORM.has(family) ? { target: "post-norms" as const } : {}) });
      const plan = makePlan(recipe, [checkpointHeader(src)]);
      expect(plan.layers).toHaveLength(6);
      const expanded = planWeights(plan, [src]);
      const base = checkpointWeights(src);
      expect(maxDiff(await tokenLogprobs(expanded, tokens), await tokenLogprobs(base, tokens))).toBe(0);
      if (POST_NORM.has(family)) {
        // the gain is 0, stored −1 in HF Gemma; zeroing o_proj instead leaves a 1/√eps gradient
        expect(Array.from((await expanded.layer(2)).postAttnNorm!).every((v) => v === -1)).toBe(true);
        const g = await nextTokenLossAndGradients(expanded, tokens.slice(0, 16));
        const old = planWeights(makePlan(expandRecipe({ model: "SRC", layers: src.numLayers, blocks: 2 }), [checkpointHeader(src)]), [src]);
        const gOld = await nextTokenLossAndGradients(old, tokens.slice(0, 16));
        const norm = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
        const copy = 2; // the copy of layer 1, after the first group
        expect(norm(g.grads.layers[copy]!.wo)).toBe(0);
        expect(norm(gOld.grads.layers[copy]!.wo)).toBeGreaterThan(100 * norm(g.grads.layers[copy]!.postAttnNorm));
      }
    }, "SRC");
  });

  it("heals: two steps lower the held-out loss; the output keeps the family's tensor names, shapes and dtypes", async () => {
    const out = join(root, `${family}-healed`);
    const r = await heal({
      model: model.get(family)!, texts: [{ name: "corpus", text: TEXT.slice(0, 60_000) }], budget: { steps: 2 }, workers: 0,
      settings: { seqLen: 32, batch: 8, lr: 1e-2, warmupSteps: 0, evalSequences: 8, holdout: 0.05 },
      output: { dir: out, inputs: [model.get(family)!], purpose: "test" },
    });
    expect(r.final.loss, `${family}: ${r.initial!.loss} → ${r.final.loss}`).toBeLessThan(r.initial!.loss);
    const shape = (c: Checkpoint) => [...c.tensors.values()].map((t) => `${t.name} ${t.shape.join("x")} ${t.type.name}`).sort();
    const want = await withCheckpoint(model.get(family)!, async (c) => shape(c));
    expect(await withCheckpoint(out, async (c) => shape(c))).toEqual(want);
    if (family === "gemma3-multimodal") {
      // the vision tower and projector ride along byte for byte
      const [before, after] = [await readTensorBytes(model.get(family)!), await readTensorBytes(out)];
      const other = [...before.keys()].filter((n) => !n.startsWith("language_model."));
      expect(other.length).toBeGreaterThan(10);
      for (const n of other) expect(Buffer.from(after.get(n)!).equals(Buffer.from(before.get(n)!)), n).toBe(true);
    }
  });
});

it("a GGUF of a family whose config.json dusk does not rebuild is refused for healing, naming the file, before anything is written", async () => {
  const gguf = await toGguf(model.get("qwen3")!, "f32", join(root, "qwen3.gguf"));
  const out = join(root, "qwen3-gguf-healed");
  const r = await runCli(["heal", gguf, "--text", join(root, "text.txt"), "--steps", "1", "-o", out, "--quiet"]);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(gguf);
  expect(r.stderr).toMatch(/qwen3 GGUF cannot be healed/);
  expect(r.stderr).toMatch(/heal the qwen3 HF checkpoint/);
  expect(await exists(out)).toBe(false);
});
