// `dusk demo`: the main job on the embedded default model. It generates a small 32-layer model
// (the depth of Mistral-7B, at toy width), builds DUS, iDUS-8 and iDUS-1 from it, prints each
// plan and its metrics, verifies every output tensor against the base under the plan, and checks
// with the engine that each built model computes what its plan run virtually computes.

import { mkdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { prepareOutput } from "../build/atomic-output.js";
import { buildModel } from "../build/build.js";
import { writeFileDurably } from "../build/durable-write.js";
import { verifyOutput } from "../build/verify.js";
import { checkpointHeader, openCheckpoint } from "../checkpoint/open-checkpoint.js";
import { BuildError } from "../errors.js";
import { Tokenizer } from "@huggingface/tokenizers";
import { checkpointWeights, planWeights } from "../engine/checkpoint-weights.js";
import { tokenLogprobs } from "../engine/index.js";
import { defaultCorpus } from "../fixtures/corpus.js";
import { writeTinyHfModel } from "../fixtures/tiny-model.js";
import { buildTinyTokenizer } from "../tokenizer/tiny-tokenizer.js";
import { makePlan } from "../plan/plan.js";
import { dusRecipe, idusRecipe, recipeToMergekitYaml, type Recipe } from "../recipe/index.js";
import { planLayout, renderPlan } from "./plan-view.js";

const MARKER = ".dusk-demo";
const PROBE_TEXT = "KING RICHARD III:\nNow is the winter of our discontent";

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
    await writeFileDurably(join(dir, MARKER), "", { purpose: "dusk demo" });
    const say = (s: string) => void (!args.json && process.stdout.write(s));
    const base = join(dir, "base");
    say(`generating a 32-layer Llama-shaped model (hidden 64, BF16, tiny SentencePiece tokenizer) in ${base}\n`);
    const tokenizer = buildTinyTokenizer(defaultCorpus());
    // Written like every output: into a temporary sibling, fsynced, renamed into place.
    const baseOut = await prepareOutput(base, [], { kind: "directory", purpose: "dusk demo" });
    try {
      await writeTinyHfModel(baseOut.tmpPath, {
        layers: 32, hidden: 64, heads: 4, kvHeads: 2, dtype: "BF16", seed: 7, std: 0.1, vocabSize: tokenizer.pieces.length,
        tokenizerFiles: { "tokenizer.model": tokenizer.tokenizerModel, "tokenizer.json": tokenizer.tokenizerJson, "tokenizer_config.json": tokenizer.tokenizerConfig, "special_tokens_map.json": tokenizer.specialTokensMap },
      });
      await baseOut.commit();
    } catch (e) {
      await baseOut.abort();
      throw baseOut.failure(e);
    }
    // A held-out line for the numerical check: the built model must compute what the plan says.
    const probe = new Tokenizer(JSON.parse(tokenizer.tokenizerJson), JSON.parse(tokenizer.tokenizerConfig)).encode(PROBE_TEXT).ids;
    const source = await openCheckpoint(base, base);
    const summary: Record<string, unknown>[] = [];
    try {
      const n = source.numLayers;
      const builds: [string, Recipe, string][] = [
        ["solar-dus", dusRecipe({ model: base, layers: n, drop: 8 }), "--preset dus --drop 8"],
        ["idus-8", idusRecipe({ model: base, layers: n, drop: 8, group: 8 }), "--preset idus --group 8"],
        ["idus-1", idusRecipe({ model: base, layers: n, drop: 8, group: 1 }), "--preset idus --group 1"],
      ];
      for (const [name, recipe, flags] of builds) {
        const plan = makePlan(recipe, [checkpointHeader(source)]);
        say(`\n=== ${name} ===\n${renderPlan(plan, { table: false })}`);
        const output = join(dir, name);
        for await (const e of buildModel(plan, [source], { output, recipeYaml: recipeToMergekitYaml(recipe), layout: planLayout(plan), command: `dusk build ${flags} ${base} -o ${output}` })) {
          if (e.type === "done") say(`built ${e.output} in ${e.seconds.toFixed(2)} s\n`);
        }
        const out = await openCheckpoint(output);
        try {
          for await (const e of verifyOutput(out, plan, [source])) {
            if (e.type !== "done") continue;
            if (e.mismatches.length > 0) throw new BuildError("demo.verify", `${name}: ${e.mismatches.length} tensors differ from the plan: ${e.mismatches[0]!.tensor}: ${e.mismatches[0]!.problem}`);
            say(`verified: all ${e.tensors} tensors match the base model under the plan\n`);
          }
          // Numerically too: the engine on the built model equals the base layers run in plan order.
          const built = await tokenLogprobs(checkpointWeights(out), probe);
          const virtual = await tokenLogprobs(planWeights(plan, [source]), probe);
          const diff = built.reduce((m, v, i) => Math.max(m, Math.abs(v - virtual[i]!)), 0);
          if (diff !== 0) throw new BuildError("demo.logits", `${name}: the built model's log-probabilities differ from the plan's by ${diff}`);
          say(`engine: log-probabilities of the built model equal the plan run virtually (max |Δ| = 0 over ${built.length} tokens)\n`);
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
