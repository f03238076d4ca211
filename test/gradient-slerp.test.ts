// mergekit's examples/gradient-slerp.yml built by dusk on two tiny generated models must equal
// what mergekit's own slerp and evaluate_setting make of them (scripts/merge-goldens: every output
// tensor's SHA-256, the float16 bytes the example's `dtype` gives), and the virtual merge the
// engine runs must load the same weights without writing the model.

import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkpointHeader, openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { checkpointWeights, planWeights } from "../src/engine/checkpoint-weights.js";
import { writeTinyHfModel, type TinyModelOptions } from "../src/fixtures/tiny-model.js";
import { makePlan } from "../src/plan/plan.js";
import { parseMergekitYaml } from "../src/recipe/index.js";
import { readTensorBytes, runCli, tempDirs } from "./helpers/cli.js";

const golden = JSON.parse(await readFile(new URL("./fixtures/merge/gradient-slerp.json", import.meta.url), "utf8")) as {
  mergekit: string; example_text: string; layers: number; models: Record<"a" | "b", TinyModelOptions>; inputs: Record<"a" | "b", string>; sha256: Record<string, string>; t: Record<string, number>;
};
const temps = tempDirs();
let root: string;
let recipeFile: string;

beforeAll(async () => {
  root = await temps.make();
  for (const name of ["a", "b"] as const) {
    await writeTinyHfModel(join(root, name), golden.models[name]);
    const digest = createHash("sha256").update(await readFile(join(root, name, "model.safetensors"))).digest("hex");
    expect(digest, `generated model ${name} differs from the one the golden was made from`).toBe(golden.inputs[name]);
  }
  // the example as mergekit ships it, with the two tiny models and their depth
  const text = golden.example_text
    .replaceAll("psmathur/orca_mini_v3_13b", join(root, "a"))
    .replaceAll("garage-bAInd/Platypus2-13B", join(root, "b"))
    .replaceAll("layer_range: [0, 40]", `layer_range: [0, ${golden.layers}]`);
  recipeFile = join(root, "gradient-slerp.yml");
  await writeFile(recipeFile, text);
});
afterAll(() => temps.cleanup());

describe(`examples/gradient-slerp.yml against mergekit ${golden.mergekit.slice(0, 7)}`, () => {
  it("every tensor of the build equals mergekit's, bit for bit", async () => {
    const out = join(root, "out");
    const r = await runCli(["build", recipeFile, "-o", out, "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const built = await readTensorBytes(out);
    expect([...built.keys()].sort()).toEqual(Object.keys(golden.sha256).sort());
    const differing = Object.entries(golden.sha256).filter(([name, sha]) => createHash("sha256").update(built.get(name)!).digest("hex") !== sha);
    expect(differing.map(([n]) => `${n} (t = ${golden.t[n]})`)).toEqual([]);
  });

  it("the virtual merge loads the weights the build wrote", async () => {
    const recipe = parseMergekitYaml(await readFile(recipeFile, "utf8"), recipeFile);
    const sources = await Promise.all([join(root, "a"), join(root, "b")].map((p) => openCheckpoint(p)));
    const built = await openCheckpoint(join(root, "out"));
    try {
      const virtual = planWeights(makePlan(recipe, sources.map(checkpointHeader)), sources);
      const real = checkpointWeights(built);
      expect(virtual.config).toEqual(real.config);
      expect(await virtual.embedding()).toEqual(await real.embedding());
      for (const layer of [0, 3, golden.layers - 1]) expect(await virtual.layer(layer)).toEqual(await real.layer(layer));
      expect(await virtual.lmHead()).toEqual(await real.lmHead());
    } finally {
      await Promise.all([...sources, built].map((c) => c.close()));
    }
  });
});
