// Measuring layouts over one base, virtually: one base pass over the text's windows (perplexity, the
// layer-distance map, mean state norms, and the state at every boundary kept per window), then each
// layout (any depth, any layer list, or a recipe such as LLaMA-Pro's scaled copies) scored on the
// engine, resuming after its leading base layers 0, 1, … from the kept states. Every perplexity is the
// number `dusk ppl --backend engine` prints with the same windows; the per-window sums are there for
// bootstrap intervals (resample windows, not tokens: tokens within a window are not independent).

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { checkpointHeader } from "../checkpoint/open-checkpoint.js";
import { checkpointWeights, planWeights } from "../engine/checkpoint-weights.js";
import { scoreTokensOnEngine } from "../eval/backend-engine.js";
import { ANALYZE_LIMITS } from "../limits.js";
import { makePlan } from "../plan/plan.js";
import { layersRecipe, recipeLayers, type Recipe } from "../recipe/index.js";
import { DistanceMap } from "./angular.js";
import { layerSpec } from "./candidates.js";
import { openTextTokenizer, tokenizeText, type CalibrationTokenizer } from "./text-tokenizer.js";
import { checkEngineTypes, NllSum, textWindows, type TextRun, type TextWindow, type WindowOptions } from "./windows.js";

export interface MeasureInput {
  checkpoint: Checkpoint;
  text: string;
  /** names in results (default: the checkpoint ref; "text") */
  model?: string;
  textLabel?: string;
  /** default: the checkpoint's own */
  tokenizer?: CalibrationTokenizer;
}

export interface MeasureOptions extends WindowOptions {
  /** BOS before the text (default off, as `dusk ppl`) */
  bos?: boolean;
  /** resume layouts from the base pass's states (default true; false only to measure what it saves) */
  resume?: boolean;
  signal?: AbortSignal;
  onProgress?: (e: MeasureEvent) => void;
  /**
   * Sees every base boundary state x [T, D] of every window (b = 0 … n; the same array the engine
   * streams: read it, do not keep or change it); for statistics beyond the map.
   */
  onBaseBoundary?: (window: number, boundary: number, x: Float32Array, w: TextWindow) => void;
}

/** A layout to measure: its base layer per stack position; with `recipe`, the weights come from that (e.g. scaled copies). */
export interface LayoutToMeasure {
  layers: readonly number[];
  recipe?: Recipe;
}

export type MeasureEvent =
  | { type: "base"; done: number; total: number }
  | { type: "layout"; done: number; total: number; result: LayoutMeasurement };

/** Negative log-likelihood of one model over the windows. */
export interface NllTotals {
  /** mean NLL per scored token (nats), and exp of it */
  nll: number;
  ppl: number;
  /** tokens scored */
  scored: number;
  /** per window: Σ −log p over its scored tokens, and how many (Σ window_nll / Σ window_tokens = nll) */
  window_nll: number[];
  window_tokens: number[];
}

/** The base pass: its own NLL, and what the base alone says about its layers. */
export interface BasePass extends NllTotals {
  layers: number;
  /** mean angular distance between boundaries [(n+1) × (n+1)] (boundary b = the input of layer b; n = the last output) */
  distance: number[][];
  /** the same, at each window's last token */
  distance_last: number[][];
  /** ShortGPT's Block Influence per layer [n] */
  block_influence: number[];
  /** mean L2 norm of the hidden state per boundary [n+1] */
  norms: number[];
  seconds: number;
}

export interface LayoutMeasurement extends NllTotals {
  layers: number[];
  /** `--layers` syntax */
  spec: string;
  /** boundary the layout resumed from (0: computed from the embeddings) */
  resumed_from: number;
  seconds: number;
}

export interface MeasureResult extends TextRun {
  base: BasePass;
  /** in the order given */
  layouts: LayoutMeasurement[];
  /** layouts resumed from the base pass's states (false when the cache would pass its memory limit) */
  resumed: boolean;
  seconds: number;
}

/**
 * A base pass held in memory, ready to measure layouts one at a time (search decides which from
 * the map and a budget). Memory: the states of every boundary of every window, (n+1)·D·tokens floats.
 */
export class LayoutMeter {
  private constructor(
    readonly run: TextRun,
    readonly base: BasePass,
    /** whether layouts resume from kept states */
    readonly resumed: boolean,
    private readonly checkpoint: Checkpoint,
    /** the text's token ids (window w covers tokenIds[w.start, w.end)) */
    readonly tokenIds: readonly number[],
    readonly windows: readonly TextWindow[],
    private readonly cache: Float32Array[][],
    private readonly signal: AbortSignal | undefined,
  ) {}

