// model_stock (mergekit model_stock.py): the average of the fine-tuned models pulled towards the
// base by t = N·cos θ / (1 + (N − 1)·cos θ), θ the mean pairwise angle between their task
// vectors — over the whole tensor, or per row with `filter_wise` (a 1-D tensor is one row).
// Norms, dot products and the mean over pairs in torch's order (reduce.ts).

import { rounder } from "../float.js";
import { lastDim, type MergeKernel } from "../kernel.js";
import { workNorm, workSum } from "../reduce.js";
import { torchColumnSums } from "../torch-f32.js";

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
  const type = m.dtype;
  // cos θ of each pair of task vectors, per row (one row unless filter_wise)
  const cosines: Float32Array[] = [];
  const products = new Float32Array(cols);
  for (let i = 0; i < offsets.length; i++) {
    for (let j = i + 1; j < offsets.length; j++) {
      const [a, b] = [offsets[i]!, offsets[j]!];
      cosines.push(Float32Array.from({ length: rows }, (_, row) => {
        const from = row * cols;
        const product = r(workNorm(a, from, cols, type, r) * workNorm(b, from, cols, type, r));
        for (let e = 0; e < cols; e++) products[e] = r(a[from + e]! * b[from + e]!);
        const ab = workSum(products, 0, cols, type, r);
        return Math.min(1, Math.max(-1, r(ab / Math.max(product, Math.fround(1e-6)))));
      }));
    }
  }
  // torch.stack(cos_thetas).mean(dim=0): the pairs' sum (a 1-D stack summed whole; with rows,
  // down each column of the pairs × rows stack), divided by their count
  const pairs = cosines.length;
  const sums = rows === 1
    ? [workSum(Float32Array.from(cosines, (c) => c[0]!), 0, pairs, type, r)]
    : type === "F32" ? torchColumnSums(pairs, rows, (p, row) => cosines[p]![row]!) : Array.from({ length: rows }, (_, row) => cosines.reduce((acc, c) => r(acc + c[row]!), 0));
  for (let row = 0; row < rows; row++) {
    const from = row * cols;
    const to = from + cols;
    const cosSum = sums[row]!;
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
