// A strict JSON reader for safetensors headers and index files. JSON.parse silently keeps the last
// of duplicate keys and rounds integers past 2^53; this reader rejects duplicates, keeps numbers as
// their source text, keeps object key order (Map, so `__proto__` is just a key) and reports byte
// offsets. It is not a general JSON library: it has a small nesting limit and no reviver.

import { FormatError } from "../errors.js";

/** A JSON number kept as written, so callers can demand exact non-negative integers. */
export class JsonNumber {
  constructor(
    readonly text: string,
    /** byte offset of the number in the parsed bytes */
    readonly at: number,
  ) {}
}

/** A JSON object in source order; `offsets` holds the byte offset of each key. */
export class JsonObject {
  readonly entries = new Map<string, JsonValue>();
  readonly offsets = new Map<string, number>();
  constructor(readonly at: number) {}
}

export type JsonValue = string | boolean | null | JsonNumber | JsonValue[] | JsonObject;

/** why 32: safetensors headers nest 3 deep and index files 2; anything deeper is hostile. */
export const STRICT_JSON_MAX_DEPTH = 32;

export interface StrictJsonOptions {
  /** what errors call the file */
  file: string;
  /** added to every reported offset (8 for a safetensors header, which follows the length) */
  baseOffset?: number;
  /** error-code prefix, e.g. "safetensors" or "safetensors-index" */
  codePrefix: string;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses UTF-8 JSON bytes. Whitespace (space, tab, CR, LF) may surround the value, which is how
 * safetensors pads its header. Throws FormatError `<prefix>.invalid-json` or `<prefix>.duplicate-key`.
 */
export function parseStrictJson(bytes: Uint8Array, options: StrictJsonOptions): JsonValue {
  return new StrictJsonReader(bytes, options).document();
}

class StrictJsonReader {
  private pos = 0;
  private readonly base: number;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: StrictJsonOptions,
  ) {
    this.base = options.baseOffset ?? 0;
  }

  document(): JsonValue {
    this.skipSpace();
    const value = this.value(0);
    this.skipSpace();
    if (this.pos !== this.bytes.length) this.fail("unexpected bytes after the JSON value", "end of JSON");
    return value;
  }

  private fail(what: string, expected: string, actual?: string): never {
    const b = this.bytes[this.pos];
    throw new FormatError(`${this.options.codePrefix}.invalid-json`, what, {
      file: this.options.file,
      offset: this.base + this.pos,
      expected,
      actual: actual ?? (b === undefined ? "end of data" : describeByte(b)),
      hint: "the JSON is malformed; the file is damaged or was not written by a safetensors writer",
    });
  }

  private skipSpace(): void {
    const b = this.bytes;
    while (this.pos < b.length) {
      const c = b[this.pos]!;
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos++;
    }
  }

  private value(depth: number): JsonValue {
    if (depth > STRICT_JSON_MAX_DEPTH) this.fail("JSON nested too deeply", `at most ${STRICT_JSON_MAX_DEPTH} levels`);
    const c = this.bytes[this.pos];
    if (c === 0x7b) return this.object(depth);
    if (c === 0x5b) return this.array(depth);
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
    if (this.literal("true")) return true;
    if (this.literal("false")) return false;
    if (this.literal("null")) return null;
    return this.fail("not a JSON value", "a JSON value");
  }

  private literal(word: string): boolean {
    for (let i = 0; i < word.length; i++) if (this.bytes[this.pos + i] !== word.charCodeAt(i)) return false;
    this.pos += word.length;
    return true;
  }

  private object(depth: number): JsonObject {
    const obj = new JsonObject(this.base + this.pos);
    this.pos++; // {
    this.skipSpace();
    if (this.bytes[this.pos] === 0x7d) {
      this.pos++;
      return obj;
    }
    for (;;) {
      this.skipSpace();
      if (this.bytes[this.pos] !== 0x22) this.fail("object key is not a string", '"');
      const keyAt = this.pos;
      const key = this.string();
      if (obj.entries.has(key)) {
        throw new FormatError(`${this.options.codePrefix}.duplicate-key`, "duplicate JSON key", {
          file: this.options.file,
          offset: this.base + keyAt,
          field: key,
          expected: "each key once",
          actual: `a second "${key}" (first at offset ${obj.offsets.get(key)})`,
          hint: "JSON readers disagree on which duplicate wins, so the file is ambiguous; rewrite it with one entry per name",
        });
      }
      this.skipSpace();
      if (this.bytes[this.pos] !== 0x3a) this.fail("missing ':' after object key", ":");
      this.pos++;
      this.skipSpace();
      obj.offsets.set(key, this.base + keyAt);
      obj.entries.set(key, this.value(depth + 1));
      this.skipSpace();
      const c = this.bytes[this.pos];
      this.pos++;
      if (c === 0x7d) return obj;
      if (c !== 0x2c) {
        this.pos--;
        this.fail("missing ',' or '}' in object", "',' or '}'");
      }
    }
  }

