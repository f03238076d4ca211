// Bench for `dusk experiment` on the embedded default: the wall time of each phase (analyze,
// search, build, measure, heal, report) as a share of the total, for the quick mode and (with
// `full`) the full mode, so the next optimisation is obvious. Shares are ratios within one run.
// Run after `npm run build`: node bench/experiment.mjs [quick|full|both]   (default quick)

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const which = process.argv[2] ?? "quick";
const modes = which === "both" ? ["quick", "full"] : [which];
const bin = new URL("../bin/dusk.js", import.meta.url).pathname;
const PHASES = ["analyze", "search", "build", "measure", "heal", "report"];

for (const mode of modes) {
  const dir = mkdtempSync(join(tmpdir(), "dusk-bench-experiment-"));
  const out = join(dir, "report");
  const t = performance.now();
  const r = spawnSync(process.execPath, [bin, "experiment", ...(mode === "quick" ? ["--quick"] : []), "-o", out, "--quiet"], { encoding: "utf8" });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  const total = res.timings.total;
  console.log(`${mode}: ${total.toFixed(1)} s inside the run, ${wall.toFixed(1)} s wall with start-up (goal ≤ ${mode === "quick" ? 120 : 600} s)`);
  for (const p of PHASES) console.log(`  ${p.padEnd(8)} ${res.timings[p].toFixed(1).padStart(7)} s  ${((100 * res.timings[p]) / total).toFixed(1).padStart(5)}%`);
  const heal = res.layouts.filter((l) => l.heal);
  if (heal.length) {
    const tok = heal.reduce((s, l) => s + l.heal.tokens, 0);
    const sec = heal.reduce((s, l) => s + l.heal.seconds, 0);
    console.log(`  healing: ${heal.length} runs, ${tok} tokens, ${(tok / sec).toFixed(0)} tokens/s inside the training loops`);
  }
  const measured = res.layouts.flatMap((l) => [l.before, l.after].filter(Boolean));
  console.log(`  measuring: ${measured.length} models, ${(measured.reduce((s, m) => s + m.seconds, 0) / measured.length).toFixed(1)} s each (perplexity + ${res.settings.nextword_items} next-word items + a continuation)`);
  rmSync(dir, { recursive: true, force: true });
}
