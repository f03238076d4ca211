// `dusk heal MODEL --text corpus.txt -o out`: continued pretraining of an HF checkpoint (a built
// stack, a base model, a float GGUF) on the TypeScript engine, all cores, resumable.

import { resolve } from "node:path";
import { defineCommand } from "citty";
import { checkOutput, parseCount, prepareHeal, readSavedState, TrainError, type Budget, type TrainSettings } from "../index.js";
import { exportArgs, exportHealJob } from "./heal-export.js";
import { intFlag, numFlag, readTexts, repeated, runArgs, runWithProgress, shellQuote } from "./train-common.js";

export const healCommand = defineCommand({
  meta: { name: "heal", description: "Continued pretraining of a model (e.g. a DUS stack) on a text: AdamW, warmup + cosine, all cores, resumable checkpoints" },
  args: {
    model: { type: "positional", description: "HF model directory (or a .gguf of F32/F16/BF16 tensors)", required: true },
    ...runArgs,
    train: { type: "string", description: "what trains: all (default), seams, seams:K, new, embed, head, layer positions like 6,7 or 20-27 (comma-separated)", valueHint: "spec" },
    tokens: { type: "string", description: "token budget, e.g. 500k or 2M (rounded up to whole steps)", valueHint: "N" },
    steps: { type: "string", description: "step budget (instead of --tokens; default 100)", valueHint: "N" },
    "seq-len": { type: "string", description: "tokens per sequence (default min(256, model context))", valueHint: "N" },
    batch: { type: "string", description: "sequences per optimizer step (default 8)", valueHint: "N" },
    "micro-batch": { type: "string", description: "sequences per micro-batch (gradient accumulation; default: half the batch that fits)", valueHint: "N" },
    lr: { type: "string", description: "peak learning rate (default 3e-4)", valueHint: "x" },
    "min-lr-ratio": { type: "string", description: "final learning rate / peak (cosine; default 0.1)", valueHint: "x" },
    warmup: { type: "string", description: "linear warmup steps (default 5% of the steps, at most 100)", valueHint: "N" },
    "weight-decay": { type: "string", description: "AdamW decoupled weight decay on linear weights (default 0.1)", valueHint: "x" },
    clip: { type: "string", description: "clip the global gradient norm to this (default 1; 0 = off)", valueHint: "x" },
    seed: { type: "string", description: "data order seed (default 1)", valueHint: "N" },
    holdout: { type: "string", description: "fraction of the text held out (default 0.05)", valueHint: "x" },
    "eval-every": { type: "string", description: "held-out evaluation every N steps (default 50; 0 = before and after only)", valueHint: "N" },
    "eval-sequences": { type: "string", description: "held-out sequences per evaluation (default 32)", valueHint: "N" },
    "save-every": { type: "string", description: "checkpoint every N steps (default: at the end only)", valueHint: "N" },
    dtype: { type: "string", description: "output float type: float32, float16, bfloat16 (default: keep each tensor's)", valueHint: "dtype" },
    ...exportArgs,
  },
  async run({ args, rawArgs }) {
    if (args.export !== undefined) return exportHealJob(args, rawArgs);
    const out = args.output;
    let textPaths = repeated(rawArgs, "text");
    let heldOutPaths = repeated(rawArgs, "held-out-text");
    let settings: Partial<TrainSettings> = settingsFromFlags(args);
    let budget: Budget = args.tokens !== undefined ? { tokens: parseCount(args.tokens, "--tokens") } : { steps: intFlag(args.steps, "--steps") ?? 100 };
    let train = args.train;
    let dtype = args.dtype;
    // the model card's "Reproduce" line: the command that started the run, also when resumed
    let command = ["dusk", "heal", ...rawArgs.map(shellQuote)].join(" ");
    if (args.tokens !== undefined && args.steps !== undefined) throw new TrainError("TRAIN_BAD_BUDGET", "give --tokens or --steps, not both", { hint: "e.g. --tokens 2M" });
    if (args.resume) {
      // a resumed run takes its own settings, texts and selection back from the saved state
      await checkOutput({ dir: out, inputs: [], resume: true });
      const st = (await readSavedState(out)).state;
      const meta = (st.meta ?? {}) as { texts?: string[]; heldOutTexts?: string[]; train?: string; dtype?: string; command?: string };
      command = meta.command ?? command;
      const given = Object.keys(settingsFromFlags(args)).length > 0 || args.tokens !== undefined || args.steps !== undefined;
      if (given) throw new TrainError("TRAIN_RESUME_FLAGS", "--resume continues the saved run with its own settings; drop the training flags", { hint: `dusk heal ${args.model} -o ${out} --resume` });
      if (train !== undefined && train !== meta.train) throw new TrainError("TRAIN_RESUME_MISMATCH", `--resume: the saved run trains ${meta.train}, not ${train}`, { hint: "drop --train when resuming" });
      settings = st.settings as TrainSettings;
      budget = { steps: (st.settings as TrainSettings).steps };
      train = meta.train;
      dtype = meta.dtype;
      if (textPaths.length === 0) textPaths = meta.texts ?? [];
      if (heldOutPaths.length === 0) heldOutPaths = meta.heldOutTexts ?? [];
    }
    if (textPaths.length === 0) throw new TrainError("TRAIN_NO_TEXT", "dusk heal needs the text to train on", { hint: "pass --text FILE (repeat for several files)" });
    const texts = await readTexts(textPaths);
    const heldOutTexts = await readTexts(heldOutPaths);
    const run = await prepareHeal({
      model: args.model, texts, heldOutTexts, budget, settings, train: train ?? "all",
      ...(dtype ? { dtype } : {}),
      ...(args.workers !== undefined ? { workers: intFlag(args.workers, "--workers", 0)! } : {}),
      output: { dir: out, inputs: [args.model, ...textPaths, ...heldOutPaths], force: Boolean(args.force), resume: Boolean(args.resume), purpose: "dusk heal", command },
      meta: { kind: "heal", command, source: resolve(args.model), texts: textPaths.map((p) => resolve(p)), heldOutTexts: heldOutPaths.map((p) => resolve(p)), train: train ?? "all", ...(dtype ? { dtype } : {}) },
    });
    await runWithProgress(run, { quiet: args.quiet, json: args.json, verb: "healed", ...(args["stop-at"] ? { stopAt: args["stop-at"] } : {}) });
  },
});

