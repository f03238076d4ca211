// Quantizers for the K-quants (256-element super-blocks), one row at a time as ggml_quantize_chunk
// runs them: without importance weights quantize_row_qN_K_ref, with them quantize_row_qN_K_impl
// (σ²-weighted make_qkx3/make_qx searches, scales quantized by make_qp_quants/make_qx_quants).
// Byte layouts are ggml-common.h's block_qN_K (offsets as in dequantize-k.ts).

import { f16Table, putF16 } from "./half.js";
import { fr, GROUP_MAX_EPS, makeQ3Quants, makeQkxQuants, makeQpQuants, makeQxQuants, nearestInt, theMin } from "./quant-math.js";
import { minK4, scaleK4, scaleQ3K } from "./dequantize-k.js";

const L = new Uint8Array(256);
const Li = new Int8Array(256);
const Laux = new Uint8Array(32);
const weights = new Float32Array(256);
const scales = new Float32Array(16);
const mins = new Float32Array(16);
const sw = new Float32Array(16);
const Ls = new Uint8Array(16);
const Lm = new Uint8Array(16);
const Lsi = new Int8Array(16);

/** Σx² over a super-block, accumulated in f32. */
function sumSquares(x: Float32Array, xo: number): number {
  let s = 0;
  for (let l = 0; l < 256; l++) s = fr(s + fr(x[xo + l]! * x[xo + l]!));
  return s;
}

/** weights[0..n) = qw·sqrt(σ² + x²), the *_impl functions' importance times local scale. */
function importanceWeights(x: Float32Array, xo: number, qw: Float32Array, qo: number, sigma2: number, n: number): void {
  for (let l = 0; l < n; l++) {
    const v = x[xo + l]!;
    weights[l] = fr(qw[qo + l]! * fr(Math.sqrt(fr(sigma2 + fr(v * v)))));
  }
}

function packQ2Q3(y: Uint8Array, qs: number): void {
  for (let j = 0; j < 256; j += 128) {
    for (let l = 0; l < 32; l++) y[qs + j / 4 + l] = L[j + l]! | (L[j + l + 32]! << 2) | (L[j + l + 64]! << 4) | (L[j + l + 96]! << 6);
  }
}

/** Q2_K: 16 groups of 16, 2-bit levels with a 4-bit scale and min per group. */
export function quantizeRowQ2K(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array): void {
  for (let i = 0; i < n / 256; i++, xo += 256, yo += 84) {
    let d: number;
    let dmin: number;
    if (qw) {
      const sigma2 = fr(sumSquares(x, xo) / 256);
      for (let j = 0; j < 16; j++) {
        importanceWeights(x, xo + 16 * j, qw, 256 * i + 16 * j, sigma2, 16);
        let s = 0;
        for (let l = 0; l < 16; l++) s = fr(s + weights[l]!);
        sw[j] = s;
        scales[j] = makeQkxQuants(16, 3, x, xo + 16 * j, weights, 0, L, 16 * j, Laux, fr(-0.9), fr(0.05), 36, false, true);
        mins[j] = theMin[0]!;
      }
      const dm = makeQpQuants(16, 15, scales, Ls, sw);
      const mm = makeQpQuants(16, 15, mins, Lm, sw);
      d = putF16(y, yo + 80, dm);
      dmin = putF16(y, yo + 82, mm);
      for (let j = 0; j < 16; j++) y[yo + j] = Ls[j]! | (Lm[j]! << 4);
    } else {
      let maxScale = 0;
      let maxMin = 0;
      for (let j = 0; j < 16; j++) {
        for (let l = 0; l < 16; l++) weights[l] = Math.abs(x[xo + 16 * j + l]!);
        scales[j] = makeQkxQuants(16, 3, x, xo + 16 * j, weights, 0, L, 16 * j, Laux, fr(-0.5), fr(0.1), 15, true, false);
        mins[j] = theMin[0]!;
        if (scales[j]! > maxScale) maxScale = scales[j]!;
        if (mins[j]! > maxMin) maxMin = mins[j]!;
      }
      if (maxScale > 0) {
        const iscale = fr(15 / maxScale);
        for (let j = 0; j < 16; j++) y[yo + j] = nearestInt(fr(iscale * scales[j]!));
        d = putF16(y, yo + 80, fr(maxScale / 15));
      } else {
        for (let j = 0; j < 16; j++) y[yo + j] = 0;
        d = putF16(y, yo + 80, 0);
      }
      if (maxMin > 0) {
        const iscale = fr(15 / maxMin);
        for (let j = 0; j < 16; j++) y[yo + j] = y[yo + j]! | (nearestInt(fr(iscale * mins[j]!)) << 4);
        dmin = putF16(y, yo + 82, fr(maxMin / 15));
      } else {
        dmin = putF16(y, yo + 82, 0);
      }
    }
    for (let j = 0; j < 16; j++) {
      const dl = fr(d * (y[yo + j]! & 15));
      if (!dl) continue;
      const ml = fr(dmin * (y[yo + j]! >> 4));
      for (let ii = 0; ii < 16; ii++) L[16 * j + ii] = Math.max(0, Math.min(3, nearestInt(fr(fr(x[xo + 16 * j + ii]! + ml) / dl))));
    }
    packQ2Q3(y, yo + 16);
  }
}

