// Making the experiment's models: each layout built from the base (streamed, then verified tensor
// by tensor against the base under its plan) and every model converted to GGUF for llama.cpp.

import { buildModel } from "../build/build.js";
import { verifyOutput } from "../build/verify.js";
import { checkpointHeader, openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import { convertCheckpoint } from "../convert/convert-checkpoint.js";
import type { ConvertType } from "../convert/gguf-hparams.js";
import { makePlan } from "../plan/plan.js";
import { describeLayout, recipeLayers, recipeToMergekitYaml } from "../recipe/index.js";
import { ExperimentError } from "./experiment-error.js";
import type { ExperimentLayout } from "./layouts.js";

/** Builds `layout` from `base` into `output` (an HF directory) and verifies every tensor. */
export async function buildLayout(layout: ExperimentLayout, base: Checkpoint, output: string, signal?: AbortSignal): Promise<void> {
  if (!layout.recipe) throw new ExperimentError("EXPERIMENT_NO_RECIPE", `${layout.name} is the base itself; there is nothing to build`);
  const plan = makePlan(layout.recipe, [checkpointHeader(base)]);
  const command = `dusk build ${layout.flags.join(" ")} ${base.ref} -o ${layout.name}`;
  for await (const _ of buildModel(plan, [base], { output, recipeYaml: recipeToMergekitYaml(layout.recipe), layout: describeLayout(recipeLayers(layout.recipe)), command, ...(signal ? { signal } : {}) })) void _;
  const out = await openCheckpoint(output);
  try {
    for await (const e of verifyOutput(out, plan, [base])) {
      if (e.type === "done" && e.mismatches.length > 0) {
        const m = e.mismatches[0]!;
        throw new ExperimentError("EXPERIMENT_VERIFY", `${layout.name}: ${e.mismatches.length} tensors differ from the base under the plan (first: ${m.tensor}: ${m.problem})`, { hint: "this is a dusk bug; please report it with the base model" });
      }
    }
  } finally {
    await out.close();
  }
}

/** Converts an HF directory into one GGUF for llama.cpp. */
export async function toGguf(dir: string, gguf: string, type: ConvertType, signal?: AbortSignal): Promise<void> {
  const c = await openCheckpoint(dir);
  try {
    for await (const _ of convertCheckpoint(c, { output: gguf, type, purpose: "dusk experiment", ...(signal ? { signal } : {}) })) void _;
  } finally {
    await c.close();
  }
}
