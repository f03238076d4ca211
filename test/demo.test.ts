// The quick start's main job: `dusk demo` builds DUS, iDUS-8 and iDUS-1 from a generated 32-layer
// model, verifies each by hash and by the engine's logits, and reports the layouts' metrics.

import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { runCli, tempDirs } from "./helpers/cli.js";

const dirs = tempDirs("dusk-demo-");
afterAll(() => dirs.cleanup());

test("dusk demo builds and verifies the three layouts", async () => {
  const dir = join(await dirs.make(), "demo");
  const r = await runCli(["demo", "--dir", dir, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  const summary = JSON.parse(r.stdout) as { name: string; layout: string; metrics: { numLayers: number; seams: number; largestBackwardJump: number } }[];
  expect(summary.map((s) => s.name)).toEqual(["solar-dus", "idus-8", "idus-1"]);
  expect(summary.map((s) => s.metrics.numLayers)).toEqual([48, 48, 48]);
  expect(summary.map((s) => s.metrics.seams)).toEqual([1, 2, 47]);
  expect(summary.map((s) => s.metrics.largestBackwardJump)).toEqual([15, 7, 7]);
  expect(summary[0]!.layout).toBe("0..23, 8..31");
  expect(summary[2]!.layout.startsWith("0, 8, 1, 9, 2, 10")).toBe(true);
  // Re-running replaces an earlier demo directory; a foreign directory is refused.
  expect((await runCli(["demo", "--dir", dir, "--json"])).code).toBe(0);
  const foreign = await dirs.make();
  const refused = await runCli(["demo", "--dir", foreign]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/not a dusk demo directory/);
});
