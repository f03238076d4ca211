// `dusk build`: plan a recipe against its sources' headers, then stream it into an atomic output.

import { defineCommand } from "citty";
import { buildModel } from "../build/build.js";
import { checkpointHeader } from "../checkpoint/open-checkpoint.js";
import { BuildError } from "../errors.js";
import { parseShardSize } from "../formats/safetensors-index.js";
import { convertPlan } from "../convert/convert-checkpoint.js";
import { parseConvertType } from "../convert/gguf-hparams.js";
import { makePlan } from "../plan/plan.js";
import { planLayout, renderPlan } from "./plan-view.js";
import { makeProgress, staleLine } from "./progress.js";
import { mergeSeed, planOptions, recipeArgs, resolveRecipe } from "./recipe-args.js";
import { UsageError } from "./flag-check.js";
import { interruptible } from "./interrupt.js";

export const buildCommand = defineCommand({
  meta: { name: "build", description: "Build a deeper (or pruned, or merged) model from a preset or a mergekit YAML (every merge method); HF safetensors or GGUF, streamed" },
  args: {
    models: { type: "positional", description: "model(s) for a preset, or a mergekit YAML recipe", required: true },
    ...recipeArgs,
    output: { type: "string", alias: "o", description: "output directory (HF) or .gguf file", required: true, valueHint: "path" },
    dtype: { type: "string", description: "output float type: float32, float16, bfloat16 (default: keep)", valueHint: "dtype" },
    type: { type: "string", description: "GGUF type when building HF sources into a .gguf: f32, f16 (default), bf16, q8_0, q4_0; for GGUF merges, the type of merged matrices (default: the inputs')", valueHint: "type" },
    workers: { type: "string", description: "merges: worker threads for the math beside this one (default: one per core but this one; 0 = none)", valueHint: "n" },
    pre: { type: "string", description: "HF sources into a .gguf: override the byte-level BPE pre-tokenizer name (as dusk convert --pre)", valueHint: "name" },
    "split-max-tensors": { type: "string", description: "GGUF output: write a gguf-split set with at most N tensors per part", valueHint: "N" },
    "split-max-size": { type: "string", description: "GGUF output: write a gguf-split set with parts of at most this size (e.g. 2GB)", valueHint: "size" },
    "shard-size": { type: "string", description: "HF shard size, e.g. 5GB (default), 500MB, 2GiB", valueHint: "size" },
    force: { type: "boolean", description: "replace an existing output (never an input)" },
    quiet: { type: "boolean", description: "no progress output" },
    json: { type: "boolean", description: "print a JSON summary" },
  },
  async run({ args, rawArgs }) {
    const r = await resolveRecipe(args._.map(String), args);
    try {
      const plan = makePlan(r.recipe, r.checkpoints.map(checkpointHeader), planOptions(args, r));
      const merges = plan.tensors.some((t) => t.merge);
      if (!merges) for (const flag of ["seed", "workers"]) if (args[flag] !== undefined) throw new UsageError("build.flag-unused", `--${flag} applies to merges, and this recipe merges no tensors`, { hint: `drop --${flag}` });
      const mergeOptions = {
        seed: mergeSeed(args),
        ...(args.workers !== undefined ? { mergeWorkers: nonNegativeInt(args.workers, "--workers") } : {}),
        onWarning: (w: string) => void (args.quiet ? undefined : process.stderr.write(`warning: ${w}\n`)),
      };
      const wantsGguf = /\.gguf$/i.test(args.output);
      if (plan.format === "gguf" && !wantsGguf) {
        throw new BuildError("build.format", `the sources are GGUF, but the output ${args.output} is not a .gguf file`, {
          hint: "give an output ending in .gguf (GGUF → HF is not supported)",
        });
      }
      // HF sources into a .gguf: restack and convert in one pass.
      const convertTo = plan.format === "safetensors" && wantsGguf ? parseConvertType(args.type ?? "f16") : undefined;
      rejectIdleOutputFlags(args, plan.format === "gguf" ? (merges ? "merge" : "restack") : convertTo ? "convert" : "hf");
      const interrupt = interruptible();
      const progress = makeProgress({ quiet: args.quiet || args.json });
      try {
        // From the arguments this command was given (main(argv) runs in-process too, where
        // process.argv is the host's), quoted so the card's command can be pasted into a shell.
        const command = ["dusk", "build", ...rawArgs.map(shellQuote)].join(" ");
        const events = convertTo
          ? convertPlan(plan, r.checkpoints, { output: args.output, type: convertTo, force: args.force, recipeYaml: r.yaml, layout: planLayout(plan), signal: interrupt.signal, purpose: "dusk build", ...mergeOptions, ...(args.pre ? { pre: args.pre } : {}) })
          : buildModel(plan, r.checkpoints, {
              output: args.output,
              force: args.force,
              recipeYaml: r.yaml,
              layout: planLayout(plan),
              command,
              signal: interrupt.signal,
              ...mergeOptions,
              ...(args["shard-size"] ? { shardBytes: parseShardSize(args["shard-size"]) } : {}),
              ...(args["split-max-tensors"] ? { split: { maxTensors: positiveInt(args["split-max-tensors"], "--split-max-tensors") } } : {}),
              ...(args["split-max-size"] ? { split: { maxBytes: parseShardSize(args["split-max-size"]) } } : {}),
            });
        for await (const e of events) {
          if (e.type === "stale") {
            if (!args.quiet) process.stderr.write(staleLine(e.note));
          } else if (e.type === "start") {
            // Shown once the output is accepted (not before "already exists" or "is the input").
            if (!args.quiet && !args.json) process.stderr.write(renderPlan(plan, { table: false }));
            progress.start("build", e.totalBytes, "bytes");
          }
          else if (e.type === "progress") progress.update(e.bytes, e.tensor);
          else if (e.type === "done") {
            progress.stop();
            if (args.json) process.stdout.write(JSON.stringify({ output: e.output, files: e.files, bytes: e.bytes, seconds: e.seconds, metrics: plan.metrics }, null, 2) + "\n");
            else process.stdout.write(`built ${e.output} (${e.files.length} ${e.files.length === 1 ? "file" : "files"}, ${plan.layers.length} layers) in ${e.seconds.toFixed(1)} s\n`);
          }
        }
      } finally {
        progress.stop();
        interrupt.release();
      }
    } finally {
      await r.close();
    }
  },
});

