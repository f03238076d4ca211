// bench/build: builds iDUS-1 from generated models of two sizes (≥ 2 GB for the larger), HF → HF
// and GGUF → GGUF, and prints each build's wall time divided by `cp` copying the same bytes on the
// same disk, measured side by side, plus the build's peak RSS (goals: ratio ≤ 1.2, RSS ≤ 300 MB
// and independent of model size). Run after `npx tsc -p .`: node bench/build.mjs [GB...]

import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fresh, gb, runChild, sizeOf, timeCp } from "./lib.mjs";

const sizes = process.argv.slice(2).map(Number);
if (sizes.length === 0) sizes.push(1, 2.2);
const root = join(process.env.BENCH_DIR ?? tmpdir(), "dusk-bench-build");
mkdirSync(root, { recursive: true });
const here = new URL(".", import.meta.url).pathname;
const worker = join(here, "build-worker.mjs");
const rows = [];

for (const size of sizes) {
  const hf = fresh(join(root, `hf-${size}`));
  const made = runChild(join(here, "make-model.mjs"), [hf, String(size)]);
  const gguf = fresh(join(root, `m-${size}.gguf`));
  runChild(worker, ["convert", hf, gguf, "f16"]);
  for (const [kind, src, out] of [["HF → HF", hf, join(root, "out-hf")], ["GGUF → GGUF", gguf, join(root, "out.gguf")]]) {
    // Alternate build and cp twice; keep the best of each (the disk and page cache are shared).
    // cp copies the build's own output, so both read and write the same number of bytes.
    let cp = Infinity, build = Infinity, rss = 0, bytes = 0;
    for (let i = 0; i < 2; i++) {
      fresh(out);
      const r = runChild(worker, ["build", src, out, "1"]);
      build = Math.min(build, r.seconds);
      rss = Math.max(rss, r.peakRssMB);
      bytes = sizeOf(out);
      cp = Math.min(cp, timeCp(out, join(root, "cp-copy")));
      fresh(out);
    }
    rows.push({ kind, layers: made.layers, gb: gb(bytes), cpSeconds: cp.toFixed(2), buildSeconds: build.toFixed(2), ratio: (build / cp).toFixed(2), peakRssMB: rss.toFixed(0) });
  }
  fresh(hf);
  fresh(gguf);
}
console.log("iDUS-1 build vs cp of the same bytes (best of 2, side by side)");
console.table(rows);
console.log("goals: ratio ≤ 1.2; peak RSS ≤ 300 MB and flat across sizes");
