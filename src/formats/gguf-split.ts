// GGUF split sets as llama.cpp's gguf-split makes them: `name-00001-of-00003.gguf` parts, all
// metadata in the first part, and `split.no`/`split.count`/`split.tensors.count` in every part.
// Reading opens the parts through a caller-supplied `openPart(fileName)` (formats never see a
// path); writing only plans parts (names, KVs, tensor lists): each part is then a GgufWriter.

import type { ByteSource } from "./byte-source.js";
import type { TensorEntry } from "./tensor.js";
import { tensorByteLength } from "./tensor-types.js";
import { GGUF_ALIGNMENT_KEY, GGUF_DEFAULT_ALIGNMENT, type GgufFile, ggufAlignUp, parseGguf } from "./gguf.js";
import type { GgufTensorSpec } from "./gguf-writer.js";
import { type GgufKv, type GgufValue, ggufTypeName, ggufValue } from "./gguf-value.js";
import { BuildError, FormatError } from "../errors.js";

export const SPLIT_NO_KEY = "split.no"; // u16, 0-based
export const SPLIT_COUNT_KEY = "split.count"; // u16
export const SPLIT_TENSORS_COUNT_KEY = "split.tensors.count"; // i32, tensors in the whole set
/** gguf-split's default --split-max-tensors */
export const GGUF_SPLIT_DEFAULT_MAX_TENSORS = 128;
const SPLIT_KEYS = [SPLIT_NO_KEY, SPLIT_COUNT_KEY, SPLIT_TENSORS_COUNT_KEY];

const SPLIT_NAME = /^(.+)-(\d{5})-of-(\d{5})\.gguf$/;

export interface GgufSplitName {
  /** everything before `-00001-of-00003.gguf` */
  prefix: string;
  /** 1-based, as in the file name */
  index: number;
  count: number;
}

export function parseGgufSplitName(fileName: string): GgufSplitName | undefined {
  const m = SPLIT_NAME.exec(fileName);
  if (!m) return undefined;
  const index = Number(m[2]);
  const count = Number(m[3]);
  if (index < 1 || count < 1 || index > count) return undefined;
  return { prefix: m[1]!, index, count };
}

export function isGgufSplitName(fileName: string): boolean {
  return parseGgufSplitName(fileName) !== undefined;
}

/** gguf-split's `%s-%05d-of-%05d.gguf`, with a 1-based index. */
export function ggufSplitPartName(prefix: string, index: number, count: number): string {
  return `${prefix}-${String(index).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.gguf`;
}

export interface GgufSplitSet {
  /** the first part: it carries the model's metadata */
  first: GgufFile;
  parts: GgufFile[];
  partNames: string[];
  /** the first part's KVs (split.* included) */
  kv: GgufKv;
  /** all parts' tensors in part order; each entry's source is its part's source */
  tensors: TensorEntry[];
}

/**
 * Opens every part of the set that `fileName` (any part's name) belongs to. The sources come from
 * `openPart` and stay the caller's: it closes them, also when this rejects.
 */
export async function openGgufSplits(fileName: string, openPart: (fileName: string) => Promise<ByteSource>): Promise<GgufSplitSet> {
  const name = parseGgufSplitName(fileName);
  if (name === undefined) {
    throw new FormatError("gguf.split.name", "not a split GGUF part name", {
      file: fileName,
      expected: "<name>-00001-of-00003.gguf",
      actual: JSON.stringify(fileName),
      hint: "open a single GGUF with parseGguf instead",
    });
  }
  const partNames: string[] = [];
  const parts: GgufFile[] = [];
  let totalTensors = 0;
  for (let i = 1; i <= name.count; i++) {
    const partName = ggufSplitPartName(name.prefix, i, name.count);
    let source: ByteSource;
    try {
      source = await openPart(partName);
    } catch (cause) {
      throw new FormatError("gguf.split.missing-part", `part ${i} of ${name.count} cannot be opened`, {
        file: partName,
        cause,
        hint: `download all ${name.count} parts of ${name.prefix} into the same folder`,
      });
    }
    const part = await parseGguf(source);
    const no = splitKey(part, SPLIT_NO_KEY, 2);
    const count = splitKey(part, SPLIT_COUNT_KEY, 2);
    const tensorsCount = splitKey(part, SPLIT_TENSORS_COUNT_KEY, 5);
    if (count !== name.count) {
      throw new FormatError("gguf.split.count", "split.count disagrees with the part names", {
        file: source.name,
        field: SPLIT_COUNT_KEY,
        expected: `${name.count} (from "${partName}")`,
        actual: String(count),
        hint: "parts from different split runs are mixed, or a part was renamed",
      });
    }
    if (no !== i - 1) {
      throw new FormatError("gguf.split.no", "split.no disagrees with the part's name", {
        file: source.name,
        field: SPLIT_NO_KEY,
        expected: String(i - 1),
        actual: String(no),
        hint: "a part was renamed; split.no is 0-based, names are 1-based",
      });
    }
    if (parts.length > 0 && tensorsCount !== splitKey(parts[0]!, SPLIT_TENSORS_COUNT_KEY, 5)) {
      throw new FormatError("gguf.split.tensors-count", "split.tensors.count differs between parts", {
        file: source.name,
        field: SPLIT_TENSORS_COUNT_KEY,
        expected: String(splitKey(parts[0]!, SPLIT_TENSORS_COUNT_KEY, 5)),
        actual: String(tensorsCount),
        hint: "parts from different split runs are mixed",
      });
    }
    totalTensors += part.tensors.length;
    partNames.push(partName);
    parts.push(part);
  }
  const first = parts[0]!;
  const expectedTotal = splitKey(first, SPLIT_TENSORS_COUNT_KEY, 5);
  if (totalTensors !== expectedTotal) {
    throw new FormatError("gguf.split.tensors-count", "the parts hold a different number of tensors than split.tensors.count says", {
      file: first.sourceName,
      field: SPLIT_TENSORS_COUNT_KEY,
      expected: String(expectedTotal),
      actual: `${totalTensors} in ${name.count} parts`,
      hint: "a part is from a different split run or damaged",
    });
  }
  const tensors: TensorEntry[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    for (const t of part.tensors) {
      if (seen.has(t.name)) {
        throw new FormatError("gguf.split.duplicate-tensor", "a tensor appears in two parts", { file: part.sourceName, field: t.name });
      }
      seen.add(t.name);
      tensors.push(t);
    }
  }
  return { first, parts, partNames, kv: first.kv, tensors };
}

