// The report's charts as SVG strings (src/charts draws them): the results as bars (perplexity and
// next-word accuracy, before and after), the healing runs' loss curves, seam distance along each
// stack, and the base's distance map. Stems match CHARTS in report.ts.

import { distanceHeatmap, seamDistanceChart } from "../analyze/charts.js";
import { barChart, lineChart } from "../charts/index.js";
import type { ExperimentResults } from "./results.js";

export function reportCharts(r: ExperimentResults): Array<{ stem: string; svg: string }> {
  const names = r.layouts.map((l) => l.name);
  const healed = r.layouts.some((l) => l.after);
  const before = (f: (m: ExperimentResults["layouts"][number]["before"]) => number | null) => r.layouts.map((l) => f(l.before));
  const after = (f: (m: ExperimentResults["layouts"][number]["before"]) => number | null) => r.layouts.map((l) => (l.after ? f(l.after) : null));
  const acc = (m: ExperimentResults["layouts"][number]["before"]) => (m.nextword ? 100 * (m.nextword.metrics.acc_norm ?? 0) : null);
  const charts: Array<{ stem: string; svg: string }> = [];
  const pplChart = barChart({
    title: `Held-out perplexity (lower is better)${healed ? ", before and after healing" : ""}`,
    xLabel: "model",
    yLabel: "perplexity",
    categories: names,
    groups: [{ name: "before", values: before((m) => m.ppl) }, ...(healed ? [{ name: "after healing", values: after((m) => m.ppl) }] : [])],
    yMin: 0,
  });
  const hasNextword = r.layouts.some((l) => l.before.nextword);
  const accChart = hasNextword
    ? barChart({
        title: `Next-word accuracy (acc_norm, %)${healed ? ", before and after healing" : ""}`,
        xLabel: "model",
        yLabel: "acc_norm (%)",
        categories: names,
        groups: [{ name: "before", values: before(acc) }, ...(healed ? [{ name: "after healing", values: after(acc) }] : [])],
        reference: { value: 25, label: "chance" },
        yMin: 0,
        yMax: 100,
        labelDigits: 1,
      })
    : undefined;
  charts.push({ stem: "results", svg: accChart ? stack(pplChart, accChart) : pplChart });
  const runs = r.layouts.filter((l) => l.heal);
  if (runs.length > 0) {
    charts.push({
      stem: "heal-loss",
      svg: lineChart({
        title: `Healing: training loss, ${r.settings.heal_tokens.toLocaleString("en-US")} tokens per model`,
        xLabel: "step",
        yLabel: "training loss (nats/token)",
        series: runs.map((l) => ({ name: l.name, points: l.heal!.curve })),
      }),
    });
  }
  const stacks = r.layouts.filter((l) => l.seams && !l.also).map((l) => ({
    name: l.name,
    report: { positions: l.seams!.positions, seams: l.seams!.count, ppl: l.calibration_ppl, depth: l.depth, base_ppl: r.base_map.ppl },
  }));
  charts.push({ stem: "seam-distance", svg: seamDistanceChart(stacks, "Each stack layer's input vs its input in the base (calibration text)", "calibration ppl") });
  charts.push({ stem: "base-distance", svg: distanceHeatmap(r.base_map, "mean") });
  return charts;
}

/** Two SVG charts one above the other, as one SVG. */
function stack(top: string, bottom: string): string {
  const size = (svg: string) => {
    const m = /width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/.exec(svg)!;
    return { w: Number(m[1]), h: Number(m[2]) };
  };
  const a = size(top);
  const b = size(bottom);
  const w = Math.max(a.w, b.w);
  const h = a.h + b.h;
  const inner = (svg: string, y: number) => svg.replace(/^<svg [^>]*>/, `<svg x="0" y="${y}" width="${size(svg).w}" height="${size(svg).h}">`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">\n<rect width="${w}" height="${h}" fill="#ffffff"/>\n${inner(top, 0)}\n${inner(bottom, a.h)}\n</svg>\n`;
}
