// Layout presets as pure functions: (model references, base layer count n, options) → Recipe.
// dus and idus (SOLAR / interlocked DUS), expand (LLaMA-Pro block expansion, attenuated copies),
// prune (drop a range). n comes from the checkpoint; these functions never read files.

import { RecipeError } from "../errors.js";
import { LIMITS } from "../limits.js";
import { sliceOf, type Recipe, type RecipeSlice, type ScaleParam } from "./recipe.js";
import { validateRecipe } from "./validate.js";

export interface TwoCopyOptions {
  /** model A (and B unless modelB is given) */
  model: string;
  /** model B: a second model of the same shape; default: `model` */
  modelB?: string;
  /** n: the base model's decoder layer count */
  layers: number;
  /** m: layers dropped from the end of A and the start of B; default round(n/4) (8 for n = 32) */
  drop?: number;
}

/** The default m: n/4 rounded to the nearest integer (SOLAR: n = 32 → 8). */
export function defaultDrop(layers: number): number {
  return Math.round(layers / 4);
}

/** DUS (SOLAR): A[0, n−m) + B[m, n), two slices, 2(n−m) layers. */
export function dusRecipe(options: TwoCopyOptions): Recipe {
  const n = checkLayerCount(options.layers);
  const m = checkDrop(options.drop, n);
  const a = checkModel(options.model, "model");
  const b = options.modelB === undefined ? a : checkModel(options.modelB, "model B");
  return finish({
    slices: [sliceOf(a, 0, n - m), sliceOf(b, m, n)],
    origin: { kind: "preset", preset: "dus", options: withModels({ layers: n, drop: m }, options) },
  });
}

/**
 * iDUS: alternate groups of g layers from A = [0, n−m) and B = [m, n), starting with A:
 * A[0,g) B[m,m+g) A[g,2g) B[m+g,m+2g) … Each group is its own slice (iDUS-8 for n = 32, m = 8
 * is 6 slices, iDUS-1 is 48). When g does not divide n−m, the last pair of groups is shorter
 * (n−m mod g layers each). g = n−m gives exactly dus; g > n−m is refused.
 */
export function idusRecipe(options: TwoCopyOptions & { group: number }): Recipe {
  const n = checkLayerCount(options.layers);
  const m = checkDrop(options.drop, n);
  const half = n - m;
  const g = options.group;
  if (!Number.isSafeInteger(g) || g < 1 || g > half) {
    throw new RecipeError("RECIPE_OPTION", `--group must be an integer from 1 to n − m = ${half}, found ${g}`, {
      path: "--group",
      hint: `g = 1 interlocks single layers, g = ${half} is plain dus`,
    });
  }
  const a = checkModel(options.model, "model");
  const b = options.modelB === undefined ? a : checkModel(options.modelB, "model B");
  const slices: RecipeSlice[] = [];
  for (let k = 0; k < half; k += g) {
    const length = Math.min(g, half - k);
    slices.push(sliceOf(a, k, k + length), sliceOf(b, m + k, m + k + length));
  }
  return finish({
    slices,
    origin: { kind: "preset", preset: "idus", options: withModels({ layers: n, drop: m, group: g }, options) },
  });
}

export interface ExpandOptions {
  model: string;
  layers: number;
  /** insert a copy after every k layers (a tail shorter than k gets no copy) */
  every?: number;
  /** p new blocks, evenly spaced: group j ends at ⌊(j+1)·n/p⌋ (n = 32, p = 8 → every 4) */
  blocks?: number;
  /** scale of the copies' residual branches: 0 (default) makes each copy start as the identity */
  scale?: number;
  /**
   * what the scale applies to: the output projections (default), or, for families that normalise
   * each branch's output (Gemma 2/3's sandwich norms), the post norms' gains — scaling o_proj there
   * is undone by the norm, and a zero input to a norm has a gradient of 1/√eps.
   */
  target?: "projections" | "post-norms";
}

