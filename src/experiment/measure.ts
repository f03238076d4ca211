// One model measured the way the experiment's table needs it, through llama.cpp (the runtime a
// user runs it with; GPU when asked) or an OpenAI-compatible server (measure-server.ts): held-out
// perplexity, the next-word multiple-choice task (acc, acc_norm), leaderboard tasks when given,
// and a greedy continuation of one fixed prompt.
// Not here: converting a checkpoint to GGUF (the caller does, once per model).

import type { GpuOptions } from "../runtime/llama-instance.js";
import { LlamaScorer } from "../runtime/score.js";
import { nextLineTask } from "../eval/tasks/nextline.js";
import { perplexity, type WindowScorer } from "../eval/perplexity.js";
import { runTask, type TaskResult } from "../eval/runner.js";
import type { EvalTask } from "../eval/task.js";
import type { Scorer } from "../eval/scorer.js";

export interface MeasureOptions extends GpuOptions {
  /** held-out text for the next-word items */
  test: string;
  /** held-out text for perplexity (the test text's start) */
  pplText: string;
  /** llama.cpp threads (default: llama.cpp's; 1 for small models, which are overhead-bound) */
  threads?: number;
  /** perplexity window and stride, in tokens */
  ctx: number;
  stride: number;
  /** next-word items (0: skip the task) */
  nextwordItems: number;
  nextwordSeed: number;
  /** leaderboard (or other) tasks, scored v1-style, on `dataDir` */
  tasks?: readonly EvalTask<unknown>[];
  dataDir?: string;
  limit?: number;
  prompt: string;
  continuationTokens: number;
  onProgress?: (what: string, done: number, total: number) => void;
}

export interface TaskScore {
  metrics: Record<string, number>;
  stderr: Record<string, number | null>;
  n: number;
}

export interface Measurement {
  ppl: number;
  /** mean next-token loss (nats) over the test text */
  nll: number;
  tokens: number;
  nextword?: TaskScore;
  tasks: Record<string, TaskScore>;
  continuation: string;
  device: string;
  seconds: number;
}

const score = (r: TaskResult): TaskScore => ({ metrics: r.metrics, stderr: r.stderr, n: r.nSamples.effective });

async function runToResult(gen: AsyncGenerator<{ type: string; done?: number; total?: number }, TaskResult>, onProgress?: (done: number, total: number) => void): Promise<TaskResult> {
  for (;;) {
    const n = await gen.next();
    if (n.done) return n.value;
    if (n.value.type === "progress") onProgress?.(n.value.done ?? 0, n.value.total ?? 0);
  }
}

/** Context for leaderboard-task prompts (llama.cpp caps it at the model's training context). */
export const TASK_CONTEXT = 4096;

/** Measures one GGUF through llama.cpp. The scorer is opened for it alone and closed before returning. */
export async function measureGguf(gguf: string, o: MeasureOptions): Promise<Measurement> {
  // Task prompts (25-shot ARC is ~3k tokens) get the model's context, up to TASK_CONTEXT, not the
  // perplexity window: a shorter context would cut their few-shot examples.
  const contextSize = o.tasks?.length ? Math.max(o.ctx, TASK_CONTEXT) : o.ctx;
  const scorer = await LlamaScorer.open(gguf, { contextSize, ...(o.threads ? { threads: o.threads } : {}), ...(o.gpu ? { gpu: o.gpu } : {}), ...(o.gpuLayers !== undefined ? { gpuLayers: o.gpuLayers } : {}) });
  try {
    return await measureWith(scorer, scorer.device, o);
  } finally {
    await scorer.close();
  }
}

/** Measures one model through any scorer that also scores token windows (llama.cpp, a server). */
export async function measureWith(scorer: Scorer & WindowScorer, device: string, o: MeasureOptions): Promise<Measurement> {
  const t0 = performance.now();
  const ppl = perplexity(scorer, o.pplText, { ctx: o.ctx, stride: o.stride });
  let p;
  for (;;) {
    const n = await ppl.next();
    if (n.done) {
      p = n.value;
      break;
    }
    o.onProgress?.("perplexity", n.value.done, n.value.total);
  }
  const nextword = o.nextwordItems > 0
    ? score(await runToResult(runTask(nextLineTask({ text: o.test, items: o.nextwordItems, seed: o.nextwordSeed, unit: "word" }), scorer, { protocol: "v1" }), (d, t) => o.onProgress?.("nextword", d, t)))
    : undefined;
  const tasks: Record<string, TaskScore> = {};
  for (const task of o.tasks ?? []) {
    const r = await runToResult(runTask(task, scorer, { protocol: "v1", ...(o.dataDir ? { dataDir: o.dataDir } : {}), ...(o.limit ? { limit: o.limit } : {}) }), (d, t) => o.onProgress?.(task.name, d, t));
    tasks[task.name] = score(r);
  }
  const [gen] = await scorer.generate([{ kind: "generate", context: o.prompt, until: [], maxTokens: o.continuationTokens }]);
  return { ppl: p.ppl, nll: p.nll, tokens: p.tokens, ...(nextword ? { nextword } : {}), tasks, continuation: gen?.text ?? "", device, seconds: (performance.now() - t0) / 1000 };
}
