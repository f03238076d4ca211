import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { FileSource, MemorySink, MemorySource } from "./byte-source.js";
import { parseGguf } from "./gguf.js";
import { GgufWriter, type GgufTensorSpec } from "./gguf-writer.js";
import { type GgufKv, type GgufValue, ggufGet, ggufGetNumber, ggufGetString, ggufGetStringArray, ggufValue } from "./gguf-value.js";
import { TENSOR_TYPES, tensorByteLength, tensorType } from "./tensor-types.js";

const T = (name: string) => tensorType(name)!;

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function writeGguf(kv: ReadonlyMap<string, GgufValue>, tensors: GgufTensorSpec[], data: Uint8Array[], alignment?: number): Promise<Uint8Array> {
  const sink = new MemorySink();
  const w = new GgufWriter(sink, alignment === undefined ? { kv, tensors } : { kv, tensors, alignment });
  for (const d of data) await w.writeTensorData(d);
  await w.finish();
  expect(sink.position).toBe(w.layout.fileSize);
  return sink.bytes();
}

function sampleKv(): GgufKv {
  return new Map<string, GgufValue>([
    ["general.architecture", ggufValue.string("llama")],
    ["general.name", ggufValue.string("tiny ünïcødé 🦙")],
    ["llama.block_count", ggufValue.u32(4)],
    ["llama.rope.freq_base", ggufValue.f32(10000.5)],
    ["llama.attention.layer_norm_rms_epsilon", ggufValue.f32(1e-5)],
    ["u8", ggufValue.u8(255)],
    ["i8", ggufValue.i8(-128)],
    ["u16", ggufValue.u16(65535)],
    ["i16", ggufValue.i16(-32768)],
    ["i32", ggufValue.i32(-2147483648)],
    ["u64", ggufValue.u64(18446744073709551615n)],
    ["i64", ggufValue.i64(-9223372036854775808n)],
    ["f64", ggufValue.f64(Math.PI)],
    ["bool.true", ggufValue.bool(true)],
    ["bool.false", ggufValue.bool(false)],
    ["__proto__", ggufValue.string("just a key")],
    ["tokenizer.ggml.tokens", ggufValue.stringArray(["<unk>", "<s>", "</s>", "", "▁hello", "日本"])],
    ["tokenizer.ggml.scores", ggufValue.f32Array([0, -1.5, 0.25, 3, -1e-3, 1e30])],
    ["tokenizer.ggml.token_type", ggufValue.i32Array([2, 3, 3, 1, 1, 1])],
    ["nested", ggufValue.array(9, [ggufValue.u32Array([1, 2]), ggufValue.array(9, [ggufValue.stringArray(["deep"])])])],
    ["empty", ggufValue.array(4, [])],
  ]);
}

const SAMPLE_TENSORS: GgufTensorSpec[] = [
  { name: "token_embd.weight", type: T("F32"), shape: [6, 8] },
  { name: "blk.0.attn_q.weight", type: T("F16"), shape: [3, 5] }, // 30 bytes: needs padding
  { name: "blk.0.ffn_up.weight", type: T("Q8_0"), shape: [2, 64] },
  { name: "blk.0.ffn_down.weight", type: T("Q4_K"), shape: [2, 512] },
  { name: "output_norm.weight", type: T("F32"), shape: [8] },
];
const sampleData = () => SAMPLE_TENSORS.map((t, i) => randomBytes(tensorByteLength(t.type, t.shape)!, 7 + i));

