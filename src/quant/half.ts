// ggml's scalar conversions as the quantizers use them: f32 → f16 (round to nearest even, NaN →
// sign|0x7E00), f16 → f32 through a 64 Ki-entry table, f32 → bf16 with ggml's NaN rule (quieted
// payload, not torch's 0x7FC0). Shared scratch, so no allocation per call.

import { f16BitsToF32Bits, f32BitsToF16Bits } from "../formats/dtype-convert.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** GGML_FP32_TO_FP16 */
export function toF16(x: number): number {
  f32[0] = x;
  return f32BitsToF16Bits(u32[0]!);
}

let table: Float32Array | undefined;
/** F16 bits → value (Float32Array of 65536, 256 KiB, built on first use). */
export function f16Table(): Float32Array {
  if (table === undefined) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = f16BitsToF32Bits(h);
    table = new Float32Array(bits.buffer);
  }
  return table;
}

/** GGML_FP16_TO_FP32 of a value: what storing `x` as f16 and reading it back gives. */
export function roundTripF16(x: number): number {
  return f16Table()[toF16(x)]!;
}

/** Stores `x` as little-endian f16 at y[o]; returns the value read back (GGML_FP16_TO_FP32). */
export function putF16(y: Uint8Array, o: number, x: number): number {
  const h = toF16(x);
  y[o] = h & 0xff;
  y[o + 1] = h >>> 8;
  return f16Table()[h]!;
}

/** ggml_compute_fp32_to_bf16 on f32 bits. */
export function f32BitsToBf16Ggml(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}
