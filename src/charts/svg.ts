// SVG building blocks shared by the charts: escaping, number formatting, "nice" axis ticks, a
// colour-blind-safe palette and the frame (title, axis labels, plot rectangle). Charts are pure
// functions from data to an SVG string; nothing here touches files.

export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
export const FONT_FAMILY = "DejaVu Sans, Verdana, sans-serif";

export const xml = (s: string): string =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** Fixed-point with trailing zeros dropped: 0.50 → "0.5", 12 → "12"; large/small values in e-notation. */
export function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace("e+", "e");
  return Number(v.toPrecision(6)).toString();
}

/** About `count` evenly spaced ticks on 1/2/5 × 10^k covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return niceTicks(min - pad, max + pad, count);
  }
  const raw = (max - min) / Math.max(count, 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let i = 0; ticks.length < 2 || ticks[ticks.length - 1]! < max - step * 1e-9; i++) ticks.push(Number((first + i * step).toPrecision(12)));
  return ticks;
}

/** Powers of ten (and 2×, 5× when the range is narrow) covering [min, max], min > 0. */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const mult = hi - lo <= 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) for (const m of mult) ticks.push(Number((m * 10 ** e).toPrecision(12)));
  return ticks;
}

export interface Frame {
  width: number;
  height: number;
  /** plot rectangle */
  left: number;
  top: number;
  plotW: number;
  plotH: number;
}

/** The opening tag, background and title; the caller appends the plot and closes with `</svg>`. */
export function openSvg(frame: Frame, title: string): string[] {
  const { width, height } = frame;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${xml(title)}</text>`,
  ];
}

/** Axis labels centred under and beside the plot rectangle. */
export function axisLabels(frame: Frame, xLabel: string | undefined, yLabel: string): string[] {
  const { left, top, plotW, plotH } = frame;
  const out: string[] = [];
  if (xLabel) out.push(`<text x="${(left + plotW / 2).toFixed(1)}" y="${(top + plotH + 34).toFixed(1)}" text-anchor="middle">${xml(xLabel)}</text>`);
  const cy = top + plotH / 2;
  out.push(`<text x="14" y="${cy.toFixed(1)}" text-anchor="middle" transform="rotate(-90 14 ${cy.toFixed(1)})">${xml(yLabel)}</text>`);
  return out;
}

/** A legend row of colour swatches, wrapping at `width`; returns the elements and the height used. */
export function legend(names: string[], x0: number, y0: number, width: number): { elements: string[]; height: number } {
  const elements: string[] = [];
  let x = x0;
  let y = y0;
  names.forEach((name, i) => {
    const w = 24 + name.length * 6.5;
    if (x + w > x0 + width && x > x0) {
      x = x0;
      y += 18;
    }
    elements.push(`<rect x="${x.toFixed(1)}" y="${(y - 9).toFixed(1)}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`);
    elements.push(`<text x="${(x + 16).toFixed(1)}" y="${(y + 1).toFixed(1)}">${xml(name)}</text>`);
    x += w;
  });
  return { elements, height: names.length === 0 ? 0 : y - y0 + 18 };
}
