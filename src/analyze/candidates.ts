// Layout candidates of a target depth s from one base model of n layers, as plain layer lists:
// two-copy A[0,a) + B[b,n) (DUS and pruning among them), iDUS with every group size that fits,
// and layouts whose seams sit where the base's distance map is small (a small DP), plus ShortGPT's
// lowest-Block-Influence pruning below n. Pure: numbers in, candidates out.

import { AnalyzeError } from "../errors.js";
import { ANALYZE_LIMITS } from "../limits.js";

export type CandidateKind = "identity" | "dus" | "prune" | "two-copy" | "idus" | "guided" | "shortgpt";

export interface Candidate {
  name: string;
  kind: CandidateKind;
  /** base layer per stack position */
  layers: number[];
  /** the same list in `--layers` syntax (inclusive ranges): "0-23,8-31" */
  spec: string;
  /** `dusk ppl` / `dusk build` flags that make this layout */
  preset: string[];
  seams: number;
  /** Σ over seams of the base map's mean distance between the boundary the stack feeds and the one the layer expects */
  predicted: number;
}

/** "0-23,8-31": runs of consecutive layers as inclusive ranges. */
export function layerSpec(layers: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < layers.length; ) {
    let j = i;
    while (j + 1 < layers.length && layers[j + 1] === layers[j]! + 1) j++;
    runs.push(i === j ? String(layers[i]) : `${layers[i]}-${layers[j]}`);
    i = j + 1;
  }
  return runs.join(",");
}

/** Seam count and predicted cost of a list: the feed boundary is the previous layer + 1 (0 at the start). */
export function seamCost(layers: readonly number[], distance?: readonly (readonly number[])[]): { seams: number; predicted: number } {
  let seams = 0;
  let predicted = 0;
  layers.forEach((l, i) => {
    const fed = i === 0 ? 0 : layers[i - 1]! + 1;
    if (fed === l) return;
    seams++;
    predicted += distance?.[fed]?.[l] ?? 0;
  });
  return { seams, predicted };
}

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

export interface CandidateOptions {
  /** the base map's mean angular distances [(n+1) × (n+1)]: guides seam placement and ordering */
  distance?: readonly (readonly number[])[];
  /** the base map's Block Influence [n] (ShortGPT pruning below n) */
  blockInfluence?: readonly number[];
  /** guided layouts with 2 … maxSeams seams (default 4) */
  maxSeams?: number;
}

/**
 * Every candidate of depth s, deduplicated by layer list, most promising first: fewest predicted
 * seam distance (then fewer seams), so a budget that runs out cuts the least likely ones.
 */
export function layoutCandidates(n: number, depth: number, o: CandidateOptions = {}): Candidate[] {
  if (!Number.isSafeInteger(depth) || depth < 1 || depth > 2 * n) {
    throw new AnalyzeError("ANALYZE_DEPTH", `no candidate layout has depth ${depth}: from ${n} base layers, two copies reach 1 to ${2 * n}`, {
      hint: `give --depth between 1 and ${2 * n} (SOLAR's DUS of a 32-layer model is 48)`,
    });
  }
  const out = new Map<string, Candidate>();
  const add = (kind: CandidateKind, name: string, layers: number[], preset: string[]) => {
    const spec = layerSpec(layers);
    if (layers.length !== depth || out.has(spec)) return;
    out.set(spec, { name, kind, layers, spec, preset: preset.length ? preset : ["--preset", "layers", "--layers", spec], ...seamCost(layers, o.distance) });
  };
  // two copies: a + (n − b) = s; a + b = n is DUS with m = b; a ≤ b removes [a, b)
  for (let a = Math.max(0, depth - n); a <= Math.min(n, depth); a++) {
    const b = a + n - depth;
    const layers = [...range(0, a), ...range(b, n)];
    if (a === b) add("identity", "identity (the base)", layers, []);
    else if (a < b && a > 0 && b < n) add("prune", `prune ${a}:${b}`, layers, ["--preset", "prune", "--drop-range", `${a}:${b}`]);
    else if (a + b === n && b > 0) add("dus", `dus m=${b}`, layers, ["--preset", "dus", "--drop", String(b)]);
    else add("two-copy", `A[0,${a}) + B[${b},${n})`, layers, []);
  }
  // iDUS: A = [0, n−m), B = [m, n), groups of g (needs an even depth; g = n−m is DUS itself)
  if (depth % 2 === 0) {
    const half = depth / 2;
    const m = n - half;
    for (let g = 1; g < half; g++) {
      const layers: number[] = [];
      for (let k = 0; k < half; k += g) {
        const len = Math.min(g, half - k);
        layers.push(...range(k, k + len), ...range(m + k, m + k + len));
      }
      add("idus", `idus g=${g} m=${m}`, layers, ["--preset", "idus", "--group", String(g), "--drop", String(m)]);
    }
  }
  const maxSeams = o.maxSeams ?? 4;
  if (o.distance && maxSeams * depth * (n + 1) ** 2 <= ANALYZE_LIMITS.guidedSteps) {
    for (let k = 2; k <= maxSeams; k++) {
      const layers = guidedLayout(n, depth, k, o.distance);
      if (layers) add("guided", `guided ${k} seams`, layers, []);
    }
  }
  if (o.blockInfluence && depth < n) {
    const drop = new Set([...o.blockInfluence.keys()].sort((x, y) => o.blockInfluence![x]! - o.blockInfluence![y]! || x - y).slice(0, n - depth));
    add("shortgpt", `shortgpt (drop ${n - depth} lowest-BI layers)`, range(0, n).filter((l) => !drop.has(l)), []);
  }
  const list = [...out.values()].sort((x, y) => x.predicted - y.predicted || x.seams - y.seams);
  if (list.length > ANALYZE_LIMITS.searchCandidates) list.length = ANALYZE_LIMITS.searchCandidates;
  return list;
}

