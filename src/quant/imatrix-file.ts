// llama.cpp's importance-matrix files, both formats: the GGUF one (`NAME.in_sum2` and
// `NAME.counts` F32 tensors, imatrix.* keys; what llama-imatrix writes by default) and the legacy
// binary `.dat` one. Read into per-tensor importance vectors exactly as llama-quantize's
// load_imatrix normalises them (sums ÷ counts in f32); written in the GGUF format. Untrusted input:
// every count and length is checked against the file's size before it sizes anything.

import { FileSource, MemorySource, type ByteSource } from "../formats/byte-source.js";
import { parseGguf } from "../formats/gguf.js";
import { ggufGetNumber, ggufGetStringArray, ggufValue, type GgufKv } from "../formats/gguf-value.js";
import { GgufWriter, type GgufTensorSpec } from "../formats/gguf-writer.js";
import { tensorType } from "../formats/tensor-types.js";
import type { ByteSink } from "../formats/byte-source.js";
import { LIMITS } from "../limits.js";
import { QuantError } from "./quant-error.js";

export interface Imatrix {
  /** tensor name → importance per input column (experts concatenated) */
  entries: Map<string, Float32Array>;
  datasets: string[];
  /** chunks the sums were collected over (0 when unknown) */
  chunkCount: number;
  /** tokens per chunk (0 for legacy files) */
  chunkSize: number;
  legacy: boolean;
}

/** Raw sums as a collector holds them (what the GGUF format stores). */
export interface ImatrixSums {
  /** tensor name → Σ x² per input column, and how many rows (tokens) went into it */
  entries: Map<string, { sums: Float32Array; count: number }>;
  datasets: string[];
  chunkCount: number;
  chunkSize: number;
}

const fr = Math.fround;

function bad(file: string, what: string, hint?: string): QuantError {
  return new QuantError("QUANT_IMATRIX_FORMAT", `${file}: ${what}`, { hint: hint ?? "pass an imatrix written by llama-imatrix or dusk imatrix (GGUF or the legacy .dat format)" });
}