describe("GGUF round trip", () => {
  it("parses what the writer wrote: every KV type, typed values, shapes, absolute offsets, bytes", async () => {
    const kv = sampleKv();
    const data = sampleData();
    const bytes = await writeGguf(kv, SAMPLE_TENSORS, data);
    const f = await parseGguf(new MemorySource(bytes, "rt.gguf"));
    expect(f.version).toBe(3);
    expect(f.alignment).toBe(32);
    expect(f.dataOffset % 32).toBe(0);
    expect([...f.kv.keys()]).toEqual([...kv.keys()]);
    for (const [k, v] of kv) {
      const expected = v.type === 6 ? { ...v, value: Math.fround(v.value) } : v;
      if (k === "tokenizer.ggml.scores") {
        expect(f.kv.get(k)).toEqual({ ...v, items: (v as { items: number[] }).items.map(Math.fround) });
      } else {
        expect(f.kv.get(k)).toEqual(expected);
      }
    }
    expect(ggufGet(f.kv, "__proto__")).toBe("just a key");
    expect(ggufGetNumber(f.kv, "llama.block_count")).toBe(4);
    expect(ggufGetString(f.kv, "general.name")).toBe("tiny ünïcødé 🦙");
    expect(ggufGetStringArray(f.kv, "tokenizer.ggml.tokens")?.[5]).toBe("日本");
    expect(() => ggufGetString(f.kv, "u8", "rt.gguf")).toThrow(/expected string, found u8/);
    expect(ggufGet(f.kv, "nested")).toEqual([[1, 2], [["deep"]]]);

    expect(f.tensors.map((t) => [t.name, t.type.name, t.shape])).toEqual(SAMPLE_TENSORS.map((t) => [t.name, t.type.name, t.shape]));
    let expectedOffset = f.dataOffset;
    f.tensors.forEach((t, i) => {
      expect(t.offset).toBe(expectedOffset); // llama.cpp's packing rule
      expect(t.byteLength).toBe(data[i]!.byteLength);
      expect(bytes.subarray(t.offset, t.offset + t.byteLength)).toEqual(data[i]);
      expect(t.source.name).toBe("rt.gguf");
      expectedOffset += Math.ceil(t.byteLength / 32) * 32;
    });
    expect(bytes.byteLength).toBe(expectedOffset);
  });

  it("re-writing a parsed file with the same kv, tensors and data gives identical bytes", async () => {
    const original = await writeGguf(sampleKv(), SAMPLE_TENSORS, sampleData());
    const f = await parseGguf(new MemorySource(original));
    const sink = new MemorySink();
    const w = new GgufWriter(sink, { kv: f.kv, tensors: f.tensors });
    for (const t of f.tensors) await w.writeTensorFrom(t.source, t.offset, t.byteLength, new Uint8Array(7)); // odd chunk size
    await w.finish();
    expect(Buffer.from(sink.bytes()).equals(Buffer.from(original))).toBe(true);
  });

  it("keeps a non-default alignment in general.alignment and aligns every tensor to it", async () => {
    const bytes = await writeGguf(sampleKv(), SAMPLE_TENSORS, sampleData(), 64);
    const f = await parseGguf(new MemorySource(bytes));
    expect(f.alignment).toBe(64);
    expect(f.kv.get("general.alignment")).toEqual({ type: 4, value: 64 });
    for (const t of f.tensors) expect(t.offset % 64).toBe(0);
    const again = await writeGguf(f.kv, f.tensors, f.tensors.map((t) => bytes.subarray(t.offset, t.offset + t.byteLength)));
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
  });

  it("parses and copies byte-for-byte a tensor of every ggml type in the table", async () => {
    const types = TENSOR_TYPES.filter((t) => t.ggml !== undefined);
    const tensors = types.map((type) => ({ name: `t.${type.name}`, type, shape: [3, 2 * type.blockElems] }));
    const data = tensors.map((t, i) => randomBytes(tensorByteLength(t.type, t.shape)!, 100 + i));
    const bytes = await writeGguf(new Map(), tensors, [Buffer.concat(data)]); // one chunk spanning all tensors
    const f = await parseGguf(new MemorySource(bytes));
    expect(f.tensors.map((t) => t.type.ggml)).toEqual(types.map((t) => t.ggml));
    f.tensors.forEach((t, i) => expect(bytes.subarray(t.offset, t.offset + t.byteLength)).toEqual(data[i]));
  });

  it("reads version 2 files (same layout as v3)", async () => {
    const bytes = await writeGguf(sampleKv(), SAMPLE_TENSORS, sampleData());
    const v2 = bytes.slice();
    new DataView(v2.buffer).setUint32(4, 2, true);
    const f = await parseGguf(new MemorySource(v2));
    expect(f.version).toBe(2);
    expect(f.tensors.length).toBe(SAMPLE_TENSORS.length);
  });

  it("parses a GGUF written independently by a Python struct script", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dusk-gguf-py-"));
    try {
      const path = join(dir, "py.gguf");
      // An independent writer: only `struct`, following the spec text, not our code.
      const script = `
import struct, sys
def s(x):
    b = x.encode("utf-8"); return struct.pack("<Q", len(b)) + b
kvs = [
  (s("general.architecture") + struct.pack("<I", 8) + s("llama")),
  (s("llama.context_length") + struct.pack("<I", 4) + struct.pack("<I", 4096)),
  (s("llama.rope.freq_base") + struct.pack("<I", 6) + struct.pack("<f", 0.5)),
  (s("tokenizer.ggml.add_bos_token") + struct.pack("<I", 7) + struct.pack("<B", 1)),
  (s("big") + struct.pack("<I", 10) + struct.pack("<Q", 2**60 + 1)),
  (s("tokenizer.ggml.tokens") + struct.pack("<I", 9) + struct.pack("<IQ", 8, 3) + s("a") + s("bb") + s("\u00e9")),
]
tensors = [("w", [32, 2], 8), ("b", [3], 0)]  # dims innermost first; Q8_0 then F32
sizes = [2 * 34, 12]
header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs)
off = 0
for (name, dims, typ), size in zip(tensors, sizes):
    header += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
    header += struct.pack("<IQ", typ, off)
    off += (size + 31) // 32 * 32
header += b"\\0" * ((-len(header)) % 32)
data = b""
for i, size in enumerate(sizes):
    data += bytes([(i * 7 + j) % 251 for j in range(size)]) + b"\\0" * ((-size) % 32)
open(sys.argv[1], "wb").write(header + data)
`;
      execFileSync("python3", ["-c", script, path]);
      const src = await FileSource.open(path);
      try {
        const f = await parseGguf(src);
        expect(ggufGet(f.kv, "general.architecture")).toBe("llama");
        expect(ggufGet(f.kv, "llama.context_length")).toBe(4096);
        expect(ggufGet(f.kv, "llama.rope.freq_base")).toBe(0.5);
        expect(ggufGet(f.kv, "tokenizer.ggml.add_bos_token")).toBe(true);
        expect(ggufGet(f.kv, "big")).toBe(2n ** 60n + 1n);
        expect(ggufGet(f.kv, "tokenizer.ggml.tokens")).toEqual(["a", "bb", "é"]);
        expect(f.tensors.map((t) => [t.name, t.type.name, t.shape, t.byteLength])).toEqual([
          ["w", "Q8_0", [2, 32], 68],
          ["b", "F32", [3], 12],
        ]);
        const b = await src.read(f.tensors[1]!.offset, 12);
        expect([...b]).toEqual(Array.from({ length: 12 }, (_, j) => (7 + j) % 251));
      } finally {
        await src.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("parses a large vocabulary header quickly from a file", async () => {
    const nTokens = 150_000;
    const nMerges = 300_000;
    const tokens = Array.from({ length: nTokens }, (_, i) => (i % 7 === 0 ? `▁tök${i}` : `tok${i}`));
    const merges = Array.from({ length: nMerges }, (_, i) => `a${i % 1000} b${i}`);
    const kv: GgufKv = new Map<string, GgufValue>([
      ["tokenizer.ggml.tokens", ggufValue.stringArray(tokens)],
      ["tokenizer.ggml.scores", ggufValue.f32Array(tokens.map((_, i) => -i))],
      ["tokenizer.ggml.token_type", ggufValue.i32Array(tokens.map(() => 1))],
      ["tokenizer.ggml.merges", ggufValue.stringArray(merges)],
    ]);
    const bytes = await writeGguf(kv, [{ name: "x", type: T("F32"), shape: [8] }], [new Uint8Array(32)]);
    const dir = mkdtempSync(join(tmpdir(), "dusk-gguf-vocab-"));
    try {
      writeFileSync(join(dir, "v.gguf"), bytes);
      const src = await FileSource.open(join(dir, "v.gguf"));
      const t0 = performance.now();
      const f = await parseGguf(src);
      const ms = performance.now() - t0;
      await src.close();
      console.log(`parsed ${(bytes.byteLength / 1e6).toFixed(1)} MB header (${nTokens} tokens, ${nMerges} merges) in ${ms.toFixed(0)} ms`);
      expect(ggufGetStringArray(f.kv, "tokenizer.ggml.tokens")).toEqual(tokens);
      expect(ggufGetStringArray(f.kv, "tokenizer.ggml.merges")?.[nMerges - 1]).toBe(merges[nMerges - 1]);
      expect(ms).toBeLessThan(5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
