// report.md of `dusk experiment`: the table laid out like REFERENCE.md's iDUS table (one row per
// model, before/after columns), the findings, the greedy continuations, the seam details, the
// charts, where the time went and how to reproduce. Every number comes from results.json.

import { findings, headlineAccuracy } from "./findings.js";
import type { ExperimentResults, LayoutResult } from "./results.js";

/** The published iDUS table (Open LLM Leaderboard v1 average, no continued pretraining). */
export const PUBLISHED = [
  { model: "base (Mistral-7B weights, Llama config)", avg: 60.98 },
  { model: "DUS implementation", avg: 58.1 },
  { model: "iDUS-8layer", avg: 58.38 },
  { model: "iDUS-1layer", avg: 29.51 },
];

export const fmtPpl = (x: number | undefined): string => (x === undefined ? "—" : x.toFixed(2));
export const fmtPct = (x: number | null | undefined): string => (x === null || x === undefined ? "—" : (100 * x).toFixed(2));
export const fmtDist = (x: number | undefined): string => (x === undefined ? "—" : x.toFixed(3));

const cell = (s: string): string => s.replaceAll("|", "\\|");

/** The main table: header and rows of cells (strings, as printed). */
export function reportTable(r: ExperimentResults): { header: string[]; rows: string[][] } {
  const tasks = r.settings.tasks;
  const nextword = r.layouts.some((l) => l.before.nextword);
  const header = ["model", "layers", "seams", "mean seam dist.", "drift", "ppl before", "ppl after"];
  if (nextword) header.push("next-word acc_norm before", "next-word acc_norm after");
  for (const t of tasks) header.push(`${t} before`);
  if (tasks.length > 0) header.push("avg before");
  const rows = r.layouts.map((l) => {
    const row = [
      l.also ? `${l.name} (= search best)` : l.name,
      String(l.depth),
      l.seams ? String(l.seams.count) : "0",
      fmtDist(l.seams?.mean),
      fmtDist(l.seams?.drift),
      fmtPpl(l.before.ppl),
      fmtPpl(l.after?.ppl),
    ];
    if (nextword) row.push(fmtPct(l.before.nextword?.metrics.acc_norm), fmtPct(l.after?.nextword?.metrics.acc_norm));
    for (const t of tasks) {
      const m = l.before.tasks[t]?.metrics;
      row.push(fmtPct(m?.acc_norm ?? m?.acc ?? m?.mc2 ?? m?.exact_match));
    }
    if (tasks.length > 0) row.push(fmtPct(headlineAccuracy({ ...l.before, nextword: undefined } as LayoutResult["before"])));
    return row;
  });
  return { header, rows };
}

function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.map(cell).join(" | ")} |`, `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

const quote = (s: string): string => s.split("\n").map((l) => `> ${l}`).join("\n");

/** The report's charts, by file stem, with a caption. */
export const CHARTS: Array<{ stem: string; caption: string; when: (r: ExperimentResults) => boolean }> = [
  { stem: "results", caption: "held-out perplexity and next-word accuracy, before and after healing", when: () => true },
  { stem: "heal-loss", caption: "training loss of every healing run", when: (r) => r.layouts.some((l) => l.heal) },
  { stem: "seam-distance", caption: "distance of each stack layer's input from what that layer saw in the base", when: () => true },
  { stem: "base-distance", caption: "the base model's layer map (mean angular distance between layer boundaries)", when: () => true },
];

