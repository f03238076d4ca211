import { describe, expect, test } from "vitest";
import { RecipeError } from "../errors.js";
import { describeLayout, recipeLayers } from "./layout.js";
import { parseMergekitYaml } from "./mergekit-import.js";
import { dusRecipe } from "./presets.js";

// As users post them: comments, `- model` not indented under `sources:`, method after slices.
const SOLAR_STYLE = `# SOLAR-style depth up-scaling: 32 -> 48 layers
# (Upstage, arXiv 2312.15166) - drop 8 from the end of copy A and the start of copy B
slices:
  - sources:
    - model: mistralai/Mistral-7B-v0.1
      layer_range: [0, 24]   # A: layers 0..23
  - sources:
    - model: mistralai/Mistral-7B-v0.1
      layer_range: [8, 32]   # B: layers 8..31
merge_method: passthrough
dtype: bfloat16
`;

const WITH_PARAMETERS = `merge_method: passthrough
base_model: "org/base"
dtype: float16
out_dtype: torch.bfloat16
tokenizer_source: base
parameters:
  scale:
    - filter: lm_head
      value: 1.0
slices:
- sources:
  - model: org/base
    layer_range:
    - 0
    - 16
    parameters:
      scale:
        - filter: o_proj
          value: [1, 0.5]
        - value: 1
- sources:
  - model: org/other@v2
    layer_range: [8, 32]
  parameters:
    scale: [1.0, 0.0]
- sources:
  - model: org/base
    layer_range: [32, 32]   # zero-length: norm and lm_head from org/base
`;

