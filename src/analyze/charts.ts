// The charts of an analysis as SVG strings (src/charts draws them): the distance heatmaps, Block
// Influence per layer and, for layouts, the distance of each stack layer's input from its base
// input (one series per stack). Titles name the model and the text. Callers write the files.

import { barChart, heatmap, lineChart } from "../charts/index.js";
import type { Analysis, LayerMap, LayoutReport } from "./analyze.js";

export interface NamedChart {
  /** file stem: distance-mean, distance-last, block-influence, seam-distance */
  name: string;
  svg: string;
}

/** The last path component, so titles stay short ("./models/Mistral-7B-v0.1/" → "Mistral-7B-v0.1"). */
function short(label: string): string {
  const trimmed = label.replace(/[\\/]+$/, "");
  const i = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  return i < 0 || /[(,]/.test(trimmed) ? trimmed : trimmed.slice(i + 1);
}

const on = (m: { model: string; text: string }) => `${short(m.model)} on ${short(m.text)}`;

/** The (n+1) × (n+1) angular distance matrix as a heatmap with a colour bar. */
export function distanceHeatmap(m: LayerMap, which: "mean" | "last"): string {
  const labels = Array.from({ length: m.boundaries }, (_, b) => (b === 0 ? "emb" : String(b)));
  return heatmap({
    title: `${which === "mean" ? "Mean" : "Last-token"} angular distance: ${on(m)}`,
    xLabel: `boundary b: input of layer b (emb: embeddings, ${m.layers}: last output)`,
    yLabel: "boundary",
    matrix: which === "mean" ? m.angular_distance_mean : m.angular_distance_last,
    rowLabels: labels,
    colLabels: labels,
    colorbarLabel: `arccos(cos)/π, ${which === "mean" ? `mean of ${m.tokens} tokens` : `${m.windows} window(s)`}`,
    min: 0,
  });
}

export function blockInfluenceChart(m: LayerMap): string {
  return barChart({
    title: `Block Influence per layer: ${on(m)}`,
    xLabel: "layer",
    yLabel: "BI = 1 − mean cos(input, output)",
    categories: m.block_influence.map((_, l) => String(l)),
    groups: [{ name: "Block Influence", values: m.block_influence }],
    labelDigits: m.block_influence.length <= 16 ? 3 : -1,
    yMin: 0,
  });
}

/**
 * Each stack layer's input distance from its base input along the stack, one line per layout (its
 * seams marked when there is one layout); `title` names the model and text.
 */
export function seamDistanceChart(stacks: readonly { name: string; report: Pick<LayoutReport, "positions" | "seams" | "ppl" | "depth" | "base_ppl"> }[], title: string, pplLabel = "ppl"): string {
  const series = stacks.map((s) => ({ name: `${s.name} (${s.report.seams} seam${s.report.seams === 1 ? "" : "s"}, ${pplLabel} ${s.report.ppl.toFixed(2)})`, points: s.report.positions.map((p): [number, number] => [p.at, p.distance_mean]) }));
  if (stacks.length === 1) {
    series.push({ name: "at seams", points: stacks[0]!.report.positions.map((p): [number, number] => [p.at, p.seam ? p.distance_mean : Number.NaN]) });
  }
  const depth = Math.max(1, ...stacks.map((s) => s.report.depth));
  return lineChart({
    title,
    xLabel: `stack position${stacks.length === 1 ? ` (base ppl ${stacks[0]!.report.base_ppl.toFixed(2)})` : ""}`,
    yLabel: "angular distance to the base input (mean over tokens)",
    series: series.map((s, i) => (stacks.length === 1 && i === 1 ? { ...s, markers: true } : s)),
    yMin: 0,
    width: Math.max(720, 16 * depth),
  });
}

/** Every chart `dusk analyze -o` writes for this analysis. */
export function analysisCharts(a: Analysis): NamedChart[] {
  const charts: NamedChart[] = [
    { name: "distance-mean", svg: distanceHeatmap(a, "mean") },
    { name: "distance-last", svg: distanceHeatmap(a, "last") },
    { name: "block-influence", svg: blockInfluenceChart(a) },
  ];
  if (a.layout) {
    charts.push({ name: "seam-distance", svg: seamDistanceChart([{ name: "every layer's input", report: a.layout }], `Seam distance along the stack: ${on(a)}`) });
  }
  return charts;
}
