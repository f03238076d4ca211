// Side-by-side comparison of results files laid out like the leaderboard (models as rows; ARC,
// HellaSwag, MMLU, TruthfulQA, Winogrande, GSM8K, average; ×100, two decimals), as Markdown and
// as a deterministic SVG grouped bar chart. A file scored under another protocol is flagged.

import type { ResultsFile } from "./results.js";
import type { ProtocolName } from "./task.js";

/** The leaderboard's pick per benchmark. */
export const LEADERBOARD_COLUMNS = [
  { label: "ARC", task: "arc_challenge", metric: "acc_norm" },
  { label: "HellaSwag", task: "hellaswag", metric: "acc_norm" },
  { label: "MMLU", task: "mmlu", metric: "acc" },
  { label: "TruthfulQA", task: "truthfulqa_mc2", metric: "mc2" },
  { label: "Winogrande", task: "winogrande", metric: "acc" },
  { label: "GSM8K", task: "gsm8k", metric: "acc" },
] as const;

export interface ComparisonRow {
  model: string;
  protocol: ProtocolName;
  /** ×100 per column; null when the file lacks the task */
  scores: (number | null)[];
  /** mean of the six, null unless all are present */
  average: number | null;
  /** scored under a protocol other than the table's */
  otherProtocol: boolean;
}

export interface ComparisonTable {
  columns: string[];
  protocol: ProtocolName;
  rows: ComparisonRow[];
}

export interface CompareInput {
  results: ResultsFile;
  /** row label; the results' model name when absent */
  label?: string;
}

export function compare(inputs: readonly CompareInput[], protocol: ProtocolName = "v1"): ComparisonTable {
  const rows = inputs.map(({ results, label }): ComparisonRow => {
    const scores = LEADERBOARD_COLUMNS.map(({ task, metric }) => {
      const row = Object.hasOwn(results.results, task) ? results.results[task] : undefined;
      const v = row !== undefined && Object.hasOwn(row, metric) ? row[metric] : undefined;
      return typeof v === "number" && Number.isFinite(v) ? v * 100 : null;
    });
    const present = scores.filter((s): s is number => s !== null);
    return {
      model: label ?? results.config.model,
      protocol: results.protocol,
      scores,
      average: present.length === scores.length ? present.reduce((a, b) => a + b, 0) / present.length : null,
      otherProtocol: results.protocol !== protocol,
    };
  });
  return { columns: [...LEADERBOARD_COLUMNS.map((c) => c.label), "Avg"], protocol, rows };
}

const fmt = (v: number | null): string => (v === null ? "—" : v.toFixed(2));
const cell = (s: string): string => s.replaceAll("|", "\\|").replaceAll("\n", " ");

export function renderMarkdown(table: ComparisonTable): string {
  const lines = [`| Model | ${table.columns.join(" | ")} |`, `|---|${table.columns.map(() => "---:").join("|")}|`];
  for (const row of table.rows) {
    const name = row.otherProtocol ? `${cell(row.model)} †` : cell(row.model);
    lines.push(`| ${name} | ${[...row.scores, row.average].map(fmt).join(" | ")} |`);
  }
  if (table.rows.some((r) => r.otherProtocol)) {
    const others = [...new Set(table.rows.filter((r) => r.otherProtocol).map((r) => r.protocol))].join(", ");
    lines.push("", `† scored with protocol ${others}, not ${table.protocol}: not directly comparable.`);
  }
  return lines.join("\n") + "\n";
}

const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const xml = (s: string): string => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** A grouped bar chart: one group per benchmark (and Avg), one bar per model, 0–100. */
export function renderSvg(table: ComparisonTable): string {
  const groups = table.columns.length;
  const models = Math.max(table.rows.length, 1);
  const barW = 14;
  const gap = 24;
  const groupW = models * barW + gap;
  const left = 48;
  const top = 20;
  const plotH = 240;
  const width = left + groups * groupW + 20;
  const legendTop = top + plotH + 40;
  const height = legendTop + table.rows.length * 18 + 10;
  const y = (v: number): number => top + plotH - (Math.min(Math.max(v, 0), 100) / 100) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  for (let t = 0; t <= 100; t += 25) {
    out.push(`<line x1="${left}" y1="${y(t)}" x2="${width - 20}" y2="${y(t)}" stroke="#dddddd"/>`);
    out.push(`<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  table.columns.forEach((label, g) => {
    const gx = left + g * groupW + gap / 2;
    table.rows.forEach((row, m) => {
      const v = g < row.scores.length ? row.scores[g]! : row.average;
      if (v === null) return;
      const x = gx + m * barW;
      const h = top + plotH - y(v);
      out.push(`<rect x="${x}" y="${y(v).toFixed(2)}" width="${barW - 2}" height="${h.toFixed(2)}" fill="${PALETTE[m % PALETTE.length]}"><title>${xml(row.model)} ${xml(label)}: ${v.toFixed(2)}</title></rect>`);
    });
    out.push(`<text x="${gx + (models * barW) / 2}" y="${top + plotH + 16}" text-anchor="middle">${xml(label)}</text>`);
  });
  table.rows.forEach((row, m) => {
    const ly = legendTop + m * 18;
    out.push(`<rect x="${left}" y="${ly - 10}" width="12" height="12" fill="${PALETTE[m % PALETTE.length]}"/>`);
    out.push(`<text x="${left + 18}" y="${ly}">${xml(row.model)}${row.otherProtocol ? ` († protocol ${row.protocol})` : ""}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
