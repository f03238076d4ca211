// `search`: ranks layout candidates of one depth (candidates.ts) by the perplexity of each stack run
// virtually on the calibration text, under a time budget, most promising first. The base pass gives
// the map that guides the candidates and, kept per window, lets every candidate resume after its
// leading base layers instead of recomputing them; each perplexity is still `dusk ppl`'s number.

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { checkpointHeader } from "../checkpoint/open-checkpoint.js";
import { checkpointWeights, planWeights } from "../engine/checkpoint-weights.js";
import { scoreTokensOnEngine } from "../eval/backend-engine.js";
import { ANALYZE_LIMITS } from "../limits.js";
import { makePlan } from "../plan/plan.js";
import { layersRecipe, type Recipe } from "../recipe/index.js";
import { DistanceMap } from "./angular.js";
import { layoutCandidates, type Candidate } from "./candidates.js";
import { openTextTokenizer, tokenizeText, type CalibrationTokenizer } from "./text-tokenizer.js";
import { checkEngineTypes, NllSum, textWindows, type TextRun, type WindowOptions } from "./windows.js";

export interface SearchInput {
  checkpoint: Checkpoint;
  text: string;
  model?: string;
  textLabel?: string;
  tokenizer?: CalibrationTokenizer;
}

export interface SearchOptions extends WindowOptions {
  depth: number;
  /** stop starting candidates once this much time (ms, the base pass included) is spent; at least one is ranked */
  budgetMs?: number;
  bos?: boolean;
  /** resume candidates from the base pass's states (default true; false only to measure what it saves) */
  resume?: boolean;
  signal?: AbortSignal;
  onProgress?: (e: SearchEvent) => void;
}

export interface RankedCandidate extends Candidate {
  ppl: number;
  nll: number;
  seconds: number;
}

export type SearchEvent =
  | { type: "base"; done: number; total: number }
  | { type: "candidate"; done: number; total: number; result: RankedCandidate; best: RankedCandidate }
  | { type: "budget"; ranked: number; total: number };

export interface SearchResult extends TextRun {
  base_layers: number;
  depth: number;
  base: { ppl: number; nll: number };
  /** best (lowest perplexity) first */
  ranking: RankedCandidate[];
  /** candidates the budget left unranked, in the order they would have run */
  not_ranked: Candidate[];
  budget_ms: number | null;
  seconds: number;
  /** candidates resumed from the base pass's states after their leading base layers */
  resumed: boolean;
}

/** The recipe of a candidate over `model` (n layers): what `--emit mergekit` writes. */
export function candidateRecipe(c: Candidate, model: string, n: number): Recipe {
  return layersRecipe({ model, layers: n, spec: c.spec });
}

export async function searchLayouts(input: SearchInput, opts: SearchOptions): Promise<SearchResult> {
  const t0 = performance.now();
  const c = input.checkpoint;
  checkEngineTypes(c);
  const n = c.numLayers;
  layoutCandidates(n, opts.depth); // refuses an unreachable depth before any work
  const tokenizer = input.tokenizer ?? (await openTextTokenizer(c));
  try {
    const textLabel = input.textLabel ?? "text";
    const tokens = tokenizeText(tokenizer, input.text, textLabel, opts.bos ?? false);
    const base = checkpointWeights(c);
    const D = base.config.hiddenSize;
    const { windows, ctx, stride } = textWindows(tokens.length, base.config.maxPositions, opts);
    const cacheBytes = (n + 1) * D * 4 * windows.reduce((s, w) => s + w.end - w.start, 0);
    const resumed = (opts.resume ?? true) && cacheBytes <= ANALYZE_LIMITS.resumeCacheBytes;
    const cache: Float32Array[][] = [];
    const map = new DistanceMap(n + 1, D);
    const baseNll = new NllSum();
    const fwd = opts.signal ? { signal: opts.signal } : {};
    for (const [i, w] of windows.entries()) {
      opts.onProgress?.({ type: "base", done: i, total: windows.length });
      const states: Float32Array[] = [];
      map.begin(w.end - w.start, w.countFrom);
      const onBoundary = (b: number, x: Float32Array) => {
        map.add(b, x);
        if (resumed) states[b] = x;
      };
      baseNll.add((await scoreTokensOnEngine(base, tokens.slice(w.start, w.end), w.from, { ...fwd, onBoundary })).logprobs);
      map.end();
      cache.push(states);
    }
    opts.onProgress?.({ type: "base", done: windows.length, total: windows.length });
    const m = map.result();
    const candidates = layoutCandidates(n, opts.depth, { distance: m.mean, blockInfluence: m.blockInfluence });
    const header = checkpointHeader(c);
    const ranking: RankedCandidate[] = [];
    const notRanked: Candidate[] = [];
    let best: RankedCandidate | undefined;
    for (const [i, cand] of candidates.entries()) {
      const spent = performance.now() - t0;
      const typical = ranking.length === 0 ? 0 : ranking.reduce((s, r) => s + r.seconds, 0) / ranking.length * 1000;
      if (opts.budgetMs !== undefined && ranking.length > 0 && spent + typical > opts.budgetMs) {
        notRanked.push(...candidates.slice(i));
        opts.onProgress?.({ type: "budget", ranked: ranking.length, total: candidates.length });
        break;
      }
      const started = performance.now();
      const plan = makePlan(candidateRecipe(cand, c.ref, n), [header]);
      const weights = planWeights(plan, [c]);
      let prefix = 0; // leading positions that are the base's own layers 0, 1, …: their output is cached
      while (resumed && prefix < cand.layers.length && cand.layers[prefix] === prefix) prefix++;
      const nll = new NllSum();
      for (const [wi, w] of windows.entries()) {
        const resume = prefix > 0 ? { resume: { boundary: prefix, hidden: cache[wi]![prefix]! } } : {};
        nll.add((await scoreTokensOnEngine(weights, tokens.slice(w.start, w.end), w.from, { ...fwd, ...resume })).logprobs);
      }
      const r = nll.result();
      const ranked: RankedCandidate = { ...cand, ppl: r.ppl, nll: r.nll, seconds: (performance.now() - started) / 1000 };
      ranking.push(ranked);
      if (!best || ranked.ppl < best.ppl) best = ranked;
      opts.onProgress?.({ type: "candidate", done: i + 1, total: candidates.length, result: ranked, best });
    }
    ranking.sort((x, y) => x.ppl - y.ppl || x.predicted - y.predicted);
    const b = baseNll.result();
    return {
      model: input.model ?? c.ref, text: textLabel, tokenizer: tokenizer.kind, bos: opts.bos ?? false,
      tokens: tokens.length, windows: windows.length, ctx, stride, base_layers: n, depth: opts.depth,
      base: { ppl: b.ppl, nll: b.nll }, ranking, not_ranked: notRanked,
      budget_ms: opts.budgetMs ?? null, seconds: (performance.now() - t0) / 1000, resumed,
    };
  } finally {
    if (!input.tokenizer) await tokenizer.close();
  }
}
