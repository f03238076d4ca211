// Hostile and broken GGUF files: each must fail with its own FormatError code, naming the file,
// the offset, what was expected and found, and a hint. Files are built byte by byte here (not by
// our writer) so every field can lie.
import { describe, expect, it } from "vitest";
import { MemorySource } from "./byte-source.js";
import { parseGguf } from "./gguf.js";
import { FormatError } from "../errors.js";

interface RawTensor {
  name: string;
  dims: number[]; // innermost first, as stored
  type: number;
  offset: number;
}
interface RawSpec {
  magic?: string;
  version?: number;
  tensorCount?: bigint;
  kvCount?: bigint;
  kvs?: Uint8Array[];
  tensors?: RawTensor[];
  alignment?: number;
  dataBytes?: number;
}

class Bytes {
  parts: number[] = [];
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.parts.push(...b);
    return this;
  }
  u64(v: bigint | number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.parts.push(...b);
    return this;
  }
  str(s: string) {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.parts.push(...b);
    return this;
  }
  raw(b: Iterable<number>) {
    this.parts.push(...b);
    return this;
  }
  done() {
    return Uint8Array.from(this.parts);
  }
}

const kvU32 = (key: string, v: number) => new Bytes().str(key).u32(4).u32(v).done();
const kvStr = (key: string, v: string) => new Bytes().str(key).u32(8).str(v).done();

function raw(spec: RawSpec): Uint8Array {
  const kvs = spec.kvs ?? [kvStr("general.architecture", "llama")];
  const tensors = spec.tensors ?? [{ name: "w", dims: [8], type: 0, offset: 0 }];
  const b = new Bytes()
    .raw(Buffer.from(spec.magic ?? "GGUF", "latin1"))
    .u32(spec.version ?? 3)
    .u64(spec.tensorCount ?? BigInt(tensors.length))
    .u64(spec.kvCount ?? BigInt(kvs.length));
  for (const kv of kvs) b.raw(kv);
  for (const t of tensors) {
    b.str(t.name).u32(t.dims.length);
    for (const d of t.dims) b.u64(d);
    b.u32(t.type).u64(t.offset);
  }
  const align = spec.alignment ?? 32;
  while (b.parts.length % align !== 0) b.parts.push(0);
  b.raw(new Uint8Array(spec.dataBytes ?? 32));
  return b.done();
}

async function failure(bytes: Uint8Array): Promise<FormatError> {
  try {
    await parseGguf(new MemorySource(bytes, "bad.gguf"));
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    const fe = e as FormatError;
    expect(fe.file).toBe("bad.gguf");
    expect(fe.message).toContain("bad.gguf");
    return fe;
  }
  throw new Error("expected parseGguf to fail");
}

/** The fields every header error must carry. */
function expectDetailed(e: FormatError, code: string, offset?: number) {
  expect(e.code).toBe(code);
  if (offset !== undefined) expect(e.offset).toBe(offset);
  else expect(e.offset).toBeTypeOf("number");
  expect(e.expected).toBeTruthy();
  expect(e.actual).toBeTruthy();
  expect(e.hint).toBeTruthy();
}

