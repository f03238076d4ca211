import { describe, expect, it } from "vitest";
import { PlanError, RecipeError } from "../errors.js";
import { dusRecipe, expandRecipe, layersRecipe, parseMergekitYaml, sliceOf, type Recipe } from "../recipe/index.js";
import { makePlan } from "./plan.js";
import type { SourceHeader } from "./types.js";

const D = 8; // hidden
const F = 16; // intermediate
const V = 10; // vocab
const LAYER_SHAPES: Record<string, number[]> = {
  "input_layernorm.weight": [D],
  "self_attn.q_proj.weight": [D, D],
  "self_attn.k_proj.weight": [D / 2, D],
  "self_attn.v_proj.weight": [D / 2, D],
  "self_attn.o_proj.weight": [D, D],
  "post_attention_layernorm.weight": [D],
  "mlp.gate_proj.weight": [F, D],
  "mlp.up_proj.weight": [F, D],
  "mlp.down_proj.weight": [D, F],
};

/** A header-only Llama source: no files, just names, types, shapes. */
function llamaHeader(ref: string, o: { layers?: number; type?: "F32" | "BF16"; tied?: boolean; hidden?: number; extra?: string[] } = {}): SourceHeader {
  const n = o.layers ?? 8;
  const type = o.type ?? "F32";
  const bytes = type === "F32" ? 4 : 2;
  const scaleShape = (s: number[]) => s.map((d) => (d === D && o.hidden ? o.hidden : d));
  const t = (name: string, shape: number[]) => ({ name, type, shape: scaleShape(shape), byteLength: scaleShape(shape).reduce((a, b) => a * b, 1) * bytes });
  const tensors = [t("model.embed_tokens.weight", [V, D])];
  for (let l = 0; l < n; l++) for (const [leaf, shape] of Object.entries(LAYER_SHAPES)) tensors.push(t(`model.layers.${l}.${leaf}`, shape));
  tensors.push(t("model.norm.weight", [D]));
  if (!o.tied) tensors.push(t("lm_head.weight", [V, D]));
  for (const name of o.extra ?? []) tensors.push(t(name, [2]));
  return {
    ref,
    format: "safetensors",
    arch: "llama",
    numLayers: n,
    tensors,
    config: { architectures: ["LlamaForCausalLM"], model_type: "llama", num_hidden_layers: n, hidden_size: D, torch_dtype: type === "F32" ? "float32" : "bfloat16", tie_word_embeddings: !!o.tied, layer_types: Array.from({ length: n }, (_, i) => `kind${i}`) },
  };
}

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("makePlan", () => {
  it("DUS: embeddings, then each output layer renamed from its base layer, then norm and head", () => {
    const plan = makePlan(dusRecipe({ model: "m", layers: 8, drop: 2 }), [llamaHeader("m")]);
    const base = [0, 1, 2, 3, 4, 5, 2, 3, 4, 5, 6, 7];
    expect(plan.layers.map((l) => l.layer)).toEqual(base);
    expect(plan.tensors).toHaveLength(1 + 12 * 9 + 2);
    expect(plan.tensors[0]!.name).toBe("model.embed_tokens.weight");
    expect(plan.tensors.at(-2)!.name).toBe("model.norm.weight");
    expect(plan.tensors.at(-1)!.name).toBe("lm_head.weight");
    const layerOps = plan.tensors.slice(1, -2);
    layerOps.forEach((op, k) => {
      const out = Math.floor(k / 9);
      expect(op.layer).toBe(out);
      expect(op.baseLayer).toBe(base[out]);
      expect(op.name.replace(`model.layers.${out}.`, "")).toBe(op.from.replace(`model.layers.${base[out]}.`, ""));
      expect(op.transform).toEqual({ kind: "copy" });
      expect(op.type).toBe("F32");
    });
    expect(plan.config!.num_hidden_layers).toBe(12);
    // per-layer config arrays follow the stack
    expect(plan.config!.layer_types).toEqual(base.map((l) => `kind${l}`));
    expect(plan.metrics.seams).toBe(1);
    expect(plan.metrics.outputBytes).toBe(plan.tensors.reduce((s, t) => s + t.byteLength, 0));
  });

  it("is a plain value: JSON round-trips to an equal plan", () => {
    const plan = makePlan(dusRecipe({ model: "m", layers: 8, drop: 2 }), [llamaHeader("m")]);
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it("a dtype converts every float tensor and halves F32 byte lengths; aliases resolve", () => {
    for (const dtype of ["float16", "F16", "fp16", "half"]) {
      const plan = makePlan(dusRecipe({ model: "m", layers: 8, drop: 2 }), [llamaHeader("m")], { dtype });
      expect(new Set(plan.tensors.map((t) => t.type))).toEqual(new Set(["F16"]));
      expect(plan.tensors.every((t) => t.transform.kind === "convert" && t.byteLength === t.shape.reduce((a, b) => a * b, 1) * 2)).toBe(true);
      expect(plan.config!.torch_dtype).toBe("float16");
    }
    // same type: a copy, not a conversion
    const same = makePlan(dusRecipe({ model: "m", layers: 8, drop: 2 }), [llamaHeader("m", { type: "BF16" })], { dtype: "bfloat16" });
    expect(same.tensors.every((t) => t.transform.kind === "copy")).toBe(true);
    const e = catchError(() => makePlan(dusRecipe({ model: "m", layers: 8 }), [llamaHeader("m")], { dtype: "float8" }));
    expect(e).toBeInstanceOf(RecipeError);
    expect((e as RecipeError).path).toBe("--dtype");
    expect((e as RecipeError).hint).toContain("bfloat16");
  });

  it("expand: the copies' o_proj/down_proj are zeroed, everything else copied", () => {
    const plan = makePlan(expandRecipe({ model: "m", layers: 8, blocks: 2 }), [llamaHeader("m")]);
    // 0..3, copy of 3, 4..7, copy of 7
    expect(plan.layers.map((l) => l.layer)).toEqual([0, 1, 2, 3, 3, 4, 5, 6, 7, 7]);
    const zeroed = plan.tensors.filter((t) => t.transform.kind === "zero").map((t) => t.name).sort();
    expect(zeroed).toEqual([
      "model.layers.4.mlp.down_proj.weight", "model.layers.4.self_attn.o_proj.weight",
      "model.layers.9.mlp.down_proj.weight", "model.layers.9.self_attn.o_proj.weight",
    ]);
    const scaled = makePlan(expandRecipe({ model: "m", layers: 8, blocks: 2, scale: 0.5 }), [llamaHeader("m")]);
    expect(scaled.tensors.filter((t) => t.transform.kind === "scale").map((t) => t.transform)).toEqual(Array(4).fill({ kind: "scale", factor: 0.5 }));
  });

  it("two models: embeddings from the first slice's, norm and head from the last slice's", () => {
    const plan = makePlan(dusRecipe({ model: "a", modelB: "b", layers: 8, drop: 2 }), [llamaHeader("b"), llamaHeader("a")]);
    expect(plan.sources.map((s) => s.ref)).toEqual(["a", "b"]);
    const by = new Map(plan.tensors.map((t) => [t.name, t.source]));
    expect(by.get("model.embed_tokens.weight")).toBe(0);
    expect(by.get("model.layers.5.mlp.up_proj.weight")).toBe(0);
    expect(by.get("model.layers.6.mlp.up_proj.weight")).toBe(1);
    expect(by.get("model.norm.weight")).toBe(1);
    expect(by.get("lm_head.weight")).toBe(1);
  });

  it("tied heads: a head from a tied model whose embedding is not the output's gets written out", () => {
    const plan = makePlan(dusRecipe({ model: "a", modelB: "b", layers: 8, drop: 2 }), [llamaHeader("a", { tied: true }), llamaHeader("b", { tied: true })]);
    const head = plan.tensors.find((t) => t.name === "lm_head.weight")!;
    expect(head).toMatchObject({ source: 1, from: "model.embed_tokens.weight" });
    expect(plan.config!.tie_word_embeddings).toBe(false);
    // one tied model: nothing to add, still tied
    const one = makePlan(dusRecipe({ model: "a", layers: 8, drop: 2 }), [llamaHeader("a", { tied: true })]);
    expect(one.tensors.some((t) => t.name === "lm_head.weight")).toBe(false);
    expect(one.config!.tie_word_embeddings).toBe(true);
  });

  it("other non-layer tensors come from the config source; odd names are just names", () => {
    const plan = makePlan(dusRecipe({ model: "m", layers: 8, drop: 2 }), [llamaHeader("m", { extra: ["__proto__", "rotary.inv_freq"] })]);
    expect(plan.tensors.filter((t) => t.name === "__proto__" || t.name === "rotary.inv_freq").map((t) => t.from)).toEqual(["__proto__", "rotary.inv_freq"]);
  });

  it("refuses a layer_range past the model, naming the slice path", () => {
    const recipe = parseMergekitYaml("merge_method: passthrough\nslices:\n  - sources:\n      - model: m\n        layer_range: [0, 4]\n  - sources:\n      - model: m\n        layer_range: [4, 9]\n", "r.yml");
    const e = catchError(() => makePlan(recipe, [llamaHeader("m")]));
    expect(e).toBeInstanceOf(RecipeError);
    expect((e as RecipeError).path).toBe("slices[1].sources[0].layer_range");
    expect((e as RecipeError).file).toBe("r.yml");
    expect((e as RecipeError).message).toContain("8 layers");
  });

  it("refuses sources of different shapes, naming the tensor", () => {
    const e = catchError(() => makePlan(dusRecipe({ model: "a", modelB: "b", layers: 8, drop: 2 }), [llamaHeader("a"), llamaHeader("b", { hidden: 12 })]));
    expect(e).toBeInstanceOf(PlanError);
    expect((e as PlanError).code).toBe("plan.shape-mismatch");
    expect((e as PlanError).message).toMatch(/^b: model\.layers\.2\.input_layernorm\.weight has shape \[12\], but a has \[8\]/);
    expect((e as PlanError).hint).toBeTruthy();
  });

  it("refuses a layer missing a tensor, an extra tensor, another family, and a missing header", () => {
    const missing = llamaHeader("m");
    missing.tensors = missing.tensors.filter((t) => t.name !== "model.layers.5.mlp.up_proj.weight");
    expect((catchError(() => makePlan(dusRecipe({ model: "m", layers: 8 }), [missing])) as PlanError).code).toBe("plan.missing-tensor");

    const extra = llamaHeader("m");
    extra.tensors.push({ name: "model.layers.3.mlp.extra.weight", type: "F32", shape: [2], byteLength: 8 });
    expect((catchError(() => makePlan(dusRecipe({ model: "m", layers: 8 }), [extra])) as PlanError).code).toBe("plan.extra-tensor");

    const qwen = { ...llamaHeader("b"), arch: "qwen2" };
    const e = catchError(() => makePlan(dusRecipe({ model: "a", modelB: "b", layers: 8 }), [llamaHeader("a"), qwen])) as PlanError;
    expect(e.code).toBe("plan.arch-mismatch");
    expect(e.message).toContain("qwen2");

    expect((catchError(() => makePlan(dusRecipe({ model: "a", layers: 8 }), [llamaHeader("other")])) as PlanError).code).toBe("plan.missing-source");
  });

  it("an identity layer list copies every tensor under its own name", () => {
    const header = llamaHeader("m");
    const plan = makePlan(layersRecipe({ model: "m", layers: 8, spec: "0-7" }), [header]);
    expect(plan.tensors.map((t) => [t.name, t.from, t.transform.kind])).toEqual(header.tensors.map((t) => [t.name, t.name, "copy"]));
    expect(plan.metrics.seams).toBe(0);
  });

  it("a zero-length last slice picks the head's model", () => {
    const recipe: Recipe = { slices: [sliceOf("a", 0, 8), sliceOf("b", 8, 8)], origin: { kind: "mergekit" } };
    const plan = makePlan(recipe, [llamaHeader("a"), llamaHeader("b")]);
    expect(plan.layers).toHaveLength(8);
    expect(plan.tensors.find((t) => t.name === "lm_head.weight")!.source).toBe(1);
    expect(plan.tensors.find((t) => t.name === "model.embed_tokens.weight")!.source).toBe(0);
  });
});
