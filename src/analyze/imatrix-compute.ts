// `dusk imatrix`: an importance matrix computed on the TypeScript engine, as llama-imatrix computes
// it: the text tokenized with BOS, cut into chunks of `ctx` tokens (each chunk's first token made
// BOS), every chunk run through the model, and for each layer matmul the squares of its input
// activations summed per input column over all tokens (q/k/v share the normed input, gate/up the
// FFN's, attn_output takes the attention mix, ffn_down the SwiGLU product). Names are GGUF names.
// llama.cpp itself is not used: node-llama-cpp exposes no evaluation callback to collect them.

import type { EngineWeights } from "../engine/types.js";
import { forward, type LayerActivations } from "../engine/forward.js";
import type { ImatrixSums } from "../quant/imatrix-file.js";
import { QuantError } from "../quant/quant-error.js";

export interface ImatrixOptions {
  /** tokens per chunk (llama-imatrix's -c, default 512) */
  ctx: number;
  /** at most this many chunks (default: all the text holds) */
  chunks?: number;
  /** recorded in imatrix.datasets */
  dataset: string;
  signal?: AbortSignal;
}

export type ImatrixEvent = { type: "start"; chunks: number; tokens: number } | { type: "chunk"; done: number; chunks: number };

const fr = Math.fround;

/** Which activation feeds which GGUF weight of layer i. */
const FEEDS: readonly [keyof LayerActivations, readonly string[]][] = [
  ["attnNormed", ["attn_q", "attn_k", "attn_v"]],
  ["attnMixed", ["attn_output"]],
  ["ffnNormed", ["ffn_gate", "ffn_up"]],
  ["act", ["ffn_down"]],
];

/** Σ x² per column of rows [T, cols] into acc, in f32 row by row (llama-imatrix's order). */
function accumulate(acc: Float32Array, x: Float32Array, T: number): void {
  const cols = acc.length;
  for (let t = 0; t < T; t++) {
    const o = t * cols;
    for (let j = 0; j < cols; j++) acc[j] = fr(acc[j]! + fr(x[o + j]! * x[o + j]!));
  }
}

/**
 * Runs `tokens` (already tokenized, BOS first when the vocabulary adds one) through the engine in
 * chunks; yields progress, returns the sums. `bos` replaces each chunk's first token, as
 * llama-imatrix does.
 */
export async function* computeImatrix(weights: EngineWeights, tokens: readonly number[], bos: number | undefined, o: ImatrixOptions): AsyncGenerator<ImatrixEvent, ImatrixSums> {
  const c = weights.config;
  if (!Number.isInteger(o.ctx) || o.ctx < 16 || o.ctx > c.maxPositions) {
    throw new QuantError("QUANT_IMATRIX_CTX", `--ctx ${o.ctx} must be between 16 (llama-imatrix skips shorter batches) and the model's ${c.maxPositions} positions`);
  }
  const available = Math.floor(tokens.length / o.ctx);
  if (tokens.length < 2 * o.ctx) {
    throw new QuantError("QUANT_IMATRIX_SHORT_TEXT", `the text is ${tokens.length} tokens; an imatrix with --ctx ${o.ctx} needs at least ${2 * o.ctx}`, {
      hint: "pass a longer --text, or a smaller --ctx (llama-imatrix has the same rule)",
    });
  }
  const chunks = Math.min(available, o.chunks ?? available);
  const sums = new Map<string, Float32Array>();
  const widths: Record<string, number> = { attnNormed: c.hiddenSize, attnMixed: c.numHeads * c.headDim, ffnNormed: c.hiddenSize, act: c.intermediateSize };
  const accs: Float32Array[][] = Array.from({ length: c.numLayers }, () => FEEDS.map(([field]) => new Float32Array(widths[field]!)));
  yield { type: "start", chunks, tokens: chunks * o.ctx };
  for (let k = 0; k < chunks; k++) {
    if (o.signal?.aborted) throw new QuantError("QUANT_ABORTED", "the imatrix computation was interrupted; nothing was written", { cause: o.signal.reason });
    const chunk = tokens.slice(k * o.ctx, (k + 1) * o.ctx);
    if (bos !== undefined) chunk[0] = bos;
    await forward(weights, chunk, {
      logitsFor: "none",
      onLayer: (layer, acts) => FEEDS.forEach(([field], f) => accumulate(accs[layer]![f]!, acts[field] as Float32Array, chunk.length)),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    yield { type: "chunk", done: k + 1, chunks };
  }
  const count = chunks * o.ctx;
  for (let layer = 0; layer < c.numLayers; layer++) {
    FEEDS.forEach(([, names], f) => {
      for (const name of names) sums.set(`blk.${layer}.${name}.weight`, accs[layer]![f]!);
    });
  }
  return {
    entries: new Map([...sums].map(([name, s]) => [name, { sums: s, count }])),
    datasets: [o.dataset],
    chunkCount: chunks,
    chunkSize: o.ctx,
  };
}
