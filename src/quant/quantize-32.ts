// Quantizers for ggml's 32-element block types, one row at a time, as ggml_quantize_chunk runs
// them: without importance weights the *_ref functions (Q8_0 ignores weights always), with them
// the *_impl functions (a per-row σ² and make_qx/qkx3 searches). Rows are whole blocks; `y` gets
// the row's bytes at `yo`. Scratch lives here, so a worker quantizes without allocating.

import { putF16 } from "./half.js";
import { fr, makeQkxQuants, makeQxQuants, signedAbsMax, theMin } from "./quant-math.js";

const weight = new Float32Array(32);
const Ls = new Int8Array(32);
const Lu = new Uint8Array(32);
const Laux = new Uint8Array(32);

function putU32(y: Uint8Array, o: number, v: number): void {
  y[o] = v & 0xff;
  y[o + 1] = (v >>> 8) & 0xff;
  y[o + 2] = (v >>> 16) & 0xff;
  y[o + 3] = (v >>> 24) & 0xff;
}

/** roundf: nearest, ties away from zero. */
function roundf(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** σ² of a row (Σx²/n in f32), the *_impl functions' weighting term. */
function rowSigma2(x: Float32Array, xo: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s = fr(s + fr(x[xo + j]! * x[xo + j]!));
  return fr(s / n);
}

function fillWeights(x: Float32Array, xo: number, qw: Float32Array, qo: number, sigma2: number): void {
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j]!;
    weight[j] = fr(qw[qo + j]! * fr(Math.sqrt(fr(sigma2 + fr(v * v)))));
  }
}

/** Q8_0: d = amax/127, q = roundf(x/d). */
export function quantizeRowQ8_0(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number): void {
  for (let b = 0; b < n / 32; b++, xo += 32, yo += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) {
      const a = Math.abs(x[xo + j]!);
      amax = amax > a ? amax : a;
    }
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    putF16(y, yo, d);
    for (let j = 0; j < 32; j++) y[yo + 2 + j] = roundf(fr(x[xo + j]! * id)) & 0xff;
  }
}

/** The block's min and max (FLT_MAX-seeded, as the Q4_1/Q5_1 refs scan them) into minMax. */
const minMax = new Float32Array(2);
function blockMinMax(x: Float32Array, xo: number): void {
  let min = 3.4028234663852886e38;
  let max = -3.4028234663852886e38;
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  minMax[0] = min;
  minMax[1] = max;
}

/** Q4_0: ref d = max/−8, q = min(15, trunc(x/d + 8.5)); impl: make_qx_quants(32, 8). */
export function quantizeRowQ4_0(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array): void {
  const sigma2 = qw ? rowSigma2(x, xo, n) : 0;
  for (let b = 0; b < n / 32; b++, xo += 32, yo += 18) {
    if (qw) {
      fillWeights(x, xo, qw, b * 32, sigma2);
      putF16(y, yo, makeQxQuants(32, 8, x, xo, Ls, 0, weight, 0));
      for (let j = 0; j < 16; j++) y[yo + 2 + j] = Ls[j]! | (Ls[j + 16]! << 4);
      continue;
    }
    const d = fr(signedAbsMax(x, xo, 32) / -8);
    const id = d ? fr(1 / d) : 0;
    putF16(y, yo, d);
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, (Math.trunc(fr(fr(x[xo + j]! * id) + 8.5)) << 24) >> 24);
      const q1 = Math.min(15, (Math.trunc(fr(fr(x[xo + 16 + j]! * id) + 8.5)) << 24) >> 24);
      y[yo + 2 + j] = (q0 & 0xff) | ((q1 & 0xff) << 4);
    }
  }
}

