// `analyze`: a model's layer map on a calibration text (all-pairs angular distances of the hidden
// states at every layer boundary, last token and mean over tokens; Block Influence; perplexity),
// and for a layout run virtually, its seam report: at every stack position, how far the state the
// stack feeds a layer is from the state that layer received in its base model. Window by window,
// one layer at a time: memory is one layer's weights plus the boundaries of one window.

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { checkpointHeader } from "../checkpoint/open-checkpoint.js";
import { checkpointWeights, planWeights } from "../engine/checkpoint-weights.js";
import { forward, type EngineWeights } from "../engine/index.js";
import { scoreTokensOnEngine } from "../eval/backend-engine.js";
import { makePlan } from "../plan/plan.js";
import { readVocabularies } from "../merge/vocabulary.js";
import type { LayoutMetrics, Plan } from "../plan/types.js";
import { describeLayout, recipeLayers, type Recipe } from "../recipe/index.js";
import { DistanceMap, pairStats, toState, type State } from "./angular.js";
import { openTextTokenizer, tokenizeText, type CalibrationTokenizer } from "./text-tokenizer.js";
import { checkEngineTypes, NllSum, textWindows, type TextRun, type WindowOptions } from "./windows.js";

export interface AnalyzeInput {
  /** the opened models: the one analysed, or a layout's sources (matched to it by ref) */
  checkpoints: readonly Checkpoint[];
  /** a layout to run virtually (preset, --layers or mergekit YAML) */
  recipe?: Recipe;
  text: string;
  /** names in results and chart titles (default: the checkpoint ref / the layout; "text") */
  model?: string;
  textLabel?: string;
  /** default: the base checkpoint's own (tokenizer.json or tokenizer.model, or llama.cpp's GGUF vocabulary) */
  tokenizer?: CalibrationTokenizer;
  /** a merge recipe's random seed (default 0) */
  seed?: number;
}

export interface AnalyzeOptions extends WindowOptions {
  /** BOS before the text (default off, as `dusk ppl`) */
  bos?: boolean;
  signal?: AbortSignal;
  /** windows done of the total (model passes × windows) */
  onProgress?: (e: AnalyzeProgress) => void;
}

export type AnalyzeProgress = { type: "progress"; done: number; total: number };

/** One model's map, as analysis.json holds it. */
export interface LayerMap extends TextRun {
  layers: number;
  /** layers + 1: the embeddings, the input of each layer after the first, the last output (before the final norm) */
  boundaries: number;
  angular_distance_last: number[][];
  angular_distance_mean: number[][];
  block_influence: number[];
  /** the engine's perplexity over the windows: `dusk ppl --backend engine` with the same ctx/stride */
  ppl: number;
  nll: number;
}

export interface StackPosition {
  at: number;
  /** the source model (ref) and its layer */
  model: string;
  layer: number;
  /** the source layer is not the previous one + 1 (position 0: not layer 0), or the model changes */
  seam: boolean;
  /** angular distance between this layer's input in the stack and in its base model */
  distance_mean: number;
  distance_last: number;
}

export interface LayoutReport {
  layout: string;
  depth: number;
  /** static jumps, as `dusk plan` reports them */
  static: LayoutMetrics;
  positions: StackPosition[];
  seams: number;
  /** mean and largest distance_mean over the seams (0 without seams) */
  seam_distance_mean: number;
  seam_distance_max: number;
  ppl: number;
  nll: number;
  base_model: string;
  base_ppl: number;
  base_nll: number;
}

/** The analysed model's map; with a layout, that is the virtual stack's, with the base's beside it. */
export interface Analysis extends LayerMap {
  layout?: LayoutReport;
  base?: LayerMap;
}

