// Reads a safetensors file's header from a ByteSource and validates it as strictly as the
// reference reader (huggingface/safetensors `read_metadata` + `validate`), plus duplicate keys and
// unknown entry fields. It reads only the header: tensor bytes stay in the source until needed.
// Not for writing (safetensors-writer.ts) or for sharded checkpoints (safetensors-index.ts).
//
// Layout: [u64 LE N][N bytes UTF-8 JSON, space-padded][data buffer]. The JSON maps tensor names to
// {dtype, shape, data_offsets: [begin, end)} relative to the buffer, plus optional `__metadata__`.

import { FormatError } from "../errors.js";
import { LIMITS } from "../limits.js";
import type { ByteSource } from "./byte-source.js";
import { describeJson, jsonSafeUint, JsonObject, parseStrictJson, type JsonValue } from "./safetensors-json.js";
import type { TensorEntry } from "./tensor.js";
import { tensorByteLength, tensorTypeFromSafetensors } from "./tensor-types.js";

export interface SafetensorsFile {
  /** N, the JSON header's length in bytes (including padding) */
  headerLength: number;
  /** absolute offset of the data buffer: 8 + N */
  dataOffset: number;
  /** `__metadata__`, in header order; null when absent (or `null`) */
  metadata: Map<string, string> | null;
  /** sorted by offset (= data order, ties by end); offsets are ABSOLUTE in the source */
  tensors: TensorEntry[];
}

const ENTRY_FIELDS = ["dtype", "shape", "data_offsets"] as const;
const utf8 = new TextDecoder("utf-8", { fatal: true });

