// bench/merge: a two-model TIES merge (two fine-tunes onto their base, bf16 safetensors,
// density 0.5, the math on every core) against reading its inputs with `cat > /dev/null`, side
// by side, and the merge's peak RSS above a child that only opens the sources, in units of the
// largest tensor's float32 size (goals: speed ≥ 0.5× cat, extra RSS ≤ 4 tensors' worth). Both
// from the page cache (the files just written) and, where this process may drop the page cache
// (root on Linux), from the disk: caches dropped before each cat and each merge. The merge's CPU
// seconds (all threads) are printed beside its wall time: on shared cores the wall time mostly
// measures the other work.
// Run after `npx tsc -p .`: node bench/merge.mjs [hidden] [layers] [vocab]

import { execFileSync } from "node:child_process";
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fresh, gb, runChild, sizeOf } from "./lib.mjs";

const hidden = Number(process.argv[2] ?? 1024);
const layers = Number(process.argv[3] ?? 6);
const vocabSize = Number(process.argv[4] ?? 32000); // Llama 2 and Mistral 7B's vocabulary: their embedding is the largest tensor, as in real bases
const root = join(process.env.BENCH_DIR ?? tmpdir(), "dusk-bench-merge");
mkdirSync(root, { recursive: true });
const here = new URL(".", import.meta.url).pathname;
const { writeTinyHfModel } = await import(new URL("../dist/fixtures/tiny-model.js", import.meta.url).href);

const shape = { layers, hidden, intermediate: Math.round((hidden * 2.75) / 64) * 64, heads: hidden / 128, kvHeads: hidden / 128, vocabSize, dtype: "BF16" };
const models = {};
for (const [name, seed] of [["base", 1], ["a", 2], ["b", 3]]) {
  models[name] = fresh(join(root, name));
  await writeTinyHfModel(models[name], { ...shape, seed });
}
const recipe = join(root, "ties.yml");
writeFileSync(recipe, `merge_method: ties
base_model: ${models.base}
models:
  - {model: ${models.a}, parameters: {weight: 0.6, density: 0.5}}
  - {model: ${models.b}, parameters: {weight: 0.4, density: 0.5}}
`);
const inputs = Object.values(models).flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".safetensors")).map((f) => join(d, f)));
const inputBytes = inputs.reduce((n, f) => n + sizeOf(f), 0);
const out = join(root, "out");

function timeCat() {
  const t = performance.now();
  execFileSync("sh", ["-c", `cat ${inputs.map((f) => `'${f}'`).join(" ")} > /dev/null`]);
  return (performance.now() - t) / 1000;
}

/** Empties the page cache (root on Linux): false where that is not allowed. */
function dropCaches() {
  try {
    execFileSync("sync");
    writeFileSync("/proc/sys/vm/drop_caches", "3");
    return true;
  } catch {
    return false;
  }
}

// Alternate cat and the merge twice; keep the best of each (the cores and page cache are shared).
let cat = Infinity, merge = Infinity, cpu = Infinity, rss = 0, largest = 0;
let coldCat = Infinity, coldMerge = Infinity;
const cold = dropCaches();
timeCat(); // warm the page cache for both
for (let i = 0; i < 2; i++) {
  cat = Math.min(cat, timeCat());
  fresh(out);
  const r = runChild(join(here, "merge-worker.mjs"), ["build", recipe, out]);
  merge = Math.min(merge, r.seconds);
  cpu = Math.min(cpu, r.cpuSeconds);
  rss = Math.max(rss, r.peakRssMB);
  largest = r.largestTensorF32;
  if (cold) {
    dropCaches();
    coldCat = Math.min(coldCat, timeCat());
    fresh(out);
    dropCaches();
    coldMerge = Math.min(coldMerge, runChild(join(here, "merge-worker.mjs"), ["build", recipe, out]).seconds);
  }
}
const baseline = runChild(join(here, "merge-worker.mjs"), ["noop", recipe, out]).peakRssMB;
// The floor any merge pays here: writing the output's bytes (from a buffer already in memory) to
// a new file and fsyncing it, as a durable build must (node, like the merge; page-cache pages for
// the new file are allocated on the way).
const outputBytes = readdirSync(out).filter((f) => f.endsWith(".safetensors")).reduce((n, f) => n + sizeOf(join(out, f)), 0);
let floor = Infinity;
for (let i = 0; i < 2; i++) {
  const file = join(root, "floor.bin");
  const chunk = Buffer.alloc(4 << 20, 1);
  const t = performance.now();
  const fd = openSync(file, "w");
  for (let at = 0; at < outputBytes; at += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, outputBytes - at));
  fsyncSync(fd);
  closeSync(fd);
  floor = Math.min(floor, (performance.now() - t) / 1000);
  rmSync(file);
}
const tensorMB = largest / 2 ** 20;
const cores = availableParallelism();
console.log(`TIES of two ${gb(inputBytes / 3)} GB bf16 models onto their base (density 0.5), ${inputs.length} input files, best of 2`);
console.table([{
  "inputs GB": gb(inputBytes),
  "cat s": cat.toFixed(2),
  "merge s": merge.toFixed(2),
  "speed vs cat": (cat / merge).toFixed(4),
  ...(cold ? { "cold cat s": coldCat.toFixed(2), "cold merge s": coldMerge.toFixed(2), "speed vs cold cat": (coldCat / coldMerge).toFixed(3) } : {}),
  "write output + fsync s": floor.toFixed(2),
  "merge / write floor": (merge / floor).toFixed(2),
  "merge CPU s": cpu.toFixed(2),
  [`vs cat on ${cores} free cores`]: (cat / (cpu / cores)).toFixed(4),
  "peak RSS MB": rss.toFixed(0),
  "baseline MB": baseline.toFixed(0),
  "largest tensor f32 MB": tensorMB.toFixed(1),
  "extra RSS in tensors": ((rss - baseline) / tensorMB).toFixed(2),
}]);
console.log(`load average ${loadavg()[0].toFixed(1)} on ${cores} cores (the merge's wall time waits on other work; its CPU seconds spread over the cores bound the speed it could reach)`);
if (!cold) console.log("(the page cache could not be dropped here: run as root on Linux for the cold columns)");
console.log(`"write output + fsync": writing the merge's ${gb(outputBytes)} GB of output from memory and fsyncing it, the floor of any durable merge on this machine`);
console.log("goals: speed ≥ 0.5× cat of the inputs; extra RSS ≤ 4 tensors' worth");
for (const d of [...Object.values(models), out]) fresh(d);
