// One vocabulary of tensor element types for both formats. safetensors dtypes keep their names
// (F32, BF16, I8 …); ggml's quantized types use llama.cpp's names (Q4_K, Q8_0 …). A type is a
// block of `blockElems` elements stored in `blockBytes` bytes (1 element for plain types).

export interface TensorTypeInfo {
  name: string;
  blockElems: number;
  blockBytes: number;
  /** ggml type id, when GGUF can store it */
  ggml?: number;
  /** safetensors dtype name, when safetensors can store it */
  safetensors?: string;
  /** a float type dusk can convert to/from f32 */
  float?: boolean;
}

const T = (name: string, blockElems: number, blockBytes: number, extra: Partial<TensorTypeInfo> = {}): TensorTypeInfo => ({
  name,
  blockElems,
  blockBytes,
  ...extra,
});

export const TENSOR_TYPES: readonly TensorTypeInfo[] = [
  T("F32", 1, 4, { ggml: 0, safetensors: "F32", float: true }),
  T("F16", 1, 2, { ggml: 1, safetensors: "F16", float: true }),
  T("BF16", 1, 2, { ggml: 30, safetensors: "BF16", float: true }),
  T("F64", 1, 8, { ggml: 28, safetensors: "F64" }),
  T("I8", 1, 1, { ggml: 24, safetensors: "I8" }),
  T("I16", 1, 2, { ggml: 25, safetensors: "I16" }),
  T("I32", 1, 4, { ggml: 26, safetensors: "I32" }),
  T("I64", 1, 8, { ggml: 27, safetensors: "I64" }),
  T("U8", 1, 1, { safetensors: "U8" }),
  T("U16", 1, 2, { safetensors: "U16" }),
  T("U32", 1, 4, { safetensors: "U32" }),
  T("U64", 1, 8, { safetensors: "U64" }),
  T("BOOL", 1, 1, { safetensors: "BOOL" }),
  T("F8_E5M2", 1, 1, { safetensors: "F8_E5M2" }),
  T("F8_E4M3", 1, 1, { safetensors: "F8_E4M3" }),
  T("Q4_0", 32, 18, { ggml: 2 }),
  T("Q4_1", 32, 20, { ggml: 3 }),
  T("Q5_0", 32, 22, { ggml: 6 }),
  T("Q5_1", 32, 24, { ggml: 7 }),
  T("Q8_0", 32, 34, { ggml: 8 }),
  T("Q8_1", 32, 36, { ggml: 9 }),
  T("Q2_K", 256, 84, { ggml: 10 }),
  T("Q3_K", 256, 110, { ggml: 11 }),
  T("Q4_K", 256, 144, { ggml: 12 }),
  T("Q5_K", 256, 176, { ggml: 13 }),
  T("Q6_K", 256, 210, { ggml: 14 }),
  T("Q8_K", 256, 292, { ggml: 15 }),
  T("IQ2_XXS", 256, 66, { ggml: 16 }),
  T("IQ2_XS", 256, 74, { ggml: 17 }),
  T("IQ3_XXS", 256, 98, { ggml: 18 }),
  T("IQ1_S", 256, 50, { ggml: 19 }),
  T("IQ4_NL", 32, 18, { ggml: 20 }),
  T("IQ3_S", 256, 110, { ggml: 21 }),
  T("IQ2_S", 256, 82, { ggml: 22 }),
  T("IQ4_XS", 256, 136, { ggml: 23 }),
  T("IQ1_M", 256, 56, { ggml: 29 }),
  T("TQ1_0", 256, 54, { ggml: 34 }),
  T("TQ2_0", 256, 66, { ggml: 35 }),
  T("MXFP4", 32, 17, { ggml: 39 }),
];

const BY_NAME = new Map(TENSOR_TYPES.map((t) => [t.name, t]));
const BY_GGML = new Map(TENSOR_TYPES.filter((t) => t.ggml !== undefined).map((t) => [t.ggml!, t]));
const BY_SAFETENSORS = new Map(TENSOR_TYPES.filter((t) => t.safetensors).map((t) => [t.safetensors!, t]));

export function tensorType(name: string): TensorTypeInfo | undefined {
  return BY_NAME.get(name);
}
export function tensorTypeFromGgml(id: number): TensorTypeInfo | undefined {
  return BY_GGML.get(id);
}
export function tensorTypeFromSafetensors(dtype: string): TensorTypeInfo | undefined {
  return BY_SAFETENSORS.get(dtype);
}

/**
 * Bytes of a tensor of this type and shape, or undefined when the element count does not fill
 * whole blocks along the innermost dimension (ggml's rule) or overflows a safe integer.
 */
export function tensorByteLength(type: TensorTypeInfo, shape: readonly number[]): number | undefined {
  let elems = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return undefined;
    elems *= d;
    if (!Number.isSafeInteger(elems)) return undefined;
  }
  const inner = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  if (type.blockElems > 1 && inner % type.blockElems !== 0) return undefined;
  const bytes = (elems / type.blockElems) * type.blockBytes;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
