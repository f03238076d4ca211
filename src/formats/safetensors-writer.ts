// Streams one safetensors file into a ByteSink: the header is computed up front from the tensor
// list, then each tensor's bytes arrive in order, in as many chunks as the caller likes, so memory
// stays bounded by the caller's chunk size. It does not choose shards (safetensors-index.ts), does
// not convert dtypes (dtype-convert.ts) and does not close or rename the sink (the build does).
//
// Header bytes match the reference writer (serde_json compact, `__metadata__` first, entries as
// {dtype, shape, data_offsets}, spaces to a multiple of 8), so re-writing a parsed file is identical.

import { BuildError } from "../errors.js";
import { LIMITS } from "../limits.js";
import type { ByteSink } from "./byte-source.js";
import { tensorByteLength, type TensorTypeInfo } from "./tensor-types.js";

export interface SafetensorsTensorSpec {
  name: string;
  type: TensorTypeInfo;
  /** outermost first */
  shape: readonly number[];
}

export interface SafetensorsLayoutEntry extends SafetensorsTensorSpec {
  /** absolute offset in the file */
  offset: number;
  byteLength: number;
}

export interface SafetensorsLayout {
  /** 8-byte length + padded JSON, ready to write */
  headerBytes: Uint8Array;
  /** N, the padded JSON length */
  headerLength: number;
  /** 8 + N */
  dataOffset: number;
  /** same order as given; data is written in this order */
  tensors: SafetensorsLayoutEntry[];
  /** whole file size */
  fileSize: number;
}

/** `undefined` means the HF default {format: "pt"}; `null` omits `__metadata__`. */
export type SafetensorsMetadataOption = ReadonlyMap<string, string> | Readonly<Record<string, string>> | null | undefined;

export const DEFAULT_SAFETENSORS_METADATA: ReadonlyMap<string, string> = new Map([["format", "pt"]]);

/**
 * Computes the header and offsets for tensors written in the given order. Throws BuildError
 * `safetensors-writer.*` for duplicate names, a tensor named `__metadata__`, a type safetensors
 * cannot store, a bad shape, or a header over the reference reader's limit.
 */
