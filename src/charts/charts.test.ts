import { Resvg } from "@resvg/resvg-js";
import { describe, expect, it } from "vitest";
import { barChart, heatmap, lineChart, niceTicks, svgToPng, viridis } from "./index.js";

/** Decodes a PNG back to RGBA through resvg's own renderer of an <image> (no extra decoder). */
function pixels(png: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  const b64 = Buffer.from(png).toString("base64");
  // Re-render the PNG inside an SVG at its own size: resvg decodes it for us.
  const w = png[16]! * 2 ** 24 + png[17]! * 2 ** 16 + png[18]! * 2 ** 8 + png[19]!;
  const h = png[20]! * 2 ** 24 + png[21]! * 2 ** 16 + png[22]! * 2 ** 8 + png[23]!;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${w}" height="${h}"><image width="${w}" height="${h}" xlink:href="data:image/png;base64,${b64}"/></svg>`;
  const img = new Resvg(svg).render();
  return { width: img.width, height: img.height, rgba: new Uint8Array(img.pixels) };
}

function count(rgba: Uint8Array, pred: (r: number, g: number, b: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < rgba.length; i += 4) if (pred(rgba[i]!, rgba[i + 1]!, rgba[i + 2]!)) n++;
  return n;
}

const dark = (r: number, g: number, b: number) => r < 60 && g < 60 && b < 60;

describe("charts", () => {
  it("line charts draw interval whiskers inside the axis range, and scatters without lines", () => {
    const svg = lineChart({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "a", points: [[1, 1], [2, 2]], errors: [[0.5, 1.5], null] }] });
    // one whisker: a vertical line and two caps; the y axis reaches down to its 0.5 end
    expect(svg.match(/stroke-width="1.2"/g)).toHaveLength(3);
    expect(svg).toContain(">0.5<");
    const scatter = lineChart({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "s", line: false, points: [[0, 0], [1, 1], [2, 0]] }] });
    expect(scatter).not.toContain("<polyline");
    expect(scatter.match(/<circle/g)).toHaveLength(3);
  });

  it("niceTicks covers the range on 1/2/5 steps", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3.2, 47.9, 5)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(niceTicks(5, 5).length).toBeGreaterThanOrEqual(2);
  });

  it("line chart: escaped text, one polyline per finite run, log axis", () => {
    const svg = lineChart({
      title: "loss <healing> & more",
      xLabel: "step",
      yLabel: "loss",
      logY: true,
      series: [
        { name: "a", points: [[0, 10], [1, 5], [2, Number.NaN], [3, 2], [4, 1.5]] },
        { name: "b", points: [[0, 8], [4, 3]] },
      ],
    });
    expect(svg).toContain("loss &lt;healing&gt; &amp; more");
    expect(svg.match(/<polyline/g)?.length).toBe(3);
    const png = svgToPng(svg);
    const { width, rgba } = pixels(png);
    expect(width).toBe(1440);
    expect(count(rgba, dark)).toBeGreaterThan(500); // the title and tick labels were drawn with the bundled font
    expect(count(rgba, (r, g, b) => r === 0x4e && g === 0x79 && b === 0xa7)).toBeGreaterThan(50);
  });

  it("bar chart: a bar per finite value, reference line, labels", () => {
    const svg = barChart({
      title: "acc",
      yLabel: "%",
      categories: ["base", "DUS", "iDUS-1"],
      groups: [{ name: "before", values: [60, 58, null] }, { name: "after", values: [61, 60, 40] }],
      reference: { value: 25, label: "chance" },
      yMin: 0,
      yMax: 100,
    });
    expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="#(4e79a7|f28e2b)"><title>/g)?.length).toBe(5);
    expect(svg).toContain(">chance</text>");
    expect(svg).toContain(">40.00</text>");
    expect(svgToPng(svg).length).toBeGreaterThan(1000);
  });

  it("heatmap: viridis ends, a cell per entry, colour bar", () => {
    expect(viridis(0)).toBe("rgb(68,1,84)");
    expect(viridis(1)).toBe("rgb(253,231,37)");
    const m = [[0, 0.5, 1], [0.5, 0, Number.NaN], [1, 0.25, 0]];
    const svg = heatmap({ title: "d", xLabel: "layer", yLabel: "layer", matrix: m, colorbarLabel: "angular distance" });
    expect(svg.match(/<title>\d+, \d+:/g)?.length).toBe(9);
    expect(svg).toContain('fill="#cccccc"');
    const { rgba } = pixels(svgToPng(svg, { scale: 1 }));
    expect(count(rgba, (r, g, b) => r === 253 && g === 231 && b === 37)).toBeGreaterThan(100);
  });
});