export async function parseSafetensors(source: ByteSource): Promise<SafetensorsFile> {
  const file = source.name;
  if (source.size < 8) {
    throw new FormatError("safetensors.too-small", "file too small to hold the 8-byte header length", {
      file, offset: 0, expected: "at least 8 bytes", actual: `${source.size} bytes`,
      hint: "the file is empty or truncated; download it again",
    });
  }
  const prefix = await source.read(0, 8);
  const n64 = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(LIMITS.safetensorsHeaderBytes)) {
    throw new FormatError("safetensors.header-too-large", "header length is over the limit", {
      file, offset: 0, field: "header length",
      expected: `at most ${LIMITS.safetensorsHeaderBytes} bytes`, actual: `${n64} bytes`,
      hint: "this is not a safetensors file, or it is corrupt (the reference reader refuses headers over 100 MB)",
    });
  }
  const headerLength = Number(n64);
  const dataOffset = 8 + headerLength;
  if (dataOffset > source.size) {
    throw new FormatError("safetensors.header-past-end", "header length runs past the end of the file", {
      file, offset: 0, field: "header length",
      expected: `at most ${source.size - 8} bytes`, actual: `${headerLength} bytes`,
      hint: "the file is truncated or is not a safetensors file; download it again",
    });
  }
  const headerBytes = await source.read(8, headerLength);
  try {
    utf8.decode(headerBytes);
  } catch (cause) {
    throw new FormatError("safetensors.header-not-utf8", "header is not valid UTF-8", {
      file, offset: 8, expected: "UTF-8 JSON", actual: "invalid UTF-8 bytes", cause,
      hint: "the file is corrupt or is not a safetensors file",
    });
  }
  if (headerBytes[0] !== 0x7b) {
    throw new FormatError("safetensors.header-start", "header does not start with '{'", {
      file, offset: 8, expected: "'{'",
      actual: headerBytes.length === 0 ? "an empty header" : `byte 0x${headerBytes[0]!.toString(16).padStart(2, "0")}`,
      hint: "the file is not a safetensors file (a PyTorch .bin or GGUF renamed?)",
    });
  }
  const root = parseStrictJson(headerBytes, { file, baseOffset: 8, codePrefix: "safetensors" });
  if (!(root instanceof JsonObject)) {
    throw new FormatError("safetensors.header-not-object", "header JSON is not an object", {
      file, offset: 8, expected: "a JSON object", actual: describeJson(root), hint: "the file is not a safetensors file",
    });
  }
  if (root.entries.size > LIMITS.tensorCount + 1) {
    throw new FormatError("safetensors.too-many-tensors", "too many tensors", {
      file, offset: 8, expected: `at most ${LIMITS.tensorCount}`, actual: `${root.entries.size}`,
      hint: "the header is hostile or corrupt",
    });
  }

  let metadata: Map<string, string> | null = null;
  const tensors: TensorEntry[] = [];
  const begins = new Map<TensorEntry, number>();
  for (const [name, value] of root.entries) {
    const at = root.offsets.get(name)!;
    if (name === "__metadata__") {
      metadata = readMetadata(file, at, value);
      continue;
    }
    const entry = readEntry(file, name, at, value, source, dataOffset);
    tensors.push(entry);
    begins.set(entry, at);
  }

  // Sorted by (begin, end), the entries must tile [0, bufferLength) exactly: this is the
  // reference's `validate`, with hole and overlap told apart for the message.
  tensors.sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  let expectedBegin = 0;
  let previous: TensorEntry | undefined;
  for (const t of tensors) {
    const begin = t.offset - dataOffset;
    if (begin !== expectedBegin) {
      const overlap = begin < expectedBegin;
      throw new FormatError(overlap ? "safetensors.overlap" : "safetensors.hole",
        overlap ? "tensor data overlaps the previous tensor" : "gap in the data buffer before this tensor", {
          file, field: t.name, offset: begins.get(t),
          expected: `data_offsets begin ${expectedBegin}${previous ? ` (end of "${previous.name}")` : ""}`,
          actual: `begin ${begin}`,
          hint: overlap
            ? "two tensors claim the same bytes; the file is corrupt or hand-edited"
            : "the data buffer has unclaimed bytes; the file is corrupt or hand-edited",
        });
    }
    expectedBegin = begin + t.byteLength;
    previous = t;
  }
  const end = dataOffset + expectedBegin;
  if (end !== source.size) {
    const truncated = end > source.size;
    throw new FormatError(truncated ? "safetensors.truncated" : "safetensors.trailing-bytes",
      truncated ? "file ends before the last tensor's data" : "bytes after the last tensor's data", {
        file, offset: Math.min(end, source.size),
        expected: `file size ${end} (8 + header ${headerLength} + data ${expectedBegin})`,
        actual: `${source.size} bytes`,
        hint: truncated
          ? "the shard is truncated (interrupted download?); download it again"
          : "the file has extra bytes at the end; it is corrupt or was appended to",
      });
  }
  return { headerLength, dataOffset, metadata, tensors };
}

function readMetadata(file: string, at: number, value: JsonValue): Map<string, string> | null {
  if (value === null) return null;
  if (!(value instanceof JsonObject)) {
    throw new FormatError("safetensors.metadata-not-object", "__metadata__ is not an object", {
      file, offset: at, field: "__metadata__", expected: "an object of strings", actual: describeJson(value),
      hint: "__metadata__ may only map strings to strings",
    });
  }
  const out = new Map<string, string>();
  for (const [k, v] of value.entries) {
    if (typeof v !== "string") {
      throw new FormatError("safetensors.metadata-not-string", "__metadata__ value is not a string", {
        file, offset: value.offsets.get(k), field: `__metadata__.${k}`, expected: "a string", actual: describeJson(v),
        hint: "__metadata__ may only map strings to strings (the reference reader refuses anything else)",
      });
    }
    out.set(k, v);
  }
  return out;
}

