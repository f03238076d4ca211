import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { quantizeRowQ8_0 } from "./quantize-32.js";
import { quantizeRowIq4Nl, quantizeRowIq4Xs } from "./quantize-iq4.js";
import { quantizeRowQ2K, quantizeRowQ3K, quantizeRowQ4K, quantizeRowQ5K, quantizeRowQ6K } from "./quantize-k.js";
import { quantizeRowsWasm, wasmQuantizes } from "./wasm-quant.js";
import { QUANTIZERS_C_SHA256 } from "./wasm/quantizers.wasm.js";

const JS_ROWS = { Q2_K: quantizeRowQ2K, Q3_K: quantizeRowQ3K, Q4_K: quantizeRowQ4K, Q5_K: quantizeRowQ5K, Q6_K: quantizeRowQ6K, Q8_0: quantizeRowQ8_0, IQ4_NL: quantizeRowIq4Nl, IQ4_XS: quantizeRowIq4Xs } as const;
/** bytes a 256-element stretch takes */
const BYTES_PER_256 = { Q2_K: 84, Q3_K: 110, Q4_K: 144, Q5_K: 176, Q6_K: 210, Q8_0: 8 * 34, IQ4_NL: 8 * 18, IQ4_XS: 136 } as const;

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

describe.runIf(wasmQuantizes("Q4_K"))("K-quants, IQ4 and Q8_0 in WebAssembly equal the JavaScript quantizers", () => {
  test("the committed module was built from the C sources as they are (scripts/build-wasm.sh)", () => {
    const hash = createHash("sha256");
    for (const file of ["quantizers.c", "search.h", "rows-k.h", "rows-32.h"]) hash.update(readFileSync(new URL(`./wasm/${file}`, import.meta.url)));
    expect(hash.digest("hex")).toBe(QUANTIZERS_C_SHA256);
  });

  for (const type of ["Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0", "IQ4_NL", "IQ4_XS"] as const) {
    test(`${type}: every kind of row, with and without an importance vector, byte for byte`, () => {
      for (const seed of [1, 2, 3]) {
        const x = rows(seed);
        const n = 512;
        const nrows = x.length / n;
        const r = rng(seed + 100);
        const imatrix = new Float32Array(n).map((_, i) => (i % 97 === 0 ? 0 : r() * 3));
        for (const qw of [undefined, imatrix]) {
          const rb = (n / 256) * BYTES_PER_256[type];
          const want = new Uint8Array(nrows * rb);
          for (let row = 0; row < nrows; row++) JS_ROWS[type](x, row * n, n, want, row * rb, qw); // Q8_0 takes no weights
          const got = new Uint8Array(nrows * rb);
          quantizeRowsWasm(type, x, nrows, n, qw, got);
          const diff = got.findIndex((b, i) => b !== want[i]);
          expect(diff, `${type} seed ${seed} ${qw ? "imatrix" : "plain"}: first difference at byte ${diff} (row ${Math.floor(diff / rb)})`).toBe(-1);
        }
      }
    });
  }

  test("Q8_0 and IQ4_NL rows of 32·k that are not whole 256s (hidden 128, 96)", () => {
    for (const [type, bytes] of [["Q8_0", 34], ["IQ4_NL", 18]] as const) {
      for (const n of [96, 128, 160]) {
        const x = rows(9).subarray(0, 7 * n);
        const want = new Uint8Array(7 * (n / 32) * bytes);
        for (let row = 0; row < 7; row++) JS_ROWS[type](x, row * n, n, want, row * (n / 32) * bytes);
        const got = new Uint8Array(want.length);
        quantizeRowsWasm(type, x, 7, n, undefined, got);
        expect(Buffer.compare(got, want), `${type} rows of ${n}`).toBe(0);
      }
    }
  });
});
