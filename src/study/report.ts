// report.md of `dusk study`, written from results.json alone: the findings (generated from the
// numbers), one table and chart per factor, the predictor's validation, what the data do not show,
// and how to reproduce. Penalties are printed as "value [lo, hi]" in nats/token.

import { f2, iv, layoutOf, pct, runsOf, stepLabel, studyFindings, COLLAPSE_SHARE } from "./findings.js";
import type { StudyBase, StudyResults } from "./results.js";

const cell = (s: string): string => s.replaceAll("|", "\\|");

export function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.map(cell).join(" | ")} |`, `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

const share = (x: number | null): string => (x === null ? "—" : pct(x));

/** Training length: one row per checkpoint of a base. */
export function trainingTable(r: StudyResults, b: StudyBase): { header: string[]; rows: string[][] } {
  const header = ["checkpoint", "tokens", "weights", "base ppl", "DUS", `iDUS-${b.g}`, "iDUS-1", "iDUS-1 − DUS", "iDUS-1 lost"];
  const rows = runsOf(r, b.name).map((run) => [
    stepLabel(run), run.tokens === null ? "—" : run.tokens.toLocaleString("en-US"), run.dtype, f2(run.ppl),
    iv(layoutOf(run, "dus", b)!.penalty), iv(layoutOf(run, "idus-g", b)!.penalty), iv(layoutOf(run, "idus-1", b)!.penalty),
    iv(run.idus1_minus_dus), share(layoutOf(run, "idus-1", b)!.lost),
  ]);
  return { header, rows };
}

/** Depth: the final model of every base. */
export function depthTable(r: StudyResults): { header: string[]; rows: string[][] } {
  const header = ["base", "layers", "parameters", "base ppl", "unigram ppl", "DUS", "iDUS-g", "iDUS-1", "iDUS-1 − DUS", "iDUS-1 / DUS ppl", "iDUS-1 lost"];
  const rows = [...r.bases].sort((x, y) => x.layers - y.layers).flatMap((b) => {
    const run = runsOf(r, b.name).find((x) => x.final);
    if (!run) return [];
    const one = layoutOf(run, "idus-1", b)!;
    return [[
      b.name, String(b.layers), b.params.toLocaleString("en-US"), f2(run.ppl), f2(b.unigram.ppl),
      iv(layoutOf(run, "dus", b)!.penalty), `${iv(layoutOf(run, "idus-g", b)!.penalty)} (g = ${b.g})`, iv(one.penalty),
      iv(run.idus1_minus_dus), f2(Math.exp(run.idus1_minus_dus.value)), share(one.lost),
    ]];
  });
  return { header, rows };
}

/** Overlap: every m measured on a base's final model. */
export function overlapTable(r: StudyResults, b: StudyBase): { header: string[]; rows: string[][] } {
  const run = runsOf(r, b.name).find((x) => x.final);
  const header = ["m", "depth", "DUS", `iDUS-${b.g}`, "iDUS-1", "iDUS-1 lost"];
  const rows = !run ? [] : b.overlaps.map((m) => {
    const at = (kind: string) => run.layouts.find((l) => l.kind === kind && l.m === m)!;
    return [String(m), String(at("dus").depth), iv(at("dus").penalty), iv(at("idus-g").penalty), iv(at("idus-1").penalty), share(at("idus-1").lost)];
  });
  return { header, rows };
}

export function predictorTable(r: StudyResults): { header: string[]; rows: string[][] } {
  const header = ["base", "fit layouts", "held-out layouts", "Spearman ρ", "baseline ρ", "top-5 overlap", "baseline top-5"];
  const rows = r.predictor.map((p) => [p.base, String(p.fit_layouts), String(p.held_out_layouts), f2(p.rho), f2(p.baseline_rho), `${p.top5}/5`, `${p.baseline_top5}/5`]);
  return { header, rows };
}

/** "1,839,168 and 950,000 parameters, 1,001,472 training tokens" */
function sizes(r: StudyResults): string {
  const params = [...new Set(r.bases.map((b) => b.params))].sort((a, b) => a - b).map((p) => p.toLocaleString("en-US"));
  const tokens = [...new Set(r.runs.filter((x) => x.final && x.tokens !== null).map((x) => x.tokens!))].map((t) => t.toLocaleString("en-US"));
  return `${params.join(" and ")} parameters${tokens.length ? `, ${tokens.join(" and ")} training tokens` : ""}`;
}

/** The training factor's reach: where its last point is, and what it cannot say beyond it. */
function trainedTokens(r: StudyResults): string[] {
  const last = Math.max(...r.runs.map((x) => x.tokens ?? 0));
  return last > 0 ? [`- The training factor ends at ${last.toLocaleString("en-US")} training tokens. Whether a trend seen up to there continues to the published collapse (a 7B base trained on trillions of tokens) is an extrapolation these points do not license.`] : [];
}

