import { describe, expect, test } from "vitest";
import { MemorySource } from "../formats/byte-source.js";
import { tensorType } from "../formats/tensor-types.js";
import type { TensorEntry } from "../formats/tensor.js";
import { BLOCK, createInlineExec, inlineExec, type BlockExec } from "./blocks.js";
import { JS_BLOCK_KERNELS } from "./block-kernels.js";
import { rounder } from "./float.js";
import { MERGE_KERNELS } from "./methods/index.js";
import { MergePool } from "./pool.js";
import { streamTaskMergeBf16 } from "./stream-bf16.js";
import { KernelMemory } from "./wasm-memory.js";

// Values on a coarse grid (most magnitudes tie) with a few NaN/Inf: the cut falls inside a run of
// ties, so which ties stay depends on their ordinal over the whole tensor, across chunks.
function bf16Values(seed: number, n: number): Float32Array {
  let s = seed * 2654435761;
  const next = () => ((s = (Math.imul(s ^ (s >>> 15), 2246822519) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const x = new Float32Array(n).map((_, i) => (i % 997 === 5 ? [NaN, Infinity, -Infinity][i % 3]! : Math.round((next() - 0.5) * 16) / 8));
  return x.map(rounder("BF16"));
}

const bitsOf = (x: Float32Array): Uint16Array => new Uint16Array(x.length).map((_, i) => new Uint32Array(x.buffer, x.byteOffset)[i]! >>> 16);

/** the bf16 bytes the float32 path writes: the method's kernel on float32 arrays, narrowed */
async function float32Path(method: string, xs: Float32Array[], params: Record<string, number | boolean>, perInput: Record<string, number | boolean>[]): Promise<Uint8Array> {
  const out = await MERGE_KERNELS[method]!({
    tensors: xs.map((x) => Float32Array.from(x)), shape: [xs[0]!.length], base: 0, params, perInput, dtype: "BF16", key: "t", seed: 0, warn: () => undefined,
  }, inlineExec);
  const bytes = new Uint8Array(out.length * 2);
  JS_BLOCK_KERNELS.narrow!({ x: out, out: bytes, type: "BF16" }, 0, out.length, 0);
  return bytes;
}

async function streamed(method: string, xs: Float32Array[], params: Record<string, number | boolean>, perInput: Record<string, number | boolean>[], exec: BlockExec, chunk: number): Promise<Uint8Array> {
  const entries: TensorEntry[] = xs.map((x, k) => {
    // each input at an odd offset inside its source, as tensors lie inside checkpoint files
    const bytes = new Uint8Array(6 + x.length * 2);
    bytes.set(new Uint8Array(bitsOf(x).buffer), 6);
    return { name: `t${k}`, type: tensorType("BF16")!, shape: [x.length], offset: 6, byteLength: x.length * 2, source: new MemorySource(bytes) };
  });
  const parts: Uint8Array[] = [];
  let pending = 0;
  await streamTaskMergeBf16({ method, entries, base: 0, elements: xs[0]!.length, params, perInput, chunk }, async (b) => {
    expect(pending++).toBe(0); // one write at a time, in order
    await new Promise((r) => setTimeout(r, 1)); // a slow disk: the next chunk merges meanwhile
    parts.push(b.slice());
    pending--;
  }, exec);
  return Buffer.concat(parts);
}

describe.runIf(KernelMemory.available())("merges streamed on bf16 storage", () => {
  const n = 3 * BLOCK + 4321;
  const xs = [40, 41, 42, 43, 44].map((seed) => bf16Values(seed, n));
  const cases: [string, Record<string, number | boolean>, Record<string, number | boolean>[]][] = [
    ["ties", { normalize: true, lambda: 0.9, rescale: false }, [{}, { weight: 0.6, density: 0.5 }, { weight: 0.3, density: 0.3 }, { weight: -0.2, density: 1 }, { weight: 0.5, density: 0.05 }]],
    ["ties", { normalize: false, lambda: 1, rescale: false }, [{}, { weight: 1, density: 0.7 }]],
    ["task_arithmetic", { normalize: false, lambda: 1 }, [{}, { weight: 0.7 }, { weight: 0.4 }]],
  ];

  test("every chunk size, inline and on a pool, writes the float32 path's bytes", async () => {
    const pool = MergePool.create(1);
    try {
      for (const [method, params, perInput] of cases) {
        const inputs = xs.slice(0, perInput.length);
        const want = await float32Path(method, inputs, params, perInput);
        for (const [name, exec] of [["inline", createInlineExec()], ["pool", pool], ["no kernel memory", inlineExec]] as const) {
          for (const chunk of [BLOCK, 2 * BLOCK, n]) {
            const got = await streamed(method, inputs, params, perInput, exec, chunk);
            expect(Buffer.compare(got, want), `${method} ${perInput.length - 1} deltas, ${name}, chunk ${chunk}`).toBe(0);
          }
        }
      }
    } finally {
      await pool.close();
    }
  });

  test("a failed read surfaces, and no write follows it", async () => {
    const bytes = new Uint8Array(n * 2);
    const broken: TensorEntry = { name: "t1", type: tensorType("BF16")!, shape: [n], offset: 0, byteLength: n * 2, source: new MemorySource(bytes.subarray(0, BLOCK * 2 + 10), "short.safetensors") };
    const good: TensorEntry = { ...broken, name: "t0", source: new MemorySource(bytes) };
    let writes = 0;
    await expect(streamTaskMergeBf16({ method: "task_arithmetic", entries: [good, broken], base: 0, elements: n, params: { lambda: 1 }, perInput: [{}, { weight: 1 }], chunk: BLOCK }, async () => void writes++, createInlineExec())).rejects.toThrow(/short\.safetensors/);
    expect(writes).toBe(1); // the first chunk was complete
  });
});
