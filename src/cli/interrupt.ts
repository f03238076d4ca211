// Interrupting the commands that write an atomic output (build, convert): Ctrl-C, SIGTERM and a
// reader closing our stdout/stderr pipe all abort the AbortSignal the writer checks, so its
// temporary is removed and the exit code is non-zero. Commands with nothing to clean up just exit.

const running = new Set<AbortController>();

export interface Interruptible {
  signal: AbortSignal;
  /** stop listening (call in `finally`) */
  release(): void;
}

/** An AbortSignal that SIGINT, SIGTERM or interruptAll() aborts, until release(). */
export function interruptible(): Interruptible {
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error("interrupted"));
  process.once("SIGINT", onSignal); // once: a second Ctrl-C kills as usual
  process.once("SIGTERM", onSignal);
  running.add(controller);
  return {
    signal: controller.signal,
    release() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      running.delete(controller);
    },
  };
}

/** Aborts every running interruptible; false when none is running (the caller may just exit). */
export function interruptAll(reason: string): boolean {
  for (const c of running) c.abort(new Error(reason));
  return running.size > 0;
}