function splitKey(part: GgufFile, key: string, type: 2 | 5): number {
  const v = part.kv.get(key);
  if (v === undefined || v.type !== type) {
    throw new FormatError("gguf.split.kv", v === undefined ? "split part lacks a split key" : "split key has the wrong type", {
      file: part.sourceName,
      field: key,
      expected: ggufTypeName(type),
      actual: v === undefined ? "missing" : ggufTypeName(v.type),
      hint: "this file was not written by gguf-split (or dusk); open it on its own, or re-split it",
    });
  }
  return v.value as number;
}

export interface GgufSplitLimits {
  /** tensors per part (gguf-split --split-max-tensors; the default, 128, when neither is given) */
  maxTensors?: number;
  /** tensor bytes per part, each tensor padded to the alignment (gguf-split --split-max-size) */
  maxBytes?: number;
}

export interface GgufSplitPart {
  fileName: string;
  kv: GgufKv;
  tensors: GgufTensorSpec[];
}

/**
 * Assigns tensors (in order) to parts as gguf-split does and builds each part's KVs: the first
 * part gets all of `kv` (any old split.* keys dropped) then split.no, split.tensors.count and
 * split.count, the order llama.cpp's set-or-append leaves them in; later parts get only those
 * three, plus general.alignment when it is not the default, so every part keeps one layout.
 * One difference from gguf-split: a single tensor above maxBytes gets a part of its own instead
 * of failing.
 */
export function planGgufSplit(
  prefix: string,
  kv: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensorSpec[],
  limits: GgufSplitLimits = {},
): GgufSplitPart[] {
  const fail = (what: string) => new BuildError("gguf.split.plan", `${prefix}: ${what}`, { hint: "pick maxTensors or maxBytes, a positive integer" });
  if (limits.maxTensors !== undefined && limits.maxBytes !== undefined) throw fail("maxTensors and maxBytes cannot both be set (as in gguf-split)");
  const maxTensors = limits.maxBytes === undefined ? (limits.maxTensors ?? GGUF_SPLIT_DEFAULT_MAX_TENSORS) : undefined;
  if (maxTensors !== undefined && !(Number.isSafeInteger(maxTensors) && maxTensors > 0)) throw fail(`maxTensors ${maxTensors} is invalid`);
  if (limits.maxBytes !== undefined && !(Number.isSafeInteger(limits.maxBytes) && limits.maxBytes > 0)) throw fail(`maxBytes ${limits.maxBytes} is invalid`);
  const alignValue = kv.get(GGUF_ALIGNMENT_KEY);
  const alignment = alignValue?.type === 4 ? alignValue.value : GGUF_DEFAULT_ALIGNMENT;

  const groups: GgufTensorSpec[][] = [[]];
  let bytesInPart = 0;
  tensors.forEach((t, i) => {
    const size = tensorByteLength(t.type, t.shape);
    if (size === undefined) throw fail(`tensor ${t.name}: shape [${t.shape.join(", ")}] does not fit ${t.type.name}`);
    const padded = ggufAlignUp(size, alignment);
    const current = groups[groups.length - 1]!;
    const split =
      maxTensors !== undefined ? i > 0 && i % maxTensors === 0 : current.length > 0 && bytesInPart + padded > limits.maxBytes!;
    if (split) {
      groups.push([t]);
      bytesInPart = padded;
    } else {
      current.push(t);
      bytesInPart += padded;
    }
  });
  if (groups.length > 0xffff) throw fail(`${groups.length} parts exceed split.count's u16 range`);

  return groups.map((group, i) => {
    const partKv: GgufKv = new Map();
    if (i === 0) {
      for (const [k, v] of kv) if (!SPLIT_KEYS.includes(k)) partKv.set(k, v);
    } else if (alignment !== GGUF_DEFAULT_ALIGNMENT) {
      partKv.set(GGUF_ALIGNMENT_KEY, ggufValue.u32(alignment));
    }
    partKv.set(SPLIT_NO_KEY, ggufValue.u16(i));
    partKv.set(SPLIT_TENSORS_COUNT_KEY, ggufValue.i32(tensors.length));
    partKv.set(SPLIT_COUNT_KEY, ggufValue.u16(groups.length));
    return { fileName: ggufSplitPartName(prefix, i + 1, groups.length), kv: partKv, tensors: group };
  });
}
