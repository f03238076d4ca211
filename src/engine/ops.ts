// Per-op forward functions over explicit row-major f32 buffers, one token per row ([T, features]).
// Each returns what its backward will need (e.g. RMSNorm's 1/rms) so a backward twin can sit
// beside it (llm.c style). Elementwise ops are plain JS: O(T·features), not the bottleneck; the
// matmuls go to the MatmulKernel. Not for attention (attention.ts) or RoPE (rope.ts).

import { f16BitsToF32Bits, f32BitsToF16Bits } from "../formats/dtype-convert.js";
import type { MatmulKernel } from "./matmul-kernel.js";
import type { EngineConfig } from "./types.js";

/** [rows, cols] → [cols, rows]. */
export function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const y = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) y[c * rows + r] = x[o + c]!;
  }
  return y;
}

/** y[T,out] = x[T,in] · Wᵀ + b, W in HF layout [out,in]. Computed as yᵀ = W·xᵀ because the
 * kernel's transposed-B path is ~10× slower (matmul-kernel.ts); only activations get transposed.
 * (Backward fits the same kernel: dx = dy·W, dW = dyᵀ·x.) */
export function linearForward(
  kernel: MatmulKernel,
  x: Float32Array,
  w: Float32Array,
  tokens: number,
  inFeatures: number,
  outFeatures: number,
  bias?: Float32Array,
): Float32Array {
  return linearForwardTransposedInput(kernel, transpose(x, tokens, inFeatures), w, tokens, inFeatures, outFeatures, bias);
}

/** linearForward with xᵀ [in, T] given, so projections of one input (q/k/v, gate/up) share it. */
export function linearForwardTransposedInput(
  kernel: MatmulKernel,
  xT: Float32Array,
  w: Float32Array,
  tokens: number,
  inFeatures: number,
  outFeatures: number,
  bias?: Float32Array,
): Float32Array {
  const yT = kernel.matmul(w, xT, outFeatures, inFeatures, tokens); // [out, T]
  const y = transpose(yT, outFeatures, tokens);
  if (bias) {
    for (let t = 0; t < tokens; t++) {
      const o = t * outFeatures;
      for (let j = 0; j < outFeatures; j++) y[o + j]! += bias[j]!;
    }
  }
  return y;
}

/** HF LlamaRMSNorm in f32: y = x · rsqrt(mean(x²) + eps) · w, or · (1 + w) with `offset` 1 (HF
 * Gemma's stored gains). Rows of `dim` (per-head q/k norms pass T·heads rows of headDim).
 * Returns y [T,D] and 1/rms [T]. */
export function rmsnormForward(
  x: Float32Array,
  weight: Float32Array,
  tokens: number,
  dim: number,
  eps: number,
  offset: 0 | 1 = 0,
): { y: Float32Array; invRms: Float32Array } {
  const w = normGain(weight, offset);
  const y = new Float32Array(tokens * dim);
  const invRms = new Float32Array(tokens);
  for (let t = 0; t < tokens; t++) {
    const o = t * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i]! * x[o + i]!;
    const r = Math.fround(1 / Math.sqrt(ss / dim + eps));
    invRms[t] = r;
    for (let i = 0; i < dim; i++) y[o + i] = w[i]! * Math.fround(x[o + i]! * r);
  }
  return { y, invRms };
}

/** The gain a norm multiplies by: the stored weight, or f32(1 + w) for offset 1 (as HF Gemma). */
export function normGain(weight: Float32Array, offset: 0 | 1 | undefined): Float32Array {
  if (!offset) return weight;
  const g = new Float32Array(weight.length);
  for (let i = 0; i < g.length; i++) g[i] = 1 + weight[i]!;
  return g;
}

/** √(2/π) and the cubic coefficient of gelu's tanh approximation (HF gelu_pytorch_tanh). */
export const GELU_C = Math.sqrt(2 / Math.PI);
export const GELU_A = 0.044715;

/** GeGLU with the tanh approximation: gelu(gate) · up, elementwise over [T, intermediate]; with
 * `f16Table`, gelu as llama.cpp's CPU kernel computes it (geluF16). */
export function gegluForward(gate: Float32Array, up: Float32Array, f16Table = false): Float32Array {
  const out = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    out[i] = (f16Table ? geluF16(g) : 0.5 * g * (1 + Math.tanh(GELU_C * (g + GELU_A * g * g * g)))) * up[i]!;
  }
  return out;
}

/** The gated MLP activation of `c`: silu (SwiGLU) or gelu_tanh (GeGLU). */
export function gatedActivation(c: Pick<EngineConfig, "activation" | "geluF16Table">, gate: Float32Array, up: Float32Array): Float32Array {
  return c.activation === "gelu_tanh" ? gegluForward(gate, up, c.geluF16Table === true) : swigluForward(gate, up);
}

let geluTable: Float32Array | undefined;
const bits = new Uint32Array(1);
const bitsF32 = new Float32Array(bits.buffer);
const f16ToF32 = (h: number): number => ((bits[0] = f16BitsToF32Bits(h)), bitsF32[0]!);
const f32ToF16 = (x: number): number => ((bitsF32[0] = x), f32BitsToF16Bits(bits[0]!));

/** ggml's CPU GELU (GGML_GELU_FP16): the input rounded to f16 indexes a table of f16(gelu(x)),
 * gelu computed in f32 as ggml_gelu_f32 does; x ≤ −10 gives 0 and x ≥ 10 gives x. On peaked
 * models it moves Gemma's log-probs by up to ~1e-3, so cross-checks can compute it the same way. */
export function geluF16(x: number): number {
  if (x <= -10) return 0;
  if (x >= 10) return x;
  if (!geluTable) {
    const f = Math.fround;
    const [c, a] = [f(0.7978845608028654), f(0.044715)];
    geluTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const v = f16ToF32(h);
      const g = f(f(0.5 * v) * f(1 + f(Math.tanh(f(f(c * v) * f(1 + f(f(a * v) * v)))))));
      geluTable[h] = f16ToF32(f32ToF16(g));
    }
  }
  return geluTable[f32ToF16(x)]!;
}

/** z ← cap·tanh(z/cap) in place (Gemma 2's logit softcapping). */
export function softcapInPlace(z: Float32Array, cap: number): void {
  for (let i = 0; i < z.length; i++) z[i] = cap * Math.tanh(z[i]! / cap);
}

/** SwiGLU activation: silu(gate) · up, elementwise over [T, intermediate]. */
export function swigluForward(gate: Float32Array, up: Float32Array): Float32Array {
  const out = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
  return out;
}

/** Residual: x += delta. */
export function addInPlace(x: Float32Array, delta: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i]! += delta[i]!;
}

/** Rows of the embedding table [vocab, D] for each token → [T, D], times `scale` when given
 * (Gemma's √D). Tokens must be checked first. */
export function embeddingForward(table: Float32Array, tokens: ArrayLike<number>, dim: number, scale?: number): Float32Array {
  const x = new Float32Array(tokens.length * dim);
  for (let t = 0; t < tokens.length; t++) {
    const id = tokens[t]!;
    x.set(table.subarray(id * dim, id * dim + dim), t * dim);
  }
  if (scale !== undefined) for (let i = 0; i < x.length; i++) x[i]! *= scale;
  return x;
}

/** Row-wise log-softmax of [rows, cols] (max-subtracted, log-sum-exp in f64). */
export function logSoftmax(logits: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const lse = logSumExp(logits.subarray(o, o + cols));
    for (let c = 0; c < cols; c++) out[o + c] = logits[o + c]! - lse;
  }
  return out;
}

/** log Σ exp(row), stable. */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}