/** The training settings given as flags (only those given). */
export function settingsFromFlags(args: Record<string, unknown>): Partial<TrainSettings> {
  const str = (k: string) => (typeof args[k] === "string" ? (args[k] as string) : undefined);
  const s: Partial<TrainSettings> = {};
  const put = <K extends keyof TrainSettings>(k: K, v: TrainSettings[K] | undefined) => void (v !== undefined && (s[k] = v));
  put("seqLen", intFlag(str("seq-len"), "--seq-len"));
  put("batch", intFlag(str("batch"), "--batch"));
  put("microBatch", intFlag(str("micro-batch"), "--micro-batch"));
  put("lr", numFlag(str("lr"), "--lr"));
  put("minLrRatio", numFlag(str("min-lr-ratio"), "--min-lr-ratio"));
  put("warmupSteps", intFlag(str("warmup"), "--warmup", 0));
  put("seed", intFlag(str("seed"), "--seed", 0));
  put("holdout", numFlag(str("holdout"), "--holdout"));
  put("evalEvery", intFlag(str("eval-every"), "--eval-every", 0));
  put("evalSequences", intFlag(str("eval-sequences"), "--eval-sequences"));
  put("saveEvery", intFlag(str("save-every"), "--save-every", 0));
  const wd = numFlag(str("weight-decay"), "--weight-decay");
  const clip = numFlag(str("clip"), "--clip");
  if (wd !== undefined || clip !== undefined) s.adamw = { ...(wd === undefined ? {} : { weightDecay: wd }), ...(clip === undefined ? {} : { clip }) } as TrainSettings["adamw"];
  return s;
}
