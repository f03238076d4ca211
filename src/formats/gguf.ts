// GGUF v2/v3 parser: header, typed metadata KVs and tensor infos from a ByteSource, validated
// against LIMITS and the file size before anything is allocated. It reads no tensor data: tensors
// come back as TensorEntry (absolute offsets, outermost-first shapes). Writing is gguf-writer.ts.

import type { ByteSource } from "./byte-source.js";
import type { TensorEntry } from "./tensor.js";
import { tensorByteLength, tensorTypeFromGgml } from "./tensor-types.js";
import { GgufCursor } from "./gguf-cursor.js";
import { type GgufArrayItem, type GgufKv, type GgufType, type GgufValue, ggufTypeName, isGgufType } from "./gguf-value.js";
import { FormatError, type FormatErrorDetails } from "../errors.js";
import { LIMITS } from "../limits.js";

export const GGUF_MAGIC = "GGUF";
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGUF_ALIGNMENT_KEY = "general.alignment";
/** ggml's GGML_MAX_DIMS */
export const GGUF_MAX_DIMS = 4;

export interface GgufFile {
  /** 2 or 3 (identical layouts; v3 added big-endian files, which are refused) */
  version: number;
  /** typed metadata in file order */
  kv: GgufKv;
  /** in tensor-info order; offsets absolute, shapes outermost-first */
  tensors: TensorEntry[];
  alignment: number;
  /** absolute offset of the data section (tensor offsets in the file are relative to it) */
  dataOffset: number;
  sourceName: string;
  source: ByteSource;
}

/** Smallest encodings, used to reject counts that the remaining bytes cannot possibly hold. */
const MIN_KV_BYTES = 8 + 4 + 1; // key length, type, 1-byte value
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8; // name length, n_dims, type, offset
const FIXED_SIZES: Partial<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const MIN_ITEM_BYTES: Record<number, number> = { ...FIXED_SIZES, 8: 8, 9: 4 + 8 } as Record<number, number>;

export function ggufAlignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

