// One llama.cpp binding per process (loading it costs ~0.5 s), with its log captured in a small
// ring so a failed model load can say what llama.cpp complained about. Not model loading itself
// (loaded-model.ts).

import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";

/** Why 60 lines: a failed load logs its complaint in the last few lines before the failure. */
const LOG_RING_LINES = 60;

/** The newest llama.cpp log lines; `written` counts every line ever appended. */
class LogRing {
  private lines: string[] = [];
  written = 0;
  append(line: string): void {
    this.lines.push(line);
    this.written++;
    if (this.lines.length > LOG_RING_LINES) this.lines.shift();
  }
  /** lines appended after `mark` (a past value of `written`) that are still held */
  since(mark: number): string[] {
    return this.lines.slice(Math.max(0, this.lines.length - (this.written - mark)));
  }
}

const log = new LogRing();
const instances = new Map<string, Promise<Llama>>();

export type GpuChoice = false | "auto";

/** The shared binding; `gpu: false` (the default) runs on the CPU. */
export function llamaInstance(gpu: GpuChoice = false): Promise<Llama> {
  const key = String(gpu);
  let p = instances.get(key);
  if (!p) {
    p = getLlama({
      gpu,
      build: "never",
      // 0: a context's `threads` is then exactly what the user asked for.
      maxThreads: 0,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => log.append(`${level}: ${message.trimEnd()}`),
    });
    instances.set(key, p);
    p.catch(() => instances.delete(key));
  }
  return p;
}

/** A position in llama.cpp's log, for llamaLogSince. */
export function logMark(): number {
  return log.written;
}

/** llama.cpp's warnings and errors since `mark` (newest last, at most the ring's size). */
export function llamaLogSince(mark: number): string[] {
  return log.since(mark);
}
