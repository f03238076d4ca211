import { describe, expect, test } from "vitest";
import golden from "../../test/fixtures/merge/torch-reductions.json" with { type: "json" };
import { sleefAcosF32, sleefCosF32, sleefSinF32 } from "./sleef-f32.js";
import { torchColumnSums, torchNorm, torchStridedNorm, torchSum } from "./torch-f32.js";

// torch 1.13's own float32 reductions on hashed vectors (scripts/merge-goldens/gen_torch_reductions.py):
// every result bit for bit.

/** scripts/merge-goldens/gen_torch_reductions.py's values(): f32((h(i)/2^32 − 0.5)·scale) */
function hashed(n: number, salt: number, scale: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((Math.imul(i, 2654435761 | 0) + salt) >>> 0) / 2 ** 32 * scale - 0.5 * scale;
  return x;
}

const f32 = (b64: string): Float32Array => {
  const bytes = Buffer.from(b64, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

describe(`torch ${golden.torch}'s float32 reductions`, () => {
  test.each(golden.runs)("sum, |x| sum and norm of $n values", (run) => {
    const x = hashed(run.n, run.salt, run.scale);
    expect(torchSum(x)).toBe(f32(run.sum)[0]);
    expect(torchSum(x, 0, x.length, true)).toBe(f32(run.abs_sum)[0]);
    expect(torchNorm(x)).toBe(f32(run.norm)[0]);
  });

  test.each(golden.blocks)("$rows × $cols: sums and norms of rows and columns", (b) => {
    const x = hashed(b.rows * b.cols, b.salt, b.scale);
    const at = (r: number, c: number): number => x[r * b.cols + c]!;
    expect(Array.from(torchColumnSums(b.rows, b.cols, at))).toEqual(Array.from(f32(b.column_sums)));
    const rowSums = Array.from({ length: b.rows }, (_, r) => torchSum(x, r * b.cols, b.cols));
    expect(rowSums).toEqual(Array.from(f32(b.row_sums)));
    const rowNorms = Array.from({ length: b.rows }, (_, r) => torchNorm(x, r * b.cols, b.cols));
    expect(rowNorms).toEqual(Array.from(f32(b.row_norms)));
    const columnNorms = Array.from({ length: b.cols }, (_, c) => torchStridedNorm(b.rows, (r) => at(r, c)));
    expect(columnNorms).toEqual(Array.from(f32(b.column_norms)));
  });
});

describe(`torch ${golden.torch}'s float32 acos, sin and cos (SLEEF)`, () => {
  const functions = { acos: sleefAcosF32, sin: sleefSinF32, cos: sleefCosF32, sin_angles: sleefSinF32 };
  test.each(Object.entries(functions))("%s: every value bit for bit", (name, fn) => {
    const g = golden.trig[name as keyof typeof golden.trig];
    const [x, y] = [f32(g.in), f32(g.out)];
    const wrong = Array.from(x).flatMap((v, i) => (Object.is(fn(v), y[i]!) ? [] : [`${v} → ${fn(v)}, torch ${y[i]}`]));
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});
