// llama.cpp's next-token log-probabilities through node-llama-cpp, for cross-checks against the
// TypeScript engine. Probabilities are a plain softmax of the raw logits when no sampling options
// are given (REFERENCE.md), so log(p) is comparable to the engine's log-softmax.

import { getLlama, type Llama, type Token } from "node-llama-cpp";

let llama: Llama | undefined;

/** For each position t < T−1: log p(tokens[t+1] | tokens[..t]) and the full distribution at t. */
export async function llamaLogprobs(modelPath: string, tokens: number[]): Promise<{ next: number[]; dists: Map<number, number>[] }> {
  llama ??= await getLlama({ gpu: false });
  const model = await llama.loadModel({ modelPath });
  try {
    // F32 KV cache: llama.cpp's default F16 cache alone moves log-probs by ~1e-2 on peaked models.
    const context = await model.createContext({ contextSize: Math.max(64, tokens.length + 8), threads: 2, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", flashAttention: false });
    try {
      const seq = context.getSequence();
      const out = await seq.controlledEvaluate(tokens.map((t) => [t as Token, { generateNext: { probabilities: true } }]));
      const next: number[] = [];
      const dists: Map<number, number>[] = [];
      for (let i = 0; i < tokens.length - 1; i++) {
        const p = out[i]?.next?.probabilities;
        if (!p) throw new Error(`no probabilities at position ${i}`);
        dists.push(p as Map<number, number>);
        next.push(Math.log(p.get(tokens[i + 1]! as Token) ?? 0));
      }
      return { next, dists };
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** The engine's log-softmax rows as Map-free arrays, for comparing with llama.cpp distributions. */
export function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
