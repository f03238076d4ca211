import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DuskError } from "../errors.js";
import {
  dequantize,
  dequantizeQ4_0,
  dequantizeQ8_0,
  quantize,
  quantizedByteLength,
  quantizeQ4_0,
  quantizeQ8_0,
  type QuantType,
} from "./quantize.js";

// deterministic test data: xorshift32 → roughly normal values plus hand-placed edge cases
function seededNormals(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = next() + 1e-12;
    const v = next();
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * (i % 7 === 0 ? 3 : 0.05);
  }
  return out;
}

function edgeBlocks(): Float32Array {
  const x = new Float32Array(32 * 6);
  // block 0: all zeros (d = 0, id = 0)
  // block 1: ramp with a negative extreme (Q4_0 keeps the sign of the extreme)
  for (let j = 0; j < 32; j++) x[32 + j] = (j - 20) / 4;
  // block 2: exact ties for Q8_0 rounding: amax 127 → d = 1, values k + 0.5
  for (let j = 0; j < 32; j++) x[64 + j] = j === 0 ? 127 : ((j % 2 ? -1 : 1) * (j + 0.5));
  // block 3: tiny values (f16 subnormal d)
  for (let j = 0; j < 32; j++) x[96 + j] = (j - 16) * 1e-7;
  // block 4: two extremes of equal |x| and opposite sign: the first one wins
  x[128 + 3] = -2;
  x[128 + 9] = 2;
  x[128 + 10] = 1;
  // block 5: large values (d near the f16 range)
  for (let j = 0; j < 32; j++) x[160 + j] = (j - 15.5) * 60000;
  return x;
}

describe("Q8_0", () => {
  it("matches a hand-computed block", () => {
    const x = new Float32Array(32);
    x[0] = 127;
    x[1] = -63.5; // tie → away from zero: −64
    x[2] = 0.5; // → 1
    x[3] = -0.49; // → 0
    x[4] = 2.5; // → 3 (roundf, not banker's)
    const y = quantizeQ8_0(x);
    expect(y.length).toBe(34);
    expect(y[0]! | (y[1]! << 8)).toBe(0x3c00); // d = 1.0 in f16
    expect(Array.from(new Int8Array(y.buffer, 2, 5))).toEqual([127, -64, 1, 0, 3]);
    expect(Array.from(new Int8Array(y.buffer, 7, 27)).every((q) => q === 0)).toBe(true);
  });

  it("dequant(quant(x)) is within d/2 (+ f16 rounding of d) of x", () => {
    const x = seededNormals(32 * 64, 7);
    const back = dequantizeQ8_0(quantizeQ8_0(x));
    for (let b = 0; b < 64; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
      const d = amax / 127;
      for (let j = 0; j < 32; j++) {
        const i = b * 32 + j;
        expect(Math.abs(back[i]! - x[i]!)).toBeLessThanOrEqual(d * 0.5 + amax * 2 ** -11 + 1e-12);
      }
    }
  });
});

describe("Q4_0", () => {
  it("matches a hand-computed block", () => {
    // extreme −8 → d = 1, id = 1; q = trunc(x + 8.5) capped at 15
    const x = new Float32Array(32);
    x[0] = -8; // q 0
    x[1] = 7; // q 15
    x[2] = 7.9; // 16.4 → 16 → capped 15
    x[16] = 0.49; // 8.99 → 8
    x[17] = -0.51; // 7.99 → 7
    x[31] = 3; // 11
    const y = quantizeQ4_0(x);
    expect(y.length).toBe(18);
    expect(y[0]! | (y[1]! << 8)).toBe(0x3c00);
    const q = (j: number) => (j < 16 ? y[2 + j]! & 0x0f : y[2 + j - 16]! >>> 4);
    expect([q(0), q(1), q(2), q(3), q(16), q(17), q(30), q(31)]).toEqual([0, 15, 15, 8, 8, 7, 8, 11]);
    const back = dequantizeQ4_0(y);
    expect(back[0]).toBe(-8);
    expect(back[1]).toBe(7);
    expect(back[31]).toBe(3);
  });

  it("dequant(quant(x)) is within about d of x", () => {
    const x = seededNormals(32 * 64, 11);
    const back = dequantizeQ4_0(quantizeQ4_0(x));
    for (let b = 0; b < 64; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
      const d = amax / 8;
      for (let j = 0; j < 32; j++) {
        const i = b * 32 + j;
        // the extreme maps to −8 exactly; the opposite side is capped at +7, so error ≤ d there
        expect(Math.abs(back[i]! - x[i]!)).toBeLessThanOrEqual(d * 1.0001 + 1e-12);
      }
    }
  });
});

