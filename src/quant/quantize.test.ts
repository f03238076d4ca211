import { describe, expect, it } from "vitest";
import { errorCode, readBlockGoldens, sha256 } from "./golden-blocks.js";
import { quantizeRows } from "./quantize.js";

const g = readBlockGoldens();

describe("quantizeRows is ggml_quantize_chunk byte for byte", () => {
  for (const [type, want] of Object.entries(g.quantized)) {
    for (const mode of ["plain", "imatrix"] as const) {
      const rows = want[mode];
      if (!rows) continue;
      it(`${type} ${mode === "plain" ? "without" : "with"} an imatrix on ${g.rows} rows of ${g.cols}`, () => {
        const y = quantizeRows(type, g.x, g.rows, g.cols, mode === "imatrix" ? g.imatrix : undefined);
        const rb = y.byteLength / g.rows;
        const got = Array.from({ length: g.rows }, (_, r) => sha256(y.subarray(r * rb, (r + 1) * rb)));
        const bad = got.map((h, r) => (h === rows[r] ? -1 : r)).filter((r) => r >= 0);
        expect(bad, `rows that differ from ggml`).toEqual([]);
      });
    }
  }
});

describe("quantizeRows rejects what ggml would not quantize", () => {
  it("unknown types, partial blocks, mis-sized importance vectors", () => {
    expect(errorCode(() => quantizeRows("Q7_K", new Float32Array(256), 1, 256))).toBe("QUANT_UNKNOWN_TYPE");
    expect(errorCode(() => quantizeRows("Q4_K", new Float32Array(128), 1, 128))).toBe("QUANT_ROW_ALIGN");
    expect(errorCode(() => quantizeRows("Q4_K", new Float32Array(256), 1, 256, new Float32Array(128)))).toBe("QUANT_IMATRIX_SIZE");
  });
});
