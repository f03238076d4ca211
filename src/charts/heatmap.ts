// Heatmap of a matrix (rows top to bottom, columns left to right) in the viridis colour map, with
// a colour bar: the layer-distance maps of `dusk analyze`. Cells are sized to fit ~520 px.

import { axisLabels, formatTick, niceTicks, openSvg, xml, type Frame } from "./svg.js";

export interface HeatmapOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** [rows][cols]; non-finite cells are drawn grey */
  matrix: number[][];
  rowLabels?: string[];
  colLabels?: string[];
  colorbarLabel: string;
  min?: number;
  max?: number;
}

// viridis at 0, 1/8, …, 1 (matplotlib's table sampled at 9 points), interpolated linearly.
const VIRIDIS: Array<[number, number, number]> = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** The viridis colour of t ∈ [0, 1] as `rgb(r,g,b)`. */
export function viridis(t: number): string {
  const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  const c = (k: 0 | 1 | 2): number => Math.round(a[k] + (b[k] - a[k]) * f);
  return `rgb(${c(0)},${c(1)},${c(2)})`;
}

/** Every k-th label so that at most ~16 are printed. */
const labelEvery = (n: number): number => Math.max(1, Math.ceil(n / 16));

export function heatmap(o: HeatmapOptions): string {
  const rows = o.matrix.length;
  const cols = Math.max(0, ...o.matrix.map((r) => r.length));
  const cell = Math.max(2, Math.min(28, Math.floor(520 / Math.max(rows, cols, 1))));
  const finite = o.matrix.flat().filter(Number.isFinite);
  const lo = o.min ?? (finite.length ? Math.min(...finite) : 0);
  const hi = o.max ?? (finite.length ? Math.max(...finite) : 1);
  const frame: Frame = { width: 0, height: 0, left: 70, top: 34, plotW: cols * cell, plotH: rows * cell };
  frame.width = frame.left + frame.plotW + 110;
  frame.height = frame.top + frame.plotH + 50;
  const out = openSvg(frame, o.title);
  o.matrix.forEach((row, r) => {
    row.forEach((v, c) => {
      const fill = Number.isFinite(v) ? viridis((v - lo) / (hi - lo || 1)) : "#cccccc";
      out.push(`<rect x="${frame.left + c * cell}" y="${frame.top + r * cell}" width="${cell}" height="${cell}" fill="${fill}"><title>${xml(o.rowLabels?.[r] ?? String(r))}, ${xml(o.colLabels?.[c] ?? String(c))}: ${Number.isFinite(v) ? v.toPrecision(4) : "n/a"}</title></rect>`);
    });
  });
  const every = labelEvery(Math.max(rows, cols));
  for (let r = 0; r < rows; r += every) {
    out.push(`<text x="${frame.left - 4}" y="${frame.top + r * cell + cell / 2 + 4}" text-anchor="end" font-size="9">${xml(o.rowLabels?.[r] ?? String(r))}</text>`);
  }
  for (let c = 0; c < cols; c += every) {
    out.push(`<text x="${frame.left + c * cell + cell / 2}" y="${frame.top + frame.plotH + 12}" text-anchor="middle" font-size="9">${xml(o.colLabels?.[c] ?? String(c))}</text>`);
  }
  // colour bar: 24 stops, ticks on nice values inside [lo, hi]
  const barX = frame.left + frame.plotW + 24;
  const steps = 24;
  for (let i = 0; i < steps; i++) {
    const y = frame.top + (frame.plotH * i) / steps;
    out.push(`<rect x="${barX}" y="${y.toFixed(1)}" width="14" height="${(frame.plotH / steps + 0.5).toFixed(1)}" fill="${viridis(1 - (i + 0.5) / steps)}"/>`);
  }
  out.push(`<rect x="${barX}" y="${frame.top}" width="14" height="${frame.plotH}" fill="none" stroke="#999999"/>`);
  for (const t of niceTicks(lo, hi, 5).filter((t) => t >= lo - 1e-12 && t <= hi + 1e-12)) {
    const y = frame.top + frame.plotH - ((t - lo) / (hi - lo || 1)) * frame.plotH;
    out.push(`<text x="${barX + 18}" y="${(y + 4).toFixed(1)}" font-size="9">${formatTick(t)}</text>`);
  }
  const cy = frame.top + frame.plotH / 2;
  out.push(`<text x="${barX + 66}" y="${cy}" text-anchor="middle" transform="rotate(90 ${barX + 66} ${cy})">${xml(o.colorbarLabel)}</text>`);
  out.push(...axisLabels({ ...frame, top: frame.top + 8 }, o.xLabel, o.yLabel), "</svg>");
  return out.join("\n") + "\n";
}