  private array(depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    this.pos++; // [
    this.skipSpace();
    if (this.bytes[this.pos] === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      out.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.bytes[this.pos];
      this.pos++;
      if (c === 0x5d) return out;
      if (c !== 0x2c) {
        this.pos--;
        this.fail("missing ',' or ']' in array", "',' or ']'");
      }
    }
  }

  private number(): JsonNumber {
    const b = this.bytes;
    const start = this.pos;
    const digits = (): number => {
      const from = this.pos;
      while (this.pos < b.length && b[this.pos]! >= 0x30 && b[this.pos]! <= 0x39) this.pos++;
      return this.pos - from;
    };
    if (b[this.pos] === 0x2d) this.pos++;
    if (b[this.pos] === 0x30) this.pos++;
    else if (digits() === 0) this.fail("malformed number", "a digit");
    if (b[this.pos] === 0x2e) {
      this.pos++;
      if (digits() === 0) this.fail("malformed number", "a digit after '.'");
    }
    if (b[this.pos] === 0x65 || b[this.pos] === 0x45) {
      this.pos++;
      if (b[this.pos] === 0x2b || b[this.pos] === 0x2d) this.pos++;
      if (digits() === 0) this.fail("malformed number", "a digit in the exponent");
    }
    let text = "";
    for (let i = start; i < this.pos; i++) text += String.fromCharCode(b[i]!);
    return new JsonNumber(text, this.base + start);
  }

  private string(): string {
    const b = this.bytes;
    this.pos++; // opening quote
    let out = "";
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= b.length) this.fail("unterminated string", '"');
      const c = b[this.pos]!;
      if (c === 0x22) {
        out += this.decode(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail("control character inside a string", "an escaped control character");
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += this.decode(runStart, this.pos);
      this.pos++; // backslash
      const e = b[this.pos];
      this.pos++;
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += "\\"; break;
        case 0x2f: out += "/"; break;
        case 0x62: out += "\b"; break;
        case 0x66: out += "\f"; break;
        case 0x6e: out += "\n"; break;
        case 0x72: out += "\r"; break;
        case 0x74: out += "\t"; break;
        case 0x75: out += this.unicodeEscape(); break;
        default:
          this.pos--;
          this.fail("invalid escape in string", "one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u");
      }
      runStart = this.pos;
    }
  }

  /** \uXXXX, pairing surrogates; a lone surrogate is refused as serde_json does. */
  private unicodeEscape(): string {
    const hi = this.hex4();
    if (hi >= 0xdc00 && hi <= 0xdfff) this.fail("lone low surrogate in \\u escape", "a valid code point");
    if (hi < 0xd800 || hi > 0xdbff) return String.fromCharCode(hi);
    if (this.bytes[this.pos] !== 0x5c || this.bytes[this.pos + 1] !== 0x75) this.fail("lone high surrogate in \\u escape", "a \\u low surrogate");
    this.pos += 2;
    const lo = this.hex4();
    if (lo < 0xdc00 || lo > 0xdfff) this.fail("high surrogate not followed by a low one", "a low surrogate");
    return String.fromCharCode(hi, lo);
  }

  private hex4(): number {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.bytes[this.pos];
      const d = c === undefined ? -1 : hexDigit(c);
      if (d < 0) this.fail("bad \\u escape", "4 hex digits");
      v = v * 16 + d;
      this.pos++;
    }
    return v;
  }

  private decode(from: number, to: number): string {
    if (from === to) return "";
    try {
      return decoder.decode(this.bytes.subarray(from, to));
    } catch (e) {
      this.pos = from;
      return this.fail("string is not valid UTF-8", "UTF-8 text", undefined);
    }
  }
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function describeByte(b: number): string {
  return b >= 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, "0")}`;
}

/** The value of a JSON number when it is a plain non-negative integer no larger than `max`, else undefined. */
export function jsonSafeUint(v: JsonValue | undefined, max: number = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!(v instanceof JsonNumber) || !/^(0|[1-9][0-9]*)$/.test(v.text)) return undefined;
  const n = Number(v.text);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

/** A short description of a JSON value for `found …` in error messages. */
export function describeJson(v: JsonValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (v instanceof JsonNumber) return `number ${v.text.length > 30 ? v.text.slice(0, 30) + "…" : v.text}`;
  if (v instanceof JsonObject) return "an object";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  return String(v);
}
