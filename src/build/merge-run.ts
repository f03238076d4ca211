// What a build needs to compute merged tensors: the seed, a worker pool when the plan merges
// anything (closed when the build ends, however it ends), and where quirk warnings go.

import type { MergeRunOptions } from "../merge/executor.js";
import { createInlineExec } from "../merge/blocks.js";
import { defaultMergeWorkers, MergePool } from "../merge/pool.js";
import type { Plan } from "../plan/types.js";

export interface MergeRun {
  options: MergeRunOptions;
  close(): Promise<void>;
}

export function openMergeRun(plan: Plan, o: { seed?: number; mergeWorkers?: number; onWarning?: (message: string) => void }): MergeRun {
  const workers = o.mergeWorkers ?? defaultMergeWorkers();
  const merges = plan.tensors.some((t) => t.merge);
  const pool = merges && workers > 0 ? MergePool.create(workers) : undefined;
  return {
    options: { seed: o.seed ?? 0, exec: pool ?? createInlineExec(), ...(o.onWarning ? { warn: o.onWarning } : {}) },
    close: async () => void (await pool?.close()),
  };
}
