// ggml's reference quantizers for Q8_0 and Q4_0 (quantize_row_q8_0_ref / quantize_row_q4_0_ref in
// ggml-quants.c, and gguf-py's numpy ports), bit for bit, as the converter's q8_0/q4_0 output types
// use them. Every other type, llama-quantize's mixes and importance matrices: src/quant/ (whose
// `dequantize`, re-exported here, reads all of them).
//
// Bit-exactness: ggml computes in f32 (no fused multiply-add in the reference), so every step is
// rounded with Math.fround; an f64 op on two f32 values rounded once to f32 equals the f32 op.
// The block scale d is stored as f16, rounded to nearest even (f32BitsToF16Bits).

import { BuildError } from "../errors.js";
import { f16BitsToF32Bits, f32BitsToF16Bits } from "../formats/dtype-convert.js";

/** Elements per block for both Q8_0 and Q4_0 (QK8_0 = QK4_0 = 32). */
export const QUANT_BLOCK_ELEMS = 32;
/** Q8_0 block: f16 d, then 32 × i8 q. x ≈ q·d. */
export const Q8_0_BLOCK_BYTES = 34;
/** Q4_0 block: f16 d, then 16 bytes: byte j = q[j] | q[j+16] << 4. x ≈ (q − 8)·d. */
export const Q4_0_BLOCK_BYTES = 18;

export type QuantType = "Q8_0" | "Q4_0";

const BLOCK_BYTES: Record<QuantType, number> = { Q8_0: Q8_0_BLOCK_BYTES, Q4_0: Q4_0_BLOCK_BYTES };

// one shared scratch for f32 ↔ bits, so no per-block allocation
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

function f32ToF16Bits(x: number): number {
  f32Scratch[0] = x;
  return f32BitsToF16Bits(u32Scratch[0]!);
}

function f16BitsToNumber(h: number): number {
  u32Scratch[0] = f16BitsToF32Bits(h);
  return f32Scratch[0]!;
}

/** Bytes needed to quantize `elems` elements (a multiple of 32) to `type`. */
export function quantizedByteLength(type: QuantType, elems: number): number {
  checkElems(type, elems);
  return (elems / QUANT_BLOCK_ELEMS) * BLOCK_BYTES[type];
}

function checkElems(type: QuantType, elems: number): void {
  if (!Number.isSafeInteger(elems) || elems < 0 || elems % QUANT_BLOCK_ELEMS !== 0) {
    throw new BuildError("QUANT_BLOCK_ALIGN", `cannot quantize ${elems} elements to ${type}: not a whole number of ${QUANT_BLOCK_ELEMS}-element blocks`, {
      hint: `ggml quantizes rows in blocks of ${QUANT_BLOCK_ELEMS}; keep tensors whose row length is not a multiple of ${QUANT_BLOCK_ELEMS} in F16/F32`,
    });
  }
}

function outputFor(type: QuantType, elems: number, out: Uint8Array | undefined): Uint8Array {
  const need = quantizedByteLength(type, elems);
  if (out === undefined) return new Uint8Array(need);
  if (out.byteLength < need) {
    throw new BuildError("QUANT_OUTPUT_SIZE", `${type} output buffer holds ${out.byteLength} bytes, ${need} needed for ${elems} elements`);
  }
  return out;
}

/** roundf: nearest, ties away from zero (Math.round ties toward +∞). */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * Q8_0 over `x` (length a multiple of 32; call per row chunk, blocks never straddle calls):
 * d = amax/127 (f32), q = roundf(x·(1/d)), stored as [f16 d][32 × i8].
 */
export function quantizeQ8_0(x: Float32Array, out?: Uint8Array): Uint8Array {
  const y = outputFor("Q8_0", x.length, out);
  const nb = x.length / QUANT_BLOCK_ELEMS;
  for (let i = 0; i < nb; i++) {
    const base = i * QUANT_BLOCK_ELEMS;
    let amax = 0;
    for (let j = 0; j < QUANT_BLOCK_ELEMS; j++) {
      const a = Math.abs(x[base + j]!);
      amax = amax > a ? amax : a; // C's MAX(amax, fabsf(v)): a NaN propagates, as in ggml
    }
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = i * Q8_0_BLOCK_BYTES;
    const h = f32ToF16Bits(d);
    y[o] = h & 0xff;
    y[o + 1] = h >>> 8;
    for (let j = 0; j < QUANT_BLOCK_ELEMS; j++) {
      y[o + 2 + j] = roundHalfAway(Math.fround(x[base + j]! * id)) & 0xff; // int8 two's complement
    }
  }
  return y;
}

