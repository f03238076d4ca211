// Line chart: one polyline per series over shared numeric axes (loss curves, seam distance along a
// stack, Block Influence per layer). Optional log-scaled y for losses and perplexities.

import { axisLabels, formatTick, legend, logTicks, niceTicks, openSvg, PALETTE, xml, type Frame } from "./svg.js";

export interface Series {
  name: string;
  /** [x, y] points; non-finite y values are gaps */
  points: Array<[number, number]>;
  /** draw a marker at each point (default: when the series has ≤ 64 points) */
  markers?: boolean;
  /** join the points (default true; false: a scatter of markers) */
  line?: boolean;
  /** per point, an interval [lo, hi] drawn as a whisker (a bootstrap interval); null: none */
  errors?: Array<[number, number] | null>;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logY?: boolean;
  /** fixed y range (default: the data's, padded to nice ticks) */
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
}

export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 720;
  const plotH = (o.height ?? 400) - 110;
  const whiskers = o.series.flatMap((s) => (s.errors ?? []).flatMap((e, i) => (e && s.points[i] ? [[s.points[i]![0], e[0]], [s.points[i]![0], e[1]]] as Array<[number, number]> : [])));
  const finite = [...o.series.flatMap((s) => s.points), ...whiskers].filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
  const xs = finite.map((p) => p[0]);
  const ys = finite.map((p) => p[1]);
  const xTicks = niceTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, 8);
  const yLo = o.yMin ?? (ys.length ? Math.min(...ys) : 0);
  const yHi = o.yMax ?? (ys.length ? Math.max(...ys) : 1);
  const yTicks = o.logY ? logTicks(Math.max(yLo, 1e-12), Math.max(yHi, yLo * 1.0001, 1e-12)) : niceTicks(yLo, yHi, 6);
  const x0 = xTicks[0]!;
  const x1 = xTicks[xTicks.length - 1]!;
  const t0 = o.yMin ?? yTicks[0]!;
  const t1 = o.yMax ?? yTicks[yTicks.length - 1]!;
  const f = o.logY ? Math.log10 : (v: number) => v;
  const frame: Frame = { width, height: 0, left: 64, top: 30, plotW: width - 84, plotH };
  const lg = legend(o.series.map((s) => s.name), frame.left, frame.top + plotH + 58, frame.plotW);
  frame.height = frame.top + plotH + 58 + lg.height;
  const px = (x: number): number => frame.left + ((x - x0) / (x1 - x0 || 1)) * frame.plotW;
  const py = (y: number): number => frame.top + plotH - ((f(y) - f(t0)) / (f(t1) - f(t0) || 1)) * plotH;

  const out = openSvg(frame, o.title);
  out.push(`<rect x="${frame.left}" y="${frame.top}" width="${frame.plotW}" height="${plotH}" fill="none" stroke="#999999"/>`);
  for (const t of yTicks.filter((t) => t >= t0 && t <= t1)) {
    out.push(`<line x1="${frame.left}" y1="${py(t).toFixed(1)}" x2="${frame.left + frame.plotW}" y2="${py(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${frame.left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${formatTick(t)}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${px(t).toFixed(1)}" y1="${frame.top + plotH}" x2="${px(t).toFixed(1)}" y2="${frame.top + plotH + 4}" stroke="#999999"/>`);
    out.push(`<text x="${px(t).toFixed(1)}" y="${frame.top + plotH + 16}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  o.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const runs: string[][] = [[]];
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y) || (o.logY && y <= 0)) runs.push([]);
      else runs[runs.length - 1]!.push(`${px(x).toFixed(1)},${py(Math.min(Math.max(y, t0), t1)).toFixed(1)}`);
    }
    s.errors?.forEach((e, k) => {
      const p = s.points[k];
      if (!e || !p || !Number.isFinite(p[0]) || !e.every(Number.isFinite)) return;
      const x = px(p[0]).toFixed(1);
      const [ya, yb] = e.map((v) => py(Math.min(Math.max(v, t0), t1)).toFixed(1));
      out.push(`<line x1="${x}" y1="${ya}" x2="${x}" y2="${yb}" stroke="${colour}" stroke-width="1.2"/>`);
      for (const y of [ya, yb]) out.push(`<line x1="${(Number(x) - 3).toFixed(1)}" y1="${y}" x2="${(Number(x) + 3).toFixed(1)}" y2="${y}" stroke="${colour}" stroke-width="1.2"/>`);
    });
    for (const run of runs.filter((r) => r.length > 0)) {
      if (s.line !== false) out.push(`<polyline points="${run.join(" ")}" fill="none" stroke="${colour}" stroke-width="1.8"><title>${xml(s.name)}</title></polyline>`);
      if (s.markers ?? (s.line === false || s.points.length <= 64)) for (const p of run) {
        const [cx, cy] = p.split(",");
        out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${colour}"/>`);
      }
    }
  });
  out.push(...axisLabels(frame, o.xLabel, o.yLabel), ...lg.elements, "</svg>");
  return out.join("\n") + "\n";
}