export async function parseGguf(source: ByteSource): Promise<GgufFile> {
  const file = source.name;
  const fail = (code: string, what: string, d: Omit<FormatErrorDetails, "file">): never => {
    throw new FormatError(code, what, { file, ...d });
  };
  const c = new GgufCursor(source);

  await c.need(4, "magic");
  const magic = String.fromCharCode(c.u8(), c.u8(), c.u8(), c.u8());
  if (magic !== GGUF_MAGIC) {
    fail("gguf.magic", "not a GGUF file", {
      offset: 0,
      field: "magic",
      expected: `"GGUF"`,
      actual: JSON.stringify(magic),
      hint: magicHint(await source.read(0, Math.min(9, source.size))),
    });
  }
  await c.need(4 + 8 + 8, "header");
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    fail("gguf.version", "unsupported GGUF version", {
      offset: 4,
      field: "version",
      expected: "2 or 3",
      actual: String(version),
      hint:
        version === 1
          ? "GGUF v1 (2023) used 32-bit counts; re-convert the model with a current llama.cpp"
          : version === 0x03000000 || version === 0x02000000
            ? "this is a big-endian GGUF; dusk reads little-endian files only"
            : "the file is damaged or from a newer GGUF revision",
    });
  }
  const tensorCount = c.u64Number();
  const kvCount = c.u64Number();
  const afterCounts = source.size - c.pos;
  if (tensorCount > LIMITS.tensorCount || tensorCount * MIN_TENSOR_INFO_BYTES > afterCounts) {
    fail("gguf.tensor-count", "tensor count is impossible for this file", {
      offset: 8,
      field: "tensor_count",
      expected: `at most ${Math.min(LIMITS.tensorCount, Math.floor(afterCounts / MIN_TENSOR_INFO_BYTES))} (limit, or what ${afterCounts} remaining bytes can hold)`,
      actual: String(tensorCount),
      hint: "the header is corrupt or the file is truncated",
    });
  }
  if (kvCount > LIMITS.ggufKvCount || kvCount * MIN_KV_BYTES + tensorCount * MIN_TENSOR_INFO_BYTES > afterCounts) {
    fail("gguf.kv-count", "metadata KV count is impossible for this file", {
      offset: 16,
      field: "kv_count",
      expected: `at most ${Math.min(LIMITS.ggufKvCount, Math.floor(afterCounts / MIN_KV_BYTES))} (limit, or what ${afterCounts} remaining bytes can hold)`,
      actual: String(kvCount),
      hint: "the header is corrupt or the file is truncated",
    });
  }

  const kv: GgufKv = new Map();
  for (let i = 0; i < kvCount; i++) {
    const at = c.pos;
    const key = await readString(c, `key of KV #${i}`);
    if (kv.has(key)) {
      fail("gguf.duplicate-key", "metadata key appears twice", {
        offset: at,
        field: key,
        expected: "unique keys",
        actual: `a second ${key}`,
        hint: "llama.cpp refuses files with duplicate keys",
      });
    }
    await c.need(4, `type of ${key}`);
    const typeAt = c.pos;
    const type = c.u32();
    if (!isGgufType(type)) {
      fail("gguf.value-type", "unknown metadata value type", {
        offset: typeAt,
        field: key,
        expected: "0..12",
        actual: String(type),
        hint: "the metadata is corrupt, or a length before this key was wrong",
      });
    }
    kv.set(key, await readValue(c, type as GgufType, key, 0));
  }

  const alignment = readAlignment(kv, file);

  const infos: { name: string; dims: number[]; ggml: number; rel: number; at: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const at = c.pos;
    await c.need(8, `name length of tensor #${i}`);
    const nameLength = c.u64Number();
    if (nameLength > LIMITS.ggufTensorNameBytes) {
      fail("gguf.tensor-name-length", "tensor name is too long", {
        offset: at,
        field: `tensor #${i} name`,
        expected: `at most ${LIMITS.ggufTensorNameBytes} bytes (GGML_MAX_NAME)`,
        actual: `${nameLength} bytes`,
        hint: "llama.cpp cannot load this tensor; shorten the name when converting",
      });
    }
    await c.need(nameLength + 4, `tensor #${i} name`);
    const name = c.utf8(nameLength);
    if (names.has(name)) {
      fail("gguf.duplicate-tensor", "tensor name appears twice", {
        offset: at,
        field: name,
        expected: "unique tensor names",
        actual: `a second ${name}`,
        hint: "llama.cpp refuses duplicate tensor names; the file is corrupt or was written by a buggy tool",
      });
    }
    names.add(name);
    const nDims = c.u32();
    if (nDims > GGUF_MAX_DIMS) {
      fail("gguf.tensor-rank", "tensor has too many dimensions", {
        offset: at,
        field: name,
        expected: `at most ${GGUF_MAX_DIMS} (GGML_MAX_DIMS)`,
        actual: String(nDims),
        hint: "ggml tensors have at most 4 dims; the tensor table is corrupt",
      });
    }
    await c.need(nDims * 8 + 4 + 8, `tensor ${name} info`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const dim = c.u64Number();
      if (dim > LIMITS.tensorDim) {
        fail("gguf.tensor-dim", "tensor dimension is too large", {
          offset: at,
          field: `${name} dim ${d}`,
          expected: `at most ${LIMITS.tensorDim}`,
          actual: String(dim),
          hint: "the tensor table is corrupt",
        });
      }
      dims.push(dim);
    }
    const ggml = c.u32();
    const rel = c.u64Number();
    infos.push({ name, dims, ggml, rel, at });
  }
  const dataOffset = ggufAlignUp(c.pos, alignment);

  const tensors: TensorEntry[] = [];
  for (const info of infos) {
    const type = tensorTypeFromGgml(info.ggml);
    if (type === undefined) {
      fail("gguf.tensor-type", "unknown ggml tensor type", {
        offset: info.at,
        field: info.name,
        expected: "a ggml type id from the table in tensor-types.ts",
        actual: String(info.ggml),
        hint: "the file may use a quantization newer than dusk knows about",
      });
    }
    const shape = info.dims.slice().reverse();
    const byteLength = tensorByteLength(type!, shape);
    if (byteLength === undefined) {
      fail("gguf.tensor-shape", "tensor shape does not fit its type", {
        offset: info.at,
        field: info.name,
        expected: `innermost dim divisible by ${type!.blockElems} (${type!.name}) and a size below 2^53`,
        actual: `dims ${JSON.stringify(info.dims)} (innermost first)`,
        hint: "ggml stores whole blocks along the innermost dim; the tensor table is corrupt",
      });
    }
    if (info.rel % alignment !== 0) {
      fail("gguf.tensor-misaligned", "tensor offset is not aligned", {
        offset: info.at,
        field: info.name,
        expected: `a multiple of ${alignment}`,
        actual: String(info.rel),
        hint: "llama.cpp needs every tensor aligned to general.alignment; re-write the file",
      });
    }
    const offset = dataOffset + info.rel;
    if (!(offset + byteLength! <= source.size)) {
      fail("gguf.tensor-out-of-bounds", "tensor data extends past the end of the file", {
        offset: info.at,
        field: info.name,
        expected: `bytes [${offset}, ${offset + byteLength!}) inside the file`,
        actual: `file size ${source.size}`,
        hint: "the file is truncated (an interrupted download?) or its tensor table is corrupt",
      });
    }
    tensors.push({ name: info.name, type: type!, shape, offset, byteLength: byteLength!, source });
  }
  checkOverlaps(tensors, file);

  return { version, kv, tensors, alignment, dataOffset, sourceName: file, source };
}

