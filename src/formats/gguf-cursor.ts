// A forward-only, buffered little-endian reader over a ByteSource for the GGUF header region.
// It reads the source in large growing chunks (the header of a 150k-token model is tens of MB),
// so the hot loops pay a bounds check per field, not a read() per field. Not for tensor data.

import type { ByteSource } from "./byte-source.js";
import { FormatError } from "../errors.js";

const FIRST_CHUNK = 1 << 20;
const MAX_CHUNK = 16 << 20;

const utf8 = new TextDecoder("utf-8");

export class GgufCursor {
  /** absolute offset of the next byte to read */
  pos = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  /** absolute offset of buf[0] */
  private bufStart = 0;
  private chunk = FIRST_CHUNK;

  constructor(readonly source: ByteSource) {}

  get remaining(): number {
    return this.source.size - this.pos;
  }

  /** True when the next `n` bytes are already buffered: the synchronous fast path. */
  has(n: number): boolean {
    return this.pos - this.bufStart + n <= this.buf.byteLength;
  }

  /** Makes the next `n` bytes available, or fails naming `field` and the offset where bytes ran out. */
  async need(n: number, field: string): Promise<void> {
    if (this.has(n)) return;
    if (n > this.remaining) {
      throw new FormatError("gguf.truncated", `file ends inside ${field}`, {
        file: this.source.name,
        offset: this.pos,
        field,
        expected: `${n} more bytes`,
        actual: `${this.remaining} bytes left`,
        hint: "the file is truncated (an interrupted download or copy?) or a count/length before this point is wrong",
      });
    }
    const length = Math.min(this.remaining, Math.max(n, this.chunk));
    this.chunk = Math.min(this.chunk * 2, MAX_CHUNK);
    // A fresh buffer each refill: read() may hand back a view of memory we must not keep growing.
    this.buf = await this.source.read(this.pos, length);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
  }

  // The typed getters below assume `need`/`has` covered them.
  u8(): number {
    const v = this.buf[this.pos - this.bufStart]!;
    this.pos += 1;
    return v;
  }
  i8(): number {
    const v = this.view.getInt8(this.pos - this.bufStart);
    this.pos += 1;
    return v;
  }
  u16(): number {
    const v = this.view.getUint16(this.pos - this.bufStart, true);
    this.pos += 2;
    return v;
  }
  i16(): number {
    const v = this.view.getInt16(this.pos - this.bufStart, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.view.getUint32(this.pos - this.bufStart, true);
    this.pos += 4;
    return v;
  }
  i32(): number {
    const v = this.view.getInt32(this.pos - this.bufStart, true);
    this.pos += 4;
    return v;
  }
  f32(): number {
    const v = this.view.getFloat32(this.pos - this.bufStart, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    const v = this.view.getFloat64(this.pos - this.bufStart, true);
    this.pos += 8;
    return v;
  }
  u64(): bigint {
    const v = this.view.getBigUint64(this.pos - this.bufStart, true);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    const v = this.view.getBigInt64(this.pos - this.bufStart, true);
    this.pos += 8;
    return v;
  }
  /** u64 as a number; values past 2^53 come back as Infinity so every bound check rejects them. */
  u64Number(): number {
    const lo = this.view.getUint32(this.pos - this.bufStart, true);
    const hi = this.view.getUint32(this.pos - this.bufStart + 4, true);
    this.pos += 8;
    return hi >= 0x200000 ? Infinity : hi * 0x100000000 + lo;
  }

  /** `n` bytes decoded as UTF-8 (invalid sequences become U+FFFD, as TextDecoder does). */
  utf8(n: number): string {
    const start = this.pos - this.bufStart;
    this.pos += n;
    // Token texts are short and mostly ASCII; TextDecoder's per-call cost dominates for them.
    if (n <= 32) {
      let ascii = true;
      for (let i = start; i < start + n; i++) {
        if (this.buf[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return String.fromCharCode.apply(null, this.buf.subarray(start, start + n) as unknown as number[]);
    }
    return utf8.decode(this.buf.subarray(start, start + n));
  }

  skip(n: number): void {
    this.pos += n;
  }
}
