// Test-side reader of test/fixtures/quant/blocks.json (ggml's own outputs on stored inputs; see
// scripts/quant-goldens/block-goldens.mjs). Shared by the quantize and dequantize tests.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DuskError } from "../errors.js";

export interface BlockGoldens {
  cols: number;
  rows: number;
  x: Float32Array;
  imatrix: Float32Array;
  quantized: Record<string, { plain: string[]; imatrix?: string[] }>;
  blocks: Record<string, { input: Uint8Array; sha256: string }>;
}

function f32(b64: string): Float32Array {
  const b = Buffer.from(b64, "base64");
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function readBlockGoldens(): BlockGoldens {
  const path = fileURLToPath(new URL("../../test/fixtures/quant/blocks.json", import.meta.url));
  const j = JSON.parse(readFileSync(path, "utf8"));
  const blocks: BlockGoldens["blocks"] = {};
  for (const [type, e] of Object.entries(j.blocks as Record<string, { input: string; sha256: string }>)) {
    blocks[type] = { input: new Uint8Array(Buffer.from(e.input, "base64")), sha256: e.sha256 };
  }
  return { cols: j.cols, rows: j.rows, x: f32(j.x), imatrix: f32(j.imatrix), quantized: j.quantized, blocks };
}

export function sha256(bytes: Uint8Array | Float32Array): string {
  return createHash("sha256").update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest("hex");
}

/** The code of the DuskError `f` throws ("none" when it returns). */
export function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof DuskError) return e.code;
    throw e;
  }
  return "none";
}
