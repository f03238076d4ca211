import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FormatError } from "../errors.js";
import { FileSink, FileSource, MemorySink, MemorySource, copyRange } from "./byte-source.js";
import { parseSafetensors } from "./safetensors.js";
import { SafetensorsWriter, type SafetensorsTensorSpec } from "./safetensors-writer.js";
import { tensorType } from "./tensor-types.js";

const F32 = tensorType("F32")!;

/** a file from a raw header text (unpadded unless the text is) and `dataBytes` bytes of data */
function rawFile(header: string, dataBytes: number): Uint8Array {
  const json = Buffer.from(header, "utf8");
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  for (let i = 0; i < dataBytes; i++) out[8 + json.length + i] = i & 0xff;
  return out;
}
const entry = (dtype: string, shape: number[], begin: number, end: number): string =>
  JSON.stringify({ dtype, shape, data_offsets: [begin, end] });

async function parseError(bytes: Uint8Array, name = "bad.safetensors"): Promise<FormatError> {
  try {
    await parseSafetensors(new MemorySource(bytes, name));
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    const fe = e as FormatError;
    expect(fe.file).toBe(name);
    expect(fe.hint).toBeTruthy();
    return fe;
  }
  return expect.fail("parse succeeded on a bad file");
}

describe("parseSafetensors on good files", () => {
  it("reads a reference-written file (bytes as huggingface/safetensors writes them)", async () => {
    // {"attn.0":{...F32 [1,2,3]...}} is exactly 64 bytes, so no padding; data 0..5 as f32
    const header = `{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`;
    expect(header.length).toBe(64);
    const bytes = rawFile(header, 0);
    const full = new Uint8Array(bytes.length + 24);
    full.set(bytes);
    full.set(new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer), bytes.length);
    const f = await parseSafetensors(new MemorySource(full));
    expect(f.headerLength).toBe(64);
    expect(f.dataOffset).toBe(72);
    expect(f.metadata).toBeNull();
    expect(f.tensors.map((t) => [t.name, t.type.name, t.shape, t.offset, t.byteLength])).toEqual([["attn.0", "F32", [1, 2, 3], 72, 24]]);
  });

  it("returns tensors sorted by offset, absolute offsets, metadata in order, and accepts padding", async () => {
    const header = `{"b":${entry("F16", [2], 8, 12)},"__metadata__":{"z":"1","format":"pt"},"a":${entry("F32", [2], 0, 8)}}    \n\t`;
    const f = await parseSafetensors(new MemorySource(rawFile(header, 12)));
    expect(f.tensors.map((t) => t.name)).toEqual(["a", "b"]);
    expect(f.tensors.map((t) => t.offset)).toEqual([f.dataOffset, f.dataOffset + 8]);
    expect([...f.metadata!]).toEqual([["z", "1"], ["format", "pt"]]);
  });

  it("treats __proto__ and constructor as ordinary tensor names and metadata keys", async () => {
    const header = `{"__metadata__":{"__proto__":"x"},"__proto__":${entry("F32", [1], 0, 4)},"constructor":${entry("U8", [2], 4, 6)}}`;
    const f = await parseSafetensors(new MemorySource(rawFile(header, 6)));
    expect(f.tensors.map((t) => t.name)).toEqual(["__proto__", "constructor"]);
    expect(f.metadata!.get("__proto__")).toBe("x");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("accepts zero-element tensors, scalars and an empty file", async () => {
    const header = `{"e":${entry("F32", [0, 5], 4, 4)},"s":${entry("F32", [], 0, 4)}}`;
    const f = await parseSafetensors(new MemorySource(rawFile(header, 4)));
    expect(f.tensors.map((t) => [t.name, t.byteLength])).toEqual([["s", 4], ["e", 0]]);
    expect((await parseSafetensors(new MemorySource(rawFile("{}      ", 0)))).tensors).toEqual([]);
  });
});

describe("parseSafetensors on bad files", () => {
  const good = `{"a":${entry("F32", [2], 0, 8)},"b":${entry("F32", [1], 8, 12)}}`;

  it("too small, header too large, header past end", async () => {
    expect((await parseError(new Uint8Array(5))).code).toBe("safetensors.too-small");
    const huge = rawFile(good, 12);
    new DataView(huge.buffer).setBigUint64(0, 100_000_001n, true);
    const e1 = await parseError(huge);
    expect(e1.code).toBe("safetensors.header-too-large");
    expect(e1.actual).toContain("100000001");
    new DataView(huge.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
    expect((await parseError(huge)).code).toBe("safetensors.header-too-large");
    const past = rawFile(good, 0);
    new DataView(past.buffer).setBigUint64(0, BigInt(past.length), true);
    const e2 = await parseError(past);
    expect(e2.code).toBe("safetensors.header-past-end");
    expect(e2.offset).toBe(0);
  });

  it("non-UTF-8, not starting with '{', non-JSON, not an object", async () => {
    const bin = rawFile(`{"a":"\u00e9"}`, 0);
    bin[14] = 0xff; // break the é
    expect((await parseError(bin)).code).toBe("safetensors.header-not-utf8");
    expect((await parseError(rawFile(` {}`, 0))).code).toBe("safetensors.header-start");
    const nj = await parseError(rawFile(`{"a": {"dtype": "F32",}}`, 0));
    expect(nj.code).toBe("safetensors.invalid-json");
    expect(nj.offset).toBe(8 + 22);
    expect((await parseError(rawFile(`{"a":1} x`, 0))).code).toBe("safetensors.invalid-json");
    expect((await parseError(rawFile(`{"a":"\\ud800"}`, 0))).code).toBe("safetensors.invalid-json");
  });

  it("duplicate keys, also when spelled with escapes, and in __metadata__", async () => {
    const dup = await parseError(rawFile(`{"a":${entry("F32", [2], 0, 8)},"a":${entry("F32", [1], 8, 12)}}`, 12));
    expect(dup.code).toBe("safetensors.duplicate-key");
    expect(dup.field).toBe("a");
    expect(dup.offset).toBe(8 + `{"a":`.length + entry("F32", [2], 0, 8).length + 1); // the second "a"
    expect((await parseError(rawFile(`{"a":${entry("F32", [2], 0, 8)},"\\u0061":${entry("F32", [1], 8, 12)}}`, 12))).code).toBe("safetensors.duplicate-key");
    expect((await parseError(rawFile(`{"__metadata__":{"k":"1","k":"2"}}`, 0))).code).toBe("safetensors.duplicate-key");
  });

  it("entry shape problems: unknown/missing field, dtype, shape, offsets", async () => {
    const one = (e: string): Uint8Array => rawFile(`{"t":${e}}`, 8);
    const cases: [string, string][] = [
      [`{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}`, "safetensors.unknown-field"],
      [`{"dtype":"F32","shape":[2]}`, "safetensors.missing-field"],
      [`{"dtype":"F33","shape":[2],"data_offsets":[0,8]}`, "safetensors.unknown-dtype"],
      [`{"dtype":7,"shape":[2],"data_offsets":[0,8]}`, "safetensors.dtype-not-string"],
      [`{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}`, "safetensors.bad-shape"],
      [`{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}`, "safetensors.bad-shape"],
      [`{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}`, "safetensors.bad-shape"],
      [`{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,2],"data_offsets":[0,8]}`, "safetensors.bad-shape"],
      [`{"dtype":"F32","shape":[2],"data_offsets":[0]}`, "safetensors.bad-offsets"],
      [`{"dtype":"F32","shape":[2],"data_offsets":[0,9007199254740993]}`, "safetensors.bad-offsets"],
      [`{"dtype":"F32","shape":[2],"data_offsets":[8,0]}`, "safetensors.offsets-reversed"],
      [`{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}`, "safetensors.size-overflow"],
      [`[1]`, "safetensors.entry-not-object"],
    ];
    for (const [e, code] of cases) {
      const err = await parseError(one(e));
      expect(err.code, e).toBe(code);
      expect(err.field, e).toBe("t");
    }
    expect((await parseError(rawFile(`[]`, 0))).code).toBe("safetensors.header-start");
    expect((await parseError(rawFile(`{"__metadata__":{"k":1}}`, 0))).code).toBe("safetensors.metadata-not-string");
    expect((await parseError(rawFile(`{"__metadata__":[]}`, 0))).code).toBe("safetensors.metadata-not-object");
  });

  it("dtype/shape byte-count mismatch names expected and found", async () => {
    const e = await parseError(rawFile(`{"t":${entry("F16", [3], 0, 8)}}`, 8));
    expect(e.code).toBe("safetensors.byte-count");
    expect(e.expected).toContain("6 bytes");
    expect(e.actual).toContain("8 bytes");
  });

  it("overlap, hole, hole at start", async () => {
    const overlap = await parseError(rawFile(`{"a":${entry("F32", [2], 0, 8)},"b":${entry("F32", [2], 4, 12)}}`, 12));
    expect(overlap.code).toBe("safetensors.overlap");
    expect(overlap.field).toBe("b");
    const hole = await parseError(rawFile(`{"a":${entry("F32", [2], 0, 8)},"b":${entry("F32", [1], 12, 16)}}`, 16));
    expect(hole.code).toBe("safetensors.hole");
    expect(hole.expected).toContain('end of "a"');
    expect((await parseError(rawFile(`{"a":${entry("F32", [1], 4, 8)}}`, 8))).code).toBe("safetensors.hole");
  });

  it("truncated shard and trailing bytes", async () => {
    const bytes = rawFile(good, 12);
    const trunc = await parseError(bytes.subarray(0, bytes.length - 1));
    expect(trunc.code).toBe("safetensors.truncated");
    expect(trunc.actual).toBe(`${bytes.length - 1} bytes`);
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect((await parseError(longer)).code).toBe("safetensors.trailing-bytes");
  });
});

describe("bad files on disk through FileSource", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dusk-st-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reports the path for a truncated shard, an over-long header and a duplicate key", async () => {
    const files: [string, Uint8Array, string][] = [];
    const good = rawFile(`{"a":${entry("F32", [4], 0, 16)}}`, 16);
    files.push(["truncated.safetensors", good.subarray(0, good.length - 5), "safetensors.truncated"]);
    const long = new Uint8Array(16);
    new DataView(long.buffer).setBigUint64(0, 200_000_000n, true);
    files.push(["long-header.safetensors", long, "safetensors.header-too-large"]);
    files.push(["dup.safetensors", rawFile(`{"a":${entry("U8", [1], 0, 1)},"a":${entry("U8", [1], 1, 2)}}`, 2), "safetensors.duplicate-key"]);
    for (const [name, bytes, code] of files) {
      const path = join(dir, name);
      await writeFile(path, bytes);
      const src = await FileSource.open(path);
      try {
        await expect(parseSafetensors(src)).rejects.toMatchObject({ code, file: path });
      } finally {
        await src.close();
      }
    }
  });

  it("writes through FileSink and reads back through FileSource", async () => {
    const path = join(dir, "ok.safetensors");
    const sink = await FileSink.create(path);
    const w = await SafetensorsWriter.begin(sink, [{ name: "w", type: F32, shape: [2, 2] }]);
    await w.write("w", new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer));
    await w.finish();
    await sink.close();
    const src = await FileSource.open(path);
    try {
      const f = await parseSafetensors(src);
      expect([...f.metadata!]).toEqual([["format", "pt"]]);
      const t = f.tensors[0]!;
      expect(Array.from(new Float32Array((await src.read(t.offset, t.byteLength)).slice().buffer))).toEqual([1, 2, 3, 4]);
    } finally {
      await src.close();
    }
  });
});

