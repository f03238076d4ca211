import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  convertTensorBytes,
  f16BitsToF32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  fromFloat32,
  toFloat32,
} from "./dtype-convert.js";
import { tensorType } from "./tensor-types.js";

const F32 = tensorType("F32")!;
const F16 = tensorType("F16")!;
const BF16 = tensorType("BF16")!;

// ---- independent references: decode by formula, round by searching the value line ----

function f16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}
function bf16Value(b: number): number {
  const s = b & 0x8000 ? -1 : 1;
  const e = (b >> 7) & 0xff;
  const m = b & 0x7f;
  if (e === 0xff) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -133 : s * (1 + m / 128) * 2 ** (e - 127);
}
const f32Of = (u: number): number => new Float32Array(new Uint32Array([u]).buffer)[0]!;
const bitsOf = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0]!;

/**
 * Nearest representable pattern by value, ties to the even pattern; the pattern right after the
 * largest finite one stands for the next power of two (= the Inf encoding), as IEEE rounding does.
 */
function nearestByValue(x: number, values: Float64Array): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  const last = values.length - 1; // index of the Inf pattern
  if (a >= values[last]!) return sign | last;
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - values[lo]!;
  const dh = values[hi]! - a;
  const pick = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}
const F16_LINE = Float64Array.from({ length: 0x7c01 }, (_, h) => (h === 0x7c00 ? 65536 : f16Value(h)));
const BF16_LINE = Float64Array.from({ length: 0x7f81 }, (_, b) => (b === 0x7f80 ? 2 ** 128 : bf16Value(b)));

function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** random F32 bit patterns, dense in and around the F16 range (incl. subnormals and overflow) */
function randomF32Bits(count: number, seed: number): Uint32Array {
  const rnd = seededRandom(seed);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const r = rnd();
    const u = Math.floor(rnd() * 2 ** 32) >>> 0;
    // half the time pick an exponent in [2^-27, 2^17) so F16 boundaries get dense coverage
    out[i] = r < 0.5 ? ((u & 0x807fffff) | ((100 + Math.floor(rnd() * 44)) << 23)) >>> 0 : u;
  }
  return out;
}

describe("widening", () => {
  it("F16 → F32 is exact for all 65536 patterns", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f32 = toFloat32(new Uint8Array(all.buffer), F16);
    for (let h = 0; h < 65536; h++) {
      const want = f16Value(h);
      if (Number.isNaN(want)) expect(Number.isNaN(f32[h]!)).toBe(true);
      else expect(Object.is(f32[h], want) || f32[h] === want, `h=0x${h.toString(16)}`).toBe(true);
    }
    expect(Object.is(f32[0x8000], -0)).toBe(true);
  });

  it("BF16 → F32 is exact for all 65536 patterns", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f32 = toFloat32(new Uint8Array(all.buffer), BF16);
    for (let b = 0; b < 65536; b++) {
      const want = bf16Value(b);
      if (Number.isNaN(want)) expect(Number.isNaN(f32[b]!)).toBe(true);
      else expect(f32[b] === want || Object.is(f32[b], want), `b=0x${b.toString(16)}`).toBe(true);
    }
  });

  it("round trips every F16 and BF16 pattern through F32 (NaN stays NaN)", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    for (const type of [F16, BF16]) {
      const bytes = new Uint8Array(all.buffer);
      const back = new Uint16Array(convertTensorBytes(convertTensorBytes(bytes, type, F32), F32, type).slice().buffer);
      for (let h = 0; h < 65536; h++) {
        const isNaN = type === F16 ? (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0 : (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
        if (isNaN) {
          expect(type === F16 ? back[h] === ((h & 0x8000) | 0x7e00) : back[h] === 0x7fc0).toBe(true);
        } else if (back[h] !== h) {
          expect.fail(`${type.name} 0x${h.toString(16)} came back as 0x${back[h]!.toString(16)}`);
        }
      }
    }
  });
});

