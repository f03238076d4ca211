// Sharded HF checkpoints: how tensors are grouped into `model-0000i-of-0000N.safetensors` files
// (as huggingface_hub's `split_state_dict_into_shards_factory`, which transformers uses), the
// `model.safetensors.index.json` text (as transformers writes it), reading and validating that
// index, and shard-size options ("5GB", "2GiB"). It never opens files: callers pass names and text.

import { FormatError, RecipeError } from "../errors.js";
import { LIMITS } from "../limits.js";
import { describeJson, JsonNumber, JsonObject, parseStrictJson, type JsonValue } from "./safetensors-json.js";

export const SAFETENSORS_INDEX_FILE = "model.safetensors.index.json";
export const SINGLE_SHARD_FILE = "model.safetensors";
/** transformers' and mergekit's default `max_shard_size`: 5 GB (decimal) */
export const DEFAULT_SHARD_BYTES = 5_000_000_000;

export interface ShardPlan {
  fileName: string;
  /** in the order they were given */
  tensorNames: string[];
  /** sum of the tensors' data bytes (headers are not counted, as in HF) */
  byteLength: number;
}

export interface ShardingPlan {
  shards: ShardPlan[];
  /** tensor name → shard file name */
  weightMap: Map<string, string>;
  /** sum of all tensor bytes: the index's metadata.total_size */
  totalSize: number;
  /** false when everything fits one `model.safetensors` (HF then writes no index) */
  needsIndex: boolean;
}

/** `model-00001-of-00003.safetensors` (1-based), or `model.safetensors` when count is 1. */
export function shardFileName(index: number, count: number): string {
  if (count === 1) return SINGLE_SHARD_FILE;
  const pad = (n: number): string => String(n).padStart(5, "0");
  return `model-${pad(index)}-of-${pad(count)}.safetensors`;
}

/**
 * Groups tensors in the given order: a tensor that would push the current shard past the max
 * starts a new one; a tensor larger than the max gets a shard of its own, placed where it is met
 * (before the shard still being filled, exactly as huggingface_hub does, so shard order can differ
 * from tensor order). Empty input gives one empty `model.safetensors`.
 */
export function planShards(tensors: readonly { name: string; byteLength: number }[], maxShardBytes: number): ShardingPlan {
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0) {
    throw new RecipeError("shard-size.invalid", `max shard size must be a positive whole number of bytes, got ${maxShardBytes}`, { path: "max_shard_size", hint: 'use e.g. "5GB", "500MB" or "2GiB"' });
  }
  const groups: { names: string[]; bytes: number }[] = [];
  let current: { names: string[]; bytes: number } = { names: [], bytes: 0 };
  const seen = new Set<string>();
  let totalSize = 0;
  for (const t of tensors) {
    if (seen.has(t.name)) throw new RecipeError("shard.duplicate-tensor", `tensor "${t.name}" appears twice in the shard plan`, { hint: "each output tensor needs a unique name" });
    seen.add(t.name);
    totalSize += t.byteLength;
    if (t.byteLength > maxShardBytes) {
      groups.push({ names: [t.name], bytes: t.byteLength });
      continue;
    }
    if (current.bytes + t.byteLength > maxShardBytes && current.names.length > 0) {
      groups.push(current);
      current = { names: [], bytes: 0 };
    }
    current.names.push(t.name);
    current.bytes += t.byteLength;
  }
  if (current.names.length > 0 || groups.length === 0) groups.push(current);
  const shards = groups.map((g, i) => ({ fileName: shardFileName(i + 1, groups.length), tensorNames: g.names, byteLength: g.bytes }));
  const weightMap = new Map<string, string>();
  for (const s of shards) for (const n of s.tensorNames) weightMap.set(n, s.fileName);
  return { shards, weightMap, totalSize, needsIndex: shards.length > 1 };
}

