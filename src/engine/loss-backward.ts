// Next-token cross-entropy and its gradient for every weight: forward with a tape, then the head,
// final norm, layers (reloaded in reverse through EngineWeights) and embedding backward. The first
// piece of continued pretraining; not an optimizer, and it holds all gradients at once (model-sized).

import { RuntimeError } from "../errors.js";
import { layerBackward, linearBackward, rmsnormBackward, softcapBackwardInPlace, type LayerGrads } from "./backward.js";
import { forward } from "./forward.js";
import { getMatmulKernel, type MatmulKernel } from "./matmul-kernel.js";
import { headForward } from "./forward.js";
import { normGain } from "./ops.js";
import type { EngineWeights } from "./types.js";

export interface ModelGrads {
  embedding: Float32Array; // [vocab, D]; includes the head's gradient when tied
  layers: LayerGrads[];
  finalNorm: Float32Array; // [D]
  lmHead?: Float32Array; // [vocab, D], untied models only
}

/** Mean over t of −log p(tokens[t+1] | tokens[..t]) and its gradient w.r.t. every weight. */
export async function nextTokenLossAndGradients(
  weights: EngineWeights,
  tokens: ArrayLike<number>,
  opts: { signal?: AbortSignal; kernel?: MatmulKernel } = {},
): Promise<{ loss: number; grads: ModelGrads }> {
  if (tokens.length < 2) {
    throw new RuntimeError("ENGINE_NO_TOKENS", `a next-token loss needs at least 2 tokens, found ${tokens.length}`, { hint: "pass a longer sequence" });
  }
  const kernel = opts.kernel ?? (await getMatmulKernel());
  const fwd = await forward(weights, tokens, { tape: true, logitsFor: "none", kernel, ...(opts.signal ? { signal: opts.signal } : {}) });
  const tape = fwd.tape!;
  const c = weights.config;
  const T = tokens.length;
  const D = c.hiddenSize;
  const V = c.vocabSize;
  const N = T - 1;
  const head = c.tiedEmbeddings ? await weights.embedding() : await weights.lmHead();
  // head: dlogits = (softmax − onehot)/N, rows in chunks so [rows, V] stays bounded
  const dNormed = new Float32Array(T * D);
  const dHead = new Float32Array(V * D);
  let loss = 0;
  const chunk = Math.max(1, Math.floor((1 << 22) / V));
  for (let p0 = 0; p0 < N; p0 += chunk) {
    const positions: number[] = [];
    for (let p = p0; p < Math.min(N, p0 + chunk); p++) positions.push(p);
    const R = positions.length;
    const cap = c.finalLogitSoftcap;
    const logits = headForward(kernel, head, tape.finalNormed, D, V, positions, cap); // [R, V]
    const capped = cap === undefined ? undefined : logits.slice();
    for (let r = 0; r < R; r++) {
      const row = logits.subarray(r * V, (r + 1) * V);
      let max = -Infinity;
      for (let i = 0; i < V; i++) max = Math.max(max, row[i]!);
      let sum = 0;
      for (let i = 0; i < V; i++) sum += Math.exp(row[i]! - max);
      const target = tape.tokens[positions[r]! + 1]!;
      loss -= row[target]! - max - Math.log(sum);
      for (let i = 0; i < V; i++) row[i] = Math.exp(row[i]! - max) / sum / N;
      row[target]! -= 1 / N;
    }
    if (capped) softcapBackwardInPlace(capped, logits, cap!); // d(raw logits)
    const xs = new Float32Array(R * D);
    positions.forEach((p, r) => xs.set(tape.finalNormed.subarray(p * D, (p + 1) * D), r * D));
    const g = linearBackward(kernel, xs, head, logits, R, D, V);
    for (let i = 0; i < dHead.length; i++) dHead[i]! += g.dw[i]!;
    positions.forEach((p, r) => dNormed.set(g.dx.subarray(r * D, (r + 1) * D), p * D));
  }
  const fin = rmsnormBackward(tape.finalInput, normGain(await weights.finalNorm(), c.normWeightOffset), tape.finalInvRms, dNormed, T, D);
  let dx = fin.dx;
  const layers: LayerGrads[] = new Array(c.numLayers);
  for (let i = c.numLayers - 1; i >= 0; i--) {
    if (opts.signal?.aborted) throw new RuntimeError("ENGINE_ABORTED", "backward pass aborted", { hint: "the caller cancelled it", cause: opts.signal.reason });
    const b = layerBackward(kernel, c, await weights.layer(i), tape.layers[i]!, dx, T, tape.ropes[i]!, i);
    layers[i] = b.grads;
    dx = b.dx;
  }
  const dEmbedding = c.tiedEmbeddings ? dHead : new Float32Array(V * D);
  const es = c.embedScale ?? 1;
  for (let t = 0; t < T; t++) {
    const o = tape.tokens[t]! * D;
    for (let i = 0; i < D; i++) dEmbedding[o + i]! += dx[t * D + i]! * es;
  }
  const grads: ModelGrads = { embedding: dEmbedding, layers, finalNorm: fin.dw };
  if (!c.tiedEmbeddings) grads.lmHead = dHead;
  return { loss: loss / N, grads };
}
