// Expected memory per GPU for continued pretraining under DeepSpeed ZeRO-3 with bf16 (what the
// exported job runs): every formula is a line of the README, with the stack's numbers put in.
// The model is mixed precision as in the ZeRO paper: 2 bytes of bf16 weight per parameter, and
// per trained parameter 2 bytes of bf16 gradient plus 12 bytes of fp32 master weight and Adam m, v;
// ZeRO-3 shards all of it over the N GPUs. An estimate to choose hardware by, not a measurement.

import type { StackInfo } from "./stack-info.js";

export interface MemoryOptions {
  gpus: number;
  microBatchSize: number;
  seqLen: number;
}

export interface MemoryTerm {
  what: string;
  /** the formula in symbols, e.g. `2·P/N` */
  formula: string;
  bytes: number;
}

export interface MemoryEstimate {
  terms: MemoryTerm[];
  perGpuBytes: number;
  /** the symbols and their values, for the README */
  symbols: Record<string, number>;
}

/** why 3 GB: CUDA context (~0.5–1 GB), NCCL buffers and allocator fragmentation, a rule of thumb */
const RUNTIME_OVERHEAD_BYTES = 3e9;

export function zero3MemoryPerGpu(stack: StackInfo, trainableParams: number, o: MemoryOptions): MemoryEstimate {
  const hp = stack.hparams;
  const P = stack.params.total;
  const T = trainableParams;
  const N = o.gpus;
  const L = stack.params.layers.length;
  const Pl = Math.max(...stack.params.layers);
  const [b, s, h, i, V] = [o.microBatchSize, o.seqLen, hp.hiddenSize, hp.intermediateSize, hp.vocabSize];
  const hkv = hp.numKvHeads * hp.headDim;
  const terms: MemoryTerm[] = [
    { what: "bf16 weights, sharded", formula: "2·P/N", bytes: (2 * P) / N },
    { what: "bf16 gradients of the trained parameters, sharded", formula: "2·T/N", bytes: (2 * T) / N },
    { what: "fp32 master weights + Adam m and v of the trained parameters, sharded", formula: "12·T/N", bytes: (12 * T) / N },
    { what: "the decoder layer being computed, gathered whole, and the next one prefetched (bf16)", formula: "2·2·P_layer", bytes: 4 * Pl },
    { what: "activation checkpoints: each layer's input (bf16)", formula: "2·b·s·h·L", bytes: 2 * b * s * h * L },
    { what: "one layer's activations while it is recomputed in backward (bf16: norms, q, k, v, attention out, gate, up, products)", formula: "2·b·s·(5h + 2·h_kv + 4i)", bytes: 2 * b * s * (5 * h + 2 * hkv + 4 * i) },
    { what: "logits for the loss: bf16, an fp32 copy, and the fp32 gradient", formula: "10·b·s·V", bytes: 10 * b * s * V },
    { what: "CUDA context, NCCL buffers, allocator slack (rule of thumb)", formula: "≈ 3 GB", bytes: RUNTIME_OVERHEAD_BYTES },
  ];
  return {
    terms,
    perGpuBytes: terms.reduce((a, t) => a + t.bytes, 0),
    symbols: { P, T, N, P_layer: Pl, L, b, s, h, h_kv: hkv, i, V },
  };
}

/** Decimal gigabytes, as GPU memory is sold. */
export function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(bytes < 1e9 ? 2 : 1)} GB`;
}
