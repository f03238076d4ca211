import { describe, expect, it } from "vitest";
import { type ByteSource, MemorySink, MemorySource } from "./byte-source.js";
import { parseGguf } from "./gguf.js";
import { GgufWriter, type GgufTensorSpec } from "./gguf-writer.js";
import {
  ggufSplitPartName,
  isGgufSplitName,
  openGgufSplits,
  parseGgufSplitName,
  planGgufSplit,
  type GgufSplitPart,
} from "./gguf-split.js";
import { type GgufKv, type GgufValue, ggufValue } from "./gguf-value.js";
import { tensorByteLength, tensorType } from "./tensor-types.js";
import { FormatError } from "../errors.js";

const F32 = tensorType("F32")!;
const Q8_0 = tensorType("Q8_0")!;

const TENSORS: GgufTensorSpec[] = Array.from({ length: 7 }, (_, i) => ({
  name: `blk.${i}.w`,
  type: i % 2 ? Q8_0 : F32,
  shape: [i + 1, 32], // F32: 128(i+1) bytes; Q8_0: 34(i+1)
}));
const tensorBytes = (t: GgufTensorSpec, seed: number) =>
  Uint8Array.from({ length: tensorByteLength(t.type, t.shape)! }, (_, j) => (seed * 31 + j) & 0xff);

const KV: GgufKv = new Map<string, GgufValue>([
  ["general.architecture", ggufValue.string("llama")],
  ["llama.block_count", ggufValue.u32(7)],
  ["split.count", ggufValue.u16(9)], // stale split keys from an earlier run are replaced
]);

async function writeParts(parts: GgufSplitPart[]): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const part of parts) {
    const sink = new MemorySink();
    const w = new GgufWriter(sink, { kv: part.kv, tensors: part.tensors });
    for (const t of part.tensors) await w.writeTensorData(tensorBytes(t, TENSORS.indexOf(t)));
    await w.finish();
    files.set(part.fileName, sink.bytes());
  }
  return files;
}

const opener = (files: Map<string, Uint8Array>) => async (name: string): Promise<ByteSource> => {
  const b = files.get(name);
  if (b === undefined) throw Object.assign(new Error(`ENOENT: ${name}`), { code: "ENOENT" });
  return new MemorySource(b, name);
};

describe("GGUF split names", () => {
  it("recognises and builds gguf-split names", () => {
    expect(parseGgufSplitName("Mistral-7B-Q4_K-00002-of-00003.gguf")).toEqual({ prefix: "Mistral-7B-Q4_K", index: 2, count: 3 });
    expect(parseGgufSplitName("model.gguf")).toBeUndefined();
    expect(parseGgufSplitName("m-00004-of-00003.gguf")).toBeUndefined();
    expect(isGgufSplitName("m-00001-of-00001.gguf")).toBe(true);
    expect(ggufSplitPartName("out/m", 1, 12)).toBe("out/m-00001-of-00012.gguf");
  });
});

