// ggml's quantized types: dequantize any of them, quantize byte-identically to llama-quantize, its
// per-tensor mixes, quantization plans and their streamed execution, importance-matrix files
// (computing one runs the engine, so that lives above it, in analyze/imatrix-compute.ts).

export { canDequantize, DEQUANTIZABLE_TYPES } from "./dequantize.js";
export { QUANTIZABLE_TYPES, quantizeRows, rowBytes } from "./quantize.js";
export { parseQuantFtype, QUANT_FTYPES, type QuantFtype } from "./ftypes.js";
export { chooseTensorTypes, llamaTensorOrder, useMoreBits, type LayerPosition, type MixModel, type MixOptions, type MixTensor, type TensorChoice } from "./mix.js";
export { mixModelOf, planQuantize, sourcePositions, type PlannedTensor, type QuantizeOptions, type QuantizePlan } from "./plan.js";
export { quantizeGguf, type QuantizeRunOptions } from "./run.js";
export { QuantPool } from "./pool.js";
export { checkImatrixFinite, readImatrix, readImatrixBytes, writeImatrixGguf, type Imatrix, type ImatrixSums } from "./imatrix-file.js";
export { renderQuantizePlan } from "./view.js";
export { QuantError } from "./quant-error.js";
