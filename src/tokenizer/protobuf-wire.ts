// The protobuf wire format, just enough for SentencePiece's ModelProto: varints, 32-bit floats,
// length-delimited bytes, and skipping unknown fields. Not a general protobuf library (no groups,
// no packed repeated fields, no schema). Every length is checked against the bytes that remain.

import { FormatError } from "../errors.js";

export const WireType = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

export interface FieldTag {
  field: number;
  wire: number;
  /** offset of the tag itself, for error messages */
  at: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads one message (a byte range); nested messages get their own reader over a subarray. */
export class ProtoReader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
    /** absolute offset of bytes[0] in the file, so errors name file offsets */
    readonly base = 0,
  ) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  fail(what: string, field: string, expected?: string, actual?: string, at = this.pos): never {
    throw new FormatError("PROTOBUF_BAD", what, {
      file: this.file,
      offset: this.base + at,
      field,
      ...(expected === undefined ? {} : { expected }),
      ...(actual === undefined ? {} : { actual }),
      hint: "the file is truncated or not a SentencePiece model; re-download tokenizer.model",
    });
  }

  /** Varint as a JS number; up to 2^53 exactly, larger values are an error. */
  varint(field = "varint"): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) this.fail("truncated varint", field, undefined, undefined, start);
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) this.fail("varint too large", field, "≤ 2^53", "larger", start);
        return result;
      }
      mul *= 128;
    }
    return this.fail("varint longer than 10 bytes", field, undefined, undefined, start);
  }

  /** int32 fields are varints holding the 64-bit two's complement of negatives (10 bytes). */
  int32(field: string): number {
    const start = this.pos;
    let lo = 0;
    let shift = 0;
    let b = 0x80;
    let i = 0;
    // keep only the low 32 bits; later bytes carry the sign extension
    for (; i < 10 && (b & 0x80) !== 0; i++) {
      if (this.pos >= this.bytes.length) this.fail("truncated varint", field, undefined, undefined, start);
      b = this.bytes[this.pos++]!;
      if (shift < 32) lo |= (b & 0x7f) << shift;
      shift += 7;
    }
    if ((b & 0x80) !== 0) this.fail("varint longer than 10 bytes", field, undefined, undefined, start);
    return lo | 0;
  }

  bool(field: string): boolean {
    return this.varint(field) !== 0;
  }

  float32(field: string): number {
    if (this.pos + 4 > this.bytes.length) this.fail("truncated float", field);
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  /** A length-delimited payload; `maxBytes` bounds it before anything is sliced. */
  lengthDelimited(field: string, maxBytes: number): Uint8Array {
    const at = this.pos;
    const n = this.varint(field);
    if (n > this.bytes.length - this.pos) this.fail("length past the end of the message", field, `≤ ${this.bytes.length - this.pos} bytes`, `${n}`, at);
    if (n > maxBytes) this.fail("field too long", field, `≤ ${maxBytes} bytes`, `${n}`, at);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(field: string, maxBytes: number): string {
    const at = this.pos;
    const raw = this.lengthDelimited(field, maxBytes);
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail("string is not valid UTF-8", field, "UTF-8", undefined, at);
    }
  }

  tag(): FieldTag {
    const at = this.pos;
    const t = this.varint("tag");
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field === 0) this.fail("field number 0", "tag", "≥ 1", "0", at);
    return { field, wire, at };
  }

  /** Skips over one field this reader does not interpret (the caller may keep bytes[tag.at, pos)). */
  skip(tag: FieldTag, field: string): void {
    switch (tag.wire) {
      case WireType.varint:
        this.varint(field);
        return;
      case WireType.fixed64:
        if (this.pos + 8 > this.bytes.length) this.fail("truncated fixed64", field);
        this.pos += 8;
        return;
      case WireType.bytes:
        this.lengthDelimited(field, Number.MAX_SAFE_INTEGER);
        return;
      case WireType.fixed32:
        if (this.pos + 4 > this.bytes.length) this.fail("truncated fixed32", field);
        this.pos += 4;
        return;
      default:
        this.fail("unsupported wire type", field, "0, 1, 2 or 5", `${tag.wire}`, tag.at);
    }
  }

  /** Expects `tag` to have wire type `wire`. */
  expectWire(tag: FieldTag, wire: number, field: string): void {
    if (tag.wire !== wire) this.fail("wrong wire type", field, `${wire}`, `${tag.wire}`, tag.at);
  }
}

/** Appends protobuf fields into a growable buffer. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  varint(v: number): this {
    this.ensure(10);
    let x = v;
    while (x >= 0x80) {
      this.buf[this.len++] = (x % 128) | 0x80;
      x = Math.floor(x / 128);
    }
    this.buf[this.len++] = x;
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  /** int32 field: negatives are written as 10-byte two's complement varints, as protobuf does. */
  int32(field: number, v: number): this {
    this.tag(field, WireType.varint);
    if (v >= 0) return this.varint(v);
    this.ensure(10);
    // 64-bit two's complement: low 32 bits of v, then all-ones sign extension
    let lo = v >>> 0;
    for (let i = 0; i < 4; i++) {
      this.buf[this.len++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    // bits 28..31 of v and 3 sign bits, then five 0xff-ish bytes of sign, ending with 0x01
    this.buf[this.len++] = (lo & 0x0f) | 0x70 | 0x80;
    for (let i = 0; i < 4; i++) this.buf[this.len++] = 0xff;
    this.buf[this.len++] = 0x01;
    return this;
  }

  uint(field: number, v: number): this {
    return this.tag(field, WireType.varint).varint(v);
  }

  bool(field: number, v: boolean): this {
    return this.tag(field, WireType.varint).varint(v ? 1 : 0);
  }

  float32(field: number, v: number): this {
    this.tag(field, WireType.fixed32);
    this.ensure(4);
    new DataView(this.buf.buffer, this.len, 4).setFloat32(0, v, true);
    this.len += 4;
    return this;
  }

  bytes(field: number, payload: Uint8Array): this {
    return this.tag(field, WireType.bytes).varint(payload.length).raw(payload);
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