function readEntry(file: string, name: string, at: number, value: JsonValue, source: ByteSource, dataOffset: number): TensorEntry {
  const bad = (code: string, what: string, expected: string, actual: string, hint: string, offset = at): never => {
    throw new FormatError(`safetensors.${code}`, what, { file, field: name, offset, expected, actual, hint });
  };
  if (!(value instanceof JsonObject)) {
    return bad("entry-not-object", "tensor entry is not an object", "{dtype, shape, data_offsets}", describeJson(value),
      "each tensor entry must be an object");
  }
  for (const key of value.entries.keys()) {
    if (!(ENTRY_FIELDS as readonly string[]).includes(key)) {
      bad("unknown-field", `unknown field "${key}" in tensor entry`, "only dtype, shape, data_offsets", `"${key}"`,
        "the entry is not a safetensors tensor description; the file is corrupt or from another format",
        value.offsets.get(key));
    }
  }
  for (const key of ENTRY_FIELDS) {
    if (!value.entries.has(key)) bad("missing-field", `tensor entry lacks "${key}"`, "dtype, shape and data_offsets", "no " + key, "the file is corrupt");
  }
  const dtype = value.entries.get("dtype")!;
  if (typeof dtype !== "string") return bad("dtype-not-string", "dtype is not a string", "a dtype name such as F32", describeJson(dtype), "the file is corrupt");
  const type = tensorTypeFromSafetensors(dtype);
  if (type === undefined) {
    return bad("unknown-dtype", "unknown dtype", "one of BOOL U8 I8 F8_E5M2 F8_E4M3 I16 U16 F16 BF16 I32 U32 F32 F64 I64 U64", `"${dtype}"`,
      "dusk does not support this element type (newer F4/F6 types included); convert the checkpoint to F16/BF16/F32", value.offsets.get("dtype"));
  }
  const shapeJson = value.entries.get("shape")!;
  if (!Array.isArray(shapeJson) || shapeJson.length > LIMITS.tensorRank) {
    return bad("bad-shape", "shape is not a short array", `an array of at most ${LIMITS.tensorRank} integers`, describeJson(shapeJson),
      "the file is corrupt", value.offsets.get("shape"));
  }
  const shape: number[] = [];
  for (const d of shapeJson) {
    const v = jsonSafeUint(d, LIMITS.tensorDim);
    if (v === undefined) {
      bad("bad-shape", "shape dimension is not a non-negative integer within limits", `an integer in [0, ${LIMITS.tensorDim}]`, describeJson(d),
        "the file is corrupt or hostile", value.offsets.get("shape"));
    }
    shape.push(v!);
  }
  const offsJson = value.entries.get("data_offsets")!;
  const offsAt = value.offsets.get("data_offsets");
  if (!Array.isArray(offsJson) || offsJson.length !== 2) {
    return bad("bad-offsets", "data_offsets is not a pair", "[begin, end]", describeJson(offsJson), "the file is corrupt", offsAt);
  }
  const begin = jsonSafeUint(offsJson[0]);
  const end = jsonSafeUint(offsJson[1]);
  if (begin === undefined || end === undefined) {
    return bad("bad-offsets", "data_offsets are not non-negative safe integers", "[begin, end] as integers",
      `[${describeJson(offsJson[0])}, ${describeJson(offsJson[1])}]`, "the file is corrupt or hostile", offsAt);
  }
  if (end < begin) return bad("offsets-reversed", "data_offsets end before they begin", "end >= begin", `[${begin}, ${end}]`, "the file is corrupt", offsAt);
  const byteLength = tensorByteLength(type, shape);
  if (byteLength === undefined) {
    return bad("size-overflow", "shape × dtype size overflows", "a size below 2^53 bytes", `shape [${shape.join(", ")}] of ${dtype}`, "the file is hostile or corrupt");
  }
  if (end - begin !== byteLength) {
    return bad("byte-count", "data_offsets span does not match shape × dtype size",
      `${byteLength} bytes (shape [${shape.join(", ")}] × ${type.blockBytes} bytes of ${dtype})`, `${end - begin} bytes ([${begin}, ${end}])`,
      "the header disagrees with itself; the file is corrupt", offsAt);
  }
  if (dataOffset + end > Number.MAX_SAFE_INTEGER) return bad("bad-offsets", "data offset too large", "below 2^53", `${end}`, "the file is hostile", offsAt);
  return { name, type, shape, offset: dataOffset + begin, byteLength, source };
}
