// `dusk verify OUT`: re-read a built model and check every tensor, byte for byte (by SHA-256),
// against its sources under the recipe — the recipe recorded in the output unless one is given.

import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { verifyOutput } from "../build/verify.js";
import { checkpointHeader, openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import { BuildError, FormatError } from "../errors.js";
import { ggufGetString } from "../formats/gguf-value.js";
import { makePlan } from "../plan/plan.js";
import { readVocabularies } from "../merge/vocabulary.js";
import { parseMergekitYaml, recipeModels, type Recipe } from "../recipe/index.js";
import { makeProgress } from "./progress.js";
import { mergeSeed, recipeArgs, resolveRecipe } from "./recipe-args.js";

export const verifyCommand = defineCommand({
  meta: { name: "verify", description: "Check a built model's every tensor against its sources under the recipe (byte-for-byte, by hash)" },
  args: {
    output: { type: "positional", description: "the built model (HF directory or .gguf)", required: true },
    against: { type: "string", description: "source model(s), comma-separated, in the recipe's order (default: the paths in the recipe)" },
    recipe: { type: "string", description: "mergekit YAML (default: the recipe recorded in the output)" },
    ...recipeArgs,
    dtype: { type: "string", description: "the --dtype the build used" },
    json: { type: "boolean", description: "print a JSON report" },
    quiet: { type: "boolean", description: "no progress output" },
  },
  async run({ args }) {
    const out = await openCheckpoint(args.output);
    const opened: Checkpoint[] = [out];
    try {
      let recipe: Recipe;
      let sources: Checkpoint[];
      if (args.preset) {
        const against = (args.against ?? "").split(",").filter(Boolean);
        const r = await resolveRecipe(against, args);
        opened.push(...r.checkpoints);
        recipe = r.recipe;
        sources = r.checkpoints;
      } else {
        const yaml = args.recipe ? await readFile(args.recipe, "utf8") : await recordedRecipe(out);
        recipe = parseMergekitYaml(yaml, args.recipe ?? `${args.output} (recorded recipe)`);
        const refs = recipeModels(recipe);
        const against = args.against ? args.against.split(",").filter(Boolean) : refs;
        if (against.length !== refs.length) {
          throw new BuildError("verify.sources", `the recipe names ${refs.length} source(s) (${refs.join(", ")}), --against gives ${against.length}`, { hint: "list one path per recipe model, in the recipe's order" });
        }
        sources = [];
        for (let i = 0; i < refs.length; i++) {
          const c = await openCheckpoint(against[i]!, refs[i]!).catch((e: unknown) => {
            // Recorded paths are relative to where the build ran; say how to point elsewhere.
            if (args.against || !(e instanceof FormatError) || e.code !== "checkpoint.missing") throw e;
            throw new BuildError("verify.source-missing", `the recipe names source ${refs[i]}, and there is nothing at ${resolve(refs[i]!)}`, {
              hint: "run verify where the build ran (recipe paths are relative to it), or pass --against PATH[,PATH…] in the recipe's order",
              cause: e,
            });
          });
          opened.push(c);
          sources.push(c);
        }
      }
      const headers = sources.map(checkpointHeader);
      const vocab = recipe.tokenizerSource !== undefined || recipe.tokenizer !== undefined ? { vocabularies: await readVocabularies(sources) } : {};
      let plan = makePlan(recipe, headers, { ...vocab, ...(args.dtype === undefined ? {} : { dtype: args.dtype }) });
      // A build with --dtype records it only in config.json's torch_dtype (the recorded YAML is the
      // user's own text): without --dtype here, take the output's, as that build converted every
      // float tensor to it. Without a change of dtype the planned torch_dtype equals the output's.
      const builtDtype = out.config?.torch_dtype;
      if (args.dtype === undefined && typeof builtDtype === "string" && plan.config && plan.config.torch_dtype !== builtDtype) {
        plan = makePlan(recipe, headers, { ...vocab, dtype: builtDtype });
      }
      if (out.gguf && plan.format !== "gguf") {
        // `dusk build … -o x.gguf --type …` restacks and converts in one pass: the output's tensors
        // are renamed, permuted and re-typed, so there are no source bytes to compare them with.
        throw new BuildError("verify.converted", `${args.output} is a GGUF built from HF safetensors sources (restacked and converted in one pass); verify compares restacked bytes and cannot check a conversion`, {
          hint: "to verify the layout, build to a directory (-o DIR), dusk verify DIR, then dusk convert DIR -o OUT.gguf",
        });
      }
      const progress = makeProgress({ quiet: args.quiet || args.json });
      for await (const e of verifyOutput(out, plan, sources, { seed: mergeSeed(args) })) {
        if (e.type === "start") progress.start("verify", e.totalBytes, "bytes");
        else if (e.type === "progress") progress.update(e.bytes, e.tensor);
        else {
          progress.stop();
          if (args.json) process.stdout.write(JSON.stringify({ ok: e.mismatches.length === 0, tensors: e.tensors, bytes: e.bytes, mismatches: e.mismatches }, null, 2) + "\n");
          else if (e.mismatches.length === 0) process.stdout.write(`ok: all ${e.tensors} tensors of ${args.output} match their sources under the plan\n`);
          else for (const m of e.mismatches) process.stdout.write(`MISMATCH ${m.tensor}: ${m.problem}\n`);
          if (e.mismatches.length > 0) {
            const differing = new Set(e.mismatches.map((m) => m.tensor)).size;
            throw new BuildError("verify.mismatch", `${differing} of ${e.tensors} tensors do not match`, { hint: "rebuild the output; if it persists, the sources changed since the build" });
          }
        }
      }
    } finally {
      await Promise.all(opened.map((c) => c.close()));
    }
  },
});

async function recordedRecipe(out: Checkpoint): Promise<string> {
  if (out.gguf) {
    const r = ggufGetString(out.gguf.kv, "general.dusk.recipe");
    if (r) return r;
  } else {
    try {
      return await readFile(join(out.path, "mergekit_config.yml"), "utf8");
    } catch {
      /* fall through */
    }
  }
  throw new BuildError("verify.no-recipe", `${out.path} records no recipe`, { hint: "pass --recipe recipe.yml or the preset flags used to build it" });
}
