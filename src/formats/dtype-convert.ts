// Conversions between the float element types F32, F16 and BF16, over raw little-endian bytes.
// Stateless and element-aligned, so callers may convert a tensor chunk by chunk as it streams.
// Narrowing rounds to nearest even, overflows to ±Inf, keeps ±0 and subnormals, and maps NaN to
// torch's NaNs (F16: sign|0x7E00, BF16: 0x7FC0). Not for quantized types (that is GGUF's business).
//
// Little-endian hosts only (x86, ARM as Node runs them): the typed-array views below read the
// safetensors/GGUF little-endian bytes directly. A big-endian host fails at import.

import { BuildError } from "../errors.js";
import type { TensorTypeInfo } from "./tensor-types.js";

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("dtype-convert: big-endian hosts are not supported");
}

type FloatKind = "F32" | "F16" | "BF16";
const ELEMENT_BYTES: Record<FloatKind, number> = { F32: 4, F16: 2, BF16: 2 };

function floatKind(type: TensorTypeInfo): FloatKind {
  if (type.name === "F32" || type.name === "F16" || type.name === "BF16") return type.name;
  throw new BuildError("dtype.unsupported", `cannot convert ${type.name} as a float type`, {
    hint: "only F32, F16 and BF16 convert; quantized and integer tensors are copied as they are",
  });
}

function wholeElements(byteLength: number, kind: FloatKind): number {
  const size = ELEMENT_BYTES[kind];
  if (byteLength % size !== 0) {
    throw new BuildError("dtype.misaligned-chunk", `${byteLength} bytes is not a whole number of ${kind} elements`, {
      hint: `chunk tensors on ${size}-byte element boundaries`,
    });
  }
  return byteLength / size;
}

// ---- scalar bit conversions (exported for tests and for single values) ----

/** F16 bits → F32 bits, exact. */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // Inf / NaN (payload kept)
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // subnormal: value = mant × 2^-24; normalise so the leading 1 becomes the implicit bit
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** F32 bits → F16 bits: round to nearest even, overflow → ±Inf, NaN → sign|0x7E00 (as torch). */
export function f32BitsToF16Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a >= 0x38800000) {
    // |x| ≥ 2^-14: normal in F16 unless it rounds past 65504
    if (a < 0x477ff000) {
      const m = a - 0x38000000; // rebias the exponent 127 → 15 (112 << 23)
      return sign | ((m + 0xfff + ((m >>> 13) & 1)) >>> 13);
    }
    if (a <= 0x7f800000) return sign | 0x7c00; // ≥ 65520 (the tie above 65504) or Inf
    return sign | 0x7e00; // NaN
  }
  // |x| < 2^-14: F16 subnormal k × 2^-24, k = round-half-even(|x| × 2^24)
  const e = a >>> 23;
  if (e < 102) return sign; // |x| < 2^-25 rounds to 0 (2^-25 itself is the tie, handled below)
  const mant = (a & 0x7fffff) | 0x800000;
  const shift = 126 - e; // 14 … 24
  let k = mant >>> shift;
  const rest = mant & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (k & 1) === 1)) k++;
  return sign | k; // k = 0x400 carries into the smallest normal, which is the right encoding
}

