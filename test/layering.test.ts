// The folders under src/ are layers (docs/DESIGN.md, "Pipeline"): a module imports only from
// folders below its own, so the folder graph has no cycles. LAYERS is that order, bottom-up, one
// line per layer (folders on one line import nothing from each other). The import graph is read
// with TypeScript's own pre-processor (static, `export … from` and dynamic imports, type-only ones
// included: a type import is still a dependency). Tests (*.test.ts) are left out: they may reach up.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { expect, test } from "vitest";

const src = fileURLToPath(new URL("../src/", import.meta.url));

const LAYERS: readonly (readonly string[])[] = [
  ["errors.ts", "limits.ts"],
  ["formats", "charts", "hub"],
  ["arch"],
  ["recipe"],
  ["checkpoint"],
  ["tokenizer"],
  ["quant"],
  ["plan"],
  ["merge"],
  ["build"],
  ["convert"],
  ["engine"],
  ["eval"],
  ["runtime"],
  ["analyze", "server"],
  ["fixtures"],
  ["train"],
  ["experiment"],
  ["index.ts"],
  ["cli"],
];

/**
 * Upward imports the code has today, each to be broken (then dropped from this list: the test
 * asserts the list is exact, so it can only shrink). "from -> to: the file and why".
 */
const KNOWN_UPWARD: readonly string[] = [
  "checkpoint -> plan", // open-checkpoint.ts: the types SourceHeader and CheckpointFormat live in plan/types.ts
  "merge -> convert", // executor.ts: convert/qk-permute.ts's Q/K (un)permutation
  "quant -> build", // run.ts: `dusk quantize` writes through build's atomic output
];

const rank = new Map(LAYERS.flatMap((layer, i) => layer.map((name) => [name, i] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [p] : [];
  });
}

/** "engine" for src/engine/forward.ts, "errors.ts" for src/errors.ts */
function unit(file: string): string {
  const [first] = relative(src, file).split("/");
  return first!;
}

/** folder-level edges "from -> to", each with one importing file as its example (read once) */
let cached: Map<string, string> | undefined;
function folderEdges(): Map<string, string> {
  if (cached) return cached;
  const edges = (cached = new Map<string, string>());
  for (const file of sources(src)) {
    const from = unit(file);
    for (const { fileName } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const to = unit(resolve(dirname(file), fileName).replace(/\.js$/, ".ts"));
      if (to !== from && !edges.has(`${from} -> ${to}`)) edges.set(`${from} -> ${to}`, relative(src, file));
    }
  }
  return edges;
}

test("LAYERS names every folder and top-level file of src/, and DESIGN.md's folder table the same folders", () => {
  const entries = readdirSync(src, { withFileTypes: true })
    .filter((e) => e.isDirectory() || e.name.endsWith(".ts"))
    .map((e) => e.name)
    .sort();
  expect([...rank.keys()].sort()).toEqual(entries);
  const design = readFileSync(new URL("../docs/DESIGN.md", import.meta.url), "utf8");
  const tableFolders = [...design.matchAll(/^\| `src\/([a-z-]+)\/` \|/gm)].map((m) => m[1]).sort();
  expect(tableFolders).toEqual(entries.filter((e) => !e.endsWith(".ts")));
});

test("imports between src/ folders point down the layers (no cycle can form), but for the known list", () => {
  const edges = folderEdges();
  expect(edges.size).toBeGreaterThan(50);
  const upward = [...edges]
    .filter(([edge]) => {
      const [from, to] = edge.split(" -> ") as [string, string];
      return rank.get(to)! >= rank.get(from)!;
    })
    .map(([edge, file]) => (KNOWN_UPWARD.includes(edge) ? edge : `${edge} (${file})`))
    .sort();
  expect(upward).toEqual([...KNOWN_UPWARD].sort());
});

test("quant stays below the engine: quantizers and imatrix files never run a model", () => {
  const edges = folderEdges();
  expect(edges.has("engine -> quant")).toBe(true);
  expect(edges.get("quant -> engine")).toBeUndefined();
});
