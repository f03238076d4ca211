import { describe, expect, test } from "vitest";
import { RecipeError } from "../errors.js";
import { parseMergekitYaml } from "./mergekit-import.js";
import { recipeToMergekitYaml } from "./mergekit-export.js";
import { lookupParameter } from "./parameters.js";
import type { Recipe } from "./recipe.js";

// mergekit's own examples/ (pinned commit in docs/merge.md), as users copy them.
const TIES = `models:
  - model: psmathur/orca_mini_v3_13b
    parameters:
      density: [1, 0.7, 0.1] # density gradient
      weight: 1.0
  - model: garage-bAInd/Platypus2-13B
    parameters:
      density: 0.5
      weight: [0, 0.3, 0.7, 1] # weight gradient
  - model: WizardLM/WizardMath-13B-V1.0
    parameters:
      density: 0.33
      weight:
        - filter: mlp
          value: 0.5
        - value: 0
merge_method: ties
base_model: TheBloke/Llama-2-13B-fp16
parameters:
  normalize: true
  int8_mask: true
dtype: float16
`;

const GRADIENT_SLERP = `slices:
  - sources:
      - model: psmathur/orca_mini_v3_13b
        layer_range: [0, 40]
      - model: garage-bAInd/Platypus2-13B
        layer_range: [0, 40]
merge_method: slerp
base_model: psmathur/orca_mini_v3_13b
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - value: 0.5 # fallback for rest of tensors
dtype: float16
`;

const withoutOrigin = ({ origin: _origin, ...rest }: Recipe): Omit<Recipe, "origin"> => rest;

function errorOf(text: string): RecipeError {
  try {
    parseMergekitYaml(text, "m.yml");
  } catch (e) {
    expect(e).toBeInstanceOf(RecipeError);
    return e as RecipeError;
  }
  throw new Error("expected a RecipeError");
}

describe("the whole mergekit YAML", () => {
  test("examples/ties.yml: models form, gradients and filters per model, booleans", () => {
    const r = parseMergekitYaml(TIES, "ties.yml");
    expect(r.mergeMethod).toBe("ties");
    expect(r.slices).toEqual([]);
    expect(r.models?.map((m) => m.model)).toEqual(["psmathur/orca_mini_v3_13b", "garage-bAInd/Platypus2-13B", "WizardLM/WizardMath-13B-V1.0"]);
    expect(r.models?.[2]?.parameters).toEqual({ density: 0.33, weight: [{ filter: "mlp", value: 0.5 }, { value: 0 }] });
    expect(r.parameters).toEqual({ normalize: true, int8_mask: true });
    expect(withoutOrigin(parseMergekitYaml(recipeToMergekitYaml(r)))).toEqual(withoutOrigin(r));
  });

  test("examples/gradient-slerp.yml: two sources per slice; t evaluated as mergekit's evaluate_setting", () => {
    const r = parseMergekitYaml(GRADIENT_SLERP);
    const slice = r.slices[0]!;
    expect(slice.sources.map((s) => s.model)).toEqual(["psmathur/orca_mini_v3_13b", "garage-bAInd/Platypus2-13B"]);
    const t = (layer: number, name: string) => lookupParameter("t", { slice, global: r.parameters, t: layer / 39 }, `model.layers.${layer}.${name}`);
    expect(t(0, "self_attn.q_proj.weight")).toBe(0);
    expect(t(39, "self_attn.q_proj.weight")).toBe(1);
    // layer 13: s = 13/39·4 = 1.333…, between 0.5 and 0.3
    expect(t(13, "self_attn.q_proj.weight")).toBeCloseTo((1 - 1 / 3) * 0.5 + (1 / 3) * 0.3, 14);
    expect(t(13, "mlp.up_proj.weight")).toBeCloseTo((1 - 1 / 3) * 0.5 + (1 / 3) * 0.7, 14);
    expect(t(13, "input_layernorm.weight")).toBe(0.5);
    expect(withoutOrigin(parseMergekitYaml(recipeToMergekitYaml(r)))).toEqual(withoutOrigin(r));
  });

  test("per-slice base_model, tokenizer section, chat_template and name round-trip", () => {
    const text = `merge_method: task_arithmetic
name: my-merge
chat_template: chatml
tokenizer:
  source: union
  pad_to_multiple_of: 64
  tokens:
    "<|im_start|>":
      source: org/b
    "<|im_end|>":
      source: {kind: model_token, model: org/a, token: "</s>"}
      force: true
    "<pad>":
      source: {kind: zero}
slices:
  - base_model: org/a
    sources:
      - {model: org/a, layer_range: [0, 4]}
      - {model: org/b, layer_range: [0, 4], parameters: {weight: 0.5}}
parameters:
  lambda: 0.9
`;
    const r = parseMergekitYaml(text);
    expect(r.slices[0]!.baseModel).toBe("org/a");
    expect(r.tokenizer).toEqual({
      source: "union",
      padToMultipleOf: 64,
      tokens: [
        { token: "<|im_start|>", source: { kind: "model", model: "org/b" } },
        { token: "<|im_end|>", source: { kind: "model_token", model: "org/a", token: "</s>" }, force: true },
        { token: "<pad>", source: { kind: "zero" } },
      ],
    });
    expect([r.chatTemplate, r.name]).toEqual(["chatml", "my-merge"]);
    expect(withoutOrigin(parseMergekitYaml(recipeToMergekitYaml(r)))).toEqual(withoutOrigin(r));
    expect(parseMergekitYaml("merge_method: linear\ntokenizer_source: org/tok\nmodels:\n  - {model: a, parameters: {weight: 1}}\n").tokenizerSource).toEqual({ model: "org/tok" });
  });
});

