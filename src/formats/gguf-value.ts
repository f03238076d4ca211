// GGUF metadata values: the typed KV representation shared by the parser, the writer and splits.
// A value keeps its GGUF wire type so that re-writing a parsed file reproduces it exactly; the
// `ggufGet*` helpers turn values into plain JS for callers that only read. No byte I/O here.

import { FormatError } from "../errors.js";

/** GGUF value type ids (gguf.h `enum gguf_type`). */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufType = (typeof GgufType)[keyof typeof GgufType];

export type GgufNumberType = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 12;
export type GgufBigIntType = 10 | 11;

/** One element of an array value: the JS form of `itemType` (nested arrays are GgufArrayValue). */
export type GgufArrayItem = number | bigint | boolean | string | GgufArrayValue;

export interface GgufArrayValue {
  type: 9;
  /** the element type; arrays of arrays have itemType 9 and GgufArrayValue items */
  itemType: GgufType;
  items: GgufArrayItem[];
}

/** u64/i64 are bigint (exact); f32 is the double that the stored float32 decodes to. */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: 7; value: boolean }
  | { type: 8; value: string }
  | GgufArrayValue;

/** Insertion order is file order; the writer writes in this order. */
export type GgufKv = Map<string, GgufValue>;

const TYPE_NAMES = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"];

export function ggufTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `unknown type ${type}`;
}

export function isGgufType(type: number): type is GgufType {
  return Number.isInteger(type) && type >= 0 && type <= 12;
}

/** Range of each fixed-width integer type, for validating values before writing. */
export const GGUF_INT_RANGES: Partial<Record<GgufType, readonly [number, number]>> = {
  0: [0, 0xff],
  1: [-0x80, 0x7f],
  2: [0, 0xffff],
  3: [-0x8000, 0x7fff],
  4: [0, 0xffffffff],
  5: [-0x80000000, 0x7fffffff],
};

/** Typed constructors: `kv.set("llama.block_count", ggufValue.u32(48))`. */
export const ggufValue = {
  u8: (value: number): GgufValue => ({ type: 0, value }),
  i8: (value: number): GgufValue => ({ type: 1, value }),
  u16: (value: number): GgufValue => ({ type: 2, value }),
  i16: (value: number): GgufValue => ({ type: 3, value }),
  u32: (value: number): GgufValue => ({ type: 4, value }),
  i32: (value: number): GgufValue => ({ type: 5, value }),
  f32: (value: number): GgufValue => ({ type: 6, value }),
  f64: (value: number): GgufValue => ({ type: 12, value }),
  bool: (value: boolean): GgufValue => ({ type: 7, value }),
  string: (value: string): GgufValue => ({ type: 8, value }),
  u64: (value: bigint | number): GgufValue => ({ type: 10, value: BigInt(value) }),
  i64: (value: bigint | number): GgufValue => ({ type: 11, value: BigInt(value) }),
  array: (itemType: GgufType, items: GgufArrayItem[]): GgufArrayValue => ({ type: 9, itemType, items }),
  stringArray: (items: string[]): GgufArrayValue => ({ type: 9, itemType: 8, items }),
  f32Array: (items: number[]): GgufArrayValue => ({ type: 9, itemType: 6, items }),
  i32Array: (items: number[]): GgufArrayValue => ({ type: 9, itemType: 5, items }),
  u32Array: (items: number[]): GgufArrayValue => ({ type: 9, itemType: 4, items }),
};

/** The plain JS form of a value: numbers, bigints, booleans, strings and (nested) arrays of them. */
export type GgufPlain = number | bigint | boolean | string | GgufPlain[];

export function ggufPlain(v: GgufValue | GgufArrayItem): GgufPlain {
  if (typeof v !== "object") return v;
  if (v.type === 9) return v.items.map(ggufPlain);
  return v.value;
}

/** Plain JS value of `key`, or undefined when absent. */
export function ggufGet(kv: ReadonlyMap<string, GgufValue>, key: string): GgufPlain | undefined {
  const v = kv.get(key);
  return v === undefined ? undefined : ggufPlain(v);
}

function wrongType(key: string, v: GgufValue, expected: string, file: string): FormatError {
  return new FormatError("gguf.kv-type", `metadata key has the wrong type`, {
    file,
    field: key,
    expected,
    actual: v.type === 9 ? `array of ${ggufTypeName(v.itemType)}` : ggufTypeName(v.type),
    hint: "the file was written by a tool that disagrees with llama.cpp about this key's type",
  });
}

/** Any integer or float type as a number (u64/i64 only when exactly representable). */
export function ggufGetNumber(kv: ReadonlyMap<string, GgufValue>, key: string, file = "<gguf>"): number | undefined {
  const v = kv.get(key);
  if (v === undefined) return undefined;
  if (v.type === 10 || v.type === 11) {
    const n = Number(v.value);
    if (Number.isSafeInteger(n)) return n;
    throw wrongType(key, v, "a number within 2^53", file);
  }
  if (v.type !== 9 && typeof v.value === "number") return v.value;
  throw wrongType(key, v, "a number", file);
}

export function ggufGetString(kv: ReadonlyMap<string, GgufValue>, key: string, file = "<gguf>"): string | undefined {
  const v = kv.get(key);
  if (v === undefined) return undefined;
  if (v.type === 8) return v.value;
  throw wrongType(key, v, "string", file);
}

export function ggufGetBool(kv: ReadonlyMap<string, GgufValue>, key: string, file = "<gguf>"): boolean | undefined {
  const v = kv.get(key);
  if (v === undefined) return undefined;
  if (v.type === 7) return v.value;
  throw wrongType(key, v, "bool", file);
}

export function ggufGetStringArray(kv: ReadonlyMap<string, GgufValue>, key: string, file = "<gguf>"): string[] | undefined {
  const v = kv.get(key);
  if (v === undefined) return undefined;
  if (v.type === 9 && v.itemType === 8) return v.items as string[];
  throw wrongType(key, v, "array of string", file);
}

export function ggufGetNumberArray(kv: ReadonlyMap<string, GgufValue>, key: string, file = "<gguf>"): number[] | undefined {
  const v = kv.get(key);
  if (v === undefined) return undefined;
  if (v.type === 9 && (v.itemType <= 6 || v.itemType === 12)) return v.items as number[];
  throw wrongType(key, v, "array of numbers (u8..f32, f64)", file);
}
