import { describe, expect, it } from "vitest";
import { MemorySink, MemorySource } from "./byte-source.js";
import { parseGguf } from "./gguf.js";
import { GgufWriter, type GgufTensorSpec } from "./gguf-writer.js";
import { type GgufValue, ggufValue } from "./gguf-value.js";
import { tensorByteLength, tensorType } from "./tensor-types.js";
import { BuildError } from "../errors.js";

const F32 = tensorType("F32")!;
const F16 = tensorType("F16")!;
const Q4_0 = tensorType("Q4_0")!;

const TENSORS: GgufTensorSpec[] = [
  { name: "a", type: F16, shape: [3, 3] }, // 18 bytes
  { name: "empty", type: F32, shape: [0, 4] }, // 0 bytes: no data, no padding
  { name: "b", type: Q4_0, shape: [2, 32] }, // 36 bytes
  { name: "c", type: F32, shape: [1] }, // 4 bytes
];
const total = TENSORS.reduce((n, t) => n + tensorByteLength(t.type, t.shape)!, 0);
const payload = Uint8Array.from({ length: total }, (_, i) => (i * 13 + 1) & 0xff);

async function writeInChunks(chunkSizes: (i: number) => number): Promise<Uint8Array> {
  const sink = new MemorySink();
  const w = new GgufWriter(sink, { kv: new Map([["general.name", ggufValue.string("w")]]), tensors: TENSORS });
  for (let pos = 0, i = 0; pos < payload.byteLength; i++) {
    const n = Math.min(chunkSizes(i), payload.byteLength - pos);
    await w.writeTensorData(payload.subarray(pos, pos + n));
    pos += n;
  }
  expect(w.next).toBeUndefined();
  await w.finish();
  expect(sink.position).toBe(w.layout.fileSize);
  return sink.bytes();
}

describe("GgufWriter", () => {
  it("gives the same bytes whatever the chunking, with zeroed padding after every tensor", async () => {
    const whole = await writeInChunks(() => total);
    expect(await writeInChunks(() => 1)).toEqual(whole);
    expect(await writeInChunks((i) => [5, 17, 2, 40][i % 4]!)).toEqual(whole);

    const f = await parseGguf(new MemorySource(whole));
    const [a, empty, b, c] = f.tensors;
    expect(empty!.byteLength).toBe(0);
    expect(b!.offset).toBe(a!.offset + 32);
    expect(c!.offset).toBe(b!.offset + 64);
    expect(whole.subarray(a!.offset + 18, a!.offset + 32).every((x) => x === 0)).toBe(true);
    expect(whole.subarray(b!.offset, b!.offset + 36)).toEqual(payload.subarray(18, 54));
    expect(whole.byteLength).toBe(c!.offset + 32);
  });

  it("reports the next tensor and refuses too much, too little, or late data", async () => {
    const w = new GgufWriter(new MemorySink(), { kv: new Map(), tensors: TENSORS });
    expect(w.next).toEqual({ name: "a", remaining: 18 });
    await w.writeTensorData(payload.subarray(0, 20));
    expect(w.next).toEqual({ name: "b", remaining: 34 });
    await expect(w.finish()).rejects.toMatchObject({ code: "gguf.write.incomplete" });
    await expect(w.writeTensorData(new Uint8Array(100))).rejects.toMatchObject({ code: "gguf.write.overflow" });

    const done = new GgufWriter(new MemorySink(), { kv: new Map(), tensors: [] });
    await done.finish();
    await expect(done.writeTensorData(new Uint8Array(1))).rejects.toBeInstanceOf(BuildError);
  });

  it("validates tensors and KV values before writing anything", () => {
    const make = (tensors: GgufTensorSpec[], kv: [string, GgufValue][] = [], alignment?: number) => () =>
      new GgufWriter(new MemorySink(), alignment === undefined ? { kv: new Map(kv), tensors } : { kv: new Map(kv), tensors, alignment });
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(BuildError);
        return (e as BuildError).code;
      }
      return "no error";
    };
    expect(code(make([{ name: "x".repeat(64), type: F32, shape: [1] }]))).toBe("gguf.write.tensor-name");
    expect(code(make([{ name: "x", type: F32, shape: [1] }, { name: "x", type: F32, shape: [1] }]))).toBe("gguf.write.duplicate-tensor");
    expect(code(make([{ name: "x", type: Q4_0, shape: [2, 31] }]))).toBe("gguf.write.tensor-shape");
    expect(code(make([{ name: "x", type: F32, shape: [1, 1, 1, 1, 1] }]))).toBe("gguf.write.tensor-rank");
    expect(code(make([{ name: "x", type: tensorType("U8")!, shape: [1] }]))).toBe("gguf.write.tensor-type");
    expect(code(make([], [["k", ggufValue.u8(256)]]))).toBe("gguf.write.kv-value");
    expect(code(make([], [["k", ggufValue.i32(1.5)]]))).toBe("gguf.write.kv-value");
    expect(code(make([], [["k", ggufValue.u64(-1)]]))).toBe("gguf.write.kv-value");
    expect(code(make([], [["k", ggufValue.array(8, ["a", 3])]]))).toBe("gguf.write.kv-value");
    expect(code(make([], [["general.alignment", ggufValue.u32(24)]]))).toBe("gguf.write.alignment");
    expect(code(make([], [["general.alignment", ggufValue.u32(64)]], 32))).toBe("gguf.write.alignment");
    expect(code(make([], [], 3))).toBe("gguf.write.alignment");
    expect(code(make([], [["general.alignment", ggufValue.u32(64)]], 64))).toBe("no error");
  });

  it("does not change the caller's kv map when it adds general.alignment", () => {
    const kv = new Map<string, GgufValue>();
    const w = new GgufWriter(new MemorySink(), { kv, tensors: [], alignment: 128 });
    expect(kv.size).toBe(0);
    expect(w.kv.get("general.alignment")).toEqual({ type: 4, value: 128 });
    expect(w.layout.dataOffset % 128).toBe(0);
  });
});
