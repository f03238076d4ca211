// Bench for the layout predictor (src/analyze/predict.ts) and `dusk search --predict`, per base
// (default: the 32-layer and the 16-layer seed-scale bases). Run after `tsc`:
//   node bench/predict.mjs [--bases DIR,DIR] [--cal CHARS] [--test CHARS] [--out FILE] [--write-weights]
// For each base:
//  1. validation: the study's layout set (src/study/layout-set.ts; ≥ 40 held-out layouts) measured
//     on held-out text, the predictor fitted on the "fit" layouts only; Spearman ρ and top-5 overlap
//     on the held-out layouts, beside the seam-cost baseline's and the shipped weights';
//  2. search --predict at DUS's depth (32 → 48, 16 → 24): 1,000 candidates ranked (seconds, base
//     pass included), the 5 best predicted measured; against `dusk search` measuring every one of
//     its own candidates (two-copy, every iDUS-g, guided, ShortGPT) on the same text: the best
//     predicted layout's perplexity over the best measured one's (goal ≤ 1.02);
// and with --write-weights, refits on the union of the bases' fit layouts and writes
// src/analyze/predictor-weights.ts (the held-out layouts never enter it).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dusk = await import(new URL("../dist/index.js", import.meta.url).href);
const { validatePredictor } = await import(new URL("../dist/study/validate-predictor.js", import.meta.url).href);
const root = fileURLToPath(new URL("..", import.meta.url));

const flag = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const bases = flag("--bases", `${root}assets/seed-scale-model,${root}assets/seed-scale-model-16`).split(",");
const calChars = Number(flag("--cal", "3000"));
const testChars = Number(flag("--test", "4000"));
const out = flag("--out", "/tmp/dusk-predict-bench.json");
// --reuse FILE: an earlier run's results (same bases, same --test): its measured penalties are reused
const reuse = flag("--reuse") ? JSON.parse(readFileSync(flag("--reuse"), "utf8")) : [];
const W = { ctx: 128, stride: 128 };
const held = dusk.heldOutCorpus();
// calibration: the held-out text's first characters (the predictor's base pass and the searches);
// test: from 8,000 on (the experiment's split), where the validation's penalties are measured
const calibration = held.slice(0, calChars);
const test = held.slice(8000, 8000 + testChars);

const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const results = [];
for (const dir of bases) {
  const c = await dusk.openCheckpoint(dir);
  const n = c.numLayers;
  const depth = 2 * (n - Math.round(n / 4));
  console.log(`\n== ${dir}: ${n} layers, DUS depth ${depth}`);
  const t0 = performance.now();
  const v = await validatePredictor({ checkpoint: c, calibration, heldOut: test }, {
    ...W, ...(reuse.find((r) => r.base === dir) ? { reuse: reuse.find((r) => r.base === dir).validation } : {}), onProgress: (e) => e.done === e.total && console.log(`  ${e.phase}: ${e.total} done at ${((performance.now() - t0) / 1000).toFixed(0)} s`),
  });
  const heldOut = v.layouts.filter((l) => l.set === "held-out");
  const shipped = heldOut.map((l) => dusk.predictPenalty(dusk.DEFAULT_PREDICTOR, l.features));
  const shippedRho = dusk.spearman(heldOut.map((l) => l.measured), shipped);
  console.log(`  validation: ${v.held_out.layouts} held-out layouts (${[...new Set(heldOut.map((l) => l.kind))].join(", ")}), ${v.fit.layouts} fit layouts; ${v.text.tokens} test tokens`);
  console.log(`  held-out Spearman ρ ${f(v.held_out.spearman)}, top-5 overlap ${v.held_out.top5}/5 (seam-cost baseline: ρ ${f(v.held_out.seam_cost.spearman)}, top-5 ${v.held_out.seam_cost.top5}/5; shipped weights: ρ ${f(shippedRho)}); fit-set ρ ${f(v.fit.spearman)}`);
  console.log(`  weights: ${v.predictor.features.map((name, j) => `${name} ${f(v.predictor.weights[j])}`).filter((s) => !s.endsWith(" 0.000")).join(", ")}`);

  const p = await dusk.predictSearch({ checkpoint: c, text: calibration }, { ...W, depth, measure: 5, count: 1000 });
  const earlier = reuse.find((r) => r.base === dir)?.search;
  const s = earlier ?? await dusk.searchLayouts({ checkpoint: c, text: calibration }, { ...W, depth }).then((r) => ({ candidates: r.ranking.length, seconds: r.seconds, best: r.ranking[0] }));
  const bestP = p.measured[0], bestS = s.best;
  const ratio = bestP.ppl / bestS.ppl;
  console.log(`  search --predict: ${p.candidates} candidates ranked in ${f(p.rank_seconds, 2)} s wall, ${f(p.rank_cpu_seconds, 2)} s CPU (base pass included), 5 measured in ${f(p.measured.reduce((a, m) => a + m.seconds, 0), 1)} s`);
  console.log(`    best predicted, measured: ${bestP.name} (${bestP.spec}) ppl ${f(bestP.ppl, 4)}, predicted rank ${bestP.predicted_rank}`);
  console.log(`  search measuring all ${s.candidates} of its candidates in ${f(s.seconds, 1)} s: best ${bestS.name} (${bestS.spec}) ppl ${f(bestS.ppl, 4)}`);
  console.log(`  best predicted / best measured = ${f(ratio, 4)} (goal ≤ 1.02)`);
  console.log(`  7B estimate: measuring all ${p.candidates} ≈ ${f(p.estimate.seven_b_measure_all_seconds / 3600, 1)} h, predict + 5 ≈ ${f(p.estimate.seven_b_predict_seconds / 3600, 1)} h (FLOPs ratio ${f(p.estimate.flops_ratio, 0)})`);
  results.push({
    base: dir, layers: n, depth, validation: v, shipped_spearman: shippedRho,
    predict: { candidates: p.candidates, rank_seconds: p.rank_seconds, rank_cpu_seconds: p.rank_cpu_seconds, measured: p.measured, estimate: p.estimate },
    search: s,
    best_ratio: ratio,
  });
  await c.close();
  writeFileSync(out, JSON.stringify(results, null, 1));
}
console.log(`\nresults: ${out}`);

if (process.argv.includes("--write-weights")) {
  const rows = results.flatMap((r) => r.validation.layouts.filter((l) => l.set === "fit").map((l) => ({ features: l.features, penalty: l.measured })));
  const m = dusk.fitPredictor(rows, { source: `bench/predict.mjs: the fit layouts of ${results.map((r) => `${r.layers}-layer`).join(" and ")} seed-scale bases` });
  const file = `${root}src/analyze/predictor-weights.ts`;
  writeFileSync(file, `// The predictor \`dusk search --predict\` ranks with unless given another: fitted by bench/predict.mjs
// on the "fit" layouts of the study's bases only (src/study/layout-set.ts), never on the held-out
// layouts its Spearman ρ is reported on. Regenerate with \`node bench/predict.mjs --write-weights\`.

import type { PredictorModel } from "./predict.js";

export const DEFAULT_PREDICTOR: PredictorModel = ${JSON.stringify(m, null, 2).replace(/"(\w+)":/g, "$1:")};
`);
  console.log(`wrote ${file} (${rows.length} fit layouts)`);
}
