// Splitting one loglikelihood call over several llama.cpp sequences: requests that share their
// context (an item's choices, Winogrande's two options) form a group that stays on one sequence so
// the prefix is evaluated once; groups run concurrently, one per free sequence, and node-llama-cpp
// merges the sequences' pending tokens into shared llama.cpp batches.
// Not here: tokenisation or truncation (score.ts), the KV bookkeeping (score-sequence.ts).

import type { Token } from "node-llama-cpp";
import type { PositionScore, ScoringSequence } from "./score-sequence.js";

/** A request after tokenisation and left truncation: score `tail` after `prefix` (the KV-cached part). */
export interface PreparedRequest {
  /** position in the caller's request list; results go back there */
  index: number;
  prefix: Token[];
  tail: Token[];
}

/**
 * Cuts the requests, in order, into runs that should share a sequence. Request j joins the run of
 * request j-1 when their common token prefix reaches past the part every request of the call
 * shares (MMLU's fixed shots, TruthfulQA's fixed QA prefix) by at least half of what is left of
 * the shorter prefix: the same item's choices (equal prefixes) and Winogrande's options (differing
 * only in the last few tokens) stay together, while consecutive items, which share only that
 * common part, may run on different sequences — each sequence keeps the common part cached anyway.
 */
export function groupBySharedPrefix(requests: readonly PreparedRequest[]): PreparedRequest[][] {
  const first = requests[0];
  if (!first) return [];
  let sharedByAll = first.prefix.length;
  for (const r of requests) sharedByAll = Math.min(sharedByAll, commonPrefixLength(first.prefix, r.prefix));
  const groups: PreparedRequest[][] = [[first]];
  for (let j = 1; j < requests.length; j++) {
    const prev = requests[j - 1]!;
    const cur = requests[j]!;
    const beyondShared = commonPrefixLength(prev.prefix, cur.prefix) - sharedByAll;
    const rest = Math.min(prev.prefix.length, cur.prefix.length) - sharedByAll;
    if (beyondShared * 2 >= rest) groups[groups.length - 1]!.push(cur);
    else groups.push([cur]);
  }
  return groups;
}

/**
 * Scores every group, each on whichever sequence is free next, and returns the scores indexed by
 * `PreparedRequest.index` (length `count`). Within a group the order is kept, so the prefix reuse
 * is the same as on one sequence; the numbers differ from one sequence's only by floating-point
 * order inside llama.cpp's batched matrix products.
 */
export async function scoreGroups(groups: readonly PreparedRequest[][], sequences: readonly ScoringSequence[], count: number): Promise<PositionScore[][]> {
  const out = new Array<PositionScore[]>(count);
  let next = 0;
  let failed = false;
  const worker = async (seq: ScoringSequence): Promise<void> => {
    try {
      for (let g = next++; g < groups.length && !failed; g = next++) {
        for (const r of groups[g]!) out[r.index] = await seq.scoreAfter(r.prefix, r.tail);
      }
    } catch (e) {
      failed = true; // the other workers stop after their current group
      throw e;
    }
  };
  const used = sequences.slice(0, Math.max(1, Math.min(sequences.length, groups.length)));
  // allSettled first so that no worker is still using a sequence when an error reaches the caller.
  const settled = await Promise.allSettled(used.map(worker));
  for (const s of settled) if (s.status === "rejected") throw s.reason;
  return out;
}

function commonPrefixLength(a: readonly Token[], b: readonly Token[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