/** F32 bits → BF16 bits: round to nearest even, as torch's `round_to_nearest_even` (NaN → 0x7FC0). */
export function f32BitsToBf16Bits(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  // u + 0x7FFF + lsb stays below 2^32 for every non-NaN u (max 0xFF80_0000 + 0x8000), so the
  // sum is exact and `>>> 16` (which first wraps mod 2^32) sees it unchanged
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

let f16Table: Uint32Array | undefined;
/** 65536 entries (256 KiB): F16 bits → F32 bits, built on first use. */
function f16ToF32Table(): Uint32Array {
  if (f16Table === undefined) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

// ---- bulk conversions over typed arrays ----

/**
 * Converts `src` (whole elements of `from`) into `to`. Returns `out.subarray(0, n)` when `out` is
 * given (it must hold n × size(to) bytes and must not overlap `src` unless it is `src` itself with
 * from = to), else a fresh array. With from = to and no `out`, returns `src` itself (no copy).
 */
export function convertTensorBytes(src: Uint8Array, from: TensorTypeInfo, to: TensorTypeInfo, out?: Uint8Array): Uint8Array {
  const fk = floatKind(from);
  const tk = floatKind(to);
  const inSize = ELEMENT_BYTES[fk];
  const n = wholeElements(src.byteLength, fk);
  const outBytes = n * ELEMENT_BYTES[tk];
  if (out !== undefined && out.byteLength < outBytes) {
    throw new BuildError("dtype.output-too-small", `output holds ${out.byteLength} bytes, ${n} ${tk} elements need ${outBytes}`, {
      hint: "size the output buffer for the target type",
    });
  }
  if (fk === tk) {
    if (out === undefined) return src;
    const o = out.subarray(0, outBytes);
    if (o !== src) o.set(src);
    return o;
  }
  const target = out === undefined ? new Uint8Array(outBytes) : out.subarray(0, outBytes);
  const outAligned = target.byteOffset % ELEMENT_BYTES[tk] === 0 ? target : new Uint8Array(outBytes);
  const input = src.byteOffset % inSize === 0 ? src : src.slice();
  convertAligned(input, fk, outAligned, tk, n);
  if (outAligned !== target) target.set(outAligned);
  return target;
}

function convertAligned(src: Uint8Array, fk: FloatKind, dst: Uint8Array, tk: FloatKind, n: number): void {
  if (fk === "F32") {
    const s = new Uint32Array(src.buffer, src.byteOffset, n);
    const d = new Uint16Array(dst.buffer, dst.byteOffset, n);
    if (tk === "F16") for (let i = 0; i < n; i++) d[i] = f32BitsToF16Bits(s[i]!);
    else for (let i = 0; i < n; i++) d[i] = f32BitsToBf16Bits(s[i]!);
    return;
  }
  const s = new Uint16Array(src.buffer, src.byteOffset, n);
  if (tk === "F32") {
    const d = new Uint32Array(dst.buffer, dst.byteOffset, n);
    if (fk === "F16") {
      const table = f16ToF32Table();
      for (let i = 0; i < n; i++) d[i] = table[s[i]!]!;
    } else {
      for (let i = 0; i < n; i++) d[i] = s[i]! << 16; // BF16 is the top half of an F32
    }
    return;
  }
  // F16 ↔ BF16 through exact F32 bits, so only one rounding happens
  const d = new Uint16Array(dst.buffer, dst.byteOffset, n);
  if (fk === "F16") {
    const table = f16ToF32Table();
    for (let i = 0; i < n; i++) d[i] = f32BitsToBf16Bits(table[s[i]!]!);
  } else {
    for (let i = 0; i < n; i++) d[i] = f32BitsToF16Bits((s[i]! << 16) >>> 0);
  }
}

/** Widens F32/F16/BF16 bytes to a fresh Float32Array (always a copy, never a view of `bytes`). */
export function toFloat32(bytes: Uint8Array, type: TensorTypeInfo): Float32Array {
  const kind = floatKind(type);
  const out = new Float32Array(wholeElements(bytes.byteLength, kind));
  if (kind === "F32") {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  convertTensorBytes(bytes, type, F32_INFO, new Uint8Array(out.buffer));
  return out;
}

/** Narrows (or copies) a Float32Array into fresh bytes of `type`. */
export function fromFloat32(values: Float32Array, type: TensorTypeInfo): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const kind = floatKind(type);
  return kind === "F32" ? bytes.slice() : convertTensorBytes(bytes, F32_INFO, type);
}

const F32_INFO: TensorTypeInfo = { name: "F32", blockElems: 1, blockBytes: 4 };