describe("FileSink", () => {
  it("flushes to the disk behind the writes, one flush at a time, and closes with every byte in place", async () => {
    const where = await mkdtemp(join(tmpdir(), "dusk-sink-"));
    const path = join(where, "big.bin");
    const probe = await open(path + ".probe", "w");
    const handleClass = Object.getPrototypeOf(probe) as { datasync(): Promise<void> };
    await probe.close();
    let inFlight = 0, most = 0;
    const real = handleClass.datasync;
    const flushes = vi.spyOn(handleClass, "datasync").mockImplementation(async function (this: unknown) {
      most = Math.max(most, ++inFlight);
      try {
        return await real.call(this);
      } finally {
        inFlight--;
      }
    });
    try {
      const sink = await FileSink.create(path, 1 << 20);
      const piece = new Uint8Array(256 << 10).map((_, i) => i * 7);
      for (let i = 0; i < 20; i++) await sink.write(piece.map((v) => v ^ i));
      await sink.close();
      expect(flushes.mock.calls.length).toBeGreaterThanOrEqual(2); // 5 MiB with a flush behind every MiB
      expect(flushes.mock.calls.length).toBeLessThanOrEqual(5);
      expect(most).toBe(1);
      const bytes = await readFile(path);
      expect(bytes.length).toBe(20 * piece.length);
      for (let i = 0; i < 20; i++) expect(bytes.subarray(i * piece.length, (i + 1) * piece.length).equals(Buffer.from(piece.map((v) => v ^ i)))).toBe(true);
    } finally {
      flushes.mockRestore();
      await rm(where, { recursive: true, force: true });
    }
  });
});

