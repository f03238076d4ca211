// Child process for bench/merge.mjs: one merge build through the library (or, with `noop`, the
// same imports and opened sources without building: the baseline for peak RSS), then a JSON line
// with its wall time and the CPU seconds of the build (all threads). Peak RSS is measured around it by /usr/bin/time.
// usage: node merge-worker.mjs build|noop RECIPE.yml OUTPUT

import { readFileSync } from "node:fs";

const [mode, recipeFile, output] = process.argv.slice(2);
const dusk = await import(new URL("../dist/index.js", import.meta.url).href);
const yaml = readFileSync(recipeFile, "utf8");
const recipe = dusk.parseMergekitYaml(yaml, recipeFile);
const refs = dusk.recipeModels(recipe);
const checkpoints = await Promise.all(refs.map((r) => dusk.openCheckpoint(r)));
const plan = dusk.makePlan(recipe, checkpoints.map(dusk.checkpointHeader));
const t = performance.now();
const cpu0 = process.cpuUsage();
if (mode === "build") {
  for await (const _ of dusk.buildModel(plan, checkpoints, { output, recipeYaml: yaml, layout: "bench" })) void _;
}
const seconds = (performance.now() - t) / 1000;
const cpu = process.cpuUsage(cpu0);
await Promise.all(checkpoints.map((c) => c.close()));
const largest = Math.max(...plan.tensors.map((op) => op.shape.reduce((a, b) => a * b, 1)));
process.stdout.write(JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, largestTensorF32: largest * 4 }) + "\n");
