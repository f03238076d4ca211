// GGUF v3 writer that streams to a ByteSink: validates the KVs and tensor list up front, lays the
// tensors out as llama.cpp requires (offset = running sum of aligned sizes, in tensor-info order),
// then takes tensor bytes in order in chunks of any size. It never interprets tensor bytes, never
// buffers more than one header, and does not close the sink (whoever opened it closes it).

import type { ByteSink, ByteSource } from "./byte-source.js";
import { COPY_CHUNK_BYTES } from "./byte-source.js";
import type { TensorTypeInfo } from "./tensor-types.js";
import { tensorByteLength } from "./tensor-types.js";
import { GGUF_ALIGNMENT_KEY, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_DIMS, ggufAlignUp } from "./gguf.js";
import { GGUF_INT_RANGES, type GgufArrayItem, type GgufKv, type GgufValue, ggufTypeName, ggufValue, isGgufType } from "./gguf-value.js";
import { BuildError } from "../errors.js";
import { LIMITS } from "../limits.js";

export interface GgufTensorSpec {
  name: string;
  type: TensorTypeInfo;
  /** outermost first, as everywhere in dusk; written innermost first */
  shape: readonly number[];
}

export interface GgufWriterOptions {
  kv: ReadonlyMap<string, GgufValue>;
  tensors: readonly GgufTensorSpec[];
  /** default: the kv's general.alignment, else 32. A different general.alignment in kv is an error. */
  alignment?: number;
}

export interface GgufLayout {
  alignment: number;
  /** header + KVs + tensor infos + padding; where tensor data starts */
  dataOffset: number;
  /** absolute offsets in the output */
  tensors: { name: string; offset: number; byteLength: number }[];
  /** total bytes the writer will have written after finish() */
  fileSize: number;
}

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

export class GgufWriter {
  readonly layout: GgufLayout;
  /** the KVs as written (general.alignment added when a non-default alignment was asked for) */
  readonly kv: GgufKv;
  private header: Uint8Array | undefined;
  private readonly zeros: Uint8Array;
  private index = 0;
  private writtenInTensor = 0;
  private finished = false;

  constructor(
    private readonly sink: ByteSink,
    options: GgufWriterOptions,
  ) {
    const { kv, alignment } = resolveAlignment(options, sink.name);
    this.kv = kv;
    checkTensors(options.tensors, sink.name);
    const enc = new ByteEncoder();
    enc.bytes(new TextEncoder().encode("GGUF"));
    enc.u32(3);
    enc.u64(BigInt(options.tensors.length));
    enc.u64(BigInt(kv.size));
    for (const [key, value] of kv) {
      enc.string(key);
      enc.u32(value.type);
      encodeValue(enc, value, key, sink.name, 0);
    }
    let rel = 0;
    const placed: { name: string; rel: number; byteLength: number }[] = [];
    for (const t of options.tensors) {
      const byteLength = tensorByteLength(t.type, t.shape)!;
      enc.string(t.name);
      enc.u32(t.shape.length);
      for (let d = t.shape.length - 1; d >= 0; d--) enc.u64(BigInt(t.shape[d]!));
      enc.u32(t.type.ggml!);
      enc.u64(BigInt(rel));
      placed.push({ name: t.name, rel, byteLength });
      rel += ggufAlignUp(byteLength, alignment);
    }
    const dataOffset = ggufAlignUp(enc.length, alignment);
    enc.bytes(new Uint8Array(dataOffset - enc.length));
    this.header = enc.result();
    this.zeros = new Uint8Array(alignment);
    this.layout = {
      alignment,
      dataOffset,
      tensors: placed.map((p) => ({ name: p.name, offset: dataOffset + p.rel, byteLength: p.byteLength })),
      fileSize: dataOffset + rel,
    };
  }

  /** Writes the header now (otherwise the first data write or finish() does). */
  async writeHeader(): Promise<void> {
    if (this.header === undefined) return;
    const h = this.header;
    this.header = undefined;
    await this.sink.write(h);
  }

  /** The tensor whose bytes come next and how many it still needs, or undefined when all are in. */
  get next(): { name: string; remaining: number } | undefined {
    this.skipEmpty();
    const t = this.layout.tensors[this.index];
    return t === undefined ? undefined : { name: t.name, remaining: t.byteLength - this.writtenInTensor };
  }

  /** Tensor bytes in tensor-info order; chunks may span tensor boundaries. */
  async writeTensorData(chunk: Uint8Array): Promise<void> {
    if (this.finished) throw misuse("gguf.write.finished", "writeTensorData after finish()", this.sink.name);
    await this.writeHeader();
    let pos = 0;
    while (pos < chunk.byteLength) {
      this.skipEmpty();
      const t = this.layout.tensors[this.index];
      if (t === undefined) {
        throw misuse("gguf.write.overflow", `${chunk.byteLength - pos} bytes of tensor data past the last tensor`, this.sink.name);
      }
      const take = Math.min(t.byteLength - this.writtenInTensor, chunk.byteLength - pos);
      await this.sink.write(chunk.subarray(pos, pos + take));
      pos += take;
      this.writtenInTensor += take;
      if (this.writtenInTensor === t.byteLength) await this.endTensor(t.byteLength);
    }
  }