async function readString(c: GgufCursor, field: string): Promise<string> {
  if (!c.has(8)) await c.need(8, `${field} length`);
  const at = c.pos;
  const length = c.u64Number();
  if (length > LIMITS.ggufStringBytes) {
    throw new FormatError("gguf.string-length", "string is too long", {
      file: c.source.name,
      offset: at,
      field,
      expected: `at most ${LIMITS.ggufStringBytes} bytes`,
      actual: `${length} bytes`,
      hint: "a string length in the file is corrupt",
    });
  }
  if (!c.has(length)) await c.need(length, field);
  return c.utf8(length);
}

async function readValue(c: GgufCursor, type: GgufType, field: string, depth: number): Promise<GgufValue> {
  if (type === 8) return { type, value: await readString(c, field) };
  if (type !== 9) {
    await c.need(FIXED_SIZES[type]!, field);
    return readFixed(c, type) as GgufValue;
  }
  const at = c.pos;
  await c.need(4 + 8, `${field} array header`);
  const itemType = c.u32();
  const count = c.u64Number();
  const fail = (code: string, what: string, d: Omit<FormatErrorDetails, "file">): never => {
    throw new FormatError(code, what, { file: c.source.name, offset: at, field, ...d });
  };
  if (!isGgufType(itemType)) {
    fail("gguf.value-type", "unknown array element type", { expected: "0..12", actual: String(itemType), hint: "the metadata is corrupt" });
  }
  if (itemType === 9 && depth + 1 >= LIMITS.ggufArrayDepth) {
    fail("gguf.array-depth", "arrays are nested too deeply", {
      expected: `at most ${LIMITS.ggufArrayDepth} levels`,
      actual: `more than ${depth + 1}`,
      hint: "no model needs nested arrays this deep; the metadata is corrupt or hostile",
    });
  }
  const minBytes = MIN_ITEM_BYTES[itemType]!;
  if (count > LIMITS.ggufArrayLength || count * minBytes > c.remaining) {
    fail("gguf.array-length", "array length is impossible for this file", {
      expected: `at most ${Math.min(LIMITS.ggufArrayLength, Math.floor(c.remaining / minBytes))} ${ggufTypeName(itemType)} items (limit, or what the remaining bytes hold)`,
      actual: String(count),
      hint: "the array header is corrupt or the file is truncated",
    });
  }
  const items: GgufArrayItem[] = new Array(count);
  if (itemType === 8) {
    for (let i = 0; i < count; i++) {
      const s = readStringFast(c, field, i);
      items[i] = typeof s === "string" ? s : await s; // no microtask per buffered token
    }
  } else if (itemType === 9) {
    for (let i = 0; i < count; i++) items[i] = (await readValue(c, 9, `${field}[${i}]`, depth + 1)) as GgufArrayItem;
  } else {
    await c.need(count * minBytes, field);
    for (let i = 0; i < count; i++) items[i] = readFixed(c, itemType).value;
  }
  return { type: 9, itemType: itemType as GgufType, items };
}