/**
 * Q4_0 over `x` (length a multiple of 32): max = the element of largest |x| (first one on ties,
 * sign kept), d = max/−8, q = min(15, trunc(x·(1/d) + 8.5)); nibbles: low = elements 0..15,
 * high = 16..31.
 */
export function quantizeQ4_0(x: Float32Array, out?: Uint8Array): Uint8Array {
  const y = outputFor("Q4_0", x.length, out);
  const nb = x.length / QUANT_BLOCK_ELEMS;
  const half = QUANT_BLOCK_ELEMS / 2;
  for (let i = 0; i < nb; i++) {
    const base = i * QUANT_BLOCK_ELEMS;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QUANT_BLOCK_ELEMS; j++) {
      const v = x[base + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = i * Q4_0_BLOCK_BYTES;
    const h = f32ToF16Bits(d);
    y[o] = h & 0xff;
    y[o + 1] = h >>> 8;
    for (let j = 0; j < half; j++) {
      const q0 = Math.min(15, Math.trunc(Math.fround(Math.fround(x[base + j]! * id) + 8.5)));
      const q1 = Math.min(15, Math.trunc(Math.fround(Math.fround(x[base + half + j]! * id) + 8.5)));
      y[o + 2 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
    }
  }
  return y;
}

export function quantize(type: QuantType, x: Float32Array, out?: Uint8Array): Uint8Array {
  return type === "Q8_0" ? quantizeQ8_0(x, out) : quantizeQ4_0(x, out);
}

function blockCount(type: QuantType, bytes: Uint8Array): number {
  const bb = BLOCK_BYTES[type];
  if (bytes.byteLength % bb !== 0) {
    throw new BuildError("QUANT_BLOCK_BYTES", `${type} data of ${bytes.byteLength} bytes is not a whole number of ${bb}-byte blocks`, {
      hint: "read quantized tensors on block boundaries",
    });
  }
  return bytes.byteLength / bb;
}

function dequantOutput(n: number, out: Float32Array | undefined, type: QuantType): Float32Array {
  if (out === undefined) return new Float32Array(n);
  if (out.length < n) throw new BuildError("QUANT_OUTPUT_SIZE", `${type} dequant output holds ${out.length} elements, ${n} needed`);
  return out;
}

/** Q8_0 bytes → f32: x = q·d. */
export function dequantizeQ8_0(bytes: Uint8Array, out?: Float32Array): Float32Array {
  const nb = blockCount("Q8_0", bytes);
  const y = dequantOutput(nb * QUANT_BLOCK_ELEMS, out, "Q8_0");
  for (let i = 0; i < nb; i++) {
    const o = i * Q8_0_BLOCK_BYTES;
    const d = f16BitsToNumber(bytes[o]! | (bytes[o + 1]! << 8));
    const base = i * QUANT_BLOCK_ELEMS;
    for (let j = 0; j < QUANT_BLOCK_ELEMS; j++) {
      const q = (bytes[o + 2 + j]! << 24) >> 24; // sign-extend i8
      y[base + j] = q * d;
    }
  }
  return y;
}

/** Q4_0 bytes → f32: x = (nibble − 8)·d. */
export function dequantizeQ4_0(bytes: Uint8Array, out?: Float32Array): Float32Array {
  const nb = blockCount("Q4_0", bytes);
  const y = dequantOutput(nb * QUANT_BLOCK_ELEMS, out, "Q4_0");
  const half = QUANT_BLOCK_ELEMS / 2;
  for (let i = 0; i < nb; i++) {
    const o = i * Q4_0_BLOCK_BYTES;
    const d = f16BitsToNumber(bytes[o]! | (bytes[o + 1]! << 8));
    const base = i * QUANT_BLOCK_ELEMS;
    for (let j = 0; j < half; j++) {
      const b = bytes[o + 2 + j]!;
      y[base + j] = ((b & 0x0f) - 8) * d;
      y[base + half + j] = ((b >>> 4) - 8) * d;
    }
  }
  return y;
}

export { dequantize } from "../quant/dequantize.js";
