// Stop strings over streamed text: emits text as soon as it cannot be the start of a stop string,
// holds back a tail that still might be, and cuts at the earliest full match (the stop string
// itself is never emitted). Not token-level stopping (EOS is llama.cpp's).

export class StopStringMatcher {
  private held = "";
  private done = false;

  constructor(private readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.done;
  }

  /** Adds generated text; returns what is now safe to show, and whether a stop string was hit. */
  push(text: string): { text: string; stopped: boolean } {
    if (this.done) return { text: "", stopped: true };
    const buffer = this.held + text;
    // Everything emitted so far was not a stop-string prefix, so a match can only start in `buffer`.
    let cut = -1;
    for (const s of this.stops) {
      const i = buffer.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.done = true;
      this.held = "";
      return { text: buffer.slice(0, cut), stopped: true };
    }
    const hold = this.partialMatchLength(buffer);
    this.held = buffer.slice(buffer.length - hold);
    return { text: buffer.slice(0, buffer.length - hold), stopped: false };
  }

  /** The held-back tail when generation ends without a match. */
  flush(): string {
    const rest = this.done ? "" : this.held;
    this.held = "";
    return rest;
  }

  /** Longest suffix of `buffer` that is a proper prefix of some stop string. */
  private partialMatchLength(buffer: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buffer.length); k > best; k--) {
        if (buffer.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