describe("hostile recipes are refused with line:col, path and hint", () => {
  test("unequal source ranges", () => {
    const e = errorOf("merge_method: slerp\nbase_model: a\nparameters: {t: 0.5}\nslices:\n  - sources:\n      - {model: a, layer_range: [0, 4]}\n      - {model: b, layer_range: [0, 5]}\n");
    expect([e.code, e.line, e.path]).toEqual(["RECIPE_LAYER_RANGE", 7, "slices[0].sources[1].layer_range"]);
    expect(e.message).toMatch(/equal lengths: sources\[0\] has 4 layers, sources\[1\] has 5/);
  });

  test("missing base model, and a base that is not a source", () => {
    const none = errorOf("merge_method: ties\nmodels:\n  - {model: a, parameters: {weight: 1}}\n");
    expect([none.code, none.path]).toEqual(["RECIPE_BASE_MODEL", "models"]);
    expect(none.hint).toMatch(/base_model/);
    const notSource = errorOf("merge_method: slerp\nbase_model: c\nparameters: {t: 0.5}\nslices:\n  - sources:\n      - {model: a, layer_range: [0, 4]}\n      - {model: b, layer_range: [0, 4]}\n");
    expect([notSource.code, notSource.line]).toEqual(["RECIPE_BASE_MODEL", 5]);
    expect(notSource.message).toMatch(/base_model c is not among the sources of slices\[0\]/);
  });

  test("NaN and infinite weights, density out of range, booleans where numbers go", () => {
    const weight = (v: string) => errorOf(`merge_method: ties\nbase_model: base\nmodels:\n  - model: a\n    parameters:\n      weight: ${v}\n      density: 0.5\n`);
    expect([weight(".nan").code, weight(".nan").line, weight(".nan").col]).toEqual(["RECIPE_PARAMETER", 6, 15]);
    expect(weight(".inf").message).toMatch(/finite number/);
    expect(weight("true").message).toMatch(/finite number, found boolean true/);
    expect(weight('"0.5"').hint).toMatch(/without quotes: 0.5/);
    const density = (v: string) => errorOf(`merge_method: dare_ties\nbase_model: base\nmodels:\n  - model: a\n    parameters:\n      weight: 1\n      density: ${v}\n`);
    for (const v of ["0", "1.5", "-0.1", "[1, 0]"]) expect(density(v).code, v).toBe("RECIPE_PARAMETER_RANGE");
    expect(density("1.5").hint).toMatch(/0 < density ≤ 1/);
    const normalize = errorOf("merge_method: linear\nparameters: {normalize: 1}\nmodels:\n  - {model: a, parameters: {weight: 1}}\n");
    expect(normalize.message).toMatch(/must be true or false/);
  });

  test("unknown parameters, parameters at a level mergekit never reads, missing required ones", () => {
    const unknown = errorOf("merge_method: slerp\nbase_model: a\nparameters:\n  t: 0.5\n  weight: 1\nslices:\n  - sources:\n      - {model: a, layer_range: [0, 4]}\n      - {model: b, layer_range: [0, 4]}\n");
    expect([unknown.code, unknown.line, unknown.col, unknown.path]).toEqual(["RECIPE_UNKNOWN_KEY", 5, 3, "parameters.weight"]);
    expect(unknown.hint).toMatch(/slerp reads `t`/);
    const typo = errorOf("merge_method: ties\nbase_model: b\nmodels:\n  - {model: a, parameters: {weight: 1, densty: 0.5}}\n");
    expect(typo.hint).toBe("did you mean `density`?");
    const level = errorOf("merge_method: slerp\nbase_model: a\nslices:\n  - sources:\n      - {model: a, layer_range: [0, 4], parameters: {t: 0.5}}\n      - {model: b, layer_range: [0, 4]}\n");
    expect([level.code, level.path]).toEqual(["RECIPE_PARAMETER_LEVEL", "slices[0].sources[0].parameters.t"]);
    expect(errorOf("merge_method: slerp\nbase_model: a\nmodels:\n  - model: a\n  - model: b\n").message).toMatch(/slerp needs `t`/);
    expect(errorOf("merge_method: linear\nmodels:\n  - model: a\n  - model: b\n").message).toMatch(/linear needs `weight` for every model/);
  });

  test("model counts per method", () => {
    expect(errorOf("merge_method: slerp\nbase_model: a\nparameters: {t: 0.5}\nmodels:\n  - model: a\n  - model: b\n  - model: c\n").message).toMatch(/slerp takes 1 model besides the base, found 2/);
    expect(errorOf("merge_method: model_stock\nbase_model: a\nmodels:\n  - model: b\n").message).toMatch(/at least 2/);
    expect(errorOf("merge_method: linear\nbase_model: c\nmodels:\n  - {model: a, parameters: {weight: 1}}\n").message).toMatch(/adds it as an input without a weight/);
    expect(errorOf("merge_method: passthrough\nbase_model: c\nmodels:\n  - model: a\n").message).toMatch(/passthrough takes 1 input model, found 2/);
  });

  test("slices and models together, tokenizer twice, bad tokenizer entries", () => {
    expect(errorOf("merge_method: linear\nmodels: [{model: a, parameters: {weight: 1}}]\nslices:\n  - sources: [{model: a, layer_range: [0, 1]}]\n").code).toBe("RECIPE_STACK");
    expect(errorOf("merge_method: linear\ntokenizer_source: union\ntokenizer: {source: base}\nmodels: [{model: a, parameters: {weight: 1}}]\n").code).toBe("RECIPE_TOKENIZER");
    expect(errorOf("merge_method: linear\ntokenizer:\n  tokens:\n    x: {source: {kind: model_token, model: a}}\nmodels: [{model: a, parameters: {weight: 1}}]\n").message).toMatch(/exactly one of token_id and token/);
    expect(errorOf("merge_method: linear\ntokenizer:\n  tokens:\n    x: {source: {kind: random}}\nmodels: [{model: a, parameters: {weight: 1}}]\n").message).toMatch(/unknown embedding source kind "random"/);
  });
});

describe("the dus-blend preset", () => {
  test("is a slerp recipe mergekit reads back (t everywhere, the window's gradient on its slice)", async () => {
    const { dusBlendRecipe } = await import("./presets.js");
    const r = dusBlendRecipe({ model: "m", layers: 32, drop: 8 });
    expect(r.slices.map((s) => s.sources.map((x) => x.layerRange))).toEqual([[[0, 20]], [[20, 28], [4, 12]], [[12, 32]]]);
    expect(r.slices.reduce((n, s) => n + s.sources[0].layerRange[1] - s.sources[0].layerRange[0], 0)).toBe(48);
    const text = recipeToMergekitYaml(r);
    expect(text).toMatch(/merge_method: slerp\nbase_model: m\nparameters:\n {2}t: 0\n/);
    expect(withoutOrigin(parseMergekitYaml(text))).toEqual(withoutOrigin({ ...r, origin: { kind: "mergekit" } }));
  });
});
