import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { quantizeRowQ2K, quantizeRowQ3K, quantizeRowQ4K, quantizeRowQ5K, quantizeRowQ6K } from "./quantize-k.js";
import { quantizeRowsWasm, wasmQuantizes } from "./wasm-quant.js";
import { K_QUANTS_C_SHA256 } from "./wasm/k-quants.wasm.js";

const JS_ROWS = { Q2_K: quantizeRowQ2K, Q3_K: quantizeRowQ3K, Q4_K: quantizeRowQ4K, Q5_K: quantizeRowQ5K, Q6_K: quantizeRowQ6K } as const;
const BLOCK_BYTES = { Q2_K: 84, Q3_K: 110, Q4_K: 144, Q5_K: 176, Q6_K: 210 } as const;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 2246822519) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

/** rows of 512 that reach every branch: plain, heavy-tailed, all zero, below GROUP_MAX_EPS, constant, one-signed, huge, subnormal, mixed scales */
function rows(seed: number): Float32Array {
  const r = rng(seed);
  const n = 512;
  const kinds = [
    () => (r() - 0.5) * 0.2,
    () => (r() - 0.5) * (r() < 0.02 ? 40 : 0.1),
    () => 0,
    () => (r() - 0.5) * 1e-16,
    () => 0.03125,
    () => r() * 0.5,
    () => -r() * 3,
    () => (r() - 0.5) * 6e4,
    () => (r() - 0.5) * 1e-40,
    (i: number) => (r() - 0.5) * 2 ** ((i >> 4) % 24 - 12),
  ];
  const x = new Float32Array(kinds.length * n);
  kinds.forEach((f, k) => {
    for (let i = 0; i < n; i++) x[k * n + i] = (f as (i: number) => number)(i);
  });
  return x;
}

describe.runIf(wasmQuantizes("Q4_K"))("K-quants in WebAssembly equal the JavaScript quantizers", () => {
  test("the committed module was built from k-quants.c as it is (scripts/build-wasm.sh)", () => {
    const source = readFileSync(new URL("./wasm/k-quants.c", import.meta.url));
    expect(createHash("sha256").update(source).digest("hex")).toBe(K_QUANTS_C_SHA256);
  });

  for (const type of ["Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"] as const) {
    test(`${type}: every kind of row, with and without an importance vector, byte for byte`, () => {
      for (const seed of [1, 2, 3]) {
        const x = rows(seed);
        const n = 512;
        const nrows = x.length / n;
        const r = rng(seed + 100);
        const imatrix = new Float32Array(n).map((_, i) => (i % 97 === 0 ? 0 : r() * 3));
        for (const qw of [undefined, imatrix]) {
          const rb = (n / 256) * BLOCK_BYTES[type];
          const want = new Uint8Array(nrows * rb);
          for (let row = 0; row < nrows; row++) JS_ROWS[type](x, row * n, n, want, row * rb, qw);
          const got = new Uint8Array(nrows * rb);
          quantizeRowsWasm(type, x, nrows, n, qw, got);
          const diff = got.findIndex((b, i) => b !== want[i]);
          expect(diff, `${type} seed ${seed} ${qw ? "imatrix" : "plain"}: first difference at byte ${diff} (row ${Math.floor(diff / rb)})`).toBe(-1);
        }
      }
    });
  }
});