function errorOf(text: string, file = "merge.yml"): RecipeError {
  try {
    parseMergekitYaml(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(RecipeError);
    return e as RecipeError;
  }
  throw new Error("expected a RecipeError");
}

describe("parseMergekitYaml accepts real configs", () => {
  test("a SOLAR-style config from the wild equals the dus preset", () => {
    const r = parseMergekitYaml(SOLAR_STYLE, "solar.yml");
    expect(r.slices).toEqual(dusRecipe({ model: "mistralai/Mistral-7B-v0.1", layers: 32 }).slices);
    expect(r.dtype).toBe("bfloat16");
    expect(r.origin).toEqual({ kind: "mergekit", file: "solar.yml" });
    expect(describeLayout(recipeLayers(r))).toBe("0..23, 8..31");
  });

  test("parameters at every level, block-style ranges, torch. dtype prefix, a zero-length last slice", () => {
    const r = parseMergekitYaml(WITH_PARAMETERS);
    expect(r).toEqual({
      baseModel: "org/base",
      dtype: "float16",
      outDtype: "bfloat16",
      tokenizerSource: "base",
      parameters: { scale: [{ filter: "lm_head", value: 1 }] },
      slices: [
        { sources: [{ model: "org/base", layerRange: [0, 16], parameters: { scale: [{ filter: "o_proj", value: [1, 0.5] }, { value: 1 }] } }] },
        { sources: [{ model: "org/other@v2", layerRange: [8, 32] }], parameters: { scale: [1, 0] } },
        { sources: [{ model: "org/base", layerRange: [32, 32] }] },
      ],
      origin: { kind: "mergekit" },
    });
    expect(recipeLayers(r)).toHaveLength(40);
  });

  test("null optional values are absent; anchors and aliases resolve", () => {
    const r = parseMergekitYaml(`merge_method: passthrough
dtype:
parameters:
slices:
  - sources:
      - model: &m org/m
        layer_range: &r [0, 4]
  - sources:
      - model: *m
        layer_range: *r
`);
    expect(r.dtype).toBeUndefined();
    expect(r.parameters).toBeUndefined();
    expect(r.slices.map((s) => s.sources[0].model)).toEqual(["org/m", "org/m"]);
  });
});

describe("parseMergekitYaml refuses bad input with file:line:col, path and hint", () => {
  test("YAML syntax error", () => {
    const e = errorOf("merge_method: passthrough\nslices:\n  - sources:\n    - model: x\n      layer_range: [0, 4\n");
    expect(e.code).toBe("RECIPE_YAML_SYNTAX");
    expect(e.file).toBe("merge.yml");
    expect(e.line).toBeGreaterThanOrEqual(5);
    expect(e.message).toMatch(/^merge\.yml:\d+:\d+: YAML syntax error/);
    const tab = errorOf("merge_method: passthrough\nslices:\n\t- sources: []\n");
    expect(tab.line).toBe(3);
  });

  test("unknown key at every level, with line:col and the allowed keys", () => {
    const top = errorOf("merge_method: passthrough\nslice:\n  - sources: []\n");
    expect([top.code, top.line, top.col, top.path]).toEqual(["RECIPE_UNKNOWN_KEY", 2, 1, "slice"]);
    expect(top.message).toMatch(/allowed: merge_method, slices, models, base_model/);
    expect(top.hint).toBe("did you mean `slices`?");

    const source = errorOf("merge_method: passthrough\nslices:\n  - sources:\n      - model: x\n        layer_range: [0, 4]\n        weight: 0.5\n");
    expect([source.line, source.col, source.path]).toEqual([6, 9, "slices[0].sources[0].weight"]);
    expect(source.message).toMatch(/allowed: model, layer_range, parameters/);

    const param = errorOf("merge_method: passthrough\nslices:\n  - sources:\n      - model: x\n        layer_range: [0, 4]\n    parameters:\n      density: 0.5\n");
    expect([param.line, param.col, param.path]).toEqual([7, 7, "slices[0].parameters.density"]);
    expect(param.hint).toMatch(/passthrough reads `scale`/);

    const condition = errorOf("merge_method: passthrough\nparameters:\n  scale:\n    - filters: o_proj\n      value: 0\nslices:\n  - sources:\n      - {model: x, layer_range: [0, 4]}\n");
    expect([condition.line, condition.col, condition.path]).toEqual([4, 7, "parameters.scale[0].filters"]);
    expect(condition.hint).toBe("did you mean `filter`?");

    const proto = errorOf("merge_method: passthrough\n__proto__: 1\nslices: []\n");
    expect([proto.code, proto.path]).toEqual(["RECIPE_UNKNOWN_KEY", "__proto__"]);
  });

  test("mergekit keys dusk does not support say why", () => {
    const modules = errorOf("merge_method: passthrough\nmodules:\n  decoder: {}\n");
    expect([modules.code, modules.line, modules.path]).toEqual(["RECIPE_UNSUPPORTED", 2, "modules"]);
    expect(modules.hint).toMatch(/slices:/);
    expect(errorOf("merge_method: passthrough\nslices:\n  - sources:\n      - {model: a+lora, layer_range: [0, 4]}\n").message).toMatch(/LoRA/);
    expect(errorOf("merge_method: passthrough\nslices:\n  - residual_weight: 0.5\n    sources: []\n").path).toBe("slices[0].residual_weight");
  });

  test("wrong or missing merge method", () => {
    const unknown = errorOf("slices:\n  - sources:\n      - {model: x, layer_range: [0, 4]}\nmerge_method: frankenstein\n");
    expect([unknown.code, unknown.line, unknown.col, unknown.path]).toEqual(["RECIPE_MERGE_METHOD", 4, 15, "merge_method"]);
    expect(unknown.hint).toMatch(/linear, slerp, nuslerp/);
    expect(errorOf("merge_method: Passthrough\nslices: []\n").hint).toMatch(/lower case/);
    expect(errorOf("merge_method: TIES\nslices: []\n").hint).toMatch(/merge_method: ties/);
    expect(errorOf("slices: []\n").message).toMatch(/missing `merge_method`/);
  });

  test("two sources in one slice", () => {
    const e = errorOf(`merge_method: passthrough
slices:
  - sources:
      - model: a
        layer_range: [0, 16]
      - model: b
        layer_range: [0, 16]
`);
    expect([e.code, e.line, e.col, e.path]).toEqual(["RECIPE_SOURCES", 6, 9, "slices[0].sources"]);
    expect(e.message).toMatch(/exactly one source per slice, found 2/);
  });

  test("layer_range not [int, int], negative, end before start, empty in the middle", () => {
    const at = (range: string): RecipeError =>
      errorOf(`merge_method: passthrough\nslices:\n  - sources:\n      - model: a\n        layer_range: ${range}\n  - sources:\n      - {model: a, layer_range: [0, 4]}\n`);
    for (const bad of ["[0, 4, 8]", "[0]", "4", '["0", "4"]', "[0, 2.5]", "[-1, 4]", "[8, 4]"]) {
      const e = at(bad);
      expect([e.code, e.path, e.line], bad).toEqual(["RECIPE_LAYER_RANGE", "slices[0].sources[0].layer_range", 5]);
      expect(e.hint).toMatch(/\[start, end\)/);
    }
    expect(at("[-1, 4]").message).toMatch(/found number -1/);
    expect(at("[8, 4]").message).toMatch(/ends before it starts/);
    // [k, k) is allowed first or last (mergekit users pick lm_head's model that way), not between.
    expect(parseMergekitYaml(`merge_method: passthrough\nslices:\n  - sources:\n      - {model: a, layer_range: [4, 4]}\n  - sources:\n      - {model: b, layer_range: [0, 4]}\n`).slices).toHaveLength(2);
    const middle = errorOf(
      `merge_method: passthrough\nslices:\n  - sources:\n      - {model: a, layer_range: [0, 4]}\n  - sources:\n      - {model: a, layer_range: [4, 4]}\n  - sources:\n      - {model: a, layer_range: [0, 4]}\n`,
    );
    expect([middle.code, middle.path, middle.line]).toEqual(["RECIPE_LAYER_RANGE", "slices[1].sources[0].layer_range", 6]);
    expect(middle.hint).toMatch(/only has an effect first or last/);
  });

  test("empty plans", () => {
    expect(errorOf("merge_method: passthrough\nslices: []\n").code).toBe("RECIPE_EMPTY");
    expect(errorOf("merge_method: passthrough\nslices:\n  - sources:\n      - {model: a, layer_range: [4, 4]}\n").message).toMatch(/every slice is zero-length/);
    expect(errorOf("").code).toBe("RECIPE_EMPTY");
    expect(errorOf("# only a comment\n").code).toBe("RECIPE_EMPTY");
  });

  test("bad scale values", () => {
    const scale = (value: string): RecipeError =>
      errorOf(`merge_method: passthrough\nslices:\n  - sources:\n      - {model: a, layer_range: [0, 4]}\n    parameters:\n      scale: ${value}\n`);
    expect(scale('"half"').path).toBe("slices[0].parameters.scale");
    expect(scale("true").message).toMatch(/finite number, found boolean true/);
    expect(scale("[]").message).toMatch(/empty list/);
    expect(scale(".inf").message).toMatch(/finite number/);
    expect(scale("[1, {value: 0}]").message).toMatch(/mixes values/);
    expect(scale("{filter: o_proj, value: 0}").hint).toMatch(/put a `- ` before `filter:`/);
    expect(scale("[{filter: o_proj}]").message).toMatch(/missing `value`/);
    expect(scale("[{filter: 3, value: 0}]").path).toBe("slices[0].parameters.scale[0].filter");
  });

  test("other bad values", () => {
    expect(errorOf("- a\n- b\n").message).toMatch(/must be a mapping/);
    expect(errorOf("merge_method: passthrough\ndtype: int8\nslices: []\n").code).toBe("RECIPE_DTYPE");
    expect(errorOf("merge_method: passthrough\nslices: {a: 1}\n").message).toMatch(/slices must be a list/);
    expect(errorOf("merge_method: passthrough\nslices:\n  - sources:\n      - {model: {path: x}, layer_range: [0, 4]}\n").code).toBe("RECIPE_UNSUPPORTED");
    expect(errorOf("merge_method: passthrough\nslices:\n  - sources:\n      - {layer_range: [0, 4]}\n").message).toMatch(/missing `model`/);
    expect(errorOf("merge_method: passthrough\nmerge_method: passthrough\nslices: []\n").code).toBe("RECIPE_YAML_SYNTAX");
    expect(errorOf("merge_method: passthrough\n---\nmerge_method: passthrough\n").code).toBe("RECIPE_YAML_SYNTAX");
  });

  test("limits: oversized text; an alias bomb fails fast without expanding", () => {
    expect(errorOf(`# ${"x".repeat(4 * 1024 * 1024)}\n`).code).toBe("RECIPE_TOO_LARGE");
    // billion laughs: 10^9 leaves if expanded; the reader only walks the shapes it expects.
    const anchors = ["&l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"];
    for (let i = 1; i < 10; i++) anchors.push(`&l${i} [${Array(10).fill(`*l${i - 1}`).join(", ")}]`);
    const bomb = `merge_method: passthrough\nparameters:\n  scale: [${anchors.join(", ")}]\nslices:\n  - sources:\n      - {model: x, layer_range: [0, 4]}\n`;
    const started = performance.now();
    expect(errorOf(bomb).code).toBe("RECIPE_PARAMETER");
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
