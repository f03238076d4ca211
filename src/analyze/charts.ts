// The charts of an analysis as SVG strings (src/charts draws them): the distance heatmaps, Block
// Influence per layer and, for a layout, the distance of each stack layer's input from its base
// input. Titles name the model and the text. Callers write the files (and PNGs via svgToPng).

import { barChart, heatmap, lineChart } from "../charts/index.js";
import type { Analysis } from "./analyze.js";

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

export function analysisCharts(a: Analysis): NamedChart[] {
  const on = `${short(a.model)} on ${short(a.text)}`;
  const labels = Array.from({ length: a.boundaries }, (_, b) => (b === 0 ? "emb" : String(b)));
  const map = (which: "mean" | "last"): NamedChart => ({
    name: `distance-${which}`,
    svg: heatmap({
      title: `${which === "mean" ? "Mean" : "Last-token"} angular distance: ${on}`,
      xLabel: `boundary b: input of layer b (emb: embeddings, ${a.layers}: last output)`,
      yLabel: "boundary",
      matrix: which === "mean" ? a.angular_distance_mean : a.angular_distance_last,
      rowLabels: labels,
      colLabels: labels,
      colorbarLabel: `arccos(cos)/π, ${which === "mean" ? `mean of ${a.tokens} tokens` : `${a.windows} window(s)`}`,
      min: 0,
    }),
  });
  const charts = [
    map("mean"),
    map("last"),
    {
      name: "block-influence",
      svg: barChart({
        title: `Block Influence per layer: ${on}`,
        xLabel: "layer",
        yLabel: "BI = 1 − mean cos(input, output)",
        categories: a.block_influence.map((_, l) => String(l)),
        groups: [{ name: "Block Influence", values: a.block_influence }],
        labelDigits: a.block_influence.length <= 16 ? 3 : -1,
        yMin: 0,
      }),
    },
  ];
  if (a.layout) {
    const r = a.layout;
    charts.push({
      name: "seam-distance",
      svg: lineChart({
        title: `Seam distance along the stack: ${on}`,
        xLabel: `stack position (${r.seams} seams; ppl ${r.ppl.toFixed(2)}, base ${r.base_ppl.toFixed(2)})`,
        yLabel: "angular distance to the base input (mean over tokens)",
        series: [
          { name: "every layer's input", points: r.positions.map((p) => [p.at, p.distance_mean]) },
          { name: "at seams", points: r.positions.map((p) => [p.at, p.seam ? p.distance_mean : Number.NaN]), markers: true },
        ],
        yMin: 0,
        width: Math.max(720, 16 * r.depth),
      }),
    });
  }
  return charts;
}
