// Element-wise kernels of the training path over token-major f32 buffers ([N, features], one row
// per token), written for V8: flat loops, no closures, results into caller-owned buffers. The
// matmuls go to the engine's MatmulKernel; these are everything between them.
// Not for the inference engine (src/engine/ops.ts keeps its own, simpler twins).

import { GELU_A, GELU_C } from "../engine/ops.js";

/** 2^(i−127) for i in [0, 255]: the exponent part of fastExp. */
const POW2 = new Float64Array(256).map((_, i) => Math.pow(2, i - 127));
const LOG2E = 1.4426950408889634;
const LN2 = 0.6931471805599453;
/** 1.5·2^52: adding and subtracting it rounds an f64 to the nearest integer without Math.round. */
const ROUND = 6755399441055744;

/** e^v for v ≤ 88, within 2e-7 relative of Math.exp (degree-6 Taylor on |f| ≤ ln2/2, times 2^n);
 * ~3.5× faster than Math.exp here. Values below −87 give 0 (f32 underflows there anyway). */
export function fastExp(v: number): number {
  if (v < -87) return 0;
  const n = v * LOG2E + ROUND - ROUND;
  const f = v - n * LN2;
  return (1 + f * (1 + f * (0.5 + f * (0.16666666666666666 + f * (0.041666666666666664 + f * (0.008333333333333333 + f * 0.001388888888888889)))))) * POW2[(n + 127) | 0]!;
}

/** tanh from fastExp (2e-7 relative), saturating cleanly for large |u|. */
export function fastTanh(u: number): number {
  const e = fastExp(-2 * Math.abs(u));
  const t = (1 - e) / (1 + e);
  return u < 0 ? -t : t;
}

/** The gain a norm multiplies by: `w` itself, or 1 + w into `buf` for Gemma's stored gains. */
export function gainInto(w: Float32Array, offset: 0 | 1 | undefined, buf: Float32Array): Float32Array {
  if (!offset) return w;
  for (let i = 0; i < w.length; i++) buf[i] = 1 + w[i]!;
  return buf;
}

/** dst [cols, rows] = src [rows, cols]ᵀ (dst is allocated when not given). */
export function transposeInto(src: Float32Array, rows: number, cols: number, dst: Float32Array = new Float32Array(rows * cols)): Float32Array {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[o + c]!;
  }
  return dst;
}

/** y [N, D] = w ⊙ x·r per row, r = (mean(x²)+eps)^-½ into invRms [N] (HF LlamaRMSNorm in f32). */
export function rmsnormRows(x: Float32Array, w: Float32Array, n: number, d: number, eps: number, y: Float32Array, invRms: Float32Array): void {
  for (let t = 0; t < n; t++) {
    const o = t * d;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[o + i]! * x[o + i]!;
    const r = Math.fround(1 / Math.sqrt(ss / d + eps));
    invRms[t] = r;
    for (let i = 0; i < d; i++) y[o + i] = w[i]! * Math.fround(x[o + i]! * r);
  }
}

/** dst [cols, rows] += src [rows, cols]ᵀ: a weight gradient computed as (x ᵀ·dy) into HF [out, in]. */
export function transposeAddInto(src: Float32Array, rows: number, cols: number, dst: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) dst[c * rows + r]! += src[o + c]!;
  }
}

/** y = w ⊙ x·r again from the saved r (the backward recomputes instead of keeping y on the tape). */
export function rmsnormRecompute(x: Float32Array, w: Float32Array, invRms: Float32Array, n: number, d: number, y: Float32Array): void {
  for (let t = 0; t < n; t++) {
    const o = t * d;
    const r = invRms[t]!;
    for (let i = 0; i < d; i++) y[o + i] = w[i]! * Math.fround(x[o + i]! * r);
  }
}

