import { describe, expect, it } from "vitest";
import { BuildError } from "../errors.js";
import { permuteQK, unpermuteQK } from "./qk-permute.js";

// A straightforward reshape/swapaxes model of numpy's
// w.reshape(nh, 2, r, cols).swapaxes(1, 2).reshape(rows, cols), indexed element by element.
function numpyStylePermute(w: number[][], nh: number): number[][] {
  const rows = w.length;
  const r = rows / nh / 2;
  const out: number[][] = [];
  for (let h = 0; h < nh; h++) for (let i = 0; i < r; i++) for (let two = 0; two < 2; two++) out.push(w[h * 2 * r + two * r + i]!);
  return out;
}

describe("permuteQK", () => {
  it("matches a hand-computed case: 2 heads, 4 rows each, 2 cols", () => {
    // rows 0..7, value = 10·row + col
    const w = new Float32Array(16);
    for (let r = 0; r < 8; r++) for (let c = 0; c < 2; c++) w[r * 2 + c] = 10 * r + c;
    const p = permuteQK(w, 2, 8);
    // head 0 rows [0,1 | 2,3] → [0,2,1,3]; head 1 rows [4,5 | 6,7] → [4,6,5,7]
    const rowOrder = Array.from({ length: 8 }, (_, r) => p[r * 2]! / 10);
    expect(rowOrder).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    expect(p[3]).toBe(21); // row 1 of the output is input row 2, col 1
    expect(p).toBeInstanceOf(Float32Array);
    expect(w[2]).toBe(10); // input untouched
  });

  it("equals the reshape/swapaxes model for several shapes and element sizes", () => {
    for (const [nh, rows, cols] of [
      [1, 2, 3],
      [4, 32, 5],
      [8, 64, 1],
      [2, 12, 7],
    ] as const) {
      const w: number[][] = Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => r * 1000 + c));
      const expected = numpyStylePermute(w, nh).flat();
      expect(Array.from(permuteQK(new Float64Array(w.flat()), nh, rows))).toEqual(expected);
      expect(Array.from(permuteQK(new Int32Array(w.flat()), nh, rows))).toEqual(expected);
      const u16 = new Uint16Array(w.flat().map((v) => v & 0xffff));
      expect(Array.from(permuteQK(u16, nh, rows))).toEqual(expected.map((v) => v & 0xffff));
    }
  });

  it("works on raw bytes (e.g. quantized rows of 34-byte Q8_0 blocks)", () => {
    const rows = 16;
    const rowBytes = 34 * 2;
    const bytes = new Uint8Array(rows * rowBytes).map((_, i) => (i * 31 + 7) & 0xff);
    const p = permuteQK(bytes, 4, rows);
    // head 1 (rows 4..7): output row 5 = input row 6
    expect(Array.from(p.subarray(5 * rowBytes, 6 * rowBytes))).toEqual(Array.from(bytes.subarray(6 * rowBytes, 7 * rowBytes)));
    expect(unpermuteQK(p, 4, rows)).toEqual(bytes);
  });

  it("unpermute ∘ permute = identity and permute ∘ unpermute = identity", () => {
    const w = new Float32Array(24 * 8).map((_, i) => Math.sin(i));
    expect(unpermuteQK(permuteQK(w, 3, 24), 3, 24)).toEqual(w);
    expect(permuteQK(unpermuteQK(w, 3, 24), 3, 24)).toEqual(w);
    // a subarray view at an offset is read from its own offset
    const big = new Float32Array(10 + 24 * 8);
    big.set(w, 10);
    expect(permuteQK(big.subarray(10), 3, 24)).toEqual(permuteQK(w, 3, 24));
  });

  it("rejects shapes that do not split into heads of even row count", () => {
    expect(() => permuteQK(new Float32Array(12), 4, 6)).toThrow(BuildError);
    expect(() => permuteQK(new Float32Array(10), 1, 4)).toThrow(/equal rows/);
    expect(() => permuteQK(new Float32Array(8), 0, 4)).toThrow(/heads/);
  });
});
