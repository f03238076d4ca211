// Task arithmetic and TIES (without rescaling) on bf16 storage, streamed: bf16 inputs are read a
// chunk at a time straight into bf16 slots, merged by the SIMD kernels with working type BF16,
// and the output's bf16 bytes written as each chunk is done. Memory is three sets of K chunks
// (a set read ahead while one merges and one is written), not the tensor: nothing is touched
// for the first time after the first chunks (this VM pays ~10 µs a page fault), and the math
// of chunk c overlaps the read of c + 1 and the write of c − 1.
//
// TIES needs each task vector's top-k cut before any element is combined, so a tensor of more
// than one chunk is read twice: pass 1 subtracts and counts each delta's magnitudes (bf16 keys:
// the histogram alone places the cut), pass 2 subtracts again, counts the ties at the cut where
// only some of them stay (their ordinal runs on from chunk to chunk, as in index order over the
// whole tensor), and combines. The bytes equal the float32 path's (src/merge/executor.ts).

import type { TensorEntry } from "../formats/tensor.js";
import { TASK_ARITHMETIC_VARIANTS } from "../recipe/merge-methods.js";
import { BLOCK, inlineExec, type BlockExec } from "./blocks.js";
import { fusedTopK, taskWeights } from "./methods/task-arithmetic.js";
import { prefix, topKCutOfHistogram, type MagnitudeHistogram, type TopKCut } from "./select.js";

/** why 1 Mi elements (2 MiB an input): a dispatch's cost (~50 µs) stays small beside the chunk's math, and three sets stay a few MiB */
export const STREAM_CHUNK = 1 << 20;
/** one set merging, one read ahead, one being written */
const SETS = 3;

export interface StreamedTaskMerge {
  method: string;
  /** the inputs' stored tensors (bf16, `elements` each), the base among them */
  entries: TensorEntry[];
  base: number;
  elements: number;
  params: Record<string, number | boolean>;
  perInput: Record<string, number | boolean>[];
  /** elements per chunk (a multiple of the kernels' block; default STREAM_CHUNK) */
  chunk?: number;
}

/**
 * Merges `m` chunk by chunk and hands each chunk's output bytes to `write` in order (each valid
 * until its write resolves).
 */
export async function streamTaskMergeBf16(m: StreamedTaskMerge, write: (bytes: Uint8Array) => Promise<void>, exec: BlockExec = inlineExec): Promise<void> {
  const v = TASK_ARITHMETIC_VARIANTS[m.method]!;
  const n = m.elements;
  const K = m.entries.length;
  const size = Math.min(Math.max(BLOCK, Math.floor((m.chunk ?? STREAM_CHUNK) / BLOCK) * BLOCK), n);
  const chunks = Math.max(1, Math.ceil(n / size));
  const sets = Math.min(SETS, chunks);
  // slots set·K + k, fetched once: an exec without kernel memory makes a new array each call
  const slots = Array.from({ length: sets }, (_, set) => m.entries.map((_, k) => exec.packedSlot(set * K + k, size)));
  const others = m.entries.map((_, k) => k).filter((k) => k !== m.base);
  const fused = fusedTopK(v, m.params);
  const keep = others.map((k) => (fused ? Math.trunc(Number(m.perInput[k]!.density) * n) : n));
  const ranked = keep.some((k) => k < n);
  const span = (c: number): [number, number] => [c * size, Math.min(n, (c + 1) * size) - c * size];

  const read = async (c: number, set: number): Promise<void> => {
    const [from, count] = span(c);
    await Promise.all(m.entries.map((e, k) => e.source.readInto(e.offset + from * 2, bytesOf(slots[set]![k]!.subarray(0, count)))));
  };
  /** the task vectors of a chunk in place; with `totals`, each one's magnitudes counted into its own */
  const subtract = async (set: number, count: number, totals?: MagnitudeHistogram[]): Promise<void> => {
    for (const [i, k] of others.entries()) {
      const x = slots[set]![k]!.subarray(0, count), base = slots[set]![m.base]!.subarray(0, count);
      const parts = await exec.mapRanges<{ counts: Uint32Array }>("subtractBf16", { x, base, histogram: totals !== undefined }, count);
      if (totals) for (const part of parts) addCounts(totals[i]!.counts, part.counts);
    }
  };

  // pass 1 (TIES): each delta's magnitude histogram; with one chunk, its deltas stay for pass 2
  let cuts: ReturnType<typeof topKCutOfHistogram>[] = keep.map(() => ({ a: -1, take: 0, equal: 0 }));
  if (ranked) {
    const totals = others.map(() => ({ counts: new Float64Array(1 << 15), lowBits: 0 }));
    await overChunks(chunks, sets, read, (c, set) => subtract(set, span(c)[1], totals));
    cuts = totals.map((h, i) => topKCutOfHistogram(h, n, keep[i]!));
  }

  // pass 2: deltas, the ties' ordinals where only some ties stay, the combine, the write
  const { weights, divisor } = taskWeights(m.perInput, m.base, "BF16");
  const tiesBefore = others.map(() => 0);
  let writing: Promise<void> | undefined;
  const resident = ranked && chunks === 1;
  await overChunks(chunks, sets, resident ? async () => undefined : read, async (c, set) => {
    const count = span(c)[1];
    if (!resident) await subtract(set, count);
    const deltas = others.map((k) => slots[set]![k]!.subarray(0, count));
    const chunkCuts: TopKCut[] = [];
    for (const [i, cut] of cuts.entries()) {
      let starts: number[] = [];
      if (cut.a !== -1 && cut.take !== cut.equal) {
        const ties = prefix(await exec.map<number[]>("cutCountsBf16", { x: deltas[i], a: cut.a }, count), 0);
        starts = ties.at.map((s) => s + tiesBefore[i]!);
        tiesBefore[i]! += ties.total;
      }
      chunkCuts.push({ a: cut.a, take: cut.take, starts });
    }
    const base = slots[set]![m.base]!.subarray(0, count);
    await exec.map("combineBf16", {
      base, deltas, w: weights, consensus: v.consensus === "sum", normalize: m.params.normalize === true,
      lambda: Number(m.params.lambda), divisor, ...(fused ? { cuts: chunkCuts } : {}),
    }, count);
    await writing; // the write before this one used another set
    writing = write(bytesOf(base));
    writing.catch(() => undefined); // its failure surfaces when awaited, not as an unhandled rejection
  });
  await writing;
}

/**
 * `work(c, set)` on chunks 0…count−1 in order, each read into `set` = c mod sets first, the
 * next max(1, sets − 1) chunks read ahead while it works; a set is read again only after `work`
 * on the chunk after its last one has resolved (work waits for the write before its own).
 */
async function overChunks(count: number, sets: number, read: (c: number, set: number) => Promise<void>, work: (c: number, set: number) => Promise<void>): Promise<void> {
  const reads: Promise<void>[] = [];
  const start = (c: number): void => {
    if (c >= count) return;
    reads[c] = read(c, c % sets);
    reads[c]!.catch(() => undefined); // surfaces when awaited
  };
  const ahead = Math.max(1, sets - 1);
  for (let c = 0; c < ahead; c++) start(c);
  for (let c = 0; c < count; c++) {
    await reads[c];
    await work(c, c % sets);
    start(c + ahead);
  }
}

const bytesOf = (x: Uint16Array): Uint8Array => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

function addCounts(total: Float64Array, part: Uint32Array): void {
  for (let d = 0; d < total.length; d++) total[d]! += part[d]!;
}
