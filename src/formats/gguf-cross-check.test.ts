// Cross-implementation check: node-llama-cpp's own GGUF reader (an independent implementation)
// must see exactly the metadata and tensor infos our writer wrote, for one file and a split set.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo, type GgufTensorInfo } from "node-llama-cpp";
import { FileSink } from "./byte-source.js";
import { ggufAlignUp } from "./gguf.js";
import { GgufWriter, type GgufTensorSpec } from "./gguf-writer.js";
import { planGgufSplit } from "./gguf-split.js";
import { type GgufKv, type GgufValue, ggufPlain, ggufValue } from "./gguf-value.js";
import { tensorByteLength, tensorType } from "./tensor-types.js";

const T = (name: string) => tensorType(name)!;

const TOKENS = ["<unk>", "<s>", "</s>", "▁the", "é", "日本語", "<0x0A>"];
const KV: GgufKv = new Map<string, GgufValue>([
  ["general.architecture", ggufValue.string("llama")],
  ["general.name", ggufValue.string("dusk cross-check")],
  ["llama.block_count", ggufValue.u32(2)],
  ["llama.context_length", ggufValue.u32(4096)],
  ["llama.rope.freq_base", ggufValue.f32(10000)],
  ["llama.attention.layer_norm_rms_epsilon", ggufValue.f32(1e-5)],
  ["general.file_type", ggufValue.u32(15)],
  ["general.size_label", ggufValue.string("tiny")],
  ["general.parameter_count", ggufValue.u64(123456789012345n)],
  ["tokenizer.ggml.model", ggufValue.string("llama")],
  ["tokenizer.ggml.tokens", ggufValue.stringArray(TOKENS)],
  ["tokenizer.ggml.scores", ggufValue.f32Array(TOKENS.map((_, i) => -i * 0.5))],
  ["tokenizer.ggml.token_type", ggufValue.i32Array([2, 3, 3, 1, 1, 1, 6])],
  ["tokenizer.ggml.add_bos_token", ggufValue.bool(true)],
  ["tokenizer.ggml.add_eos_token", ggufValue.bool(false)],
  ["tokenizer.ggml.bos_token_id", ggufValue.u32(1)],
]);

const TENSORS: GgufTensorSpec[] = [
  { name: "token_embd.weight", type: T("F16"), shape: [7, 64] },
  { name: "blk.0.attn_q.weight", type: T("Q8_0"), shape: [64, 64] },
  { name: "blk.0.ffn_down.weight", type: T("Q4_K"), shape: [3, 256] },
  { name: "blk.1.attn_norm.weight", type: T("F32"), shape: [64] },
  { name: "blk.1.ffn_up.weight", type: T("Q6_K"), shape: [2, 512] },
  { name: "output_norm.weight", type: T("F32"), shape: [5] },
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dusk-gguf-nlc-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function writeFile(path: string, kv: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensorSpec[]): Promise<GgufWriter> {
  const sink = await FileSink.create(path);
  const w = new GgufWriter(sink, { kv, tensors });
  for (const t of tensors) await w.writeTensorData(new Uint8Array(tensorByteLength(t.type, t.shape)!).fill(0x3c));
  await w.finish();
  await sink.close();
  return w;
}

/** node-llama-cpp nests dotted keys into objects; walk them back. */
function metadataAt(metadata: unknown, key: string): unknown {
  let cur = metadata as Record<string, unknown> | undefined;
  for (const part of key.split(".")) cur = cur?.[part] as Record<string, unknown> | undefined;
  return cur;
}

/** Same value, comparing 64-bit integers exactly and floats at f32 precision. */
function expectSameValue(theirs: unknown, ours: GgufValue, key: string): void {
  const plain = ggufPlain(ours);
  if (ours.type === 10 || ours.type === 11) expect(BigInt(theirs as bigint), key).toBe(plain);
  else if (ours.type === 6) expect(theirs, key).toBe(Math.fround(plain as number));
  else if (ours.type === 9 && ours.itemType === 6) expect(theirs, key).toEqual((plain as number[]).map(Math.fround));
  else expect(theirs, key).toEqual(plain);
}

function expectSameTensors(infos: readonly GgufTensorInfo[], writers: { w: GgufWriter; tensors: readonly GgufTensorSpec[] }[]): void {
  const ours = writers.flatMap(({ w, tensors }, part) =>
    tensors.map((t, i) => ({ t, rel: w.layout.tensors[i]!.offset - w.layout.dataOffset, abs: w.layout.tensors[i]!.offset, part: part + 1 })),
  );
  expect(infos.length).toBe(ours.length);
  infos.forEach((info, i) => {
    const { t, rel, abs, part } = ours[i]!;
    expect(info.name).toBe(t.name);
    expect(info.dimensions.map(Number)).toEqual([...t.shape].reverse()); // innermost first on disk
    expect(info.ggmlType).toBe(t.type.ggml);
    expect(Number(info.offset)).toBe(rel);
    expect(Number(info.fileOffset)).toBe(abs);
    expect(info.filePart).toBe(part);
  });
}

describe("node-llama-cpp reads what GgufWriter writes", () => {
  it("single file: metadata values and tensor infos (names, dims, types, offsets)", async () => {
    const path = join(dir, "single.gguf");
    const w = await writeFile(path, KV, TENSORS);
    const info = await readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false });
    expect(info.version).toBe(3);
    expect(Number(info.tensorCount)).toBe(TENSORS.length);
    expect(info.infoEndOffset).toBe(w.layout.dataOffset);
    for (const [key, value] of KV) expectSameValue(metadataAt(info.metadata, key), value, key);
    expectSameTensors(info.tensorInfo!, [{ w, tensors: TENSORS }]);
    // offsets follow llama.cpp's packing rule
    let rel = 0;
    info.tensorInfo!.forEach((t, i) => {
      expect(Number(t.offset)).toBe(rel);
      rel += ggufAlignUp(tensorByteLength(TENSORS[i]!.type, TENSORS[i]!.shape)!, 32);
    });
  });

  it("split set: node-llama-cpp splices the parts we planned and wrote", async () => {
    const parts = planGgufSplit(join(dir, "split"), KV, TENSORS, { maxTensors: 2 });
    const writers = [];
    for (const p of parts) writers.push({ w: await writeFile(p.fileName, p.kv, p.tensors), tensors: p.tensors });
    const info = await readGgufFileInfo(parts[0]!.fileName, { sourceType: "filesystem", logWarnings: false });
    expect(info.splicedParts).toBe(3);
    expect(Number(info.totalTensorCount)).toBe(TENSORS.length);
    expect(metadataAt(info.metadata, "split.count")).toBe(3);
    expect(metadataAt(info.metadata, "split.tensors.count")).toBe(TENSORS.length);
    expect(metadataAt(info.metadata, "llama.block_count")).toBe(2);
    expectSameTensors(info.fullTensorInfo!, writers);
  });
});