describe("shared behaviour", () => {
  it("rejects lengths that are not whole blocks, with a typed error", () => {
    expect(() => quantizeQ8_0(new Float32Array(33))).toThrow(DuskError);
    expect(() => quantizedByteLength("Q4_0", 31)).toThrow(/32-element blocks/);
    expect(() => dequantizeQ4_0(new Uint8Array(17))).toThrow(/18-byte blocks/);
    expect(() => quantizeQ8_0(new Float32Array(64), new Uint8Array(10))).toThrow(/68 needed/);
  });

  it("quantizing in row chunks equals quantizing at once", () => {
    const x = seededNormals(32 * 40, 3);
    for (const t of ["Q8_0", "Q4_0"] as QuantType[]) {
      const whole = quantize(t, x);
      const out = new Uint8Array(whole.length);
      const bb = whole.length / 40;
      for (let r = 0; r < 40; r += 8) {
        quantize(t, x.subarray(r * 32, (r + 8) * 32), out.subarray(r * bb, (r + 8) * bb));
      }
      expect(out).toEqual(whole);
      expect(dequantize(t, out).length).toBe(x.length);
    }
  });
});

// Independent check: a numpy implementation written from gguf-py's description (f32 arithmetic,
// roundf ties away from zero, f16 via astype), run on the same data.
function havePythonNumpy(): boolean {
  try {
    execFileSync("python3", ["-c", "import numpy"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const NUMPY_QUANT = String.raw`
import sys, numpy as np
np.seterr(all="ignore")  # block 5 overflows f16 on purpose (d → inf), as in ggml
x = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, 32)
def q8(b):
    d = (np.abs(b).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)
    v = (b * inv).astype(np.float32)
    a = np.abs(v); f = np.floor(a)
    q = (np.sign(v) * (f + np.floor(np.float32(2) * (a - f)))).astype(np.int8)  # exact roundf
    return np.concatenate([d.astype(np.float16).view(np.uint8), q.view(np.uint8)], axis=1)
def q4(b):
    idx = np.abs(b).argmax(axis=1)[:, None]
    m = np.take_along_axis(b, idx, axis=1)
    d = (m / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)
    q = np.trunc((b * inv).astype(np.float32) + np.float32(8.5)).astype(np.uint8)
    q = np.minimum(q, 15)
    packed = q[:, :16] | (q[:, 16:] << np.uint8(4))
    return np.concatenate([d.astype(np.float16).view(np.uint8), packed], axis=1)
q8(x).tofile(sys.argv[2])
q4(x).tofile(sys.argv[3])
`;

describe.skipIf(!havePythonNumpy())("cross-check against numpy", () => {
  it("Q8_0 and Q4_0 bytes equal numpy's", () => {
    const rand = seededNormals(32 * 2000, 12345);
    const edges = edgeBlocks();
    const x = new Float32Array(rand.length + edges.length);
    x.set(edges);
    x.set(rand, edges.length);
    const dir = mkdtempSync(join(tmpdir(), "dusk-quant-"));
    try {
      const inPath = join(dir, "x.f32");
      writeFileSync(inPath, new Uint8Array(x.buffer));
      writeFileSync(join(dir, "q.py"), NUMPY_QUANT);
      execFileSync("python3", [join(dir, "q.py"), inPath, join(dir, "q8"), join(dir, "q4")]);
      const q8 = new Uint8Array(readFileSync(join(dir, "q8")));
      const q4 = new Uint8Array(readFileSync(join(dir, "q4")));
      expect(Buffer.from(quantizeQ8_0(x)).equals(Buffer.from(q8))).toBe(true);
      expect(Buffer.from(quantizeQ4_0(x)).equals(Buffer.from(q4))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
