// model_stock (mergekit model_stock.py): the average of the fine-tuned models pulled towards the
// base by t = N·cos θ / (1 + (N − 1)·cos θ), θ the mean pairwise angle between their task
// vectors — over the whole tensor, or per row with `filter_wise` (a 1-D tensor is one row).

import { rounder } from "../float.js";
import { lastDim, type MergeKernel } from "../kernel.js";

export const modelStock: MergeKernel = (m) => {
  const r = rounder(m.dtype);
  const baseIndex = m.base!;
  const w0 = m.tensors[baseIndex]!;
  const ws = m.tensors.filter((_, k) => k !== baseIndex);
  const n = w0.length;
  const cols = m.params.filter_wise === true && m.shape.length >= 2 ? lastDim(m.shape) : n;
  const rows = n / cols;
  const offsets = ws.map((w) => w.map((v, i) => r(v - w0[i]!)));
  const N = ws.length;
  const out = new Float32Array(n);
  for (let row = 0; row < rows; row++) {
    const from = row * cols;
    const to = from + cols;
    let cosSum = 0;
    let pairs = 0;
    for (let i = 0; i < offsets.length; i++) {
      for (let j = i + 1; j < offsets.length; j++) {
        const a = offsets[i]!;
        const b = offsets[j]!;
        let aa = 0, bb = 0, ab = 0;
        for (let e = from; e < to; e++) {
          aa += a[e]! * a[e]!;
          bb += b[e]! * b[e]!;
          ab += r(a[e]! * b[e]!);
        }
        const product = r(r(Math.sqrt(aa)) * r(Math.sqrt(bb)));
        const cos = Math.min(1, Math.max(-1, r(r(ab) / Math.max(product, Math.fround(1e-6)))));
        cosSum = Math.fround(cosSum + cos);
        pairs++;
      }
    }
    const cos = r(cosSum / pairs);
    const t = r(r(N * cos) / r(r((N - 1) * cos) + 1));
    const oneMinusT = r(1 - t);
    for (let e = from; e < to; e++) {
      let acc = 0;
      for (const w of ws) acc = r(acc + w[e]!);
      const avg = r(acc / N);
      out[e] = r(r(t * avg) + r(oneMinusT * w0[e]!));
    }
  }
  return out;
};
