// What `dusk experiment` and `dusk study` share at the end of a run: the report directory's files
// (charts as SVG and PNG, results.json, report.md) written into the output's temporary, and a
// results table printed as aligned text; before it, the output directory and the progress bars.

import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { prepareOutput, type StaleOutput } from "../build/atomic-output.js";
import { svgToPng } from "../charts/index.js";
import { staleLine, type ProgressSink } from "./progress.js";

/**
 * The report directory's atomic output: a directory that already holds a report (results.json)
 * is replaced; any other existing one only with --force.
 */
export async function prepareReportOutput(out: string, inputs: string[], o: { force: boolean; purpose: string; label: string; say?: (s: string) => void }) {
  const say = o.say;
  const earlier = await stat(join(out, "results.json")).then(() => true, () => false);
  return prepareOutput(out, inputs, { kind: "directory", force: o.force || earlier, purpose: o.purpose, label: o.label, ...(say ? { onStale: (s: StaleOutput) => say(staleLine(s)) } : {}) });
}

/** One progress bar per label: a new label, or `stop` before a line of text, ends the bar before. */
export function labelledProgress(progress: ProgressSink): { update(label: string, done: number, total: number, detail?: string): void; stop(): void } {
  let current = "";
  return {
    update(label, done, total, detail) {
      if (label !== current) {
        progress.stop();
        progress.start(label, Math.max(1, total));
        current = label;
      }
      progress.update(done, detail);
    },
    stop() {
      progress.stop();
      current = "";
    },
  };
}

/** Writes each chart (SVG and PNG); `finish` then gives the final results and report (after timing the charts). */
export async function writeCharts(dir: string, charts: ReadonlyArray<{ stem: string; svg: string }>): Promise<void> {
  for (const c of charts) {
    await writeFile(join(dir, `${c.stem}.svg`), c.svg);
    await writeFile(join(dir, `${c.stem}.png`), svgToPng(c.svg));
  }
}

export async function writeResults(dir: string, results: unknown, markdown: string): Promise<void> {
  await writeFile(join(dir, "results.json"), JSON.stringify(results, null, 2) + "\n");
  await writeFile(join(dir, "report.md"), markdown);
}

/** A table as text: the first column left-aligned, the others right-aligned, two spaces apart. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return `${line(header)}\n${rows.map(line).join("\n")}\n`;
}
