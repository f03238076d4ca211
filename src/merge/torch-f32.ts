// torch's CPU reductions on float32, in torch's own order, so the scalars mergekit's methods
// derive from whole tensors (norms, dot products, L1 sums) come out bit for bit as torch computes
// them. The order is that of torch's AVX2 kernels (Vectorized<float> of 8 lanes, the
// capability torch uses on the x86-64 machines the goldens come from; an AVX-512 build or a
// sum split across threads — tensors above torch's 32768-element grain on several threads —
// orders differently, and agrees to an ulp or so). Checked against torch 1.13 on random vectors
// of 1…30000 elements and the shapes the merge goldens use (src/merge/torch-f32.test.ts).
//
// - sum over a contiguous run (SumKernel.cpp cascade_sum → vectorized_inner_sum): 8-lane vectors
//   taken 4 at a time (ILP) into a cascade of 4 levels that folds every 2^p steps, the leftover
//   vectors into the first, the four folded, then the scalar tail summed and the 8 lanes added
//   to it in order. Under 8 elements: the scalar row_sum (4 interleaved accumulators).
// - sum down a column of a row-major block (reducing dim 0 with the outputs contiguous:
//   vectorized_outer_sum): columns in whole groups of 32 add rows one after another; the
//   columns after them interleave the rows by 4 (row_sum over the reduced dim).
// - norm over a contiguous run (ReduceOpsKernel.cpp's last-dim path): each lane accumulates
//   x·x with a fused multiply-add (the kernels are built with FMA contraction), the lanes folded
//   left, then the tail: whole fours of squares rounded and added in order (the compiler
//   vectorised the products), the last 1–3 fused; then sqrt.
// - norm down a strided dim (binary_kernel_reduce with NormTwoOps): one fused accumulator in order.

import { fmaF32 } from "./numpy-f32.js";

const f = Math.fround;
/** float lanes in torch's AVX2 Vectorized<float> */
const LANES = 8;
/** torch's cascade: levels, and the fewest steps a level takes (2^4) */
const LEVELS = 4;
const ILP = 4;

/** element i of a run */
type At = (i: number) => number;

/**
 * multi_row_sum: `rows` accumulators of `width` lanes, step i adding value(i, row, lane), the
 * steps folded into a cascade of LEVELS levels. Returns the rows' lanes (row-major).
 */
function cascade(steps: number, rows: number, width: number, value: (i: number, row: number, lane: number) => number): Float32Array {
  const power = Math.max(4, Math.floor(ceilLog2(steps) / LEVELS));
  const step = 2 ** power;
  const mask = step - 1;
  const size = rows * width;
  const acc = new Float32Array(LEVELS * size); // Float32Array stores round each sum to f32
  const add = (into: number, i: number): void => {
    for (let r = 0; r < rows; r++) for (let l = 0; l < width; l++) acc[into + r * width + l]! += value(i, r, l);
  };
  let i = 0;
  while (i + step <= steps) {
    for (let j = 0; j < step; j++, i++) add(0, i);
    for (let j = 1; j < LEVELS; j++) {
      for (let e = 0; e < size; e++) {
        acc[j * size + e]! += acc[(j - 1) * size + e]!;
        acc[(j - 1) * size + e] = 0;
      }
      if ((i & (mask * 2 ** (j * power))) !== 0) break;
    }
  }
  for (; i < steps; i++) add(0, i);
  for (let j = 1; j < LEVELS; j++) for (let e = 0; e < size; e++) acc[e]! += acc[j * size + e]!;
  return acc.subarray(0, size);
}

function ceilLog2(n: number): number {
  return n <= 1 ? 0 : Math.ceil(Math.log2(n));
}

/**
 * row_sum: the run seen as (−1, 4), each of the 4 columns summed by the cascade (`width` lanes
 * per element of the run: 1 for scalars, 8 for vectors), the leftover elements added to the
 * first, the four added in order. Returns `width` lanes.
 */
function rowSum(count: number, width: number, value: (i: number, lane: number) => number): Float32Array {
  const steps = Math.floor(count / ILP);
  const parts = cascade(steps, ILP, width, (i, r, l) => value(i * ILP + r, l));
  const first = parts.subarray(0, width);
  for (let i = steps * ILP; i < count; i++) for (let l = 0; l < width; l++) first[l]! += value(i, l);
  for (let r = 1; r < ILP; r++) for (let l = 0; l < width; l++) first[l]! += parts[r * width + l]!;
  return first;
}

/**
 * torch.sum over x[start…start+n) (x.sum() of a contiguous tensor, or x.sum(-1) of one row);
 * with `abs`, of their magnitudes (x.abs().sum()).
 */
