// The study's charts, one per factor, as SVG strings (src/charts draws them): penalty against
// training step, against depth and against the overlap m, each point with its bootstrap interval,
// and the predictor's predicted vs measured penalties on held-out layouts. Stems match the report's.

import { lineChart, type Series } from "../charts/index.js";
import { layoutOf, runsOf } from "./findings.js";
import type { MeasuredLayout, StudyResults } from "./results.js";
import { STUDY_KINDS } from "./factors.js";

const KIND_LABEL: Record<MeasuredLayout["kind"], string> = { dus: "DUS", "idus-g": "iDUS-g", "idus-1": "iDUS-1" };

const series = (name: string, ls: Array<{ x: number; l: MeasuredLayout }>): Series => ({
  name,
  points: ls.map(({ x, l }) => [x, l.penalty.value]),
  errors: ls.map(({ l }) => [l.penalty.lo, l.penalty.hi]),
  markers: true,
});

/**
 * Series that share x values (a layout per base depth, per m) drawn side by side: each moved by a
 * fraction of the smallest x gap, so their whiskers do not hide each other.
 */
function spread(list: Series[]): Series[] {
  const xs = [...new Set(list.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const gap = xs.slice(1).reduce((g, x, i) => Math.min(g, x - xs[i]!), Infinity);
  if (!Number.isFinite(gap) || list.length < 2) return list;
  const step = (0.3 * gap) / list.length;
  return list.map((s, i) => ({ ...s, points: s.points.map(([x, y]): [number, number] => [x + (i - (list.length - 1) / 2) * step, y]) }));
}

export function studyCharts(r: StudyResults): Array<{ stem: string; caption: string; svg: string }> {
  const charts: Array<{ stem: string; caption: string; svg: string }> = [];
  const yLabel = "penalty over the base (nats/token)";
  const training: Series[] = r.bases.flatMap((b) => STUDY_KINDS.map((kind) => {
    const pts = runsOf(r, b.name).filter((x) => x.step !== null).map((x) => ({ x: x.step!, l: layoutOf(x, kind, b)! }));
    return series(`${b.name} ${kind === "idus-g" ? `iDUS-${b.g}` : KIND_LABEL[kind]}`, pts);
  })).filter((s) => s.points.length > 0);
  if (training.length > 0) {
    charts.push({
      stem: "training",
      caption: "penalty of each layout against the training step of its base (m = n/4), with 95% bootstrap intervals",
      svg: lineChart({ title: "Interlocking penalty vs training length (before healing)", xLabel: "training step of the base", yLabel, series: spread(training) }),
    });
  }
  const finals = r.bases.map((b) => ({ b, run: runsOf(r, b.name).find((x) => x.final) })).filter((x) => x.run).sort((x, y) => x.b.layers - y.b.layers);
  charts.push({
    stem: "depth",
    caption: "penalty of each layout on the final model of each base (m = n/4) against the base's depth",
    svg: lineChart({
      title: "Interlocking penalty vs base depth (final models, before healing)", xLabel: "base layers", yLabel,
      series: spread(STUDY_KINDS.map((kind) => series(KIND_LABEL[kind], finals.map(({ b, run }) => ({ x: b.layers, l: layoutOf(run!, kind, b)! }))))),
    }),
  });
  charts.push({
    stem: "overlap",
    caption: "penalty of each layout on each base's final model against the overlap m as a share of the base's n layers",
    svg: lineChart({
      title: "Interlocking penalty vs overlap m (final models, before healing)", xLabel: "m / n (share of the base's layers dropped from the end of A and the start of B)", yLabel,
      series: spread(finals.flatMap(({ b, run }) => STUDY_KINDS.map((kind) => series(`${b.name} ${kind === "idus-g" ? `iDUS-${b.g}` : KIND_LABEL[kind]}`,
        b.overlaps.map((m) => ({ x: m / b.layers, l: run!.layouts.find((l) => l.kind === kind && l.m === m)! })).filter((p) => p.l))))),
    }),
  });
  if (r.predictor.length > 0) {
    charts.push({
      stem: "predictor",
      caption: "the predictor's penalty against the measured one, held-out layouts of each base",
      svg: lineChart({
        title: "Layout predictor: predicted vs measured penalty (held-out layouts)", xLabel: "measured penalty (nats/token)", yLabel: "predicted penalty (nats/token)",
        series: r.predictor.map((p) => ({ name: `${p.base} (ρ = ${p.rho.toFixed(2)})`, line: false, points: p.layouts.filter((l) => l.set === "held-out").map((l): [number, number] => [l.measured, l.predicted]) })),
      }),
    });
  }
  return charts;
}