describe("round trips", () => {
  function randomSpecs(seed: number): { specs: SafetensorsTensorSpec[]; data: Uint8Array[] } {
    let s = seed;
    const rnd = (n: number): number => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s % n;
    };
    const types = ["F32", "F16", "BF16", "U8", "I64", "BOOL", "F64", "I16"];
    const specs: SafetensorsTensorSpec[] = [];
    const data: Uint8Array[] = [];
    for (let i = 0; i < 12; i++) {
      const type = tensorType(types[rnd(types.length)]!)!;
      const shape = Array.from({ length: rnd(4) }, () => rnd(5));
      specs.push({ name: i === 3 ? "__proto__" : i === 4 ? "é/ü \"q\" \\ \n" : `model.layers.${i}.w`, type, shape });
      const n = shape.reduce((a, b) => a * b, 1) * type.blockBytes;
      data.push(Uint8Array.from({ length: n }, () => rnd(256)));
    }
    return { specs, data };
  }

  it("parse(write(x)) equals x, streamed in uneven chunks", async () => {
    for (const seed of [1, 2, 3]) {
      const { specs, data } = randomSpecs(seed);
      const sink = new MemorySink();
      const w = await SafetensorsWriter.begin(sink, specs, { format: "pt", note: "seed " + seed });
      for (let i = 0; i < specs.length; i++) {
        const bytes = data[i]!;
        for (let o = 0; o < bytes.length; o += 3) await w.write(specs[i]!.name, bytes.subarray(o, o + 3));
      }
      await w.finish();
      const file = sink.bytes();
      expect(file.length).toBe(w.layout.fileSize);
      expect(w.layout.headerLength % 8).toBe(0);
      const parsed = await parseSafetensors(new MemorySource(file));
      expect([...parsed.metadata!]).toEqual([["format", "pt"], ["note", "seed " + seed]]);
      // non-empty tensors come back in write order; zero-byte ones sort by (begin, end) among them
      const byName = new Map(parsed.tensors.map((t) => [t.name, t]));
      expect(byName.size).toBe(specs.length);
      for (let i = 0; i < specs.length; i++) {
        const t = byName.get(specs[i]!.name)!;
        expect([t.type.name, t.shape, t.offset]).toEqual([specs[i]!.type.name, specs[i]!.shape, w.layout.tensors[i]!.offset]);
        expect(Buffer.compare(file.subarray(t.offset, t.offset + t.byteLength), data[i]!)).toBe(0);
      }
    }
  });

  it("re-serialising a parsed file is byte-identical", async () => {
    const { specs, data } = randomSpecs(9);
    const sink = new MemorySink();
    const w = await SafetensorsWriter.begin(sink, specs);
    for (let i = 0; i < specs.length; i++) await w.write(specs[i]!.name, data[i]!);
    await w.finish();
    const original = sink.bytes();
    const src = new MemorySource(original);
    const parsed = await parseSafetensors(src);
    const again = new MemorySink();
    const w2 = await SafetensorsWriter.begin(again, parsed.tensors, parsed.metadata);
    for (const t of parsed.tensors) {
      await w2.write(t.name, await src.read(t.offset, t.byteLength));
    }
    await w2.finish();
    expect(Buffer.compare(again.bytes(), original)).toBe(0);
    // and copyRange over the whole data buffer gives the same file too
    const copy = new MemorySink();
    await copy.write(w2.layout.headerBytes);
    await copyRange(src, parsed.dataOffset, src.size - parsed.dataOffset, copy, new Uint8Array(5));
    expect(Buffer.compare(copy.bytes(), original)).toBe(0);
  });
});
