// `dusk plan`: the layout a recipe makes, its layer-distance metrics, the plan as JSON, or the
// recipe as mergekit YAML — from checkpoint headers alone, nothing is built.

import { defineCommand } from "citty";
import { checkpointHeader } from "../checkpoint/open-checkpoint.js";
import { RecipeError } from "../errors.js";
import { makePlan } from "../plan/plan.js";
import { renderPlan } from "./plan-view.js";
import { planOptions, recipeArgs, resolveRecipe } from "./recipe-args.js";

export const planCommand = defineCommand({
  meta: { name: "plan", description: "Print the layer layout of a recipe (preset or mergekit YAML), its layer-distance metrics, and each merged tensor's inputs, method and parameters" },
  args: {
    models: { type: "positional", description: "model(s) for a preset, or a mergekit YAML recipe", required: true },
    ...recipeArgs,
    dtype: { type: "string", description: "output float type: float32, float16, bfloat16" },
    type: { type: "string", description: "GGUF sources: the type of merged matrices (f32, f16, bf16, q8_0, q4_0; default: the inputs')" },
    json: { type: "boolean", description: "print the full plan as JSON" },
    emit: { type: "string", description: "print the recipe instead: mergekit" },
  },
  async run({ args }) {
    const r = await resolveRecipe(args._.map(String), args);
    try {
      if (args.emit !== undefined) {
        if (args.emit !== "mergekit") throw new RecipeError("cli.emit", `--emit supports only "mergekit", found ${JSON.stringify(args.emit)}`, { path: "--emit" });
        process.stdout.write(r.yaml);
        return;
      }
      const plan = makePlan(r.recipe, r.checkpoints.map((c) => checkpointHeader(c)), planOptions(args, r));
      process.stdout.write(args.json ? JSON.stringify(plan, null, 2) + "\n" : renderPlan(plan));
    } finally {
      await r.close();
    }
  },
});