/** The tensors whose output a copied block's scale applies to (mergekit substring filters). */
export const OUTPUT_PROJECTION_FILTERS: readonly string[] = ["o_proj", "down_proj"];
/** Gemma 2/3's post-branch norms (HF names; their GGUF names map back to these). */
export const POST_NORM_FILTERS: readonly string[] = ["post_attention_layernorm", "post_feedforward_layernorm"];

/**
 * LLaMA-Pro block expansion: after each group of layers, insert a copy of the group's last layer
 * whose o_proj and down_proj (or, with target post-norms, the post norms' gains) are scaled by
 * `scale` (0: the residual branch adds nothing, so the copy is the identity; 0 < s < 1: attenuated
 * duplicates). Give `every` or `blocks`, not both; with neither, blocks = round(n/4) (LLaMA-Pro:
 * 32 layers + 8 blocks).
 */
export function expandRecipe(options: ExpandOptions): Recipe {
  const n = checkLayerCount(options.layers);
  const model = checkModel(options.model, "model");
  const scale = options.scale ?? 0;
  if (!Number.isFinite(scale)) {
    throw new RecipeError("RECIPE_OPTION", `--scale must be a finite number, found ${scale}`, {
      path: "--scale",
      hint: "0 makes inserted blocks start as the identity; 0.5 halves their contribution",
    });
  }
  if (options.every !== undefined && options.blocks !== undefined) {
    throw new RecipeError("RECIPE_OPTION", "--every and --blocks both given", { path: "--every", hint: "give one: --every k or --blocks p" });
  }
  const groupEnds: number[] = [];
  const optionsUsed: Record<string, number | string> = { layers: n, scale };
  if (options.every !== undefined) {
    const k = options.every;
    if (!Number.isSafeInteger(k) || k < 1 || k > n) {
      throw new RecipeError("RECIPE_OPTION", `--every must be an integer from 1 to ${n}, found ${k}`, { path: "--every", hint: "--every 4 inserts a block after every 4 layers" });
    }
    for (let end = k; end <= n; end += k) groupEnds.push(end);
    optionsUsed.every = k;
  } else {
    const p = options.blocks ?? Math.max(1, Math.round(n / 4));
    if (!Number.isSafeInteger(p) || p < 1 || p > n) {
      throw new RecipeError("RECIPE_OPTION", `--blocks must be an integer from 1 to ${n}, found ${p}`, { path: "--blocks", hint: "LLaMA-Pro adds 8 blocks to 32 layers" });
    }
    for (let j = 0; j < p; j++) groupEnds.push(Math.floor(((j + 1) * n) / p));
    optionsUsed.blocks = p;
  }
  const filters = options.target === "post-norms" ? POST_NORM_FILTERS : OUTPUT_PROJECTION_FILTERS;
  const copyScale: ScaleParam = filters.map((filter) => ({ filter, value: scale }));
  if (options.target === "post-norms") optionsUsed.target = "post-norms";
  const slices: RecipeSlice[] = [];
  let start = 0;
  for (const end of groupEnds) {
    slices.push(sliceOf(model, start, end), sliceOf(model, end - 1, end, { scale: copyScale }));
    start = end;
  }
  if (start < n) slices.push(sliceOf(model, start, n));
  optionsUsed.model = model;
  return finish({ slices, origin: { kind: "preset", preset: "expand", options: optionsUsed } });
}

/** Prune (Gromov et al., ShortGPT): remove layers [a, b); the rest keep their order. */
export function pruneRecipe(options: { model: string; layers: number; dropRange: readonly [number, number] | string }): Recipe {
  const n = checkLayerCount(options.layers);
  const model = checkModel(options.model, "model");
  const [a, b] = typeof options.dropRange === "string" ? parseDropRange(options.dropRange) : options.dropRange;
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a < 0 || b > n || a >= b) {
    throw new RecipeError("RECIPE_OPTION", `--drop-range must be a:b with 0 ≤ a < b ≤ ${n}, found ${a}:${b}`, {
      path: "--drop-range",
      hint: `a:b removes layers a … b−1, e.g. ${Math.max(0, n - 9)}:${n - 1}`,
    });
  }
  if (a === 0 && b === n) {
    throw new RecipeError("RECIPE_EMPTY", `--drop-range ${a}:${b} removes every layer`, { path: "--drop-range", hint: "keep at least one layer" });
  }
  const slices: RecipeSlice[] = [];
  if (a > 0) slices.push(sliceOf(model, 0, a));
  if (b < n) slices.push(sliceOf(model, b, n));
  return finish({ slices, origin: { kind: "preset", preset: "prune", options: { layers: n, dropStart: a, dropEnd: b, model } } });
}

