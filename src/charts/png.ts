// SVG → PNG through resvg (@resvg/resvg-js, prebuilt binaries from npm) with the DejaVu Sans fonts
// from the `dejavu-fonts-ttf` package, so a PNG looks the same on any machine, fonts or not.

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Resvg } from "@resvg/resvg-js";

const require = createRequire(import.meta.url);
let fontFiles: string[] | undefined;

function bundledFonts(): string[] {
  if (!fontFiles) {
    const dir = join(dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
    fontFiles = [join(dir, "DejaVuSans.ttf"), join(dir, "DejaVuSans-Bold.ttf")];
  }
  return fontFiles;
}

/** Renders an SVG string to PNG bytes at `scale` × its size (default 2, for sharp text). */
export function svgToPng(svg: string, opts: { scale?: number } = {}): Uint8Array {
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: opts.scale ?? 2 },
    background: "#ffffff",
    font: { fontFiles: bundledFonts(), loadSystemFonts: false, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  return new Uint8Array(resvg.render().asPng());
}

/** A chart as the two files a report directory holds: `name.svg` and `name.png`. */
export function chartFiles(name: string, svg: string): Array<{ name: string; data: string | Uint8Array }> {
  return [
    { name: `${name}.svg`, data: svg },
    { name: `${name}.png`, data: svgToPng(svg) },
  ];
}