  /** Streams `length` bytes of `source` at `offset` as tensor data (e.g. a TensorEntry's bytes). */
  async writeTensorFrom(source: ByteSource, offset: number, length: number, buffer?: Uint8Array): Promise<void> {
    const buf = buffer ?? new Uint8Array(Math.min(COPY_CHUNK_BYTES, Math.max(1, length)));
    for (let done = 0; done < length; ) {
      const view = buf.subarray(0, Math.min(buf.byteLength, length - done));
      await source.readInto(offset + done, view);
      await this.writeTensorData(view);
      done += view.byteLength;
    }
  }

  /** Checks every tensor got all its bytes. Does not close the sink. */
  async finish(): Promise<void> {
    if (this.finished) return;
    await this.writeHeader();
    this.skipEmpty();
    const t = this.layout.tensors[this.index];
    if (t !== undefined) {
      throw misuse("gguf.write.incomplete", `tensor ${t.name} got ${this.writtenInTensor} of ${t.byteLength} bytes, and ${this.layout.tensors.length - this.index - 1} tensors after it none`, this.sink.name);
    }
    this.finished = true;
  }

  private skipEmpty(): void {
    // zero-byte tensors need no data and no padding
    while (this.layout.tensors[this.index]?.byteLength === 0) this.index++;
  }

  private async endTensor(byteLength: number): Promise<void> {
    const pad = ggufAlignUp(byteLength, this.layout.alignment) - byteLength;
    if (pad > 0) await this.sink.write(this.zeros.subarray(0, pad));
    this.index++;
    this.writtenInTensor = 0;
  }
}

function misuse(code: string, what: string, file: string): BuildError {
  return new BuildError(code, `${file}: ${what}`, { hint: "the tensor bytes given to the GGUF writer do not match its tensor list (a bug in the caller)" });
}

function bad(code: string, what: string, file: string, hint?: string): BuildError {
  return new BuildError(code, `${file}: ${what}`, hint === undefined ? {} : { hint });
}

function resolveAlignment(options: GgufWriterOptions, file: string): { kv: GgufKv; alignment: number } {
  const kv: GgufKv = new Map(options.kv);
  const v = kv.get(GGUF_ALIGNMENT_KEY);
  const isValid = (a: number) => Number.isInteger(a) && a > 0 && (a & (a - 1)) === 0 && a <= LIMITS.ggufMaxAlignment;
  if (v !== undefined && (v.type !== 4 || !isValid(v.value))) {
    throw bad("gguf.write.alignment", `${GGUF_ALIGNMENT_KEY} must be a u32 power of two ≤ ${LIMITS.ggufMaxAlignment}`, file);
  }
  const fromKv = v?.type === 4 ? v.value : undefined;
  const alignment = options.alignment ?? fromKv ?? GGUF_DEFAULT_ALIGNMENT;
  if (!isValid(alignment)) throw bad("gguf.write.alignment", `alignment ${alignment} is not a power of two ≤ ${LIMITS.ggufMaxAlignment}`, file);
  if (fromKv !== undefined && fromKv !== alignment) {
    throw bad("gguf.write.alignment", `alignment ${alignment} disagrees with ${GGUF_ALIGNMENT_KEY} = ${fromKv} in the metadata`, file, "pass one alignment, or remove the key");
  }
  // Only a non-default alignment needs the key: files without it stay byte-identical.
  if (fromKv === undefined && alignment !== GGUF_DEFAULT_ALIGNMENT) kv.set(GGUF_ALIGNMENT_KEY, ggufValue.u32(alignment));
  return { kv, alignment };
}

function checkTensors(tensors: readonly GgufTensorSpec[], file: string): void {
  if (tensors.length > LIMITS.tensorCount) throw bad("gguf.write.tensor-count", `${tensors.length} tensors exceed the limit ${LIMITS.tensorCount}`, file);
  const names = new Set<string>();
  for (const t of tensors) {
    const nameBytes = Buffer.byteLength(t.name, "utf8");
    if (nameBytes === 0 || nameBytes > LIMITS.ggufTensorNameBytes) {
      throw bad("gguf.write.tensor-name", `tensor name "${t.name}" is ${nameBytes} bytes; GGUF allows 1..${LIMITS.ggufTensorNameBytes}`, file);
    }
    if (names.has(t.name)) throw bad("gguf.write.duplicate-tensor", `tensor ${t.name} appears twice`, file);
    names.add(t.name);
    if (t.type.ggml === undefined) throw bad("gguf.write.tensor-type", `tensor ${t.name}: type ${t.type.name} has no ggml id`, file, "convert it to F32/F16/BF16 first");
    if (t.shape.length < 1 || t.shape.length > GGUF_MAX_DIMS) {
      throw bad("gguf.write.tensor-rank", `tensor ${t.name} has ${t.shape.length} dims; GGUF allows 1..${GGUF_MAX_DIMS}`, file);
    }
    if (t.shape.some((d) => !Number.isSafeInteger(d) || d < 0 || d > LIMITS.tensorDim) || tensorByteLength(t.type, t.shape) === undefined) {
      throw bad("gguf.write.tensor-shape", `tensor ${t.name}: shape [${t.shape.join(", ")}] does not fit ${t.type.name} (innermost dim must be a multiple of ${t.type.blockElems})`, file);
    }
  }
}