/** Q4_1: ref d = (max − min)/15, m = min; impl: make_qkx3_quants(32, 15), m = −min. */
export function quantizeRowQ4_1(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array): void {
  const sigma2 = qw ? rowSigma2(x, xo, n) : 0;
  for (let b = 0; b < n / 32; b++, xo += 32, yo += 20) {
    if (qw) {
      fillWeights(x, xo, qw, b * 32, sigma2);
      const d = makeQkxQuants(32, 15, x, xo, weight, 0, Lu, 0, Laux, fr(-0.9), fr(0.05), 36, false, true);
      putF16(y, yo, d);
      putF16(y, yo + 2, -theMin[0]!);
      for (let j = 0; j < 16; j++) y[yo + 4 + j] = Lu[j]! | (Lu[j + 16]! << 4);
      continue;
    }
    blockMinMax(x, xo);
    const min = minMax[0]!;
    const max = minMax[1]!;
    const d = fr(fr(max - min) / 15);
    const id = d ? fr(1 / d) : 0;
    putF16(y, yo, d);
    putF16(y, yo + 2, min);
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, (Math.trunc(fr(fr(fr(x[xo + j]! - min) * id) + 0.5)) << 24) >> 24);
      const q1 = Math.min(15, (Math.trunc(fr(fr(fr(x[xo + 16 + j]! - min) * id) + 0.5)) << 24) >> 24);
      y[yo + 4 + j] = (q0 & 0xff) | ((q1 & 0xff) << 4);
    }
  }
}

/** Nibbles and the u32 of fifth bits of a Q5 block from 32 levels 0..31. */
function packQ5(L: Int8Array | Uint8Array, y: Uint8Array, qs: number, qhAt: number): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const a = L[j]! & 0xff;
    const b = L[j + 16]! & 0xff;
    y[qs + j] = (a & 15) | ((b & 15) << 4);
    qh |= ((a & 0x10) >>> 4) << j;
    qh |= ((b & 0x10) >>> 4) << (j + 16);
  }
  putU32(y, qhAt, qh >>> 0);
}

/** Q5_0: ref d = max/−16, q = min(31, trunc(x/d + 16.5)); impl: make_qx_quants(32, 16). */
export function quantizeRowQ5_0(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array): void {
  const sigma2 = qw ? rowSigma2(x, xo, n) : 0;
  for (let b = 0; b < n / 32; b++, xo += 32, yo += 22) {
    if (qw) {
      fillWeights(x, xo, qw, b * 32, sigma2);
      putF16(y, yo, makeQxQuants(32, 16, x, xo, Ls, 0, weight, 0));
      packQ5(Ls, y, yo + 6, yo + 2);
      continue;
    }
    const d = fr(signedAbsMax(x, xo, 32) / -16);
    const id = d ? fr(1 / d) : 0;
    putF16(y, yo, d);
    for (let j = 0; j < 32; j++) Lu[j] = Math.min(31, (Math.trunc(fr(fr(x[xo + j]! * id) + 16.5)) << 24) >> 24);
    packQ5(Lu, y, yo + 6, yo + 2);
  }
}

/** Q5_1: ref d = (max − min)/31, m = min, q = trunc((x − min)/d + 0.5); impl: make_qkx3_quants(32, 31). */
export function quantizeRowQ5_1(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array): void {
  const sigma2 = qw ? rowSigma2(x, xo, n) : 0;
  for (let b = 0; b < n / 32; b++, xo += 32, yo += 24) {
    if (qw) {
      fillWeights(x, xo, qw, b * 32, sigma2);
      const d = makeQkxQuants(32, 31, x, xo, weight, 0, Lu, 0, Laux, fr(-0.9), fr(0.05), 36, false, true);
      putF16(y, yo, d);
      putF16(y, yo + 2, -theMin[0]!);
      packQ5(Lu, y, yo + 8, yo + 4);
      continue;
    }
    blockMinMax(x, xo);
    const min = minMax[0]!;
    const max = minMax[1]!;
    const d = fr(fr(max - min) / 31);
    const id = d ? fr(1 / d) : 0;
    putF16(y, yo, d);
    putF16(y, yo + 2, min);
    for (let j = 0; j < 32; j++) Lu[j] = Math.trunc(fr(fr(fr(x[xo + j]! - min) * id) + 0.5));
    packQ5(Lu, y, yo + 8, yo + 4);
  }
}