/** Reads an imatrix file (GGUF or legacy, told apart by the GGUF magic). */
export async function readImatrix(path: string): Promise<Imatrix> {
  let source: FileSource;
  try {
    source = await FileSource.open(path);
  } catch (e) {
    throw new QuantError("QUANT_IMATRIX_MISSING", `cannot read the imatrix ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return await readImatrixFrom(source);
  } finally {
    await source.close();
  }
}

export async function readImatrixFrom(source: ByteSource): Promise<Imatrix> {
  const magic = source.size >= 4 ? new TextDecoder().decode(await source.read(0, 4)) : "";
  return magic === "GGUF" ? readGgufImatrix(source) : readLegacyImatrix(new Uint8Array(await source.read(0, source.size)), source.name);
}

async function readGgufImatrix(source: ByteSource): Promise<Imatrix> {
  const g = await parseGguf(source);
  const file = source.name;
  const datasets = ggufGetStringArray(g.kv, "imatrix.datasets", file);
  const chunkCount = ggufGetNumber(g.kv, "imatrix.chunk_count", file);
  const chunkSize = ggufGetNumber(g.kv, "imatrix.chunk_size", file);
  if (datasets === undefined || chunkCount === undefined || chunkSize === undefined) {
    throw bad(file, "no imatrix.datasets / imatrix.chunk_count / imatrix.chunk_size metadata", "llama-quantize refuses GGUF imatrix files without them too; regenerate it with llama-imatrix or dusk imatrix");
  }
  const pairs = new Map<string, { sums?: (typeof g.tensors)[number]; counts?: (typeof g.tensors)[number] }>();
  for (const t of g.tensors) {
    const m = /^(.*)\.(in_sum2|counts)$/.exec(t.name);
    if (!m) continue;
    const p = pairs.get(m[1]!) ?? {};
    if (m[2] === "in_sum2") p.sums = t;
    else p.counts = t;
    pairs.set(m[1]!, p);
  }
  if (g.tensors.length === 0 || pairs.size === 0) throw bad(file, "no importance data (no NAME.in_sum2 / NAME.counts tensors)");
  const entries = new Map<string, Float32Array>();
  for (const [name, p] of [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!p.sums || !p.counts) throw bad(file, `mismatched sums and counts for ${name}`);
    if (p.sums.type.name !== "F32" || p.counts.type.name !== "F32") throw bad(file, `sums and counts for ${name} must be F32`);
    const sums = f32(await source.read(p.sums.offset, p.sums.byteLength));
    const counts = f32(await source.read(p.counts.offset, p.counts.byteLength));
    if (counts.length === 0 || sums.length % counts.length !== 0) throw bad(file, `${name}: ${sums.length} sums do not split into ${counts.length} experts`);
    const ne0 = sums.length / counts.length;
    const e = new Float32Array(sums.length);
    for (let j = 0; j < counts.length; j++) {
      const count = fr(lround(counts[j]!)); // counts are stored as f32, read back with lround
      for (let i = 0; i < ne0; i++) e[j * ne0 + i] = count > 0 ? sums[j * ne0 + i]! / count : 1;
    }
    entries.set(name, e);
  }
  return { entries, datasets, chunkCount, chunkSize, legacy: false };
}

/** C's lround: nearest, halves away from zero. */
function lround(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function f32(b: Uint8Array): Float32Array {
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** The legacy format: i32 n; n × (i32 len, name, i32 ncall, i32 nval, f32[nval]); then optionally i32 chunks, i32 len, dataset. */
function readLegacyImatrix(b: Uint8Array, file: string): Imatrix {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 0;
  const i32 = (what: string): number => {
    if (at + 4 > b.byteLength) throw bad(file, `truncated at byte ${at} (${what})`);
    const v = view.getInt32(at, true);
    at += 4;
    return v;
  };
  const n = i32("entry count");
  if (n < 1 || n > LIMITS.tensorCount) throw bad(file, n < 1 ? "no data" : `${n} entries exceed the limit ${LIMITS.tensorCount}`);
  const entries = new Map<string, Float32Array>();
  const utf8 = new TextDecoder("utf-8", { fatal: false });
  for (let k = 0; k < n; k++) {
    const len = i32(`entry ${k + 1} name length`);
    if (len < 0 || len > 1024 || at + len > b.byteLength) throw bad(file, `entry ${k + 1}: name length ${len} at byte ${at - 4} runs past the file`);
    const name = utf8.decode(b.subarray(at, at + len)).replace(/\0.*$/s, "");
    at += len;
    const ncall = i32(`${name} call count`);
    const nval = i32(`${name} value count`);
    if (nval < 1 || at + nval * 4 > b.byteLength) throw bad(file, `${name}: ${nval} values at byte ${at} run past the file`);
    const sums = f32(b.subarray(at, at + nval * 4));
    at += nval * 4;
    const e = new Float32Array(nval);
    const div = fr(ncall);
    for (let i = 0; i < nval; i++) e[i] = ncall > 0 ? sums[i]! / div : sums[i]!;
    entries.set(name, e);
  }
  let chunkCount = 0;
  const datasets: string[] = [];
  if (at + 4 <= b.byteLength) {
    chunkCount = i32("chunk count");
    if (at + 4 <= b.byteLength) {
      const len = view.getInt32(at, true);
      at += 4;
      if (len > 0 && at + len <= b.byteLength) datasets.push(utf8.decode(b.subarray(at, at + len)).replace(/\0.*$/s, ""));
    }
  }
  return { entries, datasets, chunkCount, chunkSize: 0, legacy: true };
}

/** Rejects NaN/Inf importances, as llama-quantize does before it starts. */
export function checkImatrixFinite(m: Imatrix, file: string): void {
  for (const [name, e] of m.entries) {
    for (let i = 0; i < e.length; i++) {
      if (!Number.isFinite(e[i]!)) throw bad(file, `${name} holds a non-finite importance (${e[i]}) at column ${i}`, "recompute the imatrix; a model that produced NaN activations is broken");
    }
  }
}

/** The GGUF imatrix file llama-imatrix writes: general.type, imatrix.* keys, sorted NAME.in_sum2/.counts pairs. */
export async function writeImatrixGguf(sink: ByteSink, m: ImatrixSums): Promise<void> {
  const kv: GgufKv = new Map([
    ["general.type", ggufValue.string("imatrix")],
    ["imatrix.datasets", { type: 9, itemType: 8, items: m.datasets }],
    ["imatrix.chunk_count", ggufValue.u32(m.chunkCount)],
    ["imatrix.chunk_size", ggufValue.u32(m.chunkSize)],
  ]);
  const F32 = tensorType("F32")!;
  const names = [...m.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const tensors: GgufTensorSpec[] = names.flatMap((name) => [
    { name: `${name}.in_sum2`, type: F32, shape: [m.entries.get(name)!.sums.length] },
    { name: `${name}.counts`, type: F32, shape: [1] },
  ]);
  const w = new GgufWriter(sink, { kv, tensors });
  for (const name of names) {
    const e = m.entries.get(name)!;
    await w.writeTensorData(new Uint8Array(e.sums.buffer, e.sums.byteOffset, e.sums.byteLength));
    await w.writeTensorData(new Uint8Array(Float32Array.of(e.count).buffer));
  }
  await w.finish();
}

/** For tests: an imatrix from bytes in memory. */
export function readImatrixBytes(bytes: Uint8Array, name = "<memory>"): Promise<Imatrix> {
  return readImatrixFrom(new MemorySource(bytes, name));
}
