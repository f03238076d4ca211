// `search`: ranks layout candidates of one depth (candidates.ts) by the perplexity of each stack run
// virtually on the calibration text, under a time budget, most promising first. The base pass gives
// the map that guides the candidates and, kept per window, lets every candidate resume after its
// leading base layers instead of recomputing them; each perplexity is still `dusk ppl`'s number.

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { layersRecipe, type Recipe } from "../recipe/index.js";
import { layoutCandidates, type Candidate } from "./candidates.js";
import { LayoutMeter } from "./measure-layouts.js";
import type { CalibrationTokenizer } from "./text-tokenizer.js";
import { checkEngineTypes, type TextRun, type WindowOptions } from "./windows.js";

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
  const meter = await LayoutMeter.open(input, {
    ...(opts.ctx === undefined ? {} : { ctx: opts.ctx }), ...(opts.stride === undefined ? {} : { stride: opts.stride }),
    bos: opts.bos ?? false, resume: opts.resume ?? true, ...(opts.signal ? { signal: opts.signal } : {}),
    onProgress: (e) => e.type === "base" && opts.onProgress?.(e),
  });
  const candidates = layoutCandidates(n, opts.depth, { distance: meter.base.distance, blockInfluence: meter.base.block_influence });
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
    const m = await meter.measure({ layers: cand.layers, recipe: candidateRecipe(cand, c.ref, n) });
    const ranked: RankedCandidate = { ...cand, ppl: m.ppl, nll: m.nll, seconds: m.seconds };
    ranking.push(ranked);
    if (!best || ranked.ppl < best.ppl) best = ranked;
    opts.onProgress?.({ type: "candidate", done: i + 1, total: candidates.length, result: ranked, best });
  }
  ranking.sort((x, y) => x.ppl - y.ppl || x.predicted - y.predicted);
  return {
    ...meter.run, base_layers: n, depth: opts.depth,
    base: { ppl: meter.base.ppl, nll: meter.base.nll }, ranking, not_ranked: notRanked,
    budget_ms: opts.budgetMs ?? null, seconds: (performance.now() - t0) / 1000, resumed: meter.resumed,
  };
}
