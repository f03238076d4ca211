// llama.cpp's row permutation of the Q and K projection weights between HF's rotary layout (rotate
// halves: each head's rows are [first half | second half]) and ggml's (rotate adjacent pairs), and
// its inverse for reading a GGUF back in HF order. Works on whole rows of raw bytes, so any element
// type works, quantized ones included (a row is contiguous). Not for biases of other shapes: a
// bias is the same permutation with cols = 1.
//
// Forward (HF → GGUF), as convert_hf_to_gguf.py's permute:
//   w.reshape(nHead, 2, rows/nHead/2, cols).swapaxes(1, 2).reshape(rows, cols)
// so in head h, output row 2·i + k comes from input row k·half + i (half = rows/nHead/2).
// Use nHead = attention heads for Q and nHead = KV heads for K.

import { BuildError } from "../errors.js";

type RowData = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

function checkShape(src: RowData, nHead: number, rows: number, what: string): number {
  if (!Number.isSafeInteger(nHead) || nHead <= 0 || !Number.isSafeInteger(rows) || rows <= 0 || rows % (2 * nHead) !== 0) {
    throw new BuildError("QK_PERMUTE_SHAPE", `${what}: ${rows} rows cannot be split into ${nHead} heads of an even number of rows`, {
      hint: "check num_attention_heads (for Q) / num_key_value_heads (for K) against the tensor's first dimension",
    });
  }
  if (src.length % rows !== 0) {
    throw new BuildError("QK_PERMUTE_SHAPE", `${what}: ${src.length} elements is not ${rows} equal rows`);
  }
  return src.byteLength / rows;
}

function permuteRows<T extends RowData>(src: T, nHead: number, rows: number, inverse: boolean, what: string): T {
  const rowBytes = checkShape(src, nHead, rows, what);
  const from = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  const to = new Uint8Array(src.byteLength);
  const perHead = rows / nHead;
  const half = perHead / 2;
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (let k = 0; k < 2; k++) {
        const ggmlRow = h * perHead + 2 * i + k; // interleaved pairs
        const hfRow = h * perHead + k * half + i; // halves
        const [s, d] = inverse ? [ggmlRow, hfRow] : [hfRow, ggmlRow];
        to.set(from.subarray(s * rowBytes, (s + 1) * rowBytes), d * rowBytes);
      }
    }
  }
  const Ctor = src.constructor as new (buffer: ArrayBuffer, byteOffset: number, length: number) => T;
  return new Ctor(to.buffer, 0, src.length);
}

/**
 * HF → GGUF Q/K permutation of a row-major [rows, cols] tensor given as any typed array of its
 * elements (or its raw bytes as Uint8Array). Returns a new array of the same type; the input is
 * untouched. `rows` is the tensor's first (outermost) dimension.
 */
export function permuteQK<T extends RowData>(data: T, nHead: number, rows: number): T {
  return permuteRows(data, nHead, rows, false, "permuteQK");
}

/** GGUF → HF: the inverse of permuteQK (unpermuteQK(permuteQK(w)) = w). */
export function unpermuteQK<T extends RowData>(data: T, nHead: number, rows: number): T {
  return permuteRows(data, nHead, rows, true, "unpermuteQK");
}
