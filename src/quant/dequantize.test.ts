import { describe, expect, it } from "vitest";
import { tensorType } from "../formats/tensor-types.js";
import { dequantize } from "./dequantize.js";
import { errorCode, readBlockGoldens, sha256 } from "./golden-blocks.js";

const goldens = readBlockGoldens();

describe("dequantize matches ggml's dequantize_row_* bit for bit", () => {
  for (const [type, g] of Object.entries(goldens.blocks)) {
    it(`${type} on ${g.input.byteLength / tensorType(type)!.blockBytes} random blocks`, () => {
      expect(sha256(dequantize(type, g.input))).toBe(g.sha256);
      // at an odd byte offset, into a caller's buffer with room to spare
      const shifted = new Uint8Array(g.input.byteLength + 1);
      shifted.set(g.input, 1);
      const out = new Float32Array(1 + (g.input.byteLength / tensorType(type)!.blockBytes) * tensorType(type)!.blockElems);
      const y = dequantize(type, shifted.subarray(1), out);
      expect(y.buffer).toBe(out.buffer);
      expect(sha256(y)).toBe(g.sha256);
    });
  }
});

describe("dequantize rejects what it cannot read", () => {
  it("names unknown and unsupported types and partial blocks", () => {
    expect(errorCode(() => dequantize("Q9_9", new Uint8Array(4)))).toBe("QUANT_UNKNOWN_TYPE");
    expect(errorCode(() => dequantize("IQ2_XXS", new Uint8Array(66)))).toBe("QUANT_UNSUPPORTED_TYPE");
    expect(errorCode(() => dequantize("Q4_K", new Uint8Array(143)))).toBe("QUANT_BLOCK_BYTES");
    expect(errorCode(() => dequantize("Q6_K", new Uint8Array(210), new Float32Array(255)))).toBe("QUANT_OUTPUT_SIZE");
  });

  it("passes the float types through dtype-convert", () => {
    const x = Float32Array.of(1.5, -2, 0.25);
    expect(Array.from(dequantize("F32", new Uint8Array(x.buffer)))).toEqual([1.5, -2, 0.25]);
    const out = new Float32Array(4);
    expect(Array.from(dequantize("F16", Uint8Array.of(0x00, 0x3c, 0x00, 0xc0), out))).toEqual([1, -2]);
  });
});
