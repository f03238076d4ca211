// Random valid two-copy layouts, and the candidate pool `dusk search --predict` ranks. A two-copy
// layout keeps A = [0, a) of one copy and B = [b, n) of the other (a + n − b = depth) and interleaves
// them in runs, each copy's layers in order: one run each is DUS / pruning / end-duplication, equal
// runs are iDUS, anything between is what a search has not tried. Pure: numbers and a seed in.

import { mulberry32 } from "../engine/index.js";
import { layerSpec, layoutCandidates, seamCost, type Candidate, type CandidateOptions } from "./candidates.js";

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

/**
 * One random two-copy layout of `depth` layers from n: a uniform in its reachable range, then runs
 * alternating A, B, A, … (A first, so the stack starts at layer 0), run lengths uniform in
 * [1, 2g − 1] for a mean run g drawn per layout (from 1 to the longer copy), so layouts with one
 * seam and layouts with dozens are both common.
 */
export function randomTwoCopy(n: number, depth: number, rand: () => number): number[] {
  const lo = Math.max(1, depth - n);
  const hi = Math.min(n, depth - 1);
  const a = hi < lo ? Math.min(n, depth) : lo + Math.floor(rand() * (hi - lo + 1));
  const b = a + n - depth;
  const A = range(0, a), B = range(b, n);
  const g = 1 + Math.floor(rand() * Math.max(A.length, B.length, 1));
  const out: number[] = [];
  let i = 0, j = 0;
  for (let turn = 0; i < A.length || j < B.length; turn++) {
    const len = 1 + Math.floor(rand() * (2 * g - 1));
    if (turn % 2 === 0) for (let k = 0; k < len && i < A.length; k++) out.push(A[i++]!);
    else for (let k = 0; k < len && j < B.length; k++) out.push(B[j++]!);
  }
  return out;
}

export interface PoolOptions extends CandidateOptions {
  /** at least this many candidates when the depth allows (default 1,000) */
  count?: number;
  /** random layouts' seed (default 0) */
  seed?: number;
}

/**
 * The search's own candidates (two-copy splits, every iDUS-g, map-guided, ShortGPT) plus random
 * two-copy layouts up to `count`, deduplicated by layer list, in no particular order.
 */
export function candidatePool(n: number, depth: number, o: PoolOptions = {}): Candidate[] {
  const count = o.count ?? 1000;
  const out = new Map<string, Candidate>();
  for (const c of layoutCandidates(n, depth, o)) out.set(c.spec, c);
  const rand = mulberry32((o.seed ?? 0) >>> 0);
  // a shallow depth has fewer distinct layouts than `count`: stop after many misses in a row
  for (let misses = 0; out.size < count && misses < 2000; ) {
    const layers = randomTwoCopy(n, depth, rand);
    const spec = layerSpec(layers);
    if (out.has(spec)) {
      misses++;
      continue;
    }
    misses = 0;
    out.set(spec, { name: `random two-copy #${out.size}`, kind: "two-copy", layers, spec, preset: ["--preset", "layers", "--layers", spec], ...seamCost(layers, o.distance) });
  }
  return [...out.values()];
}