export function layoutSafetensors(tensors: readonly SafetensorsTensorSpec[], metadata?: SafetensorsMetadataOption): SafetensorsLayout {
  const meta = metadata === undefined ? DEFAULT_SAFETENSORS_METADATA : metadata === null ? null
    : metadata instanceof Map ? metadata : new Map(Object.entries(metadata));
  const parts: string[] = [];
  if (meta !== null) {
    const kv: string[] = [];
    for (const [k, v] of meta) {
      if (typeof v !== "string") throw new BuildError("safetensors-writer.metadata", `__metadata__ value for "${k}" is not a string`, { hint: "safetensors metadata maps strings to strings" });
      kv.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`"__metadata__":{${kv.join(",")}}`);
  }
  const seen = new Set<string>();
  const entries: SafetensorsLayoutEntry[] = [];
  let begin = 0;
  for (const t of tensors) {
    if (t.name === "__metadata__") {
      throw new BuildError("safetensors-writer.reserved-name", 'a tensor cannot be named "__metadata__"', { hint: "rename the tensor; the key is reserved for metadata" });
    }
    if (seen.has(t.name)) throw new BuildError("safetensors-writer.duplicate-name", `tensor "${t.name}" is listed twice`, { hint: "each tensor name may appear once per file" });
    seen.add(t.name);
    if (t.type.safetensors === undefined) {
      throw new BuildError("safetensors-writer.type", `tensor "${t.name}" has type ${t.type.name}, which safetensors cannot store`, { hint: "dequantize or convert it to F32/F16/BF16 first" });
    }
    const byteLength = t.shape.length <= LIMITS.tensorRank ? tensorByteLength(t.type, t.shape) : undefined;
    if (byteLength === undefined) {
      throw new BuildError("safetensors-writer.shape", `tensor "${t.name}" has an invalid shape [${t.shape.join(", ")}]`, { hint: `dimensions must be non-negative integers, rank at most ${LIMITS.tensorRank}` });
    }
    parts.push(`${JSON.stringify(t.name)}:{"dtype":${JSON.stringify(t.type.safetensors)},"shape":[${t.shape.join(",")}],"data_offsets":[${begin},${begin + byteLength}]}`);
    entries.push({ name: t.name, type: t.type, shape: t.shape, offset: begin, byteLength });
    begin += byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  // why pad to 8: the reference writer does, so F64/I64 data starts 8-aligned after the 8-byte length
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  if (headerLength > LIMITS.safetensorsHeaderBytes) {
    throw new BuildError("safetensors-writer.header-too-large", `header would be ${headerLength} bytes, over the ${LIMITS.safetensorsHeaderBytes}-byte limit`, { hint: "split the tensors over more shards" });
  }
  const headerBytes = new Uint8Array(8 + headerLength).fill(0x20, 8 + json.length);
  new DataView(headerBytes.buffer).setBigUint64(0, BigInt(headerLength), true);
  headerBytes.set(json, 8);
  const dataOffset = 8 + headerLength;
  for (const e of entries) e.offset += dataOffset;
  return { headerBytes, headerLength, dataOffset, tensors: entries, fileSize: dataOffset + begin };
}

/**
 * Usage: `const w = await SafetensorsWriter.begin(sink, specs)`, then `await w.write(name, chunk)`
 * for every tensor in spec order (any number of chunks each), then `await w.finish()`.
 * The caller closes the sink.
 */
export class SafetensorsWriter {
  private index = 0;
  /** bytes already written of tensors[index] */
  private written = 0;
  private finished = false;

  private constructor(
    private readonly sink: ByteSink,
    readonly layout: SafetensorsLayout,
  ) {}

  /** Writes the header at once; the sink must be empty (offsets are absolute from byte 0). */
  static async begin(sink: ByteSink, tensors: readonly SafetensorsTensorSpec[], metadata?: SafetensorsMetadataOption): Promise<SafetensorsWriter> {
    if (sink.position !== 0) {
      throw new BuildError("safetensors-writer.sink-not-empty", `${sink.name}: sink already holds ${sink.position} bytes`, { hint: "write each safetensors file into a fresh sink" });
    }
    const layout = layoutSafetensors(tensors, metadata);
    await sink.write(layout.headerBytes);
    return new SafetensorsWriter(sink, layout);
  }

  /** the tensor being written (it may already be complete), or undefined past the last */
  get currentTensor(): SafetensorsLayoutEntry | undefined {
    return this.layout.tensors[this.index];
  }

  /**
   * Appends `chunk` to tensor `name`. `name` must be the current tensor, or the next one once the
   * current is complete (zero-byte tensors complete at once and may be written or skipped).
   * Chunks may not pass the tensor's end.
   */
  async write(name: string, chunk: Uint8Array): Promise<void> {
    if (this.finished) {
      throw new BuildError("safetensors-writer.order", `${this.sink.name}: bytes for "${name}" after finish()`, { hint: "write everything before finish()" });
    }
    let cur = this.layout.tensors[this.index];
    while (cur !== undefined && cur.name !== name && this.written === cur.byteLength) {
      this.index++;
      this.written = 0;
      cur = this.layout.tensors[this.index];
    }
    if (cur === undefined) {
      throw new BuildError("safetensors-writer.order", `${this.sink.name}: bytes for "${name}" after every tensor was written`, { hint: "the tensor list given to begin() is complete; check for a duplicate or unlisted tensor" });
    }
    if (cur.name !== name) {
      throw new BuildError("safetensors-writer.order", `${this.sink.name}: expected bytes for "${cur.name}" (${cur.byteLength - this.written} left), got bytes for "${name}"`, { hint: "write tensors completely and in the order given to begin()" });
    }
    if (this.written + chunk.byteLength > cur.byteLength) {
      throw new BuildError("safetensors-writer.overflow", `${this.sink.name}: "${name}" takes ${cur.byteLength} bytes; this chunk would make ${this.written + chunk.byteLength}`, { hint: "the data does not match the declared shape and type" });
    }
    if (chunk.byteLength > 0) await this.sink.write(chunk);
    this.written += chunk.byteLength;
  }

  /** Verifies every tensor is complete and the sink holds exactly the file. Does not close the sink. */
  async finish(): Promise<void> {
    const tensors = this.layout.tensors;
    while (this.index < tensors.length && this.written === tensors[this.index]!.byteLength) {
      this.index++;
      this.written = 0;
    }
    const cur = tensors[this.index];
    if (cur !== undefined) {
      const missing = tensors.length - this.index;
      throw new BuildError("safetensors-writer.incomplete", `${this.sink.name}: "${cur.name}" has ${this.written} of ${cur.byteLength} bytes and ${missing} tensor(s) are unfinished`, { hint: "the build stopped early; the output is incomplete and must not be used" });
    }
    if (this.sink.position !== this.layout.fileSize) {
      throw new BuildError("safetensors-writer.size", `${this.sink.name}: sink holds ${this.sink.position} bytes, expected ${this.layout.fileSize}`, { hint: "something else wrote into the sink" });
    }
    this.finished = true;
  }
}

/**
 * The order the reference writer (and so transformers' save_pretrained) stores tensors in:
 * descending dtype alignment rank, then name by UTF-8 bytes. Use it to mimic HF files exactly.
 */
export function referenceWriterOrder<T extends SafetensorsTensorSpec>(tensors: readonly T[]): T[] {
  const rank = (t: T): number => REFERENCE_DTYPE_ORDER.indexOf(t.type.safetensors ?? "");
  return [...tensors].sort((a, b) => rank(b) - rank(a) || Buffer.compare(Buffer.from(a.name, "utf8"), Buffer.from(b.name, "utf8")));
}

/** the Rust `Dtype` enum's declaration order, which its derived Ord follows */
const REFERENCE_DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];
