// `--train` as `unfrozen_parameters`: the patterns, matched the way axolotl v0.18.0 matches them
// (re-stated below from src/axolotl/utils/freeze.py), select exactly the parameters of the chosen
// stack positions (and embed/head) — on the names of a real built stack, and on a 64-layer stack
// where `layers.6.` must not reach layer 60.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tensorName } from "../../arch/index.js";
import { buildModel } from "../../build/build.js";
import { checkpointHeader, openCheckpoint } from "../../checkpoint/open-checkpoint.js";
import { DuskError } from "../../errors.js";
import { writeTinyHfModel } from "../../fixtures/tiny-model.js";
import { makePlan } from "../../plan/plan.js";
import { dusRecipe, recipeToMergekitYaml } from "../../recipe/index.js";
import { readStackInfo, stackInfoFromConfig, type StackInfo } from "./stack-info.js";
import { describePositions, unfrozenPlan, type TrainSelection } from "./unfrozen.js";

/**
 * axolotl's LayerNamePattern: a trailing `[a:b]` is an index slice (not regex); every `.` not
 * followed by `+` becomes a literal dot; Python's re.match anchors at the start only.
 */
function axolotlMatches(pattern: string, name: string): boolean {
  const sliced = /^(.+)\[([0-9]*)(?::([0-9]*))?\]$/.exec(pattern);
  const body = (sliced ? sliced[1]! : pattern).replace(/\.(?!\+)/g, "\\.");
  return new RegExp(`^(?:${body})`).test(name);
}

function trainedNames(patterns: string[] | undefined, names: string[]): string[] {
  return patterns === undefined ? names : names.filter((n) => patterns.some((p) => axolotlMatches(p, n)));
}

/** transformers' parameter names of a stack: the same as its safetensors keys for these families */
function parameterNames(stack: StackInfo): string[] {
  const arch = stack.arch;
  const names = [arch.preLayer[0]!.hf];
  for (let l = 0; l < stack.params.layers.length; l++) for (const r of arch.layer) names.push(tensorName(r, "hf", l));
  names.push(stack.names.norm);
  if (stack.params.head > 0) names.push(stack.names.head);
  return names;
}

let root: string;
let built: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dusk-unfrozen-"));
  const base = join(root, "base");
  await writeTinyHfModel(base, { layers: 8, hidden: 32, heads: 4, kvHeads: 2, vocabSize: 64, seed: 3 });
  const source = await openCheckpoint(base);
  try {
    const recipe = dusRecipe({ model: base, layers: 8, drop: 2 });
    const plan = makePlan(recipe, [checkpointHeader(source)]);
    built = join(root, "dus");
    for await (const _ of buildModel(plan, [source], { output: built, recipeYaml: recipeToMergekitYaml(recipe), layout: "0..5, 2..7" })) void _;
  } finally {
    await source.close();
  }
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("unfrozen_parameters", () => {
  it("on a real built stack, the patterns select exactly the chosen positions' tensors (and embed/head when asked)", async () => {
    const stack = await readStackInfo(built);
    expect(stack.params.layers.length).toBe(12);
    const c = await openCheckpoint(built);
    const names = [...c.tensors.keys()];
    await c.close();
    expect(names.sort()).toEqual(parameterNames(stack).sort());
    const cases: [TrainSelection, (n: string) => boolean][] = [
      [{ layers: [5, 6], includeEmbed: false, includeHead: false }, (n) => /^model\.layers\.(5|6)\./.test(n)],
      [{ layers: [1], includeEmbed: true, includeHead: false }, (n) => n.startsWith("model.layers.1.") || n === "model.embed_tokens.weight"],
      [{ layers: [], includeEmbed: false, includeHead: true }, (n) => n === "model.norm.weight" || n === "lm_head.weight"],
      [{ layers: [10, 11, 0], includeEmbed: true, includeHead: true }, (n) => /^model\.layers\.(0|10|11)\./.test(n) || !n.startsWith("model.layers.")],
    ];
    for (const [train, expected] of cases) {
      const plan = unfrozenPlan(stack, train);
      expect(trainedNames(plan.patterns, names).sort(), JSON.stringify(train)).toEqual(names.filter(expected).sort());
      const params = names.filter(expected).reduce((s, n) => s + (n.startsWith("model.layers.") ? 0 : n === "model.norm.weight" ? 32 : 64 * 32), 0);
      expect(plan.trainableParams).toBe(plan.layers.reduce((s, l) => s + stack.params.layers[l]!, 0) + params);
    }
    expect(unfrozenPlan(stack, { layers: "all", includeEmbed: true, includeHead: true }).patterns).toBeUndefined();
  });

  it("on a 64-layer stack, position 6 does not reach 60–63, nor 1 reach 10–19", () => {
    const stack = stackInfoFromConfig("s", { architectures: ["LlamaForCausalLM"], model_type: "llama", vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 64, num_attention_heads: 4, num_key_value_heads: 2 });
    const names = parameterNames(stack);
    const plan = unfrozenPlan(stack, { layers: [1, 6], includeEmbed: false, includeHead: false });
    expect(plan.patterns).toEqual(["^model.layers.(1|6)."]);
    expect(new Set(trainedNames(plan.patterns, names).map((n) => n.split(".")[2]))).toEqual(new Set(["1", "6"]));
  });

  it("a tied head is the embedding: training the head unfreezes the embedding matrix, and says so", () => {
    const stack = stackInfoFromConfig("s", { architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: true });
    const plan = unfrozenPlan(stack, { layers: [], includeEmbed: false, includeHead: true });
    expect(trainedNames(plan.patterns, parameterNames(stack))).toEqual(["model.embed_tokens.weight", "model.norm.weight"]);
    expect(plan.notes).toEqual(["the head is tied to the embedding (one matrix), so training the head trains the embedding too"]);
  });

  it("a position past the stack, or a selection of nothing, is a clear error", () => {
    const stack = stackInfoFromConfig("./idus-4", { architectures: ["LlamaForCausalLM"], model_type: "llama", vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 12, num_attention_heads: 4, num_key_value_heads: 2 });
    const bad = (() => { try { unfrozenPlan(stack, { layers: [3, 12], includeEmbed: false, includeHead: false }); } catch (e) { return e; } })();
    expect(bad).toBeInstanceOf(DuskError);
    expect((bad as DuskError).message).toBe("--train names stack position 12, but ./idus-4 has 12 layers (0–11)");
    expect(() => unfrozenPlan(stack, { layers: [], includeEmbed: false, includeHead: false })).toThrow("names no parameters");
    expect(describePositions([0, 1, 2, 5, 7, 8])).toBe("0–2, 5, 7–8");
  });
});
