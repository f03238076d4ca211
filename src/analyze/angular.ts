// Layer-distance math over hidden states: angular distance d = arccos(cos)/π (Gromov et al., "The
// Unreasonable Ineffectiveness of the Deeper Layers") and ShortGPT's Block Influence, accumulated
// window by window as the engine streams boundaries. Dot products and norms run in float64 on the
// engine's f32 states, so d near 0 (where arccos is ill-conditioned) stays exact. No model code.

import { AnalyzeError } from "../errors.js";
import { ANALYZE_LIMITS } from "../limits.js";

/** arccos(cos)/π ∈ [0, 1], with cos clamped to [−1, 1] (rounding can step past ±1). */
export function angularDistance(cos: number): number {
  return Math.acos(Math.min(1, Math.max(-1, cos))) / Math.PI;
}

/** Σ x² per row of x [T, D], in float64 → [T]. */
export function rowSquaredNorms(x: Float32Array, T: number, D: number): Float64Array {
  const out = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let i = t * D, end = i + D; i < end; i++) s += x[i]! * x[i]!;
    out[t] = s;
  }
  return out;
}

/** A hidden state with its row norms, as a window holds it. */
export interface State {
  x: Float32Array; // [T, D]
  sq: Float64Array; // [T] Σ x² per row
}

export const toState = (x: Float32Array, T: number, D: number): State => ({ x, sq: rowSquaredNorms(x, T, D) });

/** cos between row t of a and b; two zero rows are parallel (cos 1), one zero row is orthogonal. */
export function rowCos(a: State, b: State, t: number, D: number): number {
  const na = a.sq[t]!;
  const nb = b.sq[t]!;
  if (na === 0 || nb === 0) return na === nb ? 1 : 0;
  let dot = 0;
  for (let i = t * D, end = i + D; i < end; i++) dot += a.x[i]! * b.x[i]!;
  // sqrt(na·nb), not sqrt(na)·sqrt(nb): sqrt(x·x) = x exactly in binary floating point, so
  // identical rows give exactly cos 1 (d = 0).
  return dot / Math.sqrt(na * nb);
}

/** Over rows [from, T) of a window: Σ d and Σ cos; and d at the window's last row (T − 1). */
export function pairStats(a: State, b: State, T: number, D: number, from: number): { sumD: number; sumCos: number; last: number } {
  let sumD = 0;
  let sumCos = 0;
  for (let t = from; t < T; t++) {
    const c = rowCos(a, b, t, D);
    sumD += angularDistance(c);
    sumCos += c;
  }
  return { sumD, sumCos, last: angularDistance(rowCos(a, b, T - 1, D)) };
}

/**
 * All-pairs angular distances between the B boundaries of one model and Block Influence per layer,
 * over windows of the text. Per window: `begin`, then `add` each boundary once (any order), then
 * `end`. Means run over the counted rows of every window ([from, T), so overlapping windows count
 * each text token once); the "last" matrix averages each window's last token.
 */
export class DistanceMap {
  private readonly sumMean: Float64Array; // [B, B] upper triangle used
  private readonly sumLast: Float64Array; // [B, B]
  private readonly sumCosNext: Float64Array; // [B − 1] Σ cos(h_l, h_{l+1})
  private tokens = 0;
  private windows = 0;
  private states: (State | undefined)[] = [];
  private T = 0;
  private from = 0;

  constructor(readonly boundaries: number, private readonly D: number) {
    if (!Number.isSafeInteger(boundaries) || boundaries < 2 || boundaries > ANALYZE_LIMITS.boundaries) {
      throw new AnalyzeError("ANALYZE_TOO_DEEP", `a map of ${boundaries} layer boundaries is past the limit of ${ANALYZE_LIMITS.boundaries}`, {
        hint: "analyse a stack of at most a few thousand layers",
      });
    }
    this.sumMean = new Float64Array(boundaries * boundaries);
    this.sumLast = new Float64Array(boundaries * boundaries);
    this.sumCosNext = new Float64Array(Math.max(0, boundaries - 1));
  }

  begin(T: number, from: number): void {
    const bytes = this.boundaries * T * this.D * 4;
    if (bytes > ANALYZE_LIMITS.windowStateBytes) {
      throw new AnalyzeError("ANALYZE_WINDOW_MEMORY", `a window of ${T} tokens holds ${this.boundaries} hidden states of ${this.D} floats (${(bytes / 2 ** 30).toFixed(1)} GiB), over the ${ANALYZE_LIMITS.windowStateBytes / 2 ** 30} GiB limit`, {
        hint: `use a smaller --ctx (at most ${Math.floor(ANALYZE_LIMITS.windowStateBytes / (this.boundaries * this.D * 4))} tokens here)`,
      });
    }
    this.states = new Array<State | undefined>(this.boundaries).fill(undefined);
    this.T = T;
    this.from = from;
  }

  /** The state kept for boundary b of the current window (for seam comparisons). */
  state(b: number): State | undefined {
    return this.states[b];
  }

  add(b: number, x: Float32Array): void {
    const s = toState(x, this.T, this.D);
    this.states[b] = s;
    for (let a = 0; a < this.boundaries; a++) {
      const other = this.states[a];
      if (a === b || other === undefined) continue;
      const [lo, hi] = a < b ? [a, b] : [b, a];
      const p = pairStats(other, s, this.T, this.D, this.from);
      this.sumMean[lo * this.boundaries + hi]! += p.sumD;
      this.sumLast[lo * this.boundaries + hi]! += p.last;
      if (hi === lo + 1) this.sumCosNext[lo]! += p.sumCos;
    }
  }

  end(): void {
    this.tokens += this.T - this.from;
    this.windows++;
    this.states = [];
  }

  /** Symmetric (B × B) matrices with a zero diagonal, and BI_l = 1 − mean_t cos(h_l, h_{l+1}). */
  result(): { last: number[][]; mean: number[][]; blockInfluence: number[] } {
    const B = this.boundaries;
    const matrix = (sum: Float64Array, n: number): number[][] =>
      Array.from({ length: B }, (_, i) => Array.from({ length: B }, (_, j) => (i === j || n === 0 ? 0 : sum[Math.min(i, j) * B + Math.max(i, j)]! / n)));
    return {
      last: matrix(this.sumLast, this.windows),
      mean: matrix(this.sumMean, this.tokens),
      blockInfluence: Array.from(this.sumCosNext, (s) => (this.tokens === 0 ? 0 : 1 - s / this.tokens)),
    };
  }
}