/** Q3_K scale j (a 6-bit level 0..63) into the block's 12 packed scale bytes at `s`. */
function putScaleQ3K(y: Uint8Array, s: number, j: number, l: number): void {
  if (j < 8) y[s + j] = l & 15;
  else y[s + j - 8] = y[s + j - 8]! | ((l & 15) << 4);
  y[s + 8 + (j & 3)] = y[s + 8 + (j & 3)]! | ((l >> 4) << (2 * (j >> 2)));
}

/** Q3_K: 16 groups of 16, 3-bit signed levels (high bit in hmask) with a 6-bit signed scale. */
export function quantizeRowQ3K(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array): void {
  for (let i = 0; i < n / 256; i++, xo += 256, yo += 110) {
    y.fill(0, yo + 96, yo + 108);
    if (qw) {
      const sigma2 = fr(fr(2 * sumSquares(x, xo)) / 256);
      for (let j = 0; j < 16; j++) {
        importanceWeights(x, xo + 16 * j, qw, 256 * i + 16 * j, sigma2, 16);
        let s = 0;
        for (let l = 0; l < 16; l++) s = fr(s + weights[l]!);
        sw[j] = s;
        scales[j] = makeQxQuants(16, 4, x, xo + 16 * j, Li, 16 * j, weights, 0);
      }
      const dBlock = makeQxQuants(16, 32, scales, 0, Lsi, 0, sw, 0);
      for (let j = 0; j < 16; j++) putScaleQ3K(y, yo + 96, j, Lsi[j]!);
      putF16(y, yo + 108, dBlock);
    } else {
      let maxScale = 0;
      let amax = 0;
      for (let j = 0; j < 16; j++) {
        scales[j] = makeQ3Quants(16, 4, x, xo + 16 * j, Li, 16 * j);
        const a = Math.abs(scales[j]!);
        if (a > amax) {
          amax = a;
          maxScale = scales[j]!;
        }
      }
      if (maxScale) {
        const iscale = fr(-32 / maxScale);
        for (let j = 0; j < 16; j++) {
          const l = (nearestInt(fr(iscale * scales[j]!)) << 24) >> 24;
          putScaleQ3K(y, yo + 96, j, Math.max(-32, Math.min(31, l)) + 32);
        }
        putF16(y, yo + 108, fr(1 / iscale));
      } else {
        putF16(y, yo + 108, 0);
      }
    }
    const dAll = f16Table()[y[yo + 108]! | (y[yo + 109]! << 8)]!;
    for (let j = 0; j < 16; j++) {
      const d = fr(dAll * scaleQ3K(y, yo + 96, j));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) Li[16 * j + ii] = Math.max(-4, Math.min(3, nearestInt(fr(x[xo + 16 * j + ii]! / d)))) + 4;
    }
    y.fill(0, yo, yo + 32);
    let m = 0;
    let hm = 1;
    for (let j = 0; j < 256; j++) {
      let l = Li[j]!;
      if (l > 3) {
        y[yo + m] = y[yo + m]! | hm;
        l -= 4;
      }
      L[j] = l;
      if (++m === 32) {
        m = 0;
        hm <<= 1;
      }
    }
    packQ2Q3(y, yo + 32);
  }
}