describe("GGUF split plan and read", () => {
  it("splits by tensor count like gguf-split: metadata in part 1, split.* in every part", async () => {
    const parts = planGgufSplit("m", KV, TENSORS, { maxTensors: 3 });
    expect(parts.map((p) => p.fileName)).toEqual(["m-00001-of-00003.gguf", "m-00002-of-00003.gguf", "m-00003-of-00003.gguf"]);
    expect(parts.map((p) => p.tensors.length)).toEqual([3, 3, 1]);
    expect([...parts[0]!.kv.keys()]).toEqual(["general.architecture", "llama.block_count", "split.no", "split.tensors.count", "split.count"]);
    expect([...parts[1]!.kv.entries()]).toEqual([
      ["split.no", { type: 2, value: 1 }],
      ["split.tensors.count", { type: 5, value: 7 }],
      ["split.count", { type: 2, value: 3 }],
    ]);

    const files = await writeParts(parts);
    const set = await openGgufSplits("m-00002-of-00003.gguf", opener(files)); // any part name works
    expect(set.partNames).toEqual(parts.map((p) => p.fileName));
    expect(set.kv.get("llama.block_count")).toEqual({ type: 4, value: 7 });
    expect(set.tensors.map((t) => t.name)).toEqual(TENSORS.map((t) => t.name));
    const partOf = (i: number) => `m-0000${Math.floor(i / 3) + 1}-of-00003.gguf`;
    for (const [i, t] of set.tensors.entries()) {
      expect(t.source.name).toBe(partOf(i));
      expect(await t.source.read(t.offset, t.byteLength)).toEqual(tensorBytes(TENSORS[i]!, i));
    }
  });

  it("splits by bytes with each tensor padded to the alignment; an oversize tensor gets its own part", () => {
    // padded sizes: 128, 96 (68), 384, 160 (136), 640, 224 (204), 896 → 224 | 544 | 640 | 224 | 896
    const parts = planGgufSplit("m", KV, TENSORS, { maxBytes: 600 });
    expect(parts.map((p) => p.tensors.map((t) => TENSORS.indexOf(t)))).toEqual([[0, 1], [2, 3], [4], [5], [6]]);
    expect(() => planGgufSplit("m", KV, TENSORS, { maxBytes: 10, maxTensors: 2 })).toThrow(/both/);
  });

  it("refuses a set with a missing part", async () => {
    const files = await writeParts(planGgufSplit("m", KV, TENSORS, { maxTensors: 3 }));
    files.delete("m-00002-of-00003.gguf");
    const e = await openGgufSplits("m-00001-of-00003.gguf", opener(files)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FormatError);
    expect(e).toMatchObject({ code: "gguf.split.missing-part", file: "m-00002-of-00003.gguf" });
    expect((e as FormatError).hint).toMatch(/3 parts/);
  });

  it("refuses parts whose split.count disagrees (mixed runs), renamed parts and miscounted tensors", async () => {
    const three = await writeParts(planGgufSplit("m", KV, TENSORS, { maxTensors: 3 }));
    const four = await writeParts(planGgufSplit("m", KV, TENSORS, { maxTensors: 2 }));
    const mixed = new Map(three);
    mixed.set("m-00003-of-00003.gguf", four.get("m-00003-of-00004.gguf")!);
    const e = (await openGgufSplits("m-00001-of-00003.gguf", opener(mixed)).catch((x: unknown) => x)) as FormatError;
    expect(e).toMatchObject({ code: "gguf.split.count", field: "split.count", expected: expect.stringContaining("3"), actual: "4" });
    expect(e.hint).toBeTruthy();

    const swapped = new Map(three);
    swapped.set("m-00002-of-00003.gguf", three.get("m-00003-of-00003.gguf")!);
    swapped.set("m-00003-of-00003.gguf", three.get("m-00002-of-00003.gguf")!);
    expect(await openGgufSplits("m-00001-of-00003.gguf", opener(swapped)).catch((x: unknown) => x)).toMatchObject({ code: "gguf.split.no" });

    const lost = await writeParts(planGgufSplit("m", KV, TENSORS, { maxTensors: 3 }).map((p, i) => (i === 2 ? { ...p, tensors: [] } : p)));
    expect(await openGgufSplits("m-00001-of-00003.gguf", opener(lost)).catch((x: unknown) => x)).toMatchObject({ code: "gguf.split.tensors-count" });

    const plain = await parseGguf(new MemorySource(three.get("m-00001-of-00003.gguf")!));
    expect(plain.kv.get("split.count")).toEqual({ type: 2, value: 3 });
    // a plain GGUF renamed to look like a split part: KV has a stale split.count but no split.no
    const noKeys = await writeParts([{ fileName: "x-00001-of-00001.gguf", kv: KV, tensors: [] }]);
    const kvErr = await openGgufSplits("x-00001-of-00001.gguf", opener(noKeys)).catch((x: unknown) => x);
    expect(kvErr).toMatchObject({ code: "gguf.split.kv", field: "split.no" });
  });

  it("a non-default alignment reaches every part", async () => {
    const kv = new Map(KV).set("general.alignment", ggufValue.u32(64));
    const parts = planGgufSplit("m", kv, TENSORS, { maxTensors: 4 });
    expect(parts[1]!.kv.get("general.alignment")).toEqual({ type: 4, value: 64 });
    const set = await openGgufSplits("m-00001-of-00002.gguf", opener(await writeParts(parts)));
    expect(set.parts.map((p) => p.alignment)).toEqual([64, 64]);
  });
});