/** RMSNorm backward: dxOut += r·(w⊙dy) − r³·x·⟨w⊙dy, x⟩/D; dw += Σ_t dy⊙x·r when dw is given. */
export function rmsnormBackwardAdd(x: Float32Array, w: Float32Array, invRms: Float32Array, dy: Float32Array, n: number, d: number, dxOut: Float32Array, dw: Float32Array | undefined): void {
  for (let t = 0; t < n; t++) {
    const o = t * d;
    const r = invRms[t]!;
    let dot = 0;
    for (let i = 0; i < d; i++) dot += w[i]! * dy[o + i]! * x[o + i]!;
    const c = (r * r * r * dot) / d;
    for (let i = 0; i < d; i++) dxOut[o + i]! += r * w[i]! * dy[o + i]! - c * x[o + i]!;
    if (dw) for (let i = 0; i < d; i++) dw[i]! += dy[o + i]! * x[o + i]! * r;
  }
}

/** act [N, F] = silu(gate)·up from gu [N, 2F] (gate | up per row). */
export function swigluRows(gu: Float32Array, n: number, f: number, act: Float32Array): void {
  for (let t = 0; t < n; t++) {
    const g0 = t * 2 * f;
    const a0 = t * f;
    for (let i = 0; i < f; i++) {
      const g = gu[g0 + i]!;
      act[a0 + i] = (g / (1 + fastExp(-g))) * gu[g0 + f + i]!;
    }
  }
}

/** SwiGLU backward into dgu [N, 2F]: dgate = da·up·σ(g)(1 + g(1 − σ(g))), dup = da·silu(g); also
 * rebuilds act = silu(g)·up (for down_proj's weight gradient) when `act` is given. */
export function swigluBackwardRows(gu: Float32Array, dact: Float32Array, n: number, f: number, dgu: Float32Array, act: Float32Array | undefined): void {
  for (let t = 0; t < n; t++) {
    const g0 = t * 2 * f;
    const a0 = t * f;
    for (let i = 0; i < f; i++) {
      const g = gu[g0 + i]!;
      const u = gu[g0 + f + i]!;
      const s = 1 / (1 + fastExp(-g));
      const da = dact[a0 + i]!;
      dgu[g0 + i] = da * u * s * (1 + g * (1 - s));
      dgu[g0 + f + i] = da * g * s;
      if (act) act[a0 + i] = g * s * u;
    }
  }
}

/** act [N, F] = gelu_tanh(gate)·up from gu [N, 2F] (gate | up per row). */
export function gegluRows(gu: Float32Array, n: number, f: number, act: Float32Array): void {
  for (let t = 0; t < n; t++) {
    const g0 = t * 2 * f;
    const a0 = t * f;
    for (let i = 0; i < f; i++) {
      const g = gu[g0 + i]!;
      act[a0 + i] = 0.5 * g * (1 + fastTanh(GELU_C * (g + GELU_A * g * g * g))) * gu[g0 + f + i]!;
    }
  }
}

/** GeGLU backward into dgu [N, 2F]: dgate = da·up·(½(1 + t) + ½g(1 − t²)·c(1 + 3a·g²)),
 * dup = da·gelu(g); also rebuilds act when given (as swigluBackwardRows). */
export function gegluBackwardRows(gu: Float32Array, dact: Float32Array, n: number, f: number, dgu: Float32Array, act: Float32Array | undefined): void {
  for (let t = 0; t < n; t++) {
    const g0 = t * 2 * f;
    const a0 = t * f;
    for (let i = 0; i < f; i++) {
      const g = gu[g0 + i]!;
      const u = gu[g0 + f + i]!;
      const th = fastTanh(GELU_C * (g + GELU_A * g * g * g));
      const gelu = 0.5 * g * (1 + th);
      const da = dact[a0 + i]!;
      dgu[g0 + i] = da * u * (0.5 * (1 + th) + 0.5 * g * (1 - th * th) * GELU_C * (1 + 3 * GELU_A * g * g));
      dgu[g0 + f + i] = da * gelu;
      if (act) act[a0 + i] = gelu * u;
    }
  }
}

