// `search --predict`: rank a large candidate pool (candidatePool: the search's own candidates plus
// random two-copy layouts) by the predicted penalty from one base pass, then measure only the best
// K on the engine (the best of each layer multiset first: measureFirst), resuming from that same pass's states. The cost of the whole search is one base
// pass + features (depth × S × D flops per candidate) + K virtual stacks, instead of one stack per
// candidate; `estimate` scales both ways to a 7B base by the FLOPs ratio.

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { checkpointWeights } from "../engine/checkpoint-weights.js";
import type { EngineConfig } from "../engine/index.js";
import { AnalyzeError } from "../errors.js";
import { layoutCandidates, type Candidate } from "./candidates.js";
import { baseProfile, layoutFeatures, StateSampler } from "./layout-features.js";
import { LayoutMeter } from "./measure-layouts.js";
import { predictorScore, predictPenalty, type PredictorModel } from "./predict.js";
import { DEFAULT_PREDICTOR } from "./predictor-weights.js";
import { candidatePool } from "./random-layouts.js";
import { candidateRecipe, type RankedCandidate, type SearchInput } from "./search.js";
import { checkEngineTypes, type TextRun, type WindowOptions } from "./windows.js";

export interface PredictSearchOptions extends WindowOptions {
  depth: number;
  /** candidates measured after ranking (default 5) */
  measure?: number;
  /** candidates in the pool (default 1,000) */
  count?: number;
  seed?: number;
  /** default: DEFAULT_PREDICTOR (fitted on the study's fit layouts) */
  predictor?: PredictorModel;
  bos?: boolean;
  signal?: AbortSignal;
  onProgress?: (e: PredictSearchEvent) => void;
}

export type PredictSearchEvent =
  | { type: "base"; done: number; total: number }
  | { type: "ranked"; candidates: number; seconds: number }
  | { type: "measured"; done: number; total: number; result: RankedCandidate };

export interface PredictedCandidate extends Candidate {
  /** predicted penalty, nats/token over the base */
  predicted_penalty: number;
  /** 1 = predicted best */
  predicted_rank: number;
}

export interface PredictSearchResult extends TextRun {
  base_layers: number;
  depth: number;
  base: { ppl: number; nll: number };
  candidates: number;
  /** seconds from the start until every candidate was ranked (base pass included) */
  rank_seconds: number;
  /** CPU seconds this process spent on the same (the fairer figure on a shared machine) */
  rank_cpu_seconds: number;
  /** the top of the predicted ranking (the measured ones first) */
  predicted: PredictedCandidate[];
  /** the measured candidates, best (lowest perplexity) first, with their predicted rank */
  measured: (RankedCandidate & { predicted_rank: number; predicted_penalty: number })[];
  seconds: number;
  estimate: CostEstimate;
}

/** A 7B base (Llama-2-7B / Mistral-7B shapes, 32 layers) — the estimate's target. */
export const SEVEN_B: Pick<EngineConfig, "numLayers" | "hiddenSize" | "intermediateSize" | "numHeads" | "numKvHeads" | "headDim" | "vocabSize"> = {
  numLayers: 32, hiddenSize: 4096, intermediateSize: 14336, numHeads: 32, numKvHeads: 8, headDim: 128, vocabSize: 32000,
};

export interface CostEstimate {
  /** this run: seconds per measured candidate (mean), and the base pass + ranking */
  per_candidate_seconds: number;
  rank_seconds: number;
  /** FLOPs per token of a stack of the same depth ratio, 7B over this base */
  flops_ratio: number;
  /** seconds on this machine, scaled: measuring every candidate vs ranking and measuring K */
  seven_b_measure_all_seconds: number;
  seven_b_predict_seconds: number;
  note: string;
}

/** Forward FLOPs per token of a stack of `depth` layers at context ctx (matmuls, attention scores, head). */
export function stackFlopsPerToken(c: Pick<EngineConfig, "hiddenSize" | "intermediateSize" | "numHeads" | "numKvHeads" | "headDim" | "vocabSize">, depth: number, ctx: number): number {
  const D = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
  const layer = 2 * (D * q + 2 * D * kv + q * D + 3 * D * c.intermediateSize) + 2 * ctx * q; // scores + values at mean context ctx/2
  return depth * layer + 2 * D * c.vocabSize;
}

/**
 * The K to measure: down the predicted ranking, one per layer multiset first (layouts with the same
 * layers in another order differ far less than the predictor can resolve, so K near-copies of one
 * multiset would spend the measurements on one question), then the next best predicted.
 */
