// The fair queue in front of `dusk serve`'s sequences: N slots (one KV-cache sequence each), a
// first-in-first-out line of waiting requests bounded by a limit (past it: 429 with Retry-After),
// and waiters that leave the line when their client goes away. Not generation (choice.ts).

import { HttpError } from "./http.js";

interface Waiter<T> {
  resolve: (slot: T) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class SlotQueue<T> {
  private readonly free: T[];
  private readonly line: Waiter<T>[] = [];
  /** slots held by requests */
  running = 0;
  /** mean seconds a slot is held, smoothed; for Retry-After */
  private meanHoldSeconds = 1;

  constructor(
    slots: readonly T[],
    /** waiting requests allowed (running ones not counted) */
    private readonly limit: number,
  ) {
    this.free = [...slots];
  }

  get slots(): number {
    return this.free.length + this.running;
  }

  get waiting(): number {
    return this.line.length;
  }

  /**
   * A free slot, now or when the requests ahead are done. Throws 429 when the line is full, and
   * rejects with the signal's reason when it aborts while waiting.
   */
  acquire(signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const slot = this.line.length === 0 ? this.free.pop() : undefined;
    if (slot !== undefined) {
      this.running++;
      return Promise.resolve(slot);
    }
    if (this.line.length >= this.limit) {
      const wait = Math.max(1, Math.min(600, Math.ceil((this.meanHoldSeconds * (this.line.length + 1)) / Math.max(1, this.slots))));
      return Promise.reject(
        new HttpError(429, `the server is busy: ${this.running} requests running and ${this.line.length} waiting (the queue limit)`, {
          code: "rate_limit_exceeded",
          headers: { "retry-after": String(wait) },
        }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const w: Waiter<T> = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.line.indexOf(w);
          if (i >= 0) this.line.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener("abort", w.onAbort, { once: true });
      this.line.push(w);
    });
  }

  /** Gives the slot to the first waiter in line, or back to the pool; `heldSeconds` feeds Retry-After. */
  release(slot: T, heldSeconds?: number): void {
    if (heldSeconds !== undefined) this.meanHoldSeconds = 0.8 * this.meanHoldSeconds + 0.2 * heldSeconds;
    const next = this.line.shift();
    if (next) {
      next.signal.removeEventListener("abort", next.onAbort);
      next.resolve(slot);
      return;
    }
    this.running--;
    this.free.push(slot);
  }

  /** Rejects everyone waiting (shutdown). */
  rejectWaiting(e: unknown): void {
    for (const w of this.line.splice(0)) {
      w.signal.removeEventListener("abort", w.onAbort);
      w.reject(e);
    }
  }
}
