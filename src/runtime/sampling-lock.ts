// A workaround for a race between the sequences of one llama.cpp context (node-llama-cpp 3.21.1,
// its llama.cpp release v0.4.0): after a batch, node-llama-cpp samples every sequence's next token
// on parallel libuv worker threads, and each sampling reads the logits through llama.cpp's
// llama_get_logits*, which first applies the batch's pending output reordering (`output_reorder`,
// rows swapped in place when the batch was split per sequence) without a lock. Two threads
// reordering at once undo or tear each other's swaps, and sequences sample from each other's
// logits: measured as 5-20 of 96 concurrent streams taking another stream's distribution.
// Running the samplings one at a time lets the first reorder and the rest read the settled rows.

import type { LlamaContext } from "node-llama-cpp";

type SampleToken = (...args: unknown[]) => Promise<unknown>;
const guarded = new WeakSet<object>();

/** Makes `context`'s token samplings run one after another (a no-op for one sequence, or twice). */
export function serializeSampling(context: LlamaContext): void {
  if (context.totalSequences < 2) return;
  // node-llama-cpp's binding object; `sampleToken` is its only caller of llama_get_logits*.
  const addon = (context as unknown as { _ctx?: { sampleToken?: SampleToken } })._ctx;
  if (!addon || typeof addon.sampleToken !== "function" || guarded.has(addon)) return;
  guarded.add(addon);
  const sample = addon.sampleToken.bind(addon);
  let tail: Promise<unknown> = Promise.resolve();
  // The binding's methods are read-only on its prototype: an own property shadows it.
  Object.defineProperty(addon, "sampleToken", {
    value: (...args: unknown[]) => {
      const run = tail.then(() => sample(...args));
      tail = run.catch(() => undefined);
      return run;
    },
  });
}