/** "a:b" → [a, b) (end exclusive, like layer_range). */
export function parseDropRange(text: string): [number, number] {
  const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(text);
  if (match === null) {
    throw new RecipeError("RECIPE_OPTION", `--drop-range must look like a:b (two non-negative integers), found "${text}"`, {
      path: "--drop-range",
      hint: "24:28 removes layers 24, 25, 26 and 27",
    });
  }
  return [Number(match[1]), Number(match[2])];
}

export function checkLayerCount(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > LIMITS.layerCount) {
    throw new RecipeError("RECIPE_OPTION", `the base layer count must be an integer from 1 to ${LIMITS.layerCount}, found ${n}`, {
      path: "num_hidden_layers",
      hint: "read it from the checkpoint's config.json or GGUF block_count",
    });
  }
  return n;
}

export function checkModel(model: string, what: string): string {
  if (typeof model !== "string" || model.trim().length === 0) {
    throw new RecipeError("RECIPE_OPTION", `${what} must be a non-empty path or Hub id`, { path: "model" });
  }
  return model;
}

function checkDrop(drop: number | undefined, n: number): number {
  const m = drop ?? defaultDrop(n);
  if (!Number.isSafeInteger(m) || m < 0 || m >= n) {
    throw new RecipeError("RECIPE_OPTION", `--drop must be an integer with 0 ≤ m < n = ${n}, found ${m}`, {
      path: "--drop",
      hint: `SOLAR drops n/4 (${defaultDrop(n)} here); m = 0 stacks two full copies`,
    });
  }
  return m;
}

function withModels(numbers: Record<string, number>, options: TwoCopyOptions): Record<string, number | string> {
  const out: Record<string, number | string> = { ...numbers, model: options.model };
  if (options.modelB !== undefined) out.modelB = options.modelB;
  return out;
}

function finish(recipe: Recipe): Recipe {
  validateRecipe(recipe);
  return recipe;
}

/**
 * DUS with a blended seam: A[0, n−m−h) + 2h layers that slerp A[n−m−h+i] with B[m−h+i] (the
 * layers DUS puts on either side of its seam, aligned), t rising from 1/(2h+1) to 2h/(2h+1)
 * across the window as mergekit's gradient examples ramp it, + B[m+h, n). DUS's depth, 2(n−m);
 * h = max(1, round(m/2)). mergekit reads `t` for every tensor, so the copied slices get t = 0.
 */
export function dusBlendRecipe(options: TwoCopyOptions): Recipe {
  const n = checkLayerCount(options.layers);
  const m = checkDrop(options.drop, n);
  if (m < 1 || 2 * m > n) throw new RecipeError("RECIPE_OPTION", `a blended seam needs 1 ≤ m ≤ n/2, found m = ${m} for n = ${n}`, { path: "--drop", hint: "DUS's default m = n/4 works" });
  const a = checkModel(options.model, "model");
  const b = options.modelB === undefined ? a : checkModel(options.modelB, "model B");
  const h = Math.max(1, Math.round(m / 2));
  const w = 2 * h;
  const blend: RecipeSlice = {
    sources: [{ model: a, layerRange: [n - m - h, n - m + h] }, { model: b, layerRange: [m - h, m + h] }],
    parameters: { t: [1 / (w + 1), w / (w + 1)] },
  };
  return finish({
    mergeMethod: "slerp",
    baseModel: a,
    parameters: { t: 0 },
    slices: [sliceOf(a, 0, n - m - h), blend, sliceOf(b, m + h, n)],
    origin: { kind: "preset", preset: "dus-blend", options: withModels({ layers: n, drop: m, window: w }, options) },
  });
}
