// Dequantizers for ggml's 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4),
// exactly as ggml-quants.c's dequantize_row_*: each C float operation is one f32 rounding here
// (Math.fround on intermediates; the Float32Array store rounds the last one). Blocks are read
// byte by byte, so `raw` may sit at any offset. Inputs are whole blocks (checked by the caller).

import { f16Table } from "./half.js";
import { IQ4_VALUES, MXFP4_VALUES } from "./iq4-values.js";

const fr = Math.fround;

/** Q4_0 (18 bytes: f16 d, 16 nibble bytes): x = (q − 8)·d; low nibbles are elements 0..15. */
export function dequantQ4_0(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 18, e += 32) {
    const d = h[b[o]! | (b[o + 1]! << 8)]!;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j]!;
      y[e + j] = ((q & 15) - 8) * d;
      y[e + 16 + j] = ((q >> 4) - 8) * d;
    }
  }
}

/** Q4_1 (20 bytes: f16 d, f16 m, 16 nibble bytes): x = q·d + m. */
export function dequantQ4_1(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 20, e += 32) {
    const d = h[b[o]! | (b[o + 1]! << 8)]!;
    const m = h[b[o + 2]! | (b[o + 3]! << 8)]!;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 4 + j]!;
      y[e + j] = fr((q & 15) * d) + m;
      y[e + 16 + j] = fr((q >> 4) * d) + m;
    }
  }
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** Q5_0 (22 bytes: f16 d, u32 high bits, 16 nibble bytes): x = (q − 16)·d. */
export function dequantQ5_0(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 22, e += 32) {
    const d = h[b[o]! | (b[o + 1]! << 8)]!;
    const qh = u32le(b, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 6 + j]!;
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      y[e + j] = (((q & 15) | h0) - 16) * d;
      y[e + 16 + j] = (((q >> 4) | h1) - 16) * d;
    }
  }
}

/** Q5_1 (24 bytes: f16 d, f16 m, u32 high bits, 16 nibble bytes): x = q·d + m. */
export function dequantQ5_1(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 24, e += 32) {
    const d = h[b[o]! | (b[o + 1]! << 8)]!;
    const m = h[b[o + 2]! | (b[o + 3]! << 8)]!;
    const qh = u32le(b, o + 4);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 8 + j]!;
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      y[e + j] = fr(((q & 15) | h0) * d) + m;
      y[e + 16 + j] = fr(((q >> 4) | h1) * d) + m;
    }
  }
}

/** Q8_0 (34 bytes: f16 d, 32 × i8): x = q·d. */
export function dequantQ8_0(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 34, e += 32) {
    const d = h[b[o]! | (b[o + 1]! << 8)]!;
    for (let j = 0; j < 32; j++) y[e + j] = ((b[o + 2 + j]! << 24) >> 24) * d;
  }
}

/** IQ4_NL (18 bytes: f16 d, 16 nibble bytes): x = d·kvalues[q]. */
export function dequantIq4Nl(b: Uint8Array, y: Float32Array, nb: number): void {
  const h = f16Table();
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 18, e += 32) {
    const d = h[b[o]! | (b[o + 1]! << 8)]!;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j]!;
      y[e + j] = d * IQ4_VALUES[q & 15]!;
      y[e + 16 + j] = d * IQ4_VALUES[q >> 4]!;
    }
  }
}

/** MXFP4 (17 bytes: e8m0 exponent, 16 nibble bytes): x = kvalues_mxfp4[q]·2^(e−128). */
export function dequantMxfp4(b: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0, o = 0, e = 0; i < nb; i++, o += 17, e += 32) {
    const d = 2 ** (b[o]! - 128); // ggml_e8m0_to_fp32_half, exact (a subnormal f32 below e = 2)
    for (let j = 0; j < 16; j++) {
      const q = b[o + 1 + j]!;
      y[e + j] = MXFP4_VALUES[q & 15]! * d;
      y[e + 16 + j] = MXFP4_VALUES[q >> 4]! * d;
    }
  }
}
