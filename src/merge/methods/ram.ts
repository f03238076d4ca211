// ram and ramplus_tl (mergekit ram.py): task-vector entries above epsilon count as contributions;
// an entry one model alone contributes is kept whole, one several contribute is averaged over
// them. ramplus_tl scales each model's unique entries by 1 + r·clamp(shared/unique, 0, alpha).
// Those λ are a float32 vector (counts divided), so in bf16/f16 torch promotes ramplus_tl's unique
// terms, its sum and its final add to float32, and the result is rounded to the type once.

import { rounder } from "../float.js";
import type { MergeKernel } from "../kernel.js";
import { subtractBase } from "../task-vectors.js";

export const ram: MergeKernel = (m) => ramMerge(m, false);
export const ramplusTl: MergeKernel = (m) => ramMerge(m, true);

function ramMerge(m: Parameters<MergeKernel>[0], plus: boolean): Float32Array {
  const r = rounder(m.dtype);
  const base = m.tensors[m.base!]!;
  const tvs = m.tensors.filter((_, k) => k !== m.base).map((x) => subtractBase(x, base, r));
  if (tvs.length === 0) return base;
  const n = base.length;
  const K = tvs.length;
  const eps = r(Number(m.params.epsilon));
  const counts = new Uint16Array(n);
  for (const tv of tvs) for (let i = 0; i < n; i++) if (Math.abs(tv[i]!) > eps) counts[i]!++;
  const lambdas = tvs.map((tv) => {
    if (!plus) return 1;
    let shared = 0;
    let unique = 0;
    for (let i = 0; i < n; i++) {
      if (!(Math.abs(tv[i]!) > eps)) continue;
      if (counts[i]! > 1) shared++;
      else if (counts[i] === 1) unique++;
    }
    const rho = Math.fround(shared / Math.max(unique, eps));
    const clamped = Math.min(Math.max(rho, 0), Math.fround(Number(m.params.alpha)));
    return Math.fround(Math.fround(clamped * Math.fround(Number(m.params.r))) + 1);
  });
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    const c = counts[i]!;
    for (let k = 0; k < K; k++) {
      const v = Math.abs(tvs[k]![i]!) > eps ? tvs[k]![i]! : 0;
      const unique = c === 1 ? (plus ? Math.fround(v * lambdas[k]!) : v) : 0;
      const overlap = c > 1 ? r(v / c) : 0;
      acc = Math.fround(acc + (plus ? Math.fround(unique + overlap) : r(unique + overlap)));
    }
    out[i] = plus ? r(Math.fround(base[i]! + acc)) : r(base[i]! + r(acc));
  }
  return out;
}