export async function analyze(input: AnalyzeInput, opts: AnalyzeOptions = {}): Promise<Analysis> {
  const vocabularies = input.recipe && (input.recipe.tokenizerSource !== undefined || input.recipe.tokenizer !== undefined) ? await readVocabularies(input.checkpoints) : undefined;
  const plan = input.recipe ? makePlan(input.recipe, input.checkpoints.map(checkpointHeader), vocabularies ? { vocabularies } : {}) : undefined;
  const sources = plan ? plan.sources.map((s) => input.checkpoints.find((c) => c.ref === s.ref)!) : [input.checkpoints[0]!];
  const base = sources[plan?.configSource ?? 0]!;
  for (const c of sources) checkEngineTypes(c);
  const tokenizer = input.tokenizer ?? (await openTextTokenizer(base));
  try {
    const textLabel = input.textLabel ?? "text";
    const tokens = tokenizeText(tokenizer, input.text, textLabel, opts.bos ?? false);
    const baseWeights = sources.map((c) => checkpointWeights(c));
    const stackWeights = plan ? planWeights(plan, sources, { seed: input.seed ?? 0 }) : undefined;
    const maxPositions = Math.min(...[...baseWeights, ...(stackWeights ? [stackWeights] : [])].map((w) => w.config.maxPositions));
    const { windows, ctx, stride } = textWindows(tokens.length, maxPositions, opts);
    const D = baseWeights[0]!.config.hiddenSize;
    const baseMap = new DistanceMap(baseWeights[plan?.configSource ?? 0]!.config.numLayers + 1, D);
    const stackMap = stackWeights ? new DistanceMap(stackWeights.config.numLayers + 1, D) : undefined;
    const baseNll = new NllSum();
    const stackNll = new NllSum();
    const S = plan?.layers.length ?? 0;
    const seamSum = new Float64Array(S);
    const seamLast = new Float64Array(S);
    // The sources other than the base only matter at the stack positions that use them.
    const others = plan ? [...new Set(plan.layers.map((l) => l.source))].filter((s) => s !== plan.configSource) : [];
    const passes = 1 + others.length + (plan ? 1 : 0);
    let done = 0;
    opts.onProgress?.({ type: "progress", done, total: passes * windows.length });
    const step = () => opts.onProgress?.({ type: "progress", done: ++done, total: passes * windows.length });
    for (const w of windows) {
      const win = tokens.slice(w.start, w.end);
      const T = win.length;
      baseMap.begin(T, w.countFrom);
      const fwd = { ...(opts.signal ? { signal: opts.signal } : {}) };
      baseNll.add((await scoreTokensOnEngine(baseWeights[plan?.configSource ?? 0]!, win, w.from, { ...fwd, onBoundary: (b, x) => baseMap.add(b, x) })).logprobs);
      step();
      if (plan && stackMap && stackWeights) {
        const otherStates = new Map<number, State[]>();
        for (const s of others) {
          const states: State[] = [];
          await forward(baseWeights[s]!, win, { ...fwd, logitsFor: "none", onBoundary: (b, x) => void (states[b] = toState(x, T, D)) });
          otherStates.set(s, states);
          step();
        }
        stackMap.begin(T, w.countFrom);
        const onBoundary = (b: number, x: Float32Array) => {
          stackMap.add(b, x);
          if (b >= S) return;
          const l = plan.layers[b]!;
          const expected = l.source === plan.configSource ? baseMap.state(l.layer)! : otherStates.get(l.source)![l.layer]!;
          const p = pairStats(expected, stackMap.state(b)!, T, D, w.countFrom);
          seamSum[b]! += p.sumD;
          seamLast[b]! += p.last;
        };
        stackNll.add((await scoreTokensOnEngine(stackWeights, win, w.from, { ...fwd, onBoundary })).logprobs);
        stackMap.end();
        step();
      }
      baseMap.end();
    }
    const counted = tokens.length;
    const common = { text: textLabel, tokenizer: tokenizer.kind, bos: opts.bos ?? false, tokens: tokens.length, windows: windows.length, ctx, stride };
    const baseResult = mapResult(baseMap, baseNll, { ...common, model: input.model && !plan ? input.model : base.ref });
    if (!plan || !stackMap) return baseResult;
    const layout = describeLayout(recipeLayers(input.recipe!));
    const stackResult = mapResult(stackMap, stackNll, { ...common, model: input.model ?? layout });
    const report = layoutReport(plan, sources, seamSum, seamLast, counted, windows.length);
    return {
      ...stackResult,
      layout: { layout, ...report, ppl: stackResult.ppl, nll: stackResult.nll, base_model: base.ref, base_ppl: baseResult.ppl, base_nll: baseResult.nll },
      base: baseResult,
    };
  } finally {
    if (!input.tokenizer) await tokenizer.close();
  }
}

function mapResult(map: DistanceMap, nll: NllSum, common: TextRun): LayerMap {
  const r = map.result();
  const p = nll.result();
  return {
    ...common,
    layers: map.boundaries - 1,
    boundaries: map.boundaries,
    angular_distance_last: r.last,
    angular_distance_mean: r.mean,
    block_influence: r.blockInfluence,
    ppl: p.ppl,
    nll: p.nll,
  };
}

/** Seams are where the source layer is not the previous + 1 (or the model changes); position 0 is one unless it is layer 0. */
function layoutReport(plan: Plan, sources: readonly Checkpoint[], seamSum: Float64Array, seamLast: Float64Array, tokens: number, windows: number) {
  const positions: StackPosition[] = plan.layers.map((l, at) => {
    const prev = at === 0 ? undefined : plan.layers[at - 1]!;
    const seam = prev === undefined ? l.layer !== 0 : l.layer !== prev.layer + 1 || sources[l.source]!.ref !== sources[prev.source]!.ref;
    return { at, model: sources[l.source]!.ref, layer: l.layer, seam, distance_mean: seamSum[at]! / tokens, distance_last: seamLast[at]! / windows };
  });
  const seamDistances = positions.filter((p) => p.seam).map((p) => p.distance_mean);
  return {
    depth: plan.layers.length,
    static: plan.metrics,
    positions,
    seams: seamDistances.length,
    seam_distance_mean: seamDistances.length === 0 ? 0 : seamDistances.reduce((a, b) => a + b, 0) / seamDistances.length,
    seam_distance_max: Math.max(0, ...seamDistances),
  };
}
