// Grouped bar chart: one cluster per category (a model, a layout, a layer), one bar per group
// (a metric, "before"/"after"), with a value label on each bar. Missing values leave a gap.

import { axisLabels, formatTick, legend, niceTicks, openSvg, PALETTE, xml, type Frame } from "./svg.js";

export interface BarGroup {
  name: string;
  values: Array<number | null>;
}

export interface BarChartOptions {
  title: string;
  xLabel?: string;
  yLabel: string;
  categories: string[];
  groups: BarGroup[];
  yMin?: number;
  yMax?: number;
  /** digits of the value printed above each bar (default 2; -1 for none) */
  labelDigits?: number;
  /** a horizontal reference line, e.g. chance level */
  reference?: { value: number; label: string };
  width?: number;
  height?: number;
}

export function barChart(o: BarChartOptions): string {
  const nGroups = Math.max(o.groups.length, 1);
  const barW = Math.max(6, Math.min(28, 360 / Math.max(o.categories.length * nGroups, 1)));
  const clusterW = nGroups * barW + Math.max(12, barW);
  const width = o.width ?? Math.max(420, 84 + o.categories.length * clusterW);
  const plotH = (o.height ?? 380) - 110;
  const values = o.groups.flatMap((g) => g.values).filter((v): v is number => v !== null && Number.isFinite(v));
  if (o.reference) values.push(o.reference.value);
  const lo = o.yMin ?? Math.min(0, ...values);
  const hi = o.yMax ?? Math.max(...values, lo + 1e-9);
  const ticks = niceTicks(lo, hi, 6);
  const t0 = o.yMin ?? ticks[0]!;
  const t1 = o.yMax ?? ticks[ticks.length - 1]!;
  const frame: Frame = { width, height: 0, left: 64, top: 30, plotW: width - 84, plotH };
  const lg = legend(o.groups.length > 1 ? o.groups.map((g) => g.name) : [], frame.left, frame.top + plotH + 58, frame.plotW);
  frame.height = frame.top + plotH + 58 + lg.height;
  const py = (v: number): number => frame.top + plotH - ((Math.min(Math.max(v, t0), t1) - t0) / (t1 - t0 || 1)) * plotH;
  const step = frame.plotW / Math.max(o.categories.length, 1);
  const digits = o.labelDigits ?? 2;

  const out = openSvg(frame, o.title);
  for (const t of ticks.filter((t) => t >= t0 && t <= t1)) {
    out.push(`<line x1="${frame.left}" y1="${py(t).toFixed(1)}" x2="${frame.left + frame.plotW}" y2="${py(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${frame.left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${formatTick(t)}</text>`);
  }
  const base = py(Math.max(t0, Math.min(0, t1)));
  o.categories.forEach((cat, c) => {
    const cx = frame.left + step * (c + 0.5);
    const x0 = cx - (nGroups * barW) / 2;
    o.groups.forEach((g, i) => {
      const v = g.values[c];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const y = py(v);
      const x = x0 + i * barW;
      out.push(`<rect x="${x.toFixed(1)}" y="${Math.min(y, base).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${Math.abs(base - y).toFixed(1)}" fill="${PALETTE[i % PALETTE.length]}"><title>${xml(cat)} ${xml(g.name)}: ${v}</title></rect>`);
      if (digits >= 0) out.push(`<text x="${(x + (barW - 2) / 2).toFixed(1)}" y="${(Math.min(y, base) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${v.toFixed(digits)}</text>`);
    });
    out.push(`<text x="${cx.toFixed(1)}" y="${frame.top + plotH + 16}" text-anchor="middle">${xml(cat)}</text>`);
  });
  out.push(`<line x1="${frame.left}" y1="${base.toFixed(1)}" x2="${frame.left + frame.plotW}" y2="${base.toFixed(1)}" stroke="#666666"/>`);
  if (o.reference) {
    const y = py(o.reference.value).toFixed(1);
    out.push(`<line x1="${frame.left}" y1="${y}" x2="${frame.left + frame.plotW}" y2="${y}" stroke="#333333" stroke-dasharray="5,4"/>`);
    out.push(`<text x="${frame.left + frame.plotW - 4}" y="${(Number(y) - 4).toFixed(1)}" text-anchor="end" font-size="10">${xml(o.reference.label)}</text>`);
  }
  out.push(...axisLabels(frame, o.xLabel, o.yLabel), ...lg.elements, "</svg>");
  return out.join("\n") + "\n";
}
