// One entry point from f32 rows to a ggml type's bytes, as llama-quantize's ggml_quantize_chunk
// writes them (with or without an importance vector of one weight per column). The row quantizers
// live in quantize-32.ts, quantize-k.ts and quantize-iq4.ts; F16/BF16/F32 are plain conversions.
// The K-quants, IQ4_NL, IQ4_XS and Q8_0 run as WebAssembly where it runs (wasm-quant.ts; the
// same bytes).

import { tensorType, type TensorTypeInfo } from "../formats/tensor-types.js";
import { f32BitsToBf16Ggml, toF16 } from "./half.js";
import { QuantError } from "./quant-error.js";
import { quantizeRowIq4Nl, quantizeRowIq4Xs } from "./quantize-iq4.js";
import { quantizeRowQ4_0, quantizeRowQ4_1, quantizeRowQ5_0, quantizeRowQ5_1, quantizeRowQ8_0 } from "./quantize-32.js";
import { quantizeRowQ2K, quantizeRowQ3K, quantizeRowQ4K, quantizeRowQ5K, quantizeRowQ6K } from "./quantize-k.js";
import { quantizeRowsWasm, wasmQuantizes } from "./wasm-quant.js";

/** x[xo .. xo+n) → y[yo ..): one row of n elements (whole blocks), importance weights qw[0..n). */
type RowQuantizer = (x: Float32Array, xo: number, n: number, y: Uint8Array, yo: number, qw?: Float32Array) => void;

const ROW_QUANTIZERS: Readonly<Record<string, RowQuantizer>> = {
  Q4_0: quantizeRowQ4_0, Q4_1: quantizeRowQ4_1, Q5_0: quantizeRowQ5_0, Q5_1: quantizeRowQ5_1,
  Q8_0: (x, xo, n, y, yo) => quantizeRowQ8_0(x, xo, n, y, yo),
  Q2_K: quantizeRowQ2K, Q3_K: quantizeRowQ3K, Q4_K: quantizeRowQ4K, Q5_K: quantizeRowQ5K, Q6_K: quantizeRowQ6K,
  IQ4_NL: quantizeRowIq4Nl, IQ4_XS: quantizeRowIq4Xs,
  F32: (x, xo, n, y, yo) => new Float32Array(y.buffer, y.byteOffset + yo, n).set(x.subarray(xo, xo + n)),
  F16: (x, xo, n, y, yo) => {
    for (let j = 0; j < n; j++) {
      const h = toF16(x[xo + j]!);
      y[yo + 2 * j] = h & 0xff;
      y[yo + 2 * j + 1] = h >>> 8;
    }
  },
  BF16: (x, xo, n, y, yo) => {
    const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
    for (let j = 0; j < n; j++) {
      const h = f32BitsToBf16Ggml(bits[xo + j]!);
      y[yo + 2 * j] = h & 0xff;
      y[yo + 2 * j + 1] = h >>> 8;
    }
  },
};

/** The ggml types `quantizeRows` writes. */
export const QUANTIZABLE_TYPES: readonly string[] = Object.keys(ROW_QUANTIZERS);

/** Bytes of one row of `nPerRow` elements in `type` (ggml_row_size). */
export function rowBytes(type: TensorTypeInfo, nPerRow: number): number {
  return (nPerRow / type.blockElems) * type.blockBytes;
}

function quantizableType(typeName: string): TensorTypeInfo {
  const type = tensorType(typeName);
  if (type === undefined || ROW_QUANTIZERS[typeName] === undefined) {
    throw new QuantError("QUANT_UNKNOWN_TYPE", `cannot quantize to ${typeName}`, { hint: `dusk writes ${QUANTIZABLE_TYPES.join(", ")}` });
  }
  return type;
}

/**
 * Quantizes `nrows` rows of `nPerRow` f32 values (`x`, row-major) to `typeName`, with the
 * per-column importance `imatrix` (length nPerRow) when given, into `out` (or a fresh array).
 * F32 rows must sit 4-byte aligned in `out`.
 */
export function quantizeRows(typeName: string, x: Float32Array, nrows: number, nPerRow: number, imatrix?: Float32Array, out?: Uint8Array): Uint8Array {
  const type = quantizableType(typeName);
  if (nPerRow % type.blockElems !== 0) {
    throw new QuantError("QUANT_ROW_ALIGN", `rows of ${nPerRow} elements are not whole ${typeName} blocks of ${type.blockElems}`, {
      hint: "llama.cpp's mixes fall back to a smaller block type for such tensors (see dusk quantize --help)",
    });
  }
  if (x.length < nrows * nPerRow) throw new QuantError("QUANT_INPUT_SIZE", `${nrows}×${nPerRow} rows need ${nrows * nPerRow} values, got ${x.length}`);
  if (imatrix !== undefined && imatrix.length !== nPerRow) {
    throw new QuantError("QUANT_IMATRIX_SIZE", `importance vector of ${imatrix.length} values for rows of ${nPerRow}`);
  }
  const rb = rowBytes(type, nPerRow);
  const y = out ?? new Uint8Array(nrows * rb);
  if (y.byteLength < nrows * rb) throw new QuantError("QUANT_OUTPUT_SIZE", `output holds ${y.byteLength} bytes, ${nrows * rb} needed`);
  if (wasmQuantizes(typeName)) {
    quantizeRowsWasm(typeName, x, nrows, nPerRow, imatrix, y);
  } else {
    const fn = ROW_QUANTIZERS[typeName]!;
    for (let r = 0; r < nrows; r++) fn(x, r * nPerRow, nPerRow, y, r * rb, imatrix);
  }
  return y.subarray(0, nrows * rb);
}