export function renderReport(r: ExperimentResults): string {
  const { header, rows } = reportTable(r);
  const base = r.layouts.find((l) => l.name === "base")!;
  const out: string[] = [];
  out.push(`# The iDUS experiment on ${r.base.embedded ? "the embedded default model" : r.base.path}`, "");
  out.push(
    `${r.mode === "quick" ? "**Quick mode** (`--quick`: fewer items, a shorter test text, a smaller healing budget)" : "**Full mode**"}, ` +
      `${r.date.slice(0, 10)}, ${r.machine.cores} × ${r.machine.cpu}, ${r.machine.memory_gb} GiB, ${r.machine.platform}, Node ${r.machine.node}; ${r.settings.server ? `measured through a server started per model with \`${r.settings.server}\`` : `llama.cpp on ${r.machine.device}`}. ` +
      `Total ${r.timings.total.toFixed(0)} s.`,
    "",
  );
  out.push(
    `Base: ${r.base.layers} layers, ${r.base.params.toLocaleString("en-US")} parameters. Text: ${r.texts.source}; ` +
      `${r.texts.train_chars.toLocaleString("en-US")} characters for training/healing, then ${r.texts.calibration_chars.toLocaleString("en-US")} for calibration (analysis, search) ` +
      `and ${r.texts.test_chars.toLocaleString("en-US")} for the test (perplexity${r.settings.nextword_items ? `, ${r.settings.nextword_items} next-word items` : ""}, the prompt), never trained on.`,
    "",
  );
  out.push("## Results", "");
  out.push(markdownTable(header, rows), "");
  out.push(
    `Perplexity: ${r.settings.server ? "the server" : "llama.cpp"} on the first ${r.settings.ppl_chars.toLocaleString("en-US")} characters of the test text, windows of ${r.settings.ctx} tokens${r.settings.stride === r.settings.ctx ? "" : `, stride ${r.settings.stride}`}. ` +
      (r.layouts.some((l) => l.before.nextword) ? `Next-word: a held-out line cut at its middle, after four lines of context; which of four words comes next (the true one, or one that follows the middle of another line; chance 25%), scored like the leaderboard's multiple-choice tasks; acc_norm in %. ` : "") +
      `Seams: positions where the stack's source layer is not the previous one + 1; seam distance and drift are angular distances (arccos(cos)/π) between a layer's input in the stack and in the base, on the calibration text (drift: mean over all positions). ` +
      (r.settings.heal === "local" ? `After: each model (the base too) trained on for ${r.settings.heal_tokens.toLocaleString("en-US")} tokens of the training text, peak learning rate ${r.settings.heal_lr}.` : r.settings.heal === "export" ? "Healing was not run here: each model has an axolotl job under `jobs/` (see below)." : "Healing was skipped (`--heal none`)."),
    "",
  );
  out.push("The published table it scales down (Open LLM Leaderboard v1 average, no healing):", "");
  out.push(markdownTable(["model", "avg"], PUBLISHED.map((p) => [p.model, p.avg.toFixed(2)])), "");

  out.push("## What the numbers say", "");
  for (const f of findings(r)) out.push(`- ${f.text}`);
  out.push("");

  out.push("## The same prompt, greedy", "", "Prompt (from the test text):", "", "```", r.settings.prompt.trimEnd(), "```", "");
  for (const l of r.layouts) {
    out.push(`**${l.name}** before healing:`, "", quote(l.before.continuation.trimEnd() || "(nothing)"), "");
    if (l.after) out.push(`**${l.name}** after healing:`, "", quote(l.after.continuation.trimEnd() || "(nothing)"), "");
  }

  out.push("## Layouts", "");
  out.push(markdownTable(
    ["model", "as in the paper", "layers (base indices)", "build flags", "calibration ppl (engine, virtual)", "largest seam dist."],
    r.layouts.map((l) => [l.name, l.analog, l.spec, l.flags.length ? `\`${l.flags.join(" ")}\`` : "—", fmtPpl(l.calibration_ppl), fmtDist(l.seams?.max)]),
  ), "");
  out.push(
    `The search ranked ${r.search.ranked} of ${r.search.candidates} candidate layouts of ${r.search.depth} layers in ${r.search.seconds.toFixed(1)} s (budget ${r.search.budget_s} s) by calibration perplexity; ` +
      `its best is the row **${r.search.best_row}**. Top ${r.search.top.length}:`,
    "",
  );
  out.push(markdownTable(["candidate", "layers", "seams", "calibration ppl"], r.search.top.map((c) => [c.name, c.spec, String(c.seams), fmtPpl(c.ppl)])), "");
  if (r.layouts.some((l) => l.job)) {
    out.push("## Healing jobs", "", "Each model has an axolotl job directory (config, README with the launch command and memory per GPU):", "");
    for (const l of r.layouts.filter((x) => x.job)) out.push(`- ${l.name}: \`${l.job}/\``);
    out.push("");
  }

  out.push("## Charts", "");
  for (const c of CHARTS.filter((x) => x.when(r))) out.push(`- ${c.caption}: [${c.stem}.svg](${c.stem}.svg), [${c.stem}.png](${c.stem}.png)`, "", `  ![${c.caption}](${c.stem}.png)`, "");

  out.push("## Where the time went", "");
  const phases = (["analyze", "search", "build", "measure", "heal", "report"] as const).map((p) => [p, r.timings[p].toFixed(1), `${((100 * r.timings[p]) / Math.max(r.timings.total, 1e-9)).toFixed(0)}%`]);
  out.push(markdownTable(["phase", "seconds", "share"], [...phases, ["total", r.timings.total.toFixed(1), "100%"]]), "");
  out.push("## Reproduce", "", "```sh", r.base.embedded ? `dusk experiment${r.mode === "quick" ? " --quick" : ""}` : `dusk experiment ${r.base.path}${r.settings.tasks.length ? ` --tasks ${r.settings.tasks.join(",")}` : ""}`, "```", "");
  out.push(`Every number above is in \`results.json\`. The base's own held-out perplexity before healing: ${fmtPpl(base.before.ppl)}.`, "");
  return out.join("\n");
}
