// The order of the sequences inside one llama.cpp batch. With a KV cache per sequence (llama.cpp's
// default for several sequences), llama.cpp cuts a batch into micro-batches of sequences whose ids
// follow each other in batch order (`split_equal`, "accept only increasing sequence ids"): tokens
// of sequences 3, 0, 1, 2 in that order run as three graph evaluations instead of one. node-llama-
// cpp orders a batch by when each sequence asked; this strategy sorts it by sequence id.

import type { BatchItem, LlamaContext, PrioritizedBatchItem } from "node-llama-cpp";

/**
 * node-llama-cpp's "maximumParallelism" share (every item gets an equal part of the batch, the
 * rest goes to the ones with more tokens), then sorted by sequence id. `context` is read when a
 * batch is formed: its internal queue lists the items in the order the strategy receives them.
 */
export function bySequenceId(context: () => LlamaContext | undefined): (o: { items: readonly BatchItem[]; size: number }) => PrioritizedBatchItem[] {
  return ({ items, size }) => {
    let left = size;
    const equal = Math.floor(size / Math.max(1, items.length));
    const out = items.map((item) => {
      const processAmount = Math.min(item.tokens.length, equal, left);
      left -= processAmount;
      return { item, processAmount };
    });
    for (const p of out) {
      const more = Math.min(p.item.tokens.length - p.processAmount, left);
      p.processAmount += more;
      left -= more;
    }
    // node-llama-cpp builds `items` from its queue, in order (LlamaContext#_queuedDecodes).
    const queued = (context() as unknown as { _queuedDecodes?: { sequenceId: number }[] } | undefined)?._queuedDecodes;
    if (!queued || queued.length !== items.length) return out.filter((p) => p.processAmount > 0);
    const id = new Map(items.map((item, i) => [item, queued[i]!.sequenceId]));
    return out.filter((p) => p.processAmount > 0).sort((a, b) => id.get(a.item)! - id.get(b.item)!);
  };
}