/**
 * The layout of `depth` layers with exactly k seams that starts at layer 0, ends at layer n−1 and
 * minimises Σ distance[fed][next] over its seams: segments [s_i, e_i) of consecutive layers, a seam
 * from boundary e_i to layer s_{i+1} ≠ e_i. DP over (segments, layers used, boundary), O(k·s·n²).
 */
export function guidedLayout(n: number, depth: number, k: number, distance: readonly (readonly number[])[]): number[] | undefined {
  const B = n + 1;
  const idx = (u: number, p: number) => u * B + p;
  // end[j][u·B + e]: best cost with j+1 segments, u layers, the last segment ending at boundary e
  const end: Float64Array[] = [];
  const fromJump: Int32Array[] = []; // the jump state u·B + s that led there
  const jumpFrom: Int32Array[] = []; // per jump state: the boundary e the jump left from
  const size = (depth + 1) * B;
  end.push(new Float64Array(size).fill(Infinity));
  fromJump.push(new Int32Array(size).fill(-1));
  for (let e = 1; e <= Math.min(n, depth); e++) end[0]![idx(e, e)] = 0;
  for (let j = 1; j <= k; j++) {
    const prev = end[j - 1]!;
    const jc = new Float64Array(size).fill(Infinity);
    const jf = new Int32Array(size).fill(-1);
    for (let u = 1; u < depth; u++) {
      for (let e = 1; e <= n; e++) {
        const c = prev[idx(u, e)]!;
        if (c === Infinity) continue;
        for (let s = 0; s < n; s++) {
          if (s === e) continue;
          const v = c + distance[e]![s]!;
          if (v < jc[idx(u, s)]!) [jc[idx(u, s)], jf[idx(u, s)]] = [v, e];
        }
      }
    }
    const cur = new Float64Array(size).fill(Infinity);
    const fj = new Int32Array(size).fill(-1);
    for (let u = 1; u < depth; u++) {
      for (let s = 0; s < n; s++) {
        const c = jc[idx(u, s)]!;
        if (c === Infinity) continue;
        for (let len = 1; s + len <= n && u + len <= depth; len++) {
          const at = idx(u + len, s + len);
          if (c < cur[at]!) [cur[at], fj[at]] = [c, idx(u, s)];
        }
      }
    }
    end.push(cur);
    fromJump.push(fj);
    jumpFrom.push(jf);
  }
  if (end[k]![idx(depth, n)] === Infinity) return undefined;
  // backtrack: segments from last to first
  const segments: [number, number][] = [];
  let u = depth;
  let e = n;
  for (let j = k; j >= 1; j--) {
    const js = fromJump[j]![idx(u, e)]!;
    const ju = Math.floor(js / B);
    const s = js % B;
    segments.push([s, e]);
    e = jumpFrom[j - 1]![js]!;
    u = ju;
  }
  segments.push([0, e]);
  return segments.reverse().flatMap(([s, t]) => range(s, t));
}
