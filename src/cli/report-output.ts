// What `dusk experiment` and `dusk study` share at the end of a run: the report directory's files
// (charts as SVG and PNG, results.json, report.md) written into the output's temporary, and a
// results table printed as aligned text.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { svgToPng } from "../charts/index.js";

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
