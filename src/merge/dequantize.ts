// The one place a merge turns stored tensor bytes into float32 values: F32/F16/BF16 widened,
// Q8_0/Q4_0 dequantized as ggml does. When src/quant/dequantize.ts (the K-quants and the other
// ggml block types) lands in main, this becomes a call to its dequantize(typeName, raw, out).

import { dequantize as dequantizeBlocks } from "../convert/quantize.js";
import { convertTensorBytes } from "../formats/dtype-convert.js";
import { tensorType } from "../formats/tensor-types.js";
import { MergeError } from "./merge-error.js";

const F32 = tensorType("F32")!;

export const MERGE_INPUT_TYPES: readonly string[] = ["F32", "F16", "BF16", "Q8_0", "Q4_0"];

export function canDequantize(typeName: string): boolean {
  return MERGE_INPUT_TYPES.includes(typeName);
}

/** `raw` bytes of `typeName` as float32 values in `out` (length: the element count). */
export function dequantize(typeName: string, raw: Uint8Array, out: Float32Array): Float32Array {
  const type = tensorType(typeName);
  if (type?.float) {
    convertTensorBytes(raw, type, F32, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    return out;
  }
  if (typeName === "Q8_0" || typeName === "Q4_0") return dequantizeBlocks(typeName, raw, out);
  throw new MergeError("MERGE_INPUT_TYPE", `cannot dequantize ${typeName} tensors to merge them`, { hint: `dusk merges ${MERGE_INPUT_TYPES.join(", ")} tensors` });
}