export function measureFirst<T extends { layers: readonly number[] }>(ranked: readonly T[], K: number): T[] {
  const seen = new Set<string>();
  const first: T[] = [];
  const rest: T[] = [];
  for (const c of ranked) {
    const key = [...c.layers].sort((a, b) => a - b).join(",");
    if (!seen.has(key) && first.length < K) {
      seen.add(key);
      first.push(c);
    } else rest.push(c);
  }
  return [...first, ...rest].slice(0, K);
}

export async function predictSearch(input: SearchInput, opts: PredictSearchOptions): Promise<PredictSearchResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const c: Checkpoint = input.checkpoint;
  checkEngineTypes(c);
  const n = c.numLayers;
  layoutCandidates(n, opts.depth); // refuses an unreachable depth before any work
  const K = opts.measure ?? 5;
  if (!Number.isSafeInteger(K) || K < 1) throw new AnalyzeError("ANALYZE_PREDICT", `--predict must be a positive integer (candidates to measure), found ${K}`, { hint: "--predict 5 measures the 5 best predicted" });
  const sampler = new StateSampler();
  const meter = await LayoutMeter.open(input, {
    ...(opts.ctx === undefined ? {} : { ctx: opts.ctx }), ...(opts.stride === undefined ? {} : { stride: opts.stride }),
    bos: opts.bos ?? false, ...(opts.signal ? { signal: opts.signal } : {}), onBaseBoundary: sampler.onBaseBoundary,
    onProgress: (e) => e.type === "base" && opts.onProgress?.(e),
  });
  const weights = checkpointWeights(c);
  const profile = await baseProfile(weights, meter.base, sampler.result(meter.tokenIds));
  const pool = candidatePool(n, opts.depth, { distance: meter.base.distance, blockInfluence: meter.base.block_influence, count: opts.count ?? 1000, seed: opts.seed ?? 0 });
  const model = opts.predictor ?? DEFAULT_PREDICTOR;
  const cache = new Map<string, number>();
  const scored = pool.map((cand) => {
    const f = layoutFeatures(profile, cand, cache);
    return { cand, score: predictorScore(model, f), penalty: predictPenalty(model, f) };
  });
  scored.sort((x, y) => x.score - y.score || x.cand.seams - y.cand.seams);
  const rankSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rankCpuSeconds = (cpu.user + cpu.system) / 1e6;
  opts.onProgress?.({ type: "ranked", candidates: pool.length, seconds: rankSeconds });
  const predicted: PredictedCandidate[] = scored.map((s, i) => ({ ...s.cand, predicted_penalty: s.penalty, predicted_rank: i + 1 }));
  const measured: PredictSearchResult["measured"] = [];
  for (const p of measureFirst(predicted, K)) {
    const m = await meter.measure({ layers: p.layers, recipe: candidateRecipe(p, c.ref, n) });
    const r = { ...p, ppl: m.ppl, nll: m.nll, seconds: m.seconds };
    measured.push(r);
    opts.onProgress?.({ type: "measured", done: measured.length, total: Math.min(K, predicted.length), result: r });
  }
  measured.sort((x, y) => x.ppl - y.ppl || x.predicted_rank - y.predicted_rank);
  const perCandidate = measured.reduce((s, r) => s + r.seconds, 0) / Math.max(1, measured.length);
  const ctx = meter.run.ctx;
  const baseRatio = stackFlopsPerToken(SEVEN_B, SEVEN_B.numLayers, ctx) / stackFlopsPerToken(weights.config, n, ctx);
  const ratio = stackFlopsPerToken(SEVEN_B, Math.round((opts.depth / n) * SEVEN_B.numLayers), ctx) / stackFlopsPerToken(weights.config, opts.depth, ctx);
  return {
    ...meter.run, base_layers: n, depth: opts.depth, base: { ppl: meter.base.ppl, nll: meter.base.nll },
    candidates: pool.length, rank_seconds: rankSeconds, rank_cpu_seconds: rankCpuSeconds, predicted: predicted.slice(0, Math.max(K, 20)), measured,
    seconds: (performance.now() - t0) / 1000,
    estimate: {
      per_candidate_seconds: perCandidate, rank_seconds: rankSeconds, flops_ratio: ratio,
      seven_b_measure_all_seconds: perCandidate * ratio * pool.length,
      // the base pass scales with the base's FLOPs, the features with the width (depth × samples × D each)
      seven_b_predict_seconds: meter.base.seconds * baseRatio + (rankSeconds - meter.base.seconds) * (SEVEN_B.hiddenSize / weights.config.hiddenSize) + perCandidate * measured.length * ratio,
      note: "an estimate: this run's seconds scaled to a 7B base by FLOPs per token (stacks of the same depth ratio; the base pass by the bases' ratio; the features by the width ratio), same text and machine, the engine's speed per FLOP assumed equal",
    },
  };
}