/** `it's` → `'it'\''s'`; plain words (paths, flags) stay as they are. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

type OutputKind = "hf" | "restack" | "convert" | "merge";

/**
 * Output flags that would do nothing for this kind of build are refused rather than ignored:
 * --type only converts HF sources into a .gguf (GGUF sources are restacked as they are), the
 * split flags only apply to GGUF→GGUF restacks, --shard-size only to HF directories.
 */
function rejectIdleOutputFlags(args: Record<string, unknown>, kind: OutputKind): void {
  const given = (flag: string) => args[flag] !== undefined && args[flag] !== "";
  const refuse = (flag: string, why: string, hint: string): never => {
    throw new UsageError("build.flag-unused", `${flag} ${why}`, { hint });
  };
  if (given("type") && kind === "hf") refuse("--type", "sets a GGUF tensor type, but the output is an HF directory", "end -o with .gguf to convert in the same pass, or use --dtype for the HF float type");
  if (given("pre") && kind !== "convert") refuse("--pre", "names a tokenizer for HF → GGUF conversion, and this build converts nothing", "drop --pre, or end -o with .gguf when building from HF sources");
  if (given("type") && kind === "restack") refuse("--type", "converts HF sources; these sources are GGUF and are restacked with their tensor types unchanged", "drop --type, or build from the HF model to pick a GGUF type");
  for (const flag of ["split-max-tensors", "split-max-size"]) {
    if (given(flag) && kind === "hf") refuse(`--${flag}`, "applies to GGUF outputs; this output is an HF directory", "use --shard-size for HF shards");
    if (given(flag) && kind === "convert") refuse(`--${flag}`, "applies to GGUF→GGUF restacks; a build from HF sources into a .gguf writes one file", "build the .gguf first, then restack it with the split flag (e.g. --preset layers --layers 0-N)");
  }
  if (given("shard-size") && kind !== "hf") refuse("--shard-size", "applies to HF directory outputs; this output is a .gguf", "use --split-max-size or --split-max-tensors for a GGUF split set");
}

function nonNegativeInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError("build.flag-value", `${flag} must be a whole number ≥ 0, found ${JSON.stringify(value)}`, { hint: `e.g. ${flag} 1` });
  return n;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError("build.flag-value", `${flag} must be a positive whole number, found ${JSON.stringify(value)}`, { hint: `e.g. ${flag} 128` });
  return n;
}