/**
 * Accepts a byte count (number, or digits) or a size with a unit: KB/MB/GB/TB are decimal (10^3…),
 * KiB/MiB/GiB/TiB binary (2^10…), as transformers reads `max_shard_size`. Case-insensitive, except
 * that a lowercase final "b" after a prefix ("5Gb") is refused: transformers reads it as bits.
 */
export function parseShardSize(value: string | number): number {
  const bad = (why: string): never => {
    throw new RecipeError("shard-size.invalid", `invalid shard size ${JSON.stringify(value)}: ${why}`, {
      path: "max_shard_size", hint: 'use a byte count or a size such as "5GB", "500MB", "2GiB"',
    });
  };
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value <= 0) bad("expected a positive whole number of bytes");
    return value;
  }
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtT]?)(i?)([bB]?)\s*$/.exec(value);
  if (m === null) return bad("expected a number with an optional unit KB, MB, GB, TB, KiB, MiB, GiB, TiB");
  const [, num, prefix, binary, b] = m as unknown as [string, string, string, string, string];
  if (prefix !== "" && b === "") bad(`missing "B" after "${prefix}"`);
  if (prefix === "" && (binary !== "")) bad("unexpected 'i'");
  if (prefix !== "" && binary === "" && b === "b") bad('a lowercase "b" means bits to transformers; write "B" for bytes');
  const power = prefix === "" ? 0 : "kmgt".indexOf(prefix.toLowerCase()) + 1;
  const unit = binary ? 1024 ** power : 1000 ** power;
  const bytes = Math.floor(Number(num) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) bad("out of range");
  return bytes;
}

export interface SafetensorsIndexInput {
  totalSize: number;
  weightMap: ReadonlyMap<string, string>;
  /** more metadata entries (e.g. total_parameters), written beside total_size */
  extraMetadata?: ReadonlyMap<string, string | number>;
}

/**
 * The index text as transformers writes it: Python `json.dumps(index, indent=2, sort_keys=True)`
 * plus a newline, so keys sorted by code point and non-ASCII escaped as \uXXXX (ensure_ascii).
 */
export function serializeSafetensorsIndex(index: SafetensorsIndexInput): string {
  const metadata = new Map<string, string | number>(index.extraMetadata ?? []);
  metadata.set("total_size", index.totalSize);
  const object = (entries: Iterable<[string, string | number]>, indent: string): string => {
    const sorted = [...entries].sort((a, b) => compareCodePoints(a[0], b[0]));
    if (sorted.length === 0) return "{}";
    const inner = indent + "  ";
    return `{\n${sorted.map(([k, v]) => `${inner}${pythonJsonString(k)}: ${typeof v === "number" ? String(v) : pythonJsonString(v)}`).join(",\n")}\n${indent}}`;
  };
  return `{\n  "metadata": ${object(metadata, "  ")},\n  "weight_map": ${object(index.weightMap, "  ")}\n}\n`;
}

/** Python's json string encoding with ensure_ascii=True: everything outside space…tilde is escaped. */
function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (c < 0x20 || c > 0x7e) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += s[i];
  }
  return out + '"';
}

