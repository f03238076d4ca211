// bench/convert: HF → GGUF conversion of a generated F16 model, timed against `cp` copying the
// conversion's own output (the same bytes read and written), side by side. Prints the f16 and
// bf16 ratios (goal ≤ 1.3), and q8_0's and q4_k_m's (a llama-quantize mix, quantized on every
// core) throughput in MB/s of input. Run after `npx tsc -p .`:
// node bench/convert.mjs [GB]   (env: BENCH_TYPES=f16,bf16,q8_0,q4_k_m)

import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fresh, gb, runChild, sizeOf, timeCp } from "./lib.mjs";

const size = Number(process.argv[2] ?? 1);
const root = join(process.env.BENCH_DIR ?? tmpdir(), "dusk-bench-convert");
mkdirSync(root, { recursive: true });
const here = new URL(".", import.meta.url).pathname;
const worker = join(here, "build-worker.mjs");
const hf = fresh(join(root, "hf"));
runChild(join(here, "make-model.mjs"), [hf, String(size)]);
const input = sizeOf(hf);
const rows = [];
for (const type of (process.env.BENCH_TYPES ?? "f16,bf16,q8_0,q4_k_m").split(",")) {
  const out = join(root, `out-${type}.gguf`);
  let convert = Infinity, cp = Infinity, rss = 0, bytes = 0;
  for (let i = 0; i < 2; i++) {
    fresh(out);
    const r = runChild(worker, ["convert", hf, out, type]);
    convert = Math.min(convert, r.seconds);
    rss = Math.max(rss, r.peakRssMB);
    bytes = sizeOf(out);
    cp = Math.min(cp, timeCp(out, join(root, "cp-copy")));
    fresh(out);
  }
  rows.push({ type, inputGB: gb(input), outputGB: gb(bytes), convertSeconds: convert.toFixed(2), cpSeconds: cp.toFixed(2), ratio: (convert / cp).toFixed(2), inputMBps: (input / 1e6 / convert).toFixed(0), peakRssMB: rss.toFixed(0) });
}
fresh(hf);
console.log("HF (F16) → GGUF conversion vs cp of the same output bytes (best of 2, side by side)");
console.table(rows);
console.log("goals: f16/bf16 ratio ≤ 1.3; q8_0 and q4_k_m reported in MB/s");
