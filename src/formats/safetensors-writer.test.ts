import { describe, expect, it } from "vitest";
import { BuildError } from "../errors.js";
import { MemorySink } from "./byte-source.js";
import { layoutSafetensors, referenceWriterOrder, SafetensorsWriter } from "./safetensors-writer.js";
import { tensorType } from "./tensor-types.js";

const F32 = tensorType("F32")!;
const F16 = tensorType("F16")!;
const headerText = (bytes: Uint8Array): string => Buffer.from(bytes.subarray(8)).toString("utf8");
const lengthOf = (bytes: Uint8Array): number => Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));

describe("layoutSafetensors matches the reference writer's bytes", () => {
  it("64-byte header needs no padding", () => {
    const l = layoutSafetensors([{ name: "attn.0", type: F32, shape: [1, 2, 3] }], null);
    expect(headerText(l.headerBytes)).toBe(`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`);
    expect(lengthOf(l.headerBytes)).toBe(64);
    expect(l.tensors[0]!.offset).toBe(72);
    expect(l.fileSize).toBe(96);
  });

  it("pads with spaces to a multiple of 8", () => {
    const l = layoutSafetensors([{ name: "attn0", type: F32, shape: [1, 1, 2, 3] }], null);
    expect(lengthOf(l.headerBytes)).toBe(72);
    expect(headerText(l.headerBytes)).toBe(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `);
    expect(headerText(layoutSafetensors([], null).headerBytes)).toBe("{}      ");
    expect(headerText(layoutSafetensors([], { framework: "pt" }).headerBytes)).toBe(`{"__metadata__":{"framework":"pt"}}     `);
  });

  it("defaults __metadata__ to {format: pt}, first", () => {
    const l = layoutSafetensors([{ name: "x", type: F16, shape: [2] }]);
    expect(headerText(l.headerBytes).trimEnd()).toBe(`{"__metadata__":{"format":"pt"},"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`);
  });

  it("escapes names as serde_json does (quotes, backslash, control chars; UTF-8 kept)", () => {
    const l = layoutSafetensors([{ name: 'é"\\\n\u0001', type: F16, shape: [] }], null);
    expect(headerText(l.headerBytes).trimEnd()).toBe(`{"é\\"\\\\\\n\\u0001":{"dtype":"F16","shape":[],"data_offsets":[0,2]}}`);
  });

  it("refuses duplicates, the reserved name, non-safetensors types and bad shapes", () => {
    const bad: [Parameters<typeof layoutSafetensors>[0], string][] = [
      [[{ name: "a", type: F32, shape: [1] }, { name: "a", type: F32, shape: [1] }], "safetensors-writer.duplicate-name"],
      [[{ name: "__metadata__", type: F32, shape: [1] }], "safetensors-writer.reserved-name"],
      [[{ name: "q", type: tensorType("Q4_K")!, shape: [256] }], "safetensors-writer.type"],
      [[{ name: "s", type: F32, shape: [-1] }], "safetensors-writer.shape"],
      [[{ name: "s", type: F32, shape: [1.5] }], "safetensors-writer.shape"],
    ];
    for (const [specs, code] of bad) expect(() => layoutSafetensors(specs)).toThrow(expect.objectContaining({ code }));
  });
});

describe("referenceWriterOrder", () => {
  it("sorts by descending dtype rank, then name bytes", () => {
    const specs = [
      { name: "b", type: F16, shape: [1] },
      { name: "a", type: F16, shape: [1] },
      { name: "z", type: F32, shape: [1] },
      { name: "m", type: tensorType("U8")!, shape: [1] },
      { name: "c", type: tensorType("I64")!, shape: [1] },
    ];
    expect(referenceWriterOrder(specs).map((s) => s.name)).toEqual(["c", "z", "a", "b", "m"]);
  });
});

describe("SafetensorsWriter streaming checks", () => {
  const specs = [
    { name: "a", type: F32, shape: [2] },
    { name: "empty", type: F32, shape: [0] },
    { name: "b", type: F16, shape: [3] },
  ];

  it("accepts chunks, skips or accepts empty tensors, and finishes", async () => {
    for (const writeEmpty of [false, true]) {
      const sink = new MemorySink();
      const w = await SafetensorsWriter.begin(sink, specs);
      await w.write("a", new Uint8Array(3));
      await w.write("a", new Uint8Array(5));
      if (writeEmpty) await w.write("empty", new Uint8Array(0));
      await w.write("b", new Uint8Array(6));
      await w.finish();
      expect(sink.position).toBe(w.layout.fileSize);
    }
  });

  it("refuses out-of-order bytes, overflow, extra writes and early finish", async () => {
    const expectCode = async (p: Promise<unknown>, code: string): Promise<void> => {
      await expect(p).rejects.toBeInstanceOf(BuildError);
      await expect(p).rejects.toMatchObject({ code });
    };
    let w = await SafetensorsWriter.begin(new MemorySink(), specs);
    await expectCode(w.write("b", new Uint8Array(6)), "safetensors-writer.order");
    await w.write("a", new Uint8Array(4));
    await expectCode(w.write("b", new Uint8Array(2)), "safetensors-writer.order"); // "a" not complete
    await expectCode(w.write("a", new Uint8Array(5)), "safetensors-writer.overflow");
    await expectCode(w.finish(), "safetensors-writer.incomplete");
    await w.write("a", new Uint8Array(4));
    await w.write("b", new Uint8Array(6));
    await expectCode(w.write("c", new Uint8Array(1)), "safetensors-writer.order");
    await w.finish();
    await expectCode(w.write("b", new Uint8Array(0)), "safetensors-writer.order");

    w = await SafetensorsWriter.begin(new MemorySink(), specs);
    await w.write("a", new Uint8Array(8));
    await expectCode(w.finish(), "safetensors-writer.incomplete");

    const used = new MemorySink();
    await used.write(new Uint8Array(1));
    await expectCode(SafetensorsWriter.begin(used, specs), "safetensors-writer.sink-not-empty");
  });
});