/** What differs between the final models besides depth, from their logs. */
function depthNote(r: StudyResults): string {
  const finals = r.runs.filter((x) => x.final);
  const tokens = new Set(finals.map((x) => x.tokens));
  const same = tokens.size === 1 && finals[0]?.tokens !== null && finals[0]?.tokens !== undefined;
  return `The final model of each base${same ? `, each trained on ${finals[0]!.tokens!.toLocaleString("en-US")} tokens` : " (their training logs do not show the same token count)"}; the deeper base also has more parameters.`;
}

const table = (t: { header: string[]; rows: string[][] }): string => markdownTable(t.header, t.rows);

export function renderStudyReport(r: StudyResults, charts: ReadonlyArray<{ stem: string; caption: string }>): string {
  const s = r.settings;
  const deep = [...r.bases].sort((a, b) => b.layers - a.layers);
  const chart = (stem: string) => {
    const c = charts.find((x) => x.stem === stem);
    return c ? `\n![${c.caption}](${c.stem}.svg)\n\n*${c.caption} ([PNG](${c.stem}.png)).*\n` : "";
  };
  const lines: string[] = [
    "# When does interlocking hurt? (`dusk study`)",
    "",
    `dusk ${r.dusk}, ${r.mode} mode, ${r.date.slice(0, 10)}; ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}; ${r.timings.total.toFixed(0)} s in all.`,
    "",
    "Every layout is run virtually on the engine (the base's own layers in the layout's order; nothing is built or healed), on the held-out test text " +
      `(${s.test.chars.toLocaleString("en-US")} characters of ${s.test.source} from offset ${s.test.start.toLocaleString("en-US")}: ${s.test.tokens.toLocaleString("en-US")} tokens in ${s.test.windows} windows of ${s.ctx}, stride ${s.stride}). ` +
      "A layout's **penalty** is its mean NLL minus its base's on those tokens (nats/token; exp of it is the perplexity ratio). " +
      `Intervals are ${Math.round(100 * s.bootstrap.confidence)}% percentile bootstrap intervals over text windows (${s.bootstrap.samples} resamples, seed ${s.bootstrap.seed}; the same draws for every layout of a checkpoint, so differences are paired). ` +
      `**Lost** is the penalty as a share of the base's gain over a unigram model of the test text (1 = back to the unigram level; iDUS-1 "collapses" at ${pct(COLLAPSE_SHARE)} or more).`,
    "",
    "## Findings",
    "",
    ...studyFindings(r).map((f) => `- ${f.text}`),
    "",
    "## Training length",
    "",
    "Penalties at m = n/4 for every checkpoint along each base's training run (checkpoints are saved in bfloat16, the final models in float32; each penalty is over its own checkpoint).",
  ];
  for (const b of deep) lines.push("", `### ${b.name} (${b.layers} layers)`, "", table(trainingTable(r, b)));
  lines.push(chart("training"), "## Depth", "", depthNote(r), "", table(depthTable(r)), chart("depth"));
  lines.push("## Overlap m", "", "Layers dropped from the end of copy A and the start of copy B (SOLAR: m = n/4); iDUS interlocks groups of n/4 (iDUS-g) or single layers (iDUS-1) of the same two copies.");
  for (const b of deep) lines.push("", `### ${b.name} (${b.layers} layers, final model)`, "", table(overlapTable(r, b)));
  lines.push(chart("overlap"));
  if (r.predictor.length > 0) {
    lines.push("## The layout predictor", "", ...r.predictor.map((p) => `- ${p.base}: ${p.method}`), "", table(predictorTable(r)), chart("predictor"),
      "Every layout's measured and predicted penalty is in results.json (`predictor[].layouts`).", "");
  }
  lines.push(
    "## What the data do not show",
    "",
    `- These are small models (${sizes(r)}) on one corpus; the published collapse was measured on a 7B model with leaderboard tasks. Perplexity penalties here are a proxy for those scores, not the same measurement.`,
    "- Everything is before healing: the study says how much each layout breaks its base, not how much of it continued pretraining would repair.",
    `- Depth has ${r.bases.length} point${r.bases.length === 1 ? "" : "s"}, and the deeper base also has more parameters at the same training tokens; the overlap and training factors vary one thing at a time on one training run each (one seed), so run-to-run variation of training is not in the intervals — only the text's.`,
    "- Intervals resample text windows; they are conditional on these weights and this text.",
    ...trainedTokens(r),
    "",
    "## Reproduce",
    "",
    "```",
    r.settings.command,
    "```",
    "",
    `Timings: measuring ${r.timings.measure.toFixed(0)} s (${r.settings.workers === 0 ? "in one thread" : `on ${r.settings.workers} worker thread${r.settings.workers === 1 ? "" : "s"}`}), report ${r.timings.report.toFixed(1)} s.`,
    "",
  );
  return lines.join("\n");
}
