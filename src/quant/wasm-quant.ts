// K-quant (Q2_K … Q6_K), IQ4_NL, IQ4_XS and Q8_0 rows through WebAssembly (wasm/quantizers.c): the same bytes as the JavaScript
// quantizers (quantize-k.ts), which replay every f32 operation with Math.fround and so pay a double
// ↔ float conversion per operation; WebAssembly computes in f32 itself. Each thread (the calling
// one, every quantization worker) has its own instance and memory; rows are copied in a few MiB
// at a time and the blocks copied back. `DUSK_QUANT_WASM=0` keeps the JavaScript quantizers.

import { QUANTIZERS_WASM_BASE64 } from "./wasm/quantizers.wasm.js";

/** the C side's type codes */
const TYPE_CODES: Readonly<Record<string, number>> = { Q4_K: 0, Q5_K: 1, Q6_K: 2, Q2_K: 3, Q3_K: 4, Q8_0: 5, IQ4_NL: 6, IQ4_XS: 7 };
/** [elements, bytes] of a block */
const BLOCKS: Readonly<Record<string, [number, number]>> = {
  Q4_K: [256, 144], Q5_K: [256, 176], Q6_K: [256, 210], Q2_K: [256, 84], Q3_K: [256, 110], Q8_0: [32, 34], IQ4_NL: [32, 18], IQ4_XS: [256, 136],
};
/** why 4 MiB of f32 rows a call: a row of any real model fits, and the copies stay in cache */
const BATCH_BYTES = 4 << 20;
const PAGE = 65536;

/** the module's exports (the project's types have no DOM lib, so no WebAssembly types either) */
interface KQuants {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  quantize_rows(type: number, x: number, nrows: number, n: number, y: number, qw: number): void;
  __heap_base: { value: number };
}
const wasm = (globalThis as unknown as { WebAssembly?: { Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: unknown } } }).WebAssembly;

let instance: KQuants | null | undefined; // per thread: module state is per worker

function kQuants(): KQuants | null {
  if (instance === undefined) {
    try {
      instance = wasm ? (new wasm.Instance(new wasm.Module(Buffer.from(QUANTIZERS_WASM_BASE64, "base64"))).exports as KQuants) : null;
    } catch {
      instance = null; // no WebAssembly here: the JavaScript quantizers run
    }
  }
  return instance;
}

/** Whether rows of `type` are quantized here rather than by the JavaScript quantizers. */
export function wasmQuantizes(type: string): boolean {
  return TYPE_CODES[type] !== undefined && process.env.DUSK_QUANT_WASM !== "0" && kQuants() !== null;
}

/**
 * `nrows` rows of `nPerRow` values of `x` (whole blocks, checked by the caller) → the blocks
 * of `type` in y[0 ..), with the per-column importance `imatrix` when given.
 */
export function quantizeRowsWasm(type: string, x: Float32Array, nrows: number, nPerRow: number, imatrix: Float32Array | undefined, y: Uint8Array): void {
  const k = kQuants()!;
  const [blockElems, blockBytes] = BLOCKS[type]!;
  const rowBytes = (nPerRow / blockElems) * blockBytes;
  const rows = Math.max(1, Math.min(nrows, Math.floor(BATCH_BYTES / (nPerRow * 4))));
  // layout after the module's data and stack: qw, then x rows, then their blocks (16-aligned)
  const align = (n: number): number => Math.ceil(n / 16) * 16;
  const qw = align(Number(k.__heap_base.value));
  const xAt = align(qw + (imatrix ? nPerRow * 4 : 0));
  const yAt = align(xAt + rows * nPerRow * 4);
  const end = yAt + rows * rowBytes;
  if (end > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((end - k.memory.buffer.byteLength) / PAGE));
  const heap = k.memory.buffer;
  if (imatrix) new Float32Array(heap, qw, nPerRow).set(imatrix);
  const xs = new Float32Array(heap, xAt, rows * nPerRow);
  const ys = new Uint8Array(heap, yAt, rows * rowBytes);
  for (let r = 0; r < nrows; r += rows) {
    const m = Math.min(rows, nrows - r);
    xs.set(x.subarray(r * nPerRow, (r + m) * nPerRow));
    k.quantize_rows(TYPE_CODES[type]!, xAt, m, nPerRow, yAt, imatrix ? qw : 0);
    y.set(ys.subarray(0, m * rowBytes), r * rowBytes);
  }
}
