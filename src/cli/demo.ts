// `dusk demo`: the main job on the embedded default model. It generates a small 32-layer model
// (the depth of Mistral-7B, at toy width), builds DUS, iDUS-8 and iDUS-1 from it, prints each
// plan and its metrics, and verifies every output tensor against the base under the plan.

import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { buildModel } from "../build/build.js";
import { verifyOutput } from "../build/verify.js";
import { checkpointHeader, openCheckpoint } from "../checkpoint/open-checkpoint.js";
import { BuildError } from "../errors.js";
import { writeTinyHfModel } from "../fixtures/tiny-model.js";
import { makePlan } from "../plan/plan.js";
import { dusRecipe, idusRecipe, recipeToMergekitYaml, type Recipe } from "../recipe/index.js";
import { planLayout, renderPlan } from "./plan-view.js";

const MARKER = ".dusk-demo";

export const demoCommand = defineCommand({
  meta: { name: "demo", description: "Generate a small 32-layer model, build DUS, iDUS-8 and iDUS-1 from it, and verify the outputs" },
  args: {
    dir: { type: "string", description: "working directory (replaced if it holds an earlier demo)", default: "dusk-demo" },
    json: { type: "boolean", description: "print a JSON summary" },
  },
  async run({ args }) {
    const dir = resolve(args.dir);
    if (await stat(dir).then(() => true, () => false)) {
      if (!(await stat(join(dir, MARKER)).then(() => true, () => false))) {
        throw new BuildError("demo.dir", `${dir} exists and is not a dusk demo directory`, { hint: "pass --dir with a new path" });
      }
      await rm(dir, { recursive: true, force: true });
    }
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, MARKER), "");
    const say = (s: string) => void (!args.json && process.stdout.write(s));
    const base = join(dir, "base");
    say(`generating a 32-layer Llama-shaped model (hidden 64) in ${base}\n`);
    await writeTinyHfModel(base, { layers: 32, hidden: 64, heads: 4, kvHeads: 2, dtype: "BF16", seed: 7 });
    const source = await openCheckpoint(base, base);
    const summary: Record<string, unknown>[] = [];
    try {
      const n = source.numLayers;
      const builds: [string, Recipe][] = [
        ["solar-dus", dusRecipe({ model: base, layers: n, drop: 8 })],
        ["idus-8", idusRecipe({ model: base, layers: n, drop: 8, group: 8 })],
        ["idus-1", idusRecipe({ model: base, layers: n, drop: 8, group: 1 })],
      ];
      for (const [name, recipe] of builds) {
        const plan = makePlan(recipe, [checkpointHeader(source)]);
        say(`\n=== ${name} ===\n${renderPlan(plan, { table: false })}`);
        const output = join(dir, name);
        for await (const e of buildModel(plan, [source], { output, recipeYaml: recipeToMergekitYaml(recipe), layout: planLayout(plan), command: `dusk build --preset ${recipe.origin.kind === "preset" ? recipe.origin.preset : "?"} ${base} -o ${output}` })) {
          if (e.type === "done") say(`built ${e.output} in ${e.seconds.toFixed(2)} s\n`);
        }
        const out = await openCheckpoint(output);
        try {
          for await (const e of verifyOutput(out, plan, [source])) {
            if (e.type !== "done") continue;
            if (e.mismatches.length > 0) throw new BuildError("demo.verify", `${name}: ${e.mismatches.length} tensors differ from the plan: ${e.mismatches[0]!.tensor}: ${e.mismatches[0]!.problem}`);
            say(`verified: all ${e.tensors} tensors match the base model under the plan\n`);
          }
        } finally {
          await out.close();
        }
        summary.push({ name, output, layout: planLayout(plan), metrics: { ...plan.metrics, jumps: undefined } });
      }
    } finally {
      await source.close();
    }
    if (args.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  },
});
