// Named f32 buffers reused from one micro-batch to the next: the shapes of a run repeat, so after
// the first micro-batch the training path allocates (and the GC collects) almost nothing.

export class Workspace {
  private readonly buffers = new Map<string, Float32Array>();

  /** The buffer `key` with exactly `n` elements (contents are whatever was left in it). */
  get(key: string, n: number): Float32Array {
    let b = this.buffers.get(key);
    if (!b || b.length < n) {
      b = new Float32Array(n);
      this.buffers.set(key, b);
    }
    return b.length === n ? b : b.subarray(0, n);
  }

  /** As get(), zero-filled. */
  zeros(key: string, n: number): Float32Array {
    return this.get(key, n).fill(0);
  }

  /** Total bytes held. */
  bytes(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.byteLength;
    return n;
  }

  clear(): void {
    this.buffers.clear();
  }
}
