// Block-level quantization goldens: writes inputs (rows of 512 floats in shapes that reach every
// branch of ggml's quantizers, an importance vector, random blocks of every readable type), runs
// ggml-blocks (ggml's own quantize/dequantize, see ggml-blocks.c) on them, and folds the outputs
// into test/fixtures/quant/blocks.json: inputs in base64, outputs as SHA-256 per row (quantized)
// or per type (dequantized random blocks). Usage: node block-goldens.mjs GGML_BLOCKS_BINARY
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const COLS = 512;
const repo = fileURLToPath(new URL("../..", import.meta.url));
const binary = process.argv[2];
if (!binary) throw new Error("usage: node block-goldens.mjs GGML_BLOCKS_BINARY");

// mulberry32: a small seeded generator (the inputs are stored, so only this script depends on it)
let state = 0x5eed1234;
function rand() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

/** Row kinds, one row each: the cases ggml's quantizers branch on. */
const ROWS = [
  (j) => gauss(), // unit normal
  (j) => 0.02 * gauss(), // a typical weight scale
  (j) => (2 * rand() - 1) * (j % 61 === 7 ? 20 : 1), // uniform with outliers
  (j) => (j < 256 || (j >= 320 && j < 352) ? 0 : 1e-3 * gauss()), // all-zero super-block and block
  (j) => Math.abs(gauss()), // positive only (min > 0 paths)
  (j) => -0.05 * Math.abs(gauss()), // negative only
  (j) => (j < 256 ? 0.5 : -0.25), // constant (max == min paths)
  (j) => Math.round(16 * (2 * rand() - 1)) / 8, // a grid of eighths: rounding ties
  (j) => (j < 256 ? 1e-16 : 1e-10) * gauss(), // below and near GROUP_MAX_EPS
  (j) => Math.sign(rand() - 0.5) * Math.log(1 - rand()) * 0.03, // Laplace, heavy tails
];
const x = new Float32Array(ROWS.length * COLS);
ROWS.forEach((f, r) => { for (let j = 0; j < COLS; j++) x[r * COLS + j] = f(j); });
const imatrix = new Float32Array(COLS);
for (let j = 0; j < COLS; j++) imatrix[j] = j % 37 === 5 ? 0 : gauss() ** 2 * (1 + 10 * rand());

/** Block bytes and the offsets of their f16 fields (kept finite: bit 14 cleared, so |v| < 2). */
const BLOCKS = {
  Q4_0: [18, [0], 64], Q4_1: [20, [0, 2], 64], Q5_0: [22, [0], 64], Q5_1: [24, [0, 2], 64], Q8_0: [34, [0], 64],
  IQ4_NL: [18, [0], 64], MXFP4: [17, [], 64],
  Q2_K: [84, [80, 82], 16], Q3_K: [110, [108], 16], Q4_K: [144, [0, 2], 16], Q5_K: [176, [0, 2], 16], Q6_K: [210, [208], 16],
  IQ4_XS: [136, [0], 16],
};
const QUANTIZED = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS", "F16", "BF16"];
const ROW_BYTES = { Q4_0: 288, Q4_1: 320, Q5_0: 352, Q5_1: 384, Q8_0: 544, Q2_K: 168, Q3_K: 220, Q4_K: 288, Q5_K: 352, Q6_K: 420, IQ4_NL: 288, IQ4_XS: 272, F16: 1024, BF16: 1024 };

const dir = mkdtempSync(join(tmpdir(), "dusk-quant-blocks-"));
try {
  writeFileSync(join(dir, "x.f32"), x);
  writeFileSync(join(dir, "imatrix.f32"), imatrix);
  const blockInputs = {};
  for (const [type, [bytes, halves, count]] of Object.entries(BLOCKS)) {
    const b = new Uint8Array(bytes * count);
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
    for (let k = 0; k < count; k++) for (const h of halves) b[k * bytes + h + 1] &= 0xbf;
    blockInputs[type] = b;
    writeFileSync(join(dir, `blocks-${type}.bin`), b);
  }
  execFileSync(binary, [dir], { stdio: "inherit" });
  const sha = (b) => createHash("sha256").update(b).digest("hex");
  const rowsOf = (buf, rowBytes) => Array.from({ length: ROWS.length }, (_, r) => sha(buf.subarray(r * rowBytes, (r + 1) * rowBytes)));
  const quantized = {};
  for (const type of QUANTIZED) {
    const entry = { plain: rowsOf(readFileSync(join(dir, `q-${type}.bin`)), ROW_BYTES[type]) };
    if (type !== "F16" && type !== "BF16") entry.imatrix = rowsOf(readFileSync(join(dir, `qi-${type}.bin`)), ROW_BYTES[type]);
    quantized[type] = entry;
  }
  const blocks = {};
  for (const type of Object.keys(BLOCKS)) {
    const out = readFileSync(join(dir, `d-${type}.f32`));
    blocks[type] = { input: Buffer.from(blockInputs[type]).toString("base64"), sha256: sha(out) };
  }
  const golden = {
    about: "ggml's quantize (ggml_quantize_chunk) and dequantize (to_float) on these inputs; scripts/quant-goldens/regenerate.sh",
    cols: COLS,
    rows: ROWS.length,
    x: Buffer.from(x.buffer).toString("base64"),
    imatrix: Buffer.from(imatrix.buffer).toString("base64"),
    quantized,
    blocks,
  };
  writeFileSync(join(repo, "test/fixtures/quant/blocks.json"), JSON.stringify(golden, null, 1) + "\n");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