describe("narrowing F32 → F16", () => {
  it("handles boundary cases", () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000],
      [65504, 0x7bff], [65519.99, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-1e6, 0xfc00],
      [Infinity, 0x7c00], [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], [2 ** -25, 0x0000], [f32Of(bitsOf(2 ** -25) + 1), 0x0001], [-(2 ** -25), 0x8000],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal steps → even (2)
      [2 ** -14, 0x0400], [2 ** -14 - 2 ** -25, 0x0400], // tie below the smallest normal → even (0x400)
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], // ties at 1.0 → even
      [2048 + 1, 0x6800], [2048 + 3, 0x6802],
    ];
    for (const [x, want] of cases) {
      const got = f32BitsToF16Bits(bitsOf(x));
      expect(got, `${x} → 0x${got.toString(16)}, want 0x${want.toString(16)}`).toBe(want);
    }
    expect(f32BitsToF16Bits(0x7fc00000)).toBe(0x7e00);
    expect(f32BitsToF16Bits(0xff800001)).toBe(0xfe00); // signalling NaN: quiet, sign kept
  });

  it("rounds every F16 midpoint to even and its neighbours to the nearer side", () => {
    for (let h = 0; h < 0x7bff; h++) {
      const mid = bitsOf((f16Value(h) + f16Value(h + 1)) / 2); // exact in F32 (12 significant bits)
      const even = h % 2 === 0 ? h : h + 1;
      if (f32BitsToF16Bits(mid) !== even) expect.fail(`midpoint after 0x${h.toString(16)}`);
      if (f32BitsToF16Bits(mid - 1) !== h) expect.fail(`below midpoint after 0x${h.toString(16)}`);
      if (f32BitsToF16Bits(mid + 1) !== h + 1) expect.fail(`above midpoint after 0x${h.toString(16)}`);
    }
  });

  it("agrees with a value-search reference on 300k random floats", () => {
    const bits = randomF32Bits(300_000, 1);
    const got = new Uint16Array(convertTensorBytes(new Uint8Array(bits.buffer), F32, F16).slice().buffer);
    for (let i = 0; i < bits.length; i++) {
      const x = f32Of(bits[i]!);
      if (Number.isNaN(x)) continue;
      const want = nearestByValue(x, F16_LINE);
      if (got[i] !== want) expect.fail(`0x${bits[i]!.toString(16)} → 0x${got[i]!.toString(16)}, want 0x${want.toString(16)}`);
    }
  });

  const hasPython = (() => {
    try {
      execFileSync("python3", ["-c", "import struct"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!hasPython)("agrees with Python's struct.pack('<e') (an independent IEEE half encoder)", () => {
    // random floats plus exact F16 midpoints (ties) and their F32 neighbours, both signs
    const ties: number[] = [];
    for (let h = 0; h < 0x7bff; h += 5) {
      const mid = bitsOf((f16Value(h) + f16Value(h + 1)) / 2);
      ties.push(mid, mid - 1, mid + 1, (mid | 0x80000000) >>> 0);
    }
    const bits = Uint32Array.from([...randomF32Bits(20_000, 7), ...ties]);
    const script = [
      "import sys, struct",
      "out = []",
      "for line in sys.stdin.read().split():",
      "    x = struct.unpack('<f', bytes.fromhex(line))[0]",
      "    try: out.append(struct.pack('<e', x).hex())",
      "    except OverflowError: out.append('inf')",
      "print(' '.join(out))",
    ].join("\n");
    const input = Array.from(bits, (u) => Buffer.from(new Uint32Array([u]).buffer).toString("hex")).join("\n");
    const answers = execFileSync("python3", ["-c", script], { input, maxBuffer: 1 << 24 }).toString().trim().split(" ");
    expect(answers.length).toBe(bits.length);
    const ours = new Uint16Array(convertTensorBytes(new Uint8Array(bits.buffer), F32, F16).slice().buffer);
    let compared = 0;
    for (let i = 0; i < bits.length; i++) {
      const ans = answers[i]!;
      const mine = ours[i]!;
      if (ans === "inf") {
        expect(mine & 0x7fff).toBe(0x7c00); // Python refuses to pack overflow; we give ±Inf
        continue;
      }
      const py = Buffer.from(ans, "hex").readUInt16LE(0);
      if ((py & 0x7c00) === 0x7c00 && (py & 0x3ff) !== 0) {
        expect((mine & 0x7c00) === 0x7c00 && (mine & 0x3ff) !== 0).toBe(true);
        continue;
      }
      if (mine !== py) expect.fail(`0x${bits[i]!.toString(16)}: ours 0x${mine.toString(16)}, python 0x${py.toString(16)}`);
      compared++;
    }
    expect(compared).toBeGreaterThan(20_000);
  });
});

describe("narrowing F32 → BF16", () => {
  it("handles boundary cases (RNE, overflow, NaN like torch)", () => {
    expect(f32BitsToBf16Bits(bitsOf(1))).toBe(0x3f80);
    expect(f32BitsToBf16Bits(0x3f808000)).toBe(0x3f80); // tie, even stays
    expect(f32BitsToBf16Bits(0x3f818000)).toBe(0x3f82); // tie, odd rounds up
    expect(f32BitsToBf16Bits(0x3f808001)).toBe(0x3f81);
    expect(f32BitsToBf16Bits(0x7f7fffff)).toBe(0x7f80); // max finite F32 overflows to Inf
    expect(f32BitsToBf16Bits(0x7f7f7fff)).toBe(0x7f7f); // just below the tie stays at max BF16
    expect(f32BitsToBf16Bits(0xff800000)).toBe(0xff80);
    expect(f32BitsToBf16Bits(0x80000000)).toBe(0x8000);
    expect(f32BitsToBf16Bits(0x00000001)).toBe(0x0000); // smallest F32 subnormal
    expect(f32BitsToBf16Bits(0x00008001)).toBe(0x0001);
    expect(f32BitsToBf16Bits(0xffc00001)).toBe(0x7fc0);
    expect(f32BitsToBf16Bits(0x7f800001)).toBe(0x7fc0);
  });

  it("agrees with a value-search reference on 300k random floats", () => {
    const bits = randomF32Bits(300_000, 2);
    const got = new Uint16Array(convertTensorBytes(new Uint8Array(bits.buffer), F32, BF16).slice().buffer);
    for (let i = 0; i < bits.length; i++) {
      const x = f32Of(bits[i]!);
      if (Number.isNaN(x)) {
        expect(got[i]).toBe(0x7fc0);
        continue;
      }
      const want = nearestByValue(x, BF16_LINE);
      if (got[i] !== want) expect.fail(`0x${bits[i]!.toString(16)} → 0x${got[i]!.toString(16)}, want 0x${want.toString(16)}`);
    }
  });
});

describe("convertTensorBytes", () => {
  it("F16 ↔ BF16 matches going through F32 by hand, for all 65536 patterns", () => {
    const all = new Uint8Array(new Uint16Array(65536).map((_, i) => i).buffer);
    for (const [a, b] of [[F16, BF16], [BF16, F16]] as const) {
      const direct = convertTensorBytes(all, a, b);
      const viaF32 = convertTensorBytes(convertTensorBytes(all, a, F32), F32, b);
      expect(Buffer.compare(direct, viaF32)).toBe(0);
    }
  });

  it("is stateless across chunks and handles misaligned input and output views", () => {
    const bits = randomF32Bits(10_001, 3);
    const whole = convertTensorBytes(new Uint8Array(bits.buffer), F32, F16);
    const shifted = new Uint8Array(bits.byteLength + 1).subarray(1); // odd byteOffset
    shifted.set(new Uint8Array(bits.buffer));
    const out = new Uint8Array(whole.byteLength + 3).subarray(1); // odd output offset
    let o = 0;
    for (let i = 0; i < shifted.byteLength; i += 4 * 777) {
      const piece = shifted.subarray(i, Math.min(i + 4 * 777, shifted.byteLength));
      o += convertTensorBytes(piece, F32, F16, out.subarray(o)).byteLength;
    }
    expect(o).toBe(whole.byteLength);
    expect(Buffer.compare(out.subarray(0, o), whole)).toBe(0);
  });

  it("refuses partial elements, small outputs and non-float types", () => {
    expect(() => convertTensorBytes(new Uint8Array(6), F32, F16)).toThrow(expect.objectContaining({ code: "dtype.misaligned-chunk" }));
    expect(() => convertTensorBytes(new Uint8Array(8), F32, F16, new Uint8Array(3))).toThrow(expect.objectContaining({ code: "dtype.output-too-small" }));
    expect(() => convertTensorBytes(new Uint8Array(8), tensorType("I32")!, F16)).toThrow(expect.objectContaining({ code: "dtype.unsupported" }));
    expect(() => toFloat32(new Uint8Array(3), F16)).toThrow(expect.objectContaining({ code: "dtype.misaligned-chunk" }));
  });

  it("returns src for identity without out, and a copy into out with it", () => {
    const src = new Uint8Array([1, 2, 3, 4]);
    expect(convertTensorBytes(src, F32, F32)).toBe(src);
    const out = new Uint8Array(8);
    expect(Array.from(convertTensorBytes(src, F32, F32, out))).toEqual([1, 2, 3, 4]);
  });

  it("fromFloat32/toFloat32 round trip and copy", () => {
    const values = Float32Array.from([0, -0, 1.5, -65504, 3.140625, 1e-7]);
    const f16 = fromFloat32(values, F16);
    expect(Array.from(toFloat32(f16, F16))).toEqual([0, -0, 1.5, -65504, 3.140625, f16Value(f32BitsToF16Bits(bitsOf(1e-7)))]);
    const copy = toFloat32(fromFloat32(values, F32), F32);
    expect(copy).toEqual(values);
    expect(copy.buffer).not.toBe(values.buffer);
    expect(Array.from(toFloat32(fromFloat32(values, BF16), BF16)).slice(0, 4)).toEqual([0, -0, 1.5, -65536]);
  });
});
