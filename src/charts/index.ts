// Charts for reports (analysis maps, loss curves, comparison tables): pure functions from data to
// SVG strings, and SVG → PNG. Callers decide where the files go.

export { lineChart } from "./line-chart.js";
export type { LineChartOptions, Series } from "./line-chart.js";
export { barChart } from "./bar-chart.js";
export type { BarChartOptions, BarGroup } from "./bar-chart.js";
export { heatmap, viridis } from "./heatmap.js";
export type { HeatmapOptions } from "./heatmap.js";
export { svgToPng, chartFiles } from "./png.js";
export { niceTicks, formatTick } from "./svg.js";
