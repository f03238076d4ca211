// Dequantizers for ggml's 256-element super-block types (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS),
// exactly as ggml-quants.c's dequantize_row_*: the same order of f32 operations, each rounded
// once (Math.fround on intermediates, the Float32Array store rounds the last). Layouts are
// ggml-common.h's block_* structs; byte offsets are named at the top of each function.

import { f16Table } from "./half.js";
import { IQ4_VALUES } from "./iq4-values.js";

const fr = Math.fround;

/** 6-bit scale j and min j of a Q4_K/Q5_K block's 12 packed bytes at `s` (get_scale_min_k4). */
export function scaleK4(b: Uint8Array, s: number, j: number): number {
  return j < 4 ? b[s + j]! & 63 : (b[s + j + 4]! & 0xf) | ((b[s + j - 4]! >> 6) << 4);
}
export function minK4(b: Uint8Array, s: number, j: number): number {
  return j < 4 ? b[s + j + 4]! & 63 : (b[s + j + 4]! >> 4) | ((b[s + j]! >> 6) << 4);
}

/** Q2_K, 84 bytes: scales[16] @0 (low nibble scale, high nibble min), qs[64] @16, d @80, dmin @82. */
export function dequantQ2K(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 84) {
    const d = h[b[o + 80]! | (b[o + 81]! << 8)]!;
    const dmin = h[b[o + 82]! | (b[o + 83]! << 8)]!;
    let is = 0;
    for (let n = 0; n < 256; n += 128) {
      const q = o + 16 + n / 4;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 32; half += 16) {
          const sc = b[o + is++]!;
          const dl = fr(d * (sc & 15));
          const ml = fr(dmin * (sc >> 4));
          for (let l = 0; l < 16; l++) y[e++] = fr(dl * ((b[q + half + l]! >> shift) & 3)) - ml;
        }
      }
    }
  }
}

/** 6-bit signed scale j (−32..31) of a Q3_K block's 12 packed bytes at `s`. */
export function scaleQ3K(b: Uint8Array, s: number, j: number): number {
  const low = j < 8 ? b[s + j]! & 15 : b[s + j - 8]! >> 4;
  return (low | (((b[s + 8 + (j & 3)]! >> (2 * (j >> 2))) & 3) << 4)) - 32;
}

/** Q3_K, 110 bytes: hmask[32] @0, qs[64] @32, scales[12] @96, d @108. x = d·sc·(q − (h ? 0 : 4)). */
export function dequantQ3K(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 110) {
    const dAll = h[b[o + 108]! | (b[o + 109]! << 8)]!;
    let is = 0;
    let m = 1;
    for (let n = 0; n < 256; n += 128) {
      const q = o + 32 + n / 4;
      for (let shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (let half = 0; half < 32; half += 16) {
          const dl = fr(dAll * scaleQ3K(b, o + 96, is++));
          for (let l = 0; l < 16; l++) {
            const hm = b[o + half + l]! & m ? 0 : 4;
            y[e++] = dl * (((b[q + half + l]! >> shift) & 3) - hm);
          }
        }
      }
    }
  }
}

/** Q4_K, 144 bytes: d @0, dmin @2, scales[12] @4, qs[128] @16. x = d·sc·q − dmin·m. */
export function dequantQ4K(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 144) {
    const d = h[b[o]! | (b[o + 1]! << 8)]!;
    const dmin = h[b[o + 2]! | (b[o + 3]! << 8)]!;
    for (let j = 0; j < 4; j++) {
      const q = o + 16 + 32 * j;
      const d1 = fr(d * scaleK4(b, o + 4, 2 * j));
      const m1 = fr(dmin * minK4(b, o + 4, 2 * j));
      const d2 = fr(d * scaleK4(b, o + 4, 2 * j + 1));
      const m2 = fr(dmin * minK4(b, o + 4, 2 * j + 1));
      for (let l = 0; l < 32; l++) y[e++] = fr(d1 * (b[q + l]! & 15)) - m1;
      for (let l = 0; l < 32; l++) y[e++] = fr(d2 * (b[q + l]! >> 4)) - m2;
    }
  }
}

/** Q5_K, 176 bytes: d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48. */
export function dequantQ5K(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 176) {
    const d = h[b[o]! | (b[o + 1]! << 8)]!;
    const dmin = h[b[o + 2]! | (b[o + 3]! << 8)]!;
    for (let j = 0; j < 4; j++) {
      const ql = o + 48 + 32 * j;
      const u1 = 1 << (2 * j);
      const u2 = 2 << (2 * j);
      const d1 = fr(d * scaleK4(b, o + 4, 2 * j));
      const m1 = fr(dmin * minK4(b, o + 4, 2 * j));
      const d2 = fr(d * scaleK4(b, o + 4, 2 * j + 1));
      const m2 = fr(dmin * minK4(b, o + 4, 2 * j + 1));
      for (let l = 0; l < 32; l++) y[e++] = fr(d1 * ((b[ql + l]! & 15) + (b[o + 16 + l]! & u1 ? 16 : 0))) - m1;
      for (let l = 0; l < 32; l++) y[e++] = fr(d2 * ((b[ql + l]! >> 4) + (b[o + 16 + l]! & u2 ? 16 : 0))) - m2;
    }
  }
}

/** Q6_K, 210 bytes: ql[128] @0, qh[64] @128, scales[16] (i8) @192, d @208. x = d·sc·(q − 32). */
export function dequantQ6K(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 210, e += 256) {
    const d = h[b[o + 208]! | (b[o + 209]! << 8)]!;
    for (let half = 0; half < 2; half++) {
      const ql = o + 64 * half;
      const qh = o + 128 + 32 * half;
      const sc = o + 192 + 8 * half;
      const base = e + 128 * half;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const hb = b[qh + l]!;
        const q1 = ((b[ql + l]! & 15) | ((hb & 3) << 4)) - 32;
        const q2 = ((b[ql + l + 32]! & 15) | (((hb >> 2) & 3) << 4)) - 32;
        const q3 = ((b[ql + l]! >> 4) | (((hb >> 4) & 3) << 4)) - 32;
        const q4 = ((b[ql + l + 32]! >> 4) | (((hb >> 6) & 3) << 4)) - 32;
        y[base + l] = fr(d * ((b[sc + is]! << 24) >> 24)) * q1;
        y[base + l + 32] = fr(d * ((b[sc + is + 2]! << 24) >> 24)) * q2;
        y[base + l + 64] = fr(d * ((b[sc + is + 4]! << 24) >> 24)) * q3;
        y[base + l + 96] = fr(d * ((b[sc + is + 6]! << 24) >> 24)) * q4;
      }
    }
  }
}

/** IQ4_XS, 136 bytes: d @0, scales_h (u16) @2, scales_l[4] @4, qs[128] @8. x = d·(ls − 32)·kvalues[q]. */
export function dequantIq4Xs(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 136) {
    const d = h[b[o]! | (b[o + 1]! << 8)]!;
    const scalesH = b[o + 2]! | (b[o + 3]! << 8);
    for (let ib = 0; ib < 8; ib++) {
      const ls = ((b[o + 4 + (ib >> 1)]! >> (4 * (ib & 1))) & 15) | (((scalesH >> (2 * ib)) & 3) << 4);
      const dl = fr(d * (ls - 32));
      const qs = o + 8 + 16 * ib;
      for (let j = 0; j < 16; j++) {
        const q = b[qs + j]!;
        y[e + j] = dl * IQ4_VALUES[q & 15]!;
        y[e + 16 + j] = dl * IQ4_VALUES[q >> 4]!;
      }
      e += 32;
    }
  }
}
