// Keeps concurrent generations on one context in step, so each llama.cpp batch holds the next token
// of every generating sequence. node-llama-cpp forms the next batch as soon as the current batch's
// samplings are done, from whatever is queued by then; a sequence whose token reached JavaScript a
// little later (its sampling ran last) misses it and decodes alone, halving the batch's worth.
// Here each generating sequence waits, after its token, until every other one has its token too.
// Not a scheduler: a sequence still in its prompt is not waited for; it joins with its first token.

/** Why 50 ms: far longer than a sampling; a bound so a stuck member can never stall the others. */
const MAX_WAIT_MS = 50;

export class StepBarrier {
  /** sequences generating (after their first token) */
  private readonly members = new Set<object>();
  private readonly arrived = new Set<object>();
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** After `member`'s token: resolves when every member has its token (at once when alone). */
  arrive(member: object): Promise<void> | undefined {
    this.members.add(member);
    this.arrived.add(member);
    if (this.arrived.size >= this.members.size) {
      this.release();
      return undefined;
    }
    this.timer ??= setTimeout(() => this.release(), MAX_WAIT_MS);
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** `member` stopped generating; the others no longer wait for it. */
  leave(member: object): void {
    this.members.delete(member);
    this.arrived.delete(member);
    if (this.arrived.size > 0 && this.arrived.size >= this.members.size) this.release();
  }

  private release(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.arrived.clear();
    const go = this.waiters;
    this.waiters = [];
    for (const resolve of go) resolve();
  }
}
