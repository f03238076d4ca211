// IQ4_NL (32-element blocks, one f16 scale) and IQ4_XS (256-element super-blocks, 6-bit block
// scales) with ggml's non-linear code book, as quantize_iq4_nl / quantize_iq4_xs run
// quantize_row_iq4_nl_impl (ntry 7, with or without importance weights).

import { putF16 } from "./half.js";
import { IQ4_VALUES } from "./iq4-values.js";
import { bestIndexInt8, fr, GROUP_MAX_EPS, nearestInt } from "./quant-math.js";

const L = new Uint8Array(256);
const weight = new Float32Array(32);
const scales = new Float32Array(8);
const NTRY = 7;
const V0 = IQ4_VALUES[0]!;

/** Per-block search of quantize_row_iq4_nl_impl over `nb` blocks of 32; fills scales and L. */
function searchBlocks(x: Float32Array, xo: number, nb: number, qw: Float32Array | undefined, qo: number, sigma2: number): number {
  let maxScale = 0;
  let amaxScale = 0;
  for (let ib = 0; ib < nb; ib++) {
    const xb = xo + 32 * ib;
    if (qw) {
      for (let j = 0; j < 32; j++) {
        const v = x[xb + j]!;
        weight[j] = fr(qw[qo + 32 * ib + j]! * fr(Math.sqrt(fr(sigma2 + fr(v * v)))));
      }
    } else {
      for (let j = 0; j < 32; j++) weight[j] = fr(x[xb + j]! * x[xb + j]!);
    }
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const ax = Math.abs(x[xb + j]!);
      if (ax > amax) {
        amax = ax;
        max = x[xb + j]!;
      }
    }
    if (amax < GROUP_MAX_EPS) {
      scales[ib] = 0;
      continue;
    }
    let d = fr(-max / V0);
    let id = fr(1 / d);
    let sumqx = 0;
    let sumq2 = 0;
    for (let j = 0; j < 32; j++) {
      const l = bestIndexInt8(16, IQ4_VALUES, fr(id * x[xb + j]!));
      L[32 * ib + j] = l;
      const q = IQ4_VALUES[l]!;
      const wq = fr(weight[j]! * q);
      sumqx = fr(sumqx + fr(wq * x[xb + j]!));
      sumq2 = fr(sumq2 + fr(wq * q));
    }
    d = sumq2 > 0 ? fr(sumqx / sumq2) : 0;
    let best = fr(d * sumqx);
    for (let itry = -NTRY; itry <= NTRY; itry++) {
      id = fr((itry + V0) / max);
      sumqx = 0;
      sumq2 = 0;
      for (let j = 0; j < 32; j++) {
        const q = IQ4_VALUES[bestIndexInt8(16, IQ4_VALUES, fr(id * x[xb + j]!))]!;
        const wq = fr(weight[j]! * q);
        sumqx = fr(sumqx + fr(wq * x[xb + j]!));
        sumq2 = fr(sumq2 + fr(wq * q));
      }
      if (sumq2 > 0 && fr(sumqx * sumqx) > fr(best * sumq2)) {
        d = fr(sumqx / sumq2);
        best = fr(d * sumqx);
      }
    }
    scales[ib] = d;
    const ad = Math.abs(d);
    if (ad > amaxScale) {
      amaxScale = ad;
      maxScale = d;
    }
  }
  return maxScale;
}

function superSigma2(x: Float32Array, xo: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s = fr(s + fr(x[xo + j]! * x[xo + j]!));
  return fr(s * fr(2 / n));
}

function packNibbles(y: Uint8Array, q: number, n: number): void {
  for (let i = 0; i < n / 32; i++) {
    for (let j = 0; j < 16; j++) y[q + 16 * i + j] = L[32 * i + j]! | (L[32 * i + 16 + j]! << 4);
  }
}

/** IQ4_NL, 18 bytes per 32: f16 d, 16 nibble bytes of code book indices. */
export function quantizeRowIq4Nl(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array): void {
  for (let b = 0; b < n / 32; b++, xo += 32, yo += 18) {
    searchBlocks(x, xo, 1, qw, 32 * b, superSigma2(x, xo, 32));
    const d = scales[0]!;
    putF16(y, yo, d);
    const id = d ? fr(1 / d) : 0;
    for (let j = 0; j < 32; j++) L[j] = bestIndexInt8(16, IQ4_VALUES, fr(id * x[xo + j]!));
    packNibbles(y, yo + 2, 32);
  }
}

/** IQ4_XS, 136 bytes per 256: f16 d, u16 high scale bits, 4 low scale bytes, 128 nibble bytes. */
export function quantizeRowIq4Xs(x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array): void {
  for (let i = 0; i < n / 256; i++, xo += 256, yo += 136) {
    const maxScale = searchBlocks(x, xo, 8, qw, 256 * i, superSigma2(x, xo, 256));
    const d = fr(-maxScale / 32);
    putF16(y, yo, d);
    const id = d ? fr(1 / d) : 0;
    let scalesH = 0;
    for (let ib = 0; ib < 8; ib++) {
      let l = Math.max(-32, Math.min(31, nearestInt(fr(id * scales[ib]!))));
      const dl = fr(d * l);
      const idl = dl ? fr(1 / dl) : 0;
      for (let j = 0; j < 32; j++) L[32 * ib + j] = bestIndexInt8(16, IQ4_VALUES, fr(idl * x[xo + 32 * ib + j]!));
      l += 32;
      if (ib % 2 === 0) y[yo + 4 + (ib >> 1)] = l & 15;
      else y[yo + 4 + (ib >> 1)] = y[yo + 4 + (ib >> 1)]! | ((l & 15) << 4);
      scalesH |= (l >> 4) << (2 * ib);
    }
    y[yo + 2] = scalesH & 0xff;
    y[yo + 3] = scalesH >>> 8;
    packNibbles(y, yo + 8, 256);
  }
}