export function torchSum(x: Float32Array, start = 0, n = x.length - start, abs = false): number {
  const at = (i: number): number => (abs ? Math.abs(x[start + i]!) : x[start + i]!);
  if (n < LANES) return f(0 + rowSum(n, 1, (i) => at(i))[0]!);
  // row_sum over the 8-lane vectors: step i of the cascade adds the 4 vectors 4i…4i+3, that is
  // the 32 values from 32i on, lane by lane
  const vectors = Math.floor(n / LANES);
  const steps = Math.floor(vectors / ILP);
  const width = ILP * LANES;
  const power = Math.max(4, Math.floor(ceilLog2(steps) / LEVELS));
  const stepCount = 2 ** power;
  const acc = new Float32Array(LEVELS * width);
  let i = 0;
  const addStep = (): void => {
    const from = start + i * width;
    if (abs) for (let e = 0; e < width; e++) acc[e]! += Math.abs(x[from + e]!);
    else for (let e = 0; e < width; e++) acc[e]! += x[from + e]!;
    i++;
  };
  while (i + stepCount <= steps) {
    for (let j = 0; j < stepCount; j++) addStep();
    for (let j = 1; j < LEVELS; j++) {
      for (let e = 0; e < width; e++) {
        acc[j * width + e]! += acc[(j - 1) * width + e]!;
        acc[(j - 1) * width + e] = 0;
      }
      if ((i & ((stepCount - 1) * 2 ** (j * power))) !== 0) break;
    }
  }
  while (i < steps) addStep();
  for (let j = 1; j < LEVELS; j++) for (let e = 0; e < width; e++) acc[e]! += acc[j * width + e]!;
  // the vectors left over from the steps into the first of the four, then the four in order
  for (let v = steps * ILP; v < vectors; v++) for (let l = 0; l < LANES; l++) acc[l]! += at(v * LANES + l);
  for (let k = 1; k < ILP; k++) for (let l = 0; l < LANES; l++) acc[l]! += acc[k * LANES + l]!;
  let total = 0;
  for (let t = vectors * LANES; t < n; t++) total = f(total + at(t));
  for (let l = 0; l < LANES; l++) total = f(total + acc[l]!);
  return f(0 + total); // the output, filled with 0, accumulates the total
}

/**
 * Column sums of a rows × cols row-major block, x(r, c) its element (t.sum(0) with t
 * contiguous): whole groups of 32 columns (4 under 8 columns) add the rows in order through the
 * cascade; later columns take the rows 4 at a time (row_sum over the reduced dim).
 */
export function torchColumnSums(rows: number, cols: number, x: (r: number, c: number) => number): Float32Array {
  const out = new Float32Array(cols);
  if (rows <= ILP) {
    // every path adds at most 4 rows in order (from 0: −0 sums to +0)
    for (let c = 0; c < cols; c++) {
      let total = 0;
      for (let r = 0; r < rows; r++) total = f(total + x(r, c));
      out[c] = total;
    }
    return out;
  }
  if (cols < LANES) {
    // no vector fits across the outputs (scalar_outer_sum): columns 4 at a time through the
    // cascade, the rest each a row_sum
    let c = 0;
    for (; c + ILP <= cols; c += ILP) {
      const c0 = c;
      const sums = cascade(rows, ILP, 1, (r, k) => x(r, c0 + k));
      for (let k = 0; k < ILP; k++) out[c0 + k] = f(0 + sums[k]!);
    }
    for (; c < cols; c++) {
      const c0 = c;
      out[c0] = f(0 + rowSum(rows, 1, (r) => x(r, c0))[0]!);
    }
    return out;
  }
  const grouped = Math.floor(cols / (ILP * LANES)) * ILP * LANES;
  for (let c0 = 0; c0 < grouped; c0 += ILP * LANES) {
    const sums = cascade(rows, ILP, LANES, (r, v, l) => x(r, c0 + v * LANES + l));
    for (let e = 0; e < ILP * LANES; e++) out[c0 + e] = f(0 + sums[e]!);
  }
  let c = grouped;
  for (; c + LANES <= cols; c += LANES) {
    const c0 = c;
    const sums = rowSum(rows, LANES, (r, l) => x(r, c0 + l));
    for (let l = 0; l < LANES; l++) out[c0 + l] = f(0 + sums[l]!);
  }
  for (; c < cols; c++) {
    const c0 = c;
    out[c0] = f(0 + rowSum(rows, 1, (r) => x(r, c0))[0]!);
  }
  return out;
}

/** torch.norm (2-norm) over x[start…start+n): the last-dim kernel (a 1-D or flattened tensor, or one row). */
export function torchNorm(x: Float32Array, start = 0, n = x.length - start): number {
  const lanes = new Float32Array(LANES);
  let d = 0;
  for (; d + LANES <= n; d += LANES) {
    for (let l = 0; l < LANES; l++) {
      const v = x[start + d + l]!;
      lanes[l] = fmaF32(v, v, lanes[l]!);
    }
  }
  let total = lanes[0]!;
  for (let l = 1; l < LANES; l++) total = f(total + lanes[l]!);
  // the tail loop as GCC vectorised it: 4 squares at a time rounded, then added in order; the
  // last 1–3 fused
  for (const fours = d + Math.floor((n - d) / 4) * 4; d < fours; d++) total = f(total + f(x[start + d]! * x[start + d]!));
  for (; d < n; d++) total = fmaF32(x[start + d]!, x[start + d]!, total);
  return f(Math.sqrt(total));
}

/** torch.norm down a strided dim (the general reduction): one fused accumulator in order. */
export function torchStridedNorm(n: number, x: At): number {
  let total = 0;
  for (let i = 0; i < n; i++) total = fmaF32(x(i), x(i), total);
  return f(Math.sqrt(total));
}
