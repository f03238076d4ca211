import { afterAll, expect, test } from "vitest";
import { QuantPool } from "./pool.js";
import { quantizeRows, rowBytes } from "./quantize.js";
import { tensorType } from "../formats/tensor-types.js";

const pool = QuantPool.create(2);
afterAll(() => pool.close());

test("rows on shared memory are quantized in place by the workers, others copied there and back: the same bytes as one thread", async () => {
  const nrows = 64, n = 1024;
  let s = 7;
  const values = Float32Array.from({ length: nrows * n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2);
  const imatrix = Float32Array.from({ length: n }, (_, i) => 0.5 + (i % 13) / 7);
  for (const type of ["Q4_K", "Q4_0"]) {
    const rb = rowBytes(tensorType(type)!, n);
    const want = quantizeRows(type, values, nrows, n, imatrix);
    const plain = await pool.quantize(type, values, nrows, n, imatrix, new Uint8Array(nrows * rb));
    const x = new Float32Array(new SharedArrayBuffer(values.byteLength));
    x.set(values);
    const out = new Uint8Array(new SharedArrayBuffer(nrows * rb + 64));
    const shared = await pool.quantize(type, x, nrows, n, imatrix, out);
    expect(Buffer.compare(plain, want), `${type} copied`).toBe(0);
    expect(Buffer.compare(shared, want), `${type} shared`).toBe(0);
    expect(shared.buffer).toBe(out.buffer); // written in place
  }
});
