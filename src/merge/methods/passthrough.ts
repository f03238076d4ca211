// passthrough (mergekit passthrough.py) for one input, optionally scaled. The planner turns most
// passthrough tensors into copy/scale operations; this kernel serves virtual merges and tests.

import { rounder } from "../float.js";
import type { MergeKernel } from "../kernel.js";

export const passthrough: MergeKernel = (m) => {
  const x = m.tensors[0]!;
  const scale = m.perInput[0]?.scale;
  if (typeof scale !== "number") return x;
  const r = rounder(m.dtype);
  const s = r(scale);
  return x.map((v) => r(v * s));
};