  static async open(input: MeasureInput, opts: MeasureOptions = {}): Promise<LayoutMeter> {
    const t0 = performance.now();
    const c = input.checkpoint;
    checkEngineTypes(c);
    const n = c.numLayers;
    const tokenizer = input.tokenizer ?? (await openTextTokenizer(c));
    let tokens: number[];
    const textLabel = input.textLabel ?? "text";
    try {
      tokens = tokenizeText(tokenizer, input.text, textLabel, opts.bos ?? false);
    } finally {
      if (!input.tokenizer) await tokenizer.close();
    }
    const base = checkpointWeights(c);
    const D = base.config.hiddenSize;
    const { windows, ctx, stride } = textWindows(tokens.length, base.config.maxPositions, opts);
    const cacheBytes = (n + 1) * D * 4 * windows.reduce((s, w) => s + w.end - w.start, 0);
    const resumed = (opts.resume ?? true) && cacheBytes <= ANALYZE_LIMITS.resumeCacheBytes;
    const cache: Float32Array[][] = [];
    const map = new DistanceMap(n + 1, D);
    const norms = new Float64Array(n + 1);
    let normRows = 0;
    const totals = new WindowTotals();
    const fwd = opts.signal ? { signal: opts.signal } : {};
    for (const [i, w] of windows.entries()) {
      opts.onProgress?.({ type: "base", done: i, total: windows.length });
      const states: Float32Array[] = [];
      map.begin(w.end - w.start, w.countFrom);
      const onBoundary = (b: number, x: Float32Array) => {
        map.add(b, x);
        const sq = map.state(b)!.sq;
        for (let t = w.countFrom; t < sq.length; t++) norms[b]! += Math.sqrt(sq[t]!);
        opts.onBaseBoundary?.(i, b, x, w);
        if (resumed) states[b] = x;
      };
      totals.add((await scoreTokensOnEngine(base, tokens.slice(w.start, w.end), w.from, { ...fwd, onBoundary })).logprobs);
      normRows += w.end - w.start - w.countFrom;
      map.end();
      cache.push(states);
    }
    opts.onProgress?.({ type: "base", done: windows.length, total: windows.length });
    const m = map.result();
    const run: TextRun = { model: input.model ?? c.ref, text: textLabel, tokenizer: tokenizer.kind, bos: opts.bos ?? false, tokens: tokens.length, windows: windows.length, ctx, stride };
    const basePass: BasePass = {
      ...totals.result(), layers: n, distance: m.mean, distance_last: m.last, block_influence: m.blockInfluence,
      norms: Array.from(norms, (s) => (normRows === 0 ? 0 : s / normRows)), seconds: (performance.now() - t0) / 1000,
    };
    return new LayoutMeter(run, basePass, resumed, c, tokens, windows, cache, opts.signal);
  }

  /** Scores one layout over every window. */
  async measure(layout: LayoutToMeasure): Promise<LayoutMeasurement> {
    const started = performance.now();
    const c = this.checkpoint;
    const n = this.base.layers;
    const recipe = layout.recipe ?? layersRecipe({ model: c.ref, layers: n, spec: layerSpec(layout.layers) });
    const weights = planWeights(makePlan(recipe, [checkpointHeader(c)]), [c]);
    const prefix = this.resumed ? basePrefix(layout) : 0;
    const totals = new WindowTotals();
    const fwd = this.signal ? { signal: this.signal } : {};
    for (const [wi, w] of this.windows.entries()) {
      const resume = prefix > 0 ? { resume: { boundary: prefix, hidden: this.cache[wi]![prefix]! } } : {};
      totals.add((await scoreTokensOnEngine(weights, this.tokenIds.slice(w.start, w.end), w.from, { ...fwd, ...resume })).logprobs);
    }
    return { layers: [...layout.layers], spec: layerSpec(layout.layers), ...totals.result(), resumed_from: prefix, seconds: (performance.now() - started) / 1000 };
  }
}

/** Measures the base and every layout (given, or chosen from the base pass) on the text. */
export async function measureLayouts(
  input: MeasureInput,
  layouts: readonly LayoutToMeasure[] | ((base: BasePass) => readonly LayoutToMeasure[]),
  opts: MeasureOptions = {},
): Promise<MeasureResult> {
  const t0 = performance.now();
  const meter = await LayoutMeter.open(input, opts);
  const list = typeof layouts === "function" ? layouts(meter.base) : layouts;
  const out: LayoutMeasurement[] = [];
  for (const l of list) {
    const r = await meter.measure(l);
    out.push(r);
    opts.onProgress?.({ type: "layout", done: out.length, total: list.length, result: r });
  }
  return { ...meter.run, base: meter.base, layouts: out, resumed: meter.resumed, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Leading positions that are the base's own layers 0, 1, … unchanged (their output is the base's
 * kept state); a recipe's position counts only when its slice and source carry no parameters.
 */
export function basePrefix(layout: LayoutToMeasure): number {
  const plain = layout.recipe ? recipeLayers(layout.recipe).map((l) => {
    const slice = layout.recipe!.slices[l.slice]!;
    return slice.parameters === undefined && slice.sources.length === 1 && slice.sources[0].parameters === undefined;
  }) : undefined;
  let p = 0;
  while (p < layout.layers.length && layout.layers[p] === p && (plain?.[p] ?? true)) p++;
  return p;
}

/** NllSum's total (the same floats as `dusk ppl`) plus per-window sums. */
class WindowTotals {
  private readonly all = new NllSum();
  private readonly sums: number[] = [];
  private readonly counts: number[] = [];
  add(logprobs: ArrayLike<number>): void {
    this.all.add(logprobs);
    let s = 0;
    for (let i = 0; i < logprobs.length; i++) s -= logprobs[i]!;
    this.sums.push(s);
    this.counts.push(logprobs.length);
  }
  result(): NllTotals {
    const r = this.all.result();
    return { nll: r.nll, ppl: r.ppl, scored: r.scored, window_nll: [...this.sums], window_tokens: [...this.counts] };
  }
}