function compareCodePoints(a: string, b: string): number {
  const ai = a[Symbol.iterator]();
  const bi = b[Symbol.iterator]();
  for (;;) {
    const x = ai.next();
    const y = bi.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

export interface SafetensorsIndex {
  /** metadata.total_size when present (some tools omit it) */
  totalSize: number | null;
  /** all of `metadata`, values as parsed (strings, numbers as numbers, others as JSON text) */
  metadata: Map<string, string | number | boolean | null>;
  /** tensor name → shard file name, in file order */
  weightMap: Map<string, string>;
  /** distinct shard file names, in order of first appearance */
  shardFiles: string[];
}

/**
 * Parses and validates `model.safetensors.index.json`. Refuses duplicate keys, a weight_map that
 * is not string → string, and shard names that are not plain `*.safetensors` file names (no
 * directories, `..`, absolute or drive paths), so an index cannot point outside its folder.
 */
export function parseSafetensorsIndex(text: string, fileName: string): SafetensorsIndex {
  const file = fileName;
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > LIMITS.jsonFileBytes) {
    throw new FormatError("safetensors-index.too-large", "index file is too large", { file, expected: `at most ${LIMITS.jsonFileBytes} bytes`, actual: `${bytes.length} bytes`, hint: "this is not a real index file" });
  }
  const root = parseStrictJson(bytes, { file, codePrefix: "safetensors-index" });
  const fail = (code: string, what: string, field: string, offset: number | undefined, expected: string, actual: string, hint: string): never => {
    throw new FormatError(`safetensors-index.${code}`, what, { file, field, offset, expected, actual, hint });
  };
  if (!(root instanceof JsonObject)) return fail("not-object", "index is not a JSON object", "(root)", 0, "an object with weight_map", describeJson(root), "this is not a safetensors index");
  const metaJson = root.entries.get("metadata");
  const metadata = new Map<string, string | number | boolean | null>();
  let totalSize: number | null = null;
  if (metaJson !== undefined && metaJson !== null) {
    if (!(metaJson instanceof JsonObject)) return fail("bad-metadata", "metadata is not an object", "metadata", root.offsets.get("metadata"), "an object", describeJson(metaJson), "the index is malformed");
    for (const [k, v] of metaJson.entries) metadata.set(k, plainValue(v));
    const ts = metaJson.entries.get("total_size");
    if (ts !== undefined) {
      const n = ts instanceof JsonNumber ? Number(ts.text) : NaN;
      if (!Number.isSafeInteger(n) || n < 0) return fail("bad-total-size", "metadata.total_size is not a byte count", "metadata.total_size", metaJson.offsets.get("total_size"), "a non-negative integer", describeJson(ts), "the index is malformed");
      totalSize = n;
    }
  }
  const wm = root.entries.get("weight_map");
  if (!(wm instanceof JsonObject)) return fail("bad-weight-map", "weight_map is missing or not an object", "weight_map", root.offsets.get("weight_map") ?? 0, "an object of tensor name → shard file", describeJson(wm), "the index is malformed");
  if (wm.entries.size > LIMITS.tensorCount) return fail("too-many-tensors", "weight_map has too many tensors", "weight_map", wm.at, `at most ${LIMITS.tensorCount}`, `${wm.entries.size}`, "the index is hostile or corrupt");
  const weightMap = new Map<string, string>();
  const shardFiles: string[] = [];
  const known = new Set<string>();
  for (const [tensor, shard] of wm.entries) {
    const at = wm.offsets.get(tensor);
    if (typeof shard !== "string") fail("bad-weight-map", "weight_map value is not a file name", `weight_map.${tensor}`, at, "a shard file name string", describeJson(shard), "the index is malformed");
    const name = shard as string;
    const problem = shardNameProblem(name);
    if (problem !== undefined) {
      fail("bad-shard-name", `shard file name ${problem}`, `weight_map.${tensor}`, at, "a plain file name ending in .safetensors, in the index's folder", JSON.stringify(name),
        "an index may only name shard files beside it; this one is corrupt or malicious");
    }
    weightMap.set(tensor, name);
    if (!known.has(name)) {
      known.add(name);
      shardFiles.push(name);
    }
  }
  return { totalSize, metadata, weightMap, shardFiles };
}

/** why so strict: the name is joined to the model folder, so anything but a bare name escapes it */
function shardNameProblem(name: string): string | undefined {
  if (name.length === 0) return "is empty";
  if (name.length > 255) return "is longer than 255 characters";
  if (/[/\\]/.test(name)) return "contains a path separator";
  if (name === "." || name === "..") return "is a directory reference";
  if (/[\u0000-\u001f:]/.test(name)) return "contains a control character or ':' (drive or stream syntax)";
  if (!name.endsWith(".safetensors")) return "does not end in .safetensors";
  return undefined;
}

function plainValue(v: JsonValue): string | number | boolean | null {
  if (typeof v === "string" || typeof v === "boolean" || v === null) return v;
  if (v instanceof JsonNumber) return Number(v.text);
  return describeJson(v);
}
