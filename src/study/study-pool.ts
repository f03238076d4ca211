// Runs the study's jobs on worker threads, one per core (the engine is single-threaded: WASM threads
// do not work under Node), or in this thread with 0 workers. Jobs are pure functions of their
// description, so results are the same with any worker count; they come back in job order. The
// largest jobs start first, so two workers finish close together.

import { Worker } from "node:worker_threads";
import { StudyError } from "./study-error.js";
import { jobLabel, jobUnits, runJob, type JobResult, type JobSettings, type StudyJob } from "./jobs.js";

export type PoolRequest = { type: "job"; index: number; job: StudyJob; settings: JobSettings };
export type PoolReply =
  | { type: "units"; index: number; done: number; detail: string }
  | { type: "result"; index: number; result: JobResult }
  | { type: "error"; index: number; message: string; code?: string; hint?: string; stack?: string };

/** The worker script: compiled JS beside this module, or the .ts through the tests' loader. */
function workerEntry(): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith(".ts")) return { url: new URL("./worker.ts", here), execArgv: ["--import", new URL("../../scripts/ts-worker-loader.mjs", here).href] };
  return { url: new URL("./worker.js", here), execArgv: [] };
}

export async function runJobs(
  jobs: readonly StudyJob[], settings: JobSettings, workers: number,
  onProgress: (done: number, total: number, detail: string) => void, signal?: AbortSignal,
): Promise<JobResult[]> {
  const units = jobs.map(jobUnits);
  const total = units.reduce((a, b) => a + b, 0);
  const current = new Array<number>(jobs.length).fill(0);
  let finished = 0;
  const report = (index: number, done: number, detail: string) => {
    current[index] = done;
    onProgress(finished + current.reduce((a, b) => a + b, 0), total, detail);
  };
  const complete = (index: number) => {
    finished += units[index]!;
    current[index] = 0;
  };
  const results = new Array<JobResult>(jobs.length);
  if (workers === 0) {
    for (const [i, job] of jobs.entries()) {
      results[i] = await runJob(job, settings, (d, detail) => report(i, d, detail), signal);
      complete(i);
    }
    return results;
  }
  const order = jobs.map((_, i) => i).sort((a, b) => units[b]! - units[a]! || a - b);
  const { url, execArgv } = workerEntry();
  const threads = Array.from({ length: Math.min(workers, jobs.length) }, () => new Worker(url, { execArgv }));
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let running = 0;
      const feed = (t: Worker) => {
        if (signal?.aborted) return reject(new StudyError("STUDY_INTERRUPTED", "the study was interrupted", { hint: "run it again" }));
        if (next >= order.length) {
          if (running === 0) resolve();
          return;
        }
        const index = order[next++]!;
        running++;
        report(index, 0, `${jobLabel(jobs[index]!)}: starting`);
        t.postMessage({ type: "job", index, job: jobs[index]!, settings } satisfies PoolRequest);
      };
      for (const t of threads) {
        t.on("message", (r: PoolReply) => {
          if (r.type === "units") return report(r.index, r.done, r.detail);
          running--;
          if (r.type === "error") {
            next = order.length; // start nothing more
            return reject(r.code ? new StudyError(r.code, r.message, r.hint ? { hint: r.hint } : {}) : new Error(`study worker failed: ${r.message}\n${r.stack ?? ""}`));
          }
          results[r.index] = r.result;
          complete(r.index);
          feed(t);
        });
        t.on("error", reject);
        feed(t);
      }
    });
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
  return results;
}
