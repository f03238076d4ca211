// One entry point from a GGUF tensor's raw bytes to f32 for every ggml type dusk meets: the float
// types (through formats/dtype-convert) and the block types people publish (Q4_0 … Q8_0, the
// K-quants, IQ4_NL/IQ4_XS, MXFP4), each bit for bit as ggml's dequantize_row_*. Not for the
// grid-based IQ1/IQ2/IQ3 and ternary types: those are a typed error naming the type.

import { convertTensorBytes, toFloat32 } from "../formats/dtype-convert.js";
import { tensorType } from "../formats/tensor-types.js";
import { dequantIq4Nl, dequantMxfp4, dequantQ4_0, dequantQ4_1, dequantQ5_0, dequantQ5_1, dequantQ8_0 } from "./dequantize-32.js";
import { dequantIq4Xs, dequantQ2K, dequantQ3K, dequantQ4K, dequantQ5K, dequantQ6K } from "./dequantize-k.js";
import { QuantError } from "./quant-error.js";

const F32 = tensorType("F32")!;

type BlockDequantizer = (raw: Uint8Array, out: Float32Array, blocks: number) => void;

const BLOCK_DEQUANTIZERS: Readonly<Record<string, BlockDequantizer>> = {
  Q4_0: dequantQ4_0, Q4_1: dequantQ4_1, Q5_0: dequantQ5_0, Q5_1: dequantQ5_1, Q8_0: dequantQ8_0,
  IQ4_NL: dequantIq4Nl, MXFP4: dequantMxfp4,
  Q2_K: dequantQ2K, Q3_K: dequantQ3K, Q4_K: dequantQ4K, Q5_K: dequantQ5K, Q6_K: dequantQ6K, IQ4_XS: dequantIq4Xs,
};

/** The ggml type names `dequantize` reads. */
export const DEQUANTIZABLE_TYPES: readonly string[] = ["F32", "F16", "BF16", ...Object.keys(BLOCK_DEQUANTIZERS)];

export function canDequantize(typeName: string): boolean {
  return DEQUANTIZABLE_TYPES.includes(typeName);
}

/**
 * `raw` (whole blocks of `typeName`, any byte offset) → f32 elements, written into `out` when given
 * (it must hold them all; the result is `out.subarray(0, n)`), else into a fresh array.
 */
export function dequantize(typeName: string, raw: Uint8Array, out?: Float32Array): Float32Array {
  const type = tensorType(typeName);
  if (type === undefined) {
    throw new QuantError("QUANT_UNKNOWN_TYPE", `unknown tensor type ${typeName}`, { hint: `known types: ${DEQUANTIZABLE_TYPES.join(", ")}` });
  }
  if (type.float) {
    if (out === undefined) return toFloat32(raw, type);
    const n = raw.byteLength / type.blockBytes;
    checkOut(out, n, typeName);
    convertTensorBytes(raw, type, F32, new Uint8Array(out.buffer, out.byteOffset, n * 4));
    return out.subarray(0, n);
  }
  const fn = BLOCK_DEQUANTIZERS[typeName];
  if (fn === undefined) {
    throw new QuantError("QUANT_UNSUPPORTED_TYPE", `dusk cannot dequantize ${typeName} tensors`, {
      hint: `dusk reads ${DEQUANTIZABLE_TYPES.join(", ")}; requantize the model with llama.cpp or dusk quantize from an F16/F32 source`,
    });
  }
  if (raw.byteLength % type.blockBytes !== 0) {
    throw new QuantError("QUANT_BLOCK_BYTES", `${typeName} data of ${raw.byteLength} bytes is not a whole number of ${type.blockBytes}-byte blocks`, {
      hint: "read quantized tensors on block boundaries",
    });
  }
  const blocks = raw.byteLength / type.blockBytes;
  const n = blocks * type.blockElems;
  let y: Float32Array;
  if (out === undefined) y = new Float32Array(n);
  else {
    checkOut(out, n, typeName);
    y = out.subarray(0, n);
  }
  fn(raw, y, blocks);
  return y;
}

function checkOut(out: Float32Array, n: number, typeName: string): void {
  if (out.length < n) {
    throw new QuantError("QUANT_OUTPUT_SIZE", `${typeName} dequantization needs room for ${n} elements, the output holds ${out.length}`);
  }
}