function encodeValue(enc: ByteEncoder, v: GgufValue | { type: number; value: unknown }, key: string, file: string, depth: number): void {
  const wrong = (expected: string, got: unknown) =>
    bad("gguf.write.kv-value", `metadata ${key}: expected ${expected}, got ${typeof got === "bigint" ? `${got}n` : JSON.stringify(got)}`, file);
  if (v.type === 9) {
    const arr = v as { itemType: number; items: GgufArrayItem[] };
    if (!isGgufType(arr.itemType)) throw wrong("an array item type 0..12", arr.itemType);
    if (arr.itemType === 9 && depth + 1 >= LIMITS.ggufArrayDepth) throw wrong(`arrays nested at most ${LIMITS.ggufArrayDepth} deep`, depth + 1);
    enc.u32(arr.itemType);
    enc.u64(BigInt(arr.items.length));
    for (const item of arr.items) {
      if (arr.itemType === 9) {
        if (typeof item !== "object" || item.type !== 9) throw wrong("a nested array value", item);
        encodeValue(enc, item, key, file, depth + 1);
      } else {
        encodeValue(enc, { type: arr.itemType, value: item }, key, file, depth);
      }
    }
    return;
  }
  const value = (v as { value: unknown }).value;
  const range = GGUF_INT_RANGES[v.type as keyof typeof GGUF_INT_RANGES];
  if (range !== undefined) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < range[0] || value > range[1]) {
      throw wrong(`a ${ggufTypeName(v.type)} integer in [${range[0]}, ${range[1]}]`, value);
    }
  }
  switch (v.type) {
    case 0: return enc.u8(value as number);
    case 1: return enc.i8(value as number);
    case 2: return enc.u16(value as number);
    case 3: return enc.i16(value as number);
    case 4: return enc.u32(value as number);
    case 5: return enc.i32(value as number);
    case 6:
    case 12:
      if (typeof value !== "number") throw wrong(`a number (${ggufTypeName(v.type)})`, value);
      return v.type === 6 ? enc.f32(value) : enc.f64(value);
    case 7:
      if (typeof value !== "boolean") throw wrong("a boolean", value);
      return enc.u8(value ? 1 : 0);
    case 8:
      if (typeof value !== "string") throw wrong("a string", value);
      if (enc.string(value) > LIMITS.ggufStringBytes) throw wrong(`a string of at most ${LIMITS.ggufStringBytes} bytes`, `${value.slice(0, 40)}…`);
      return;
    case 10:
    case 11: {
      const ok = typeof value === "bigint" && (v.type === 10 ? value >= 0n && value <= U64_MAX : value >= I64_MIN && value <= I64_MAX);
      if (!ok) throw wrong(`a ${ggufTypeName(v.type)} bigint`, value);
      return v.type === 10 ? enc.u64(value as bigint) : enc.i64(value as bigint);
    }
  }
  throw wrong("a GGUF value type 0..12", v.type);
}

/** Growable little-endian byte buffer for the header (KVs can be tens of MB for a vocab). */
class ByteEncoder {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private static readonly utf8 = new TextEncoder();

  private reserve(n: number): void {
    if (this.length + n <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(v: number): void { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  i8(v: number): void { this.reserve(1); this.view.setInt8(this.length, v); this.length += 1; }
  u16(v: number): void { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  i16(v: number): void { this.reserve(2); this.view.setInt16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  f64(v: number): void { this.reserve(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  u64(v: bigint): void { this.reserve(8); this.view.setBigUint64(this.length, v, true); this.length += 8; }
  i64(v: bigint): void { this.reserve(8); this.view.setBigInt64(this.length, v, true); this.length += 8; }
  bytes(b: Uint8Array): void { this.reserve(b.byteLength); this.buf.set(b, this.length); this.length += b.byteLength; }
  /** u64 byte length + UTF-8 bytes */
  string(s: string): number {
    this.reserve(8 + s.length * 3);
    const { written } = ByteEncoder.utf8.encodeInto(s, this.buf.subarray(this.length + 8));
    this.view.setBigUint64(this.length, BigInt(written), true);
    this.length += 8 + written;
    return written;
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