/** Vocabulary arrays: stay synchronous while the bytes are buffered (one await per refill). */
function readStringFast(c: GgufCursor, field: string, i: number): string | Promise<string> {
  if (c.has(8)) {
    const save = c.pos;
    const length = c.u64Number();
    if (length <= LIMITS.ggufStringBytes && c.has(length)) return c.utf8(length);
    c.pos = save;
  }
  return readString(c, `${field}[${i}]`);
}

function readFixed(c: GgufCursor, type: number): { type: GgufType; value: number | bigint | boolean } {
  switch (type) {
    case 0: return { type, value: c.u8() };
    case 1: return { type, value: c.i8() };
    case 2: return { type, value: c.u16() };
    case 3: return { type, value: c.i16() };
    case 4: return { type, value: c.u32() };
    case 5: return { type, value: c.i32() };
    case 6: return { type, value: c.f32() };
    case 7: return { type, value: c.u8() !== 0 };
    case 10: return { type, value: c.u64() };
    case 11: return { type, value: c.i64() };
    case 12: return { type, value: c.f64() };
  }
  throw new Error(`readFixed: type ${type} is not fixed-size`);
}

function readAlignment(kv: GgufKv, file: string): number {
  const v = kv.get(GGUF_ALIGNMENT_KEY);
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const a = v.type === 4 ? v.value : NaN;
  if (v.type !== 4 || a <= 0 || (a & (a - 1)) !== 0 || a > LIMITS.ggufMaxAlignment) {
    throw new FormatError("gguf.alignment", "general.alignment is invalid", {
      file,
      field: GGUF_ALIGNMENT_KEY,
      expected: `a u32 power of two in 1..${LIMITS.ggufMaxAlignment}`,
      actual: v.type === 4 ? String(a) : `a ${v.type === 9 ? "array" : ggufTypeName(v.type)}`,
      hint: "llama.cpp refuses this file too; re-write it with a valid alignment (default 32)",
    });
  }
  return a;
}

function checkOverlaps(tensors: readonly TensorEntry[], file: string): void {
  const byOffset = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const cur = byOffset[i]!;
    if (prev.offset + prev.byteLength > cur.offset) {
      throw new FormatError("gguf.tensor-overlap", "two tensors share bytes", {
        file,
        offset: cur.offset,
        field: `${prev.name} / ${cur.name}`,
        expected: `${cur.name} to start at or after ${prev.offset + prev.byteLength}`,
        actual: `starts at ${cur.offset}`,
        hint: "the tensor table is corrupt",
      });
    }
  }
}

function magicHint(bytes: Uint8Array): string {
  if (bytes[0] === 0x46 && bytes[1] === 0x55 && bytes[2] === 0x47 && bytes[3] === 0x47) return "the magic is byte-swapped: a big-endian or damaged GGUF";
  if (bytes[8] === 0x7b) return "this looks like a safetensors file (u64 header length, then '{'); open it as safetensors";
  if (bytes[0] === 0x3c || bytes[0] === 0x7b) return "this looks like text (an HTML error page or JSON?), not a model file";
  return "expected a .gguf model file";
}