/**
 * Per-head RMSNorm (Qwen3/Gemma 3 q and k norms) in place on the `heads` blocks of d columns at
 * `col` of rows x [N, stride]; the input is kept in raw [N, heads·d] and 1/rms in invRms [N·heads].
 */
export function headNormRows(x: Float32Array, n: number, stride: number, col: number, heads: number, d: number, gain: Float32Array, eps: number, raw: Float32Array, invRms: Float32Array): void {
  for (let row = 0; row < n; row++) {
    for (let h = 0; h < heads; h++) {
      const o = row * stride + col + h * d;
      const ro = (row * heads + h) * d;
      let ss = 0;
      for (let i = 0; i < d; i++) {
        const v = x[o + i]!;
        raw[ro + i] = v;
        ss += v * v;
      }
      const r = Math.fround(1 / Math.sqrt(ss / d + eps));
      invRms[row * heads + h] = r;
      for (let i = 0; i < d; i++) x[o + i] = gain[i]! * Math.fround(raw[ro + i]! * r);
    }
  }
}

/** headNormRows' backward in place: dx's head blocks (gradients of the normed values) become the
 * gradients of the raw ones; dw += Σ dy ⊙ raw·r when given. */
export function headNormBackwardRows(dx: Float32Array, raw: Float32Array, n: number, stride: number, col: number, heads: number, d: number, gain: Float32Array, invRms: Float32Array, dw: Float32Array | undefined): void {
  for (let row = 0; row < n; row++) {
    for (let h = 0; h < heads; h++) {
      const o = row * stride + col + h * d;
      const ro = (row * heads + h) * d;
      const r = invRms[row * heads + h]!;
      let dot = 0;
      for (let i = 0; i < d; i++) dot += gain[i]! * dx[o + i]! * raw[ro + i]!;
      const c = (r * r * r * dot) / d;
      for (let i = 0; i < d; i++) {
        const dy = dx[o + i]!;
        if (dw) dw[i]! += dy * raw[ro + i]! * r;
        dx[o + i] = r * gain[i]! * dy - c * raw[ro + i]!;
      }
    }
  }
}

/**
 * RoPE on the q and k parts of fused rows qkv [N, stride] in place, position = row mod seqLen.
 * `sign` +1 rotates (forward), −1 rotates back (the backward of a rotation is its inverse).
 * cos/sin are [seqLen, half] (engine ropeTables); heads at column offset `col`, `heads` of them,
 * each `hd` wide; only its first 2·half elements rotate (partial rotary).
 */
export function ropeRows(x: Float32Array, n: number, stride: number, col: number, heads: number, seqLen: number, half: number, cos: Float32Array, sin: Float32Array, sign: 1 | -1, hd = 2 * half): void {
  for (let row = 0; row < n; row++) {
    const tab = (row % seqLen) * half;
    for (let h = 0; h < heads; h++) {
      const o = row * stride + col + h * hd;
      for (let i = 0; i < half; i++) {
        const c = cos[tab + i]!;
        const s = sign * sin[tab + i]!;
        const x1 = x[o + i]!;
        const x2 = x[o + half + i]!;
        x[o + i] = x1 * c - x2 * s;
        x[o + half + i] = x2 * c + x1 * s;
      }
    }
  }
}

/** y [N, out] += bias per row. */
export function addBiasRows(y: Float32Array, bias: Float32Array, n: number, stride: number, col: number): void {
  const m = bias.length;
  for (let t = 0; t < n; t++) {
    const o = t * stride + col;
    for (let j = 0; j < m; j++) y[o + j]! += bias[j]!;
  }
}

/** out[j] += Σ_t y[t, col + j] for j < out.length (bias gradients from fused rows). */
export function sumRowsInto(y: Float32Array, n: number, stride: number, col: number, out: Float32Array): void {
  const m = out.length;
  for (let t = 0; t < n; t++) {
    const o = t * stride + col;
    for (let j = 0; j < m; j++) out[j]! += y[o + j]!;
  }
}

/** a += b element-wise. */
export function addInto(a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
}