/** The 6-bit scales and mins of 8 groups into a Q4_K/Q5_K block's 12 bytes at `s`. */
function packScalesK4(y: Uint8Array, s: number, ls: Uint8Array, lm: Uint8Array): void {
  for (let j = 0; j < 8; j++) {
    const a = ls[j]!;
    const b = lm[j]!;
    if (j < 4) {
      y[s + j] = a;
      y[s + j + 4] = b;
    } else {
      y[s + j + 4] = (a & 15) | ((b & 15) << 4);
      y[s + j - 4] = y[s + j - 4]! | ((a >> 4) << 6);
      y[s + j] = y[s + j]! | ((b >> 4) << 6);
    }
  }
}

/**
 * Shared body of Q4_K (nmax 15) and Q5_K (nmax 31): 8 groups of 32 with a 6-bit scale and min.
 * Leaves the final levels in L; writes d, dmin and the scales at `yo`.
 */
function quantizeSuperBlockK4(x: Float32Array, xo: number, y: Uint8Array, yo: number, nmax: number, qw: Float32Array | undefined, qo: number): void {
  if (qw) {
    const sigma2 = fr(fr(2 * sumSquares(x, xo)) / 256);
    for (let j = 0; j < 8; j++) {
      importanceWeights(x, xo + 32 * j, qw, qo + 32 * j, sigma2, 32);
      let s = 0;
      for (let l = 0; l < 32; l++) s = fr(s + weights[l]!);
      sw[j] = s;
      scales[j] = makeQkxQuants(32, nmax, x, xo + 32 * j, weights, 0, L, 32 * j, Laux, fr(-0.9), fr(0.05), 36, false, true);
      mins[j] = theMin[0]!;
    }
    const dBlock = makeQpQuants(8, 63, scales, Ls, sw);
    const mBlock = makeQpQuants(8, 63, mins, Lm, sw);
    if (nmax === 31) {
      for (let j = 0; j < 8; j++) {
        Ls[j] = Math.min(63, Ls[j]!);
        Lm[j] = Math.min(63, Lm[j]!);
      }
    }
    packScalesK4(y, yo + 4, Ls, Lm);
    putF16(y, yo, dBlock);
    putF16(y, yo + 2, mBlock);
  } else {
    const rmin = nmax === 15 ? -1 : fr(-0.5);
    const nstep = nmax === 15 ? 20 : 15;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = fr(sumX2 + fr(x[xo + 32 * j + l]! * x[xo + 32 * j + l]!));
      const avX = fr(Math.sqrt(fr(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = fr(avX + Math.abs(x[xo + 32 * j + l]!));
      scales[j] = makeQkxQuants(32, nmax, x, xo + 32 * j, weights, 0, L, 32 * j, Laux, rmin, fr(0.1), nstep, false, false);
      mins[j] = theMin[0]!;
      if (scales[j]! > maxScale) maxScale = scales[j]!;
      if (mins[j]! > maxMin) maxMin = mins[j]!;
    }
    const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
    for (let j = 0; j < 8; j++) {
      Ls[j] = Math.min(63, nearestInt(fr(invScale * scales[j]!)) & 0xff);
      Lm[j] = Math.min(63, nearestInt(fr(invMin * mins[j]!)) & 0xff);
    }
    packScalesK4(y, yo + 4, Ls, Lm);
    putF16(y, yo, fr(maxScale / 63));
    putF16(y, yo + 2, fr(maxMin / 63));
  }
  const h = f16Table();
  const d = h[y[yo]! | (y[yo + 1]! << 8)]!;
  const dmin = h[y[yo + 2]! | (y[yo + 3]! << 8)]!;
  for (let j = 0; j < 8; j++) {
    const dl = fr(d * scaleK4(y, yo + 4, j));
    if (!dl) continue;
    const dm = fr(dmin * minK4(y, yo + 4, j));
    for (let ii = 0; ii < 32; ii++) L[32 * j + ii] = Math.max(0, Math.min(nmax, nearestInt(fr(fr(x[xo + 32 * j + ii]! + dm) / dl))));
  }
}

/** Q4_K, 144 bytes per 256: d, dmin, 12 scale bytes, 128 nibble bytes. */
export function quantizeRowQ4K(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array): void {
  for (let i = 0; i < n / 256; i++, xo += 256, yo += 144) {
    y.fill(0, yo + 4, yo + 16);
    quantizeSuperBlockK4(x, xo, y, yo, 15, qw, 256 * i);
    for (let j = 0, q = yo + 16; j < 256; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) y[q + l] = L[j + l]! | (L[j + l + 32]! << 4);
    }
  }
}

/** Q5_K, 176 bytes per 256: d, dmin, 12 scale bytes, 32 high-bit bytes, 128 nibble bytes. */
export function quantizeRowQ5K(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array): void {
  for (let i = 0; i < n / 256; i++, xo += 256, yo += 176) {
    y.fill(0, yo + 4, yo + 16);
    quantizeSuperBlockK4(x, xo, y, yo, 31, qw, 256 * i);
    const qh = yo + 16;
    y.fill(0, qh, qh + 32);
    let m1 = 1;
    let m2 = 2;
    for (let nn = 0, ql = yo + 48; nn < 256; nn += 64, ql += 32) {
      for (let j = 0; j < 32; j++) {
        let l1 = L[nn + j]!;
        if (l1 > 15) {
          l1 -= 16;
          y[qh + j] = y[qh + j]! | m1;
        }
        let l2 = L[nn + j + 32]!;
        if (l2 > 15) {
          l2 -= 16;
          y[qh + j] = y[qh + j]! | m2;
        }
        y[ql + j] = l1 | (l2 << 4);
      }
      m1 <<= 2;
      m2 <<= 2;
    }
  }
}

/** Q6_K, 210 bytes per 256: 16 groups of 16, 6-bit levels, an 8-bit signed scale per group. */
export function quantizeRowQ6K(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array): void {
  for (let i = 0; i < n / 256; i++, xo += 256, yo += 210) {
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, x, xo + 16 * ib, Li, 16 * ib, qw, 256 * i + 16 * ib);
      scales[ib] = scale;
      const a = Math.abs(scale);
      if (a > maxAbsScale) {
        maxAbsScale = a;
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      y.fill(0, yo, yo + 210);
      continue;
    }
    const iscale = fr(-128 / maxScale);
    const d = putF16(y, yo + 208, fr(1 / iscale));
    for (let ib = 0; ib < 16; ib++) y[yo + 192 + ib] = Math.min(127, nearestInt(fr(iscale * scales[ib]!)));
    for (let j = 0; j < 16; j++) {
      const dl = fr(d * ((y[yo + 192 + j]! << 24) >> 24));
      if (!dl) continue;
      for (let ii = 0; ii < 16; ii++) Li[16 * j + ii] = Math.max(-32, Math.min(31, nearestInt(fr(x[xo + 16 * j + ii]! / dl)))) + 32;
    }
    for (let j = 0, ql = yo, qh = yo + 128; j < 256; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const a = Li[j + l]!;
        const b = Li[j + l + 32]!;
        const c = Li[j + l + 64]!;
        const e = Li[j + l + 96]!;
        y[ql + l] = (a & 15) | ((c & 15) << 4);
        y[ql + l + 32] = (b & 15) | ((e & 15) << 4);
        y[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
      }
    }
  }
}