describe("GGUF bad input", () => {
  it("sanity: the raw builder makes a valid file", async () => {
    const f = await parseGguf(new MemorySource(raw({})));
    expect(f.tensors[0]!.shape).toEqual([8]);
  });

  it("wrong magic, with a hint that recognises safetensors", async () => {
    const st = new Bytes().u64(60).raw(Buffer.from('{"__metadata__":{}}')).done();
    const e = await failure(st);
    expectDetailed(e, "gguf.magic", 0);
    expect(e.hint).toMatch(/safetensors/);
    expect((await failure(raw({ magic: "GGML" }))).code).toBe("gguf.magic");
  });

  it("bad version: v1, big-endian, unknown", async () => {
    const v1 = await failure(raw({ version: 1 }));
    expectDetailed(v1, "gguf.version", 4);
    expect(v1.hint).toMatch(/v1/);
    expect((await failure(raw({ version: 0x03000000 }))).hint).toMatch(/big-endian/);
    expect((await failure(raw({ version: 4 }))).actual).toBe("4");
  });

  it("lying tensor count and KV count fail before reading on", async () => {
    expectDetailed(await failure(raw({ tensorCount: 1_000_000n })), "gguf.tensor-count", 8);
    expectDetailed(await failure(raw({ tensorCount: 2n ** 63n })), "gguf.tensor-count", 8);
    expectDetailed(await failure(raw({ kvCount: 100_000n })), "gguf.kv-count", 16);
  });

  it("over-long string length", async () => {
    const kv = new Bytes().u64(2n ** 40n).raw(Buffer.from("x")).done();
    expectDetailed(await failure(raw({ kvs: [kv] })), "gguf.string-length", 24);
  });

  it("array count larger than the file can hold, and arrays nested too deep", async () => {
    const arr = new Bytes().str("tokenizer.ggml.tokens").u32(9).u32(8).u64(10_000_000).str("a").done();
    expectDetailed(await failure(raw({ kvs: [arr] })), "gguf.array-length");
    let nested = new Bytes().u32(4).u64(0).done(); // innermost: empty u32 array
    for (let i = 0; i < 5; i++) nested = new Bytes().u32(9).u64(1).raw(nested).done();
    expect((await failure(raw({ kvs: [new Bytes().str("deep").u32(9).raw(nested).done()] }))).code).toBe("gguf.array-depth");
  });

  it("duplicate key and unknown value type", async () => {
    expect((await failure(raw({ kvs: [kvU32("a", 1), kvU32("a", 2)] }))).code).toBe("gguf.duplicate-key");
    expectDetailed(await failure(raw({ kvs: [new Bytes().str("k").u32(13).u32(0).done()] })), "gguf.value-type");
  });

  it("bad alignment: not a power of two, zero, wrong type", async () => {
    const e = await failure(raw({ kvs: [kvU32("general.alignment", 48)] }));
    expect(e.code).toBe("gguf.alignment");
    expect(e.field).toBe("general.alignment");
    expect(e.actual).toBe("48");
    expect(e.hint).toBeTruthy();
    expect((await failure(raw({ kvs: [kvU32("general.alignment", 0)] }))).code).toBe("gguf.alignment");
    expect((await failure(raw({ kvs: [kvStr("general.alignment", "32")] }))).actual).toMatch(/string/);
  });

  it("tensor data past the end of the file", async () => {
    const e = await failure(raw({ tensors: [{ name: "w", dims: [64], type: 0, offset: 0 }], dataBytes: 128 }));
    expectDetailed(e, "gguf.tensor-out-of-bounds");
    expect(e.field).toBe("w");
  });

  it("misaligned tensor offset", async () => {
    const tensors = [{ name: "a", dims: [4], type: 0, offset: 0 }, { name: "b", dims: [4], type: 0, offset: 16 }];
    const e = await failure(raw({ tensors, dataBytes: 64 }));
    expect(e.code).toBe("gguf.tensor-misaligned");
    expect(e.field).toBe("b");
    expect(e.actual).toBe("16");
  });

  it("overlapping tensors", async () => {
    const tensors = [{ name: "a", dims: [16], type: 0, offset: 0 }, { name: "b", dims: [8], type: 0, offset: 32 }];
    const e = await failure(raw({ tensors, dataBytes: 64 }));
    expectDetailed(e, "gguf.tensor-overlap");
    expect(e.field).toBe("a / b");
  });

  it("unknown ggml type, too many dims, duplicate name, name over 63 bytes, bad block shape", async () => {
    expectDetailed(await failure(raw({ tensors: [{ name: "w", dims: [8], type: 99, offset: 0 }] })), "gguf.tensor-type");
    expectDetailed(await failure(raw({ tensors: [{ name: "w", dims: [1, 1, 1, 1, 2], type: 0, offset: 0 }] })), "gguf.tensor-rank");
    const dup = [{ name: "w", dims: [8], type: 0, offset: 0 }, { name: "w", dims: [8], type: 0, offset: 32 }];
    expect((await failure(raw({ tensors: dup, dataBytes: 64 }))).code).toBe("gguf.duplicate-tensor");
    const long = await failure(raw({ tensors: [{ name: "n".repeat(64), dims: [8], type: 0, offset: 0 }] }));
    expectDetailed(long, "gguf.tensor-name-length");
    expect(long.actual).toBe("64 bytes");
    // Q4_K (12) needs the innermost dim to be a multiple of 256
    const q = await failure(raw({ tensors: [{ name: "q", dims: [100, 2], type: 12, offset: 0 }], dataBytes: 1024 }));
    expect(q.code).toBe("gguf.tensor-shape");
    expect(q.expected).toMatch(/256/);
  });

  it("truncated file: the error names the field and the offset where bytes ran out", async () => {
    const full = raw({ kvs: [kvStr("general.architecture", "llama"), kvU32("llama.block_count", 4)], tensors: [] });
    const cut = full.subarray(0, 24 + 8 + "general.architecture".length + 4 + 8 + 2); // inside the "llama" string
    const e = await failure(cut);
    expectDetailed(e, "gguf.truncated");
    expect(e.offset).toBe(24 + 8 + 20 + 4 + 8);
    expect(e.field).toBe("general.architecture");
    expect((await failure(full.subarray(0, 10))).code).toBe("gguf.truncated");
  });
});
