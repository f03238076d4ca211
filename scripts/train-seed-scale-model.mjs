#!/usr/bin/env node
// Trains the study's bases again from the shipped corpus: assets/seed-scale-model (32 layers) or
// assets/seed-scale-model-16 (16 layers), with the checkpoints along the run that `dusk study` reads.
// Run after `npm run build`:
//   node scripts/train-seed-scale-model.mjs 32|16 [OUT]      (default OUT: ./seed-scale-model-<L>)
// It writes the training and held-out parts of assets/tinyshakespeare.txt to a temporary folder and
// runs `dusk train --config assets/<base>/train.yml` in OUT/run, stopping at each checkpoint step
// (`--stop-at`, then `--resume`: the same bytes as one uninterrupted run, as training is a function
// of the seed and the step) to save a bfloat16 copy of the weights as OUT/checkpoints/step-NNNN (a
// loadable model folder, written by `dusk build --preset layers`). The finished model's files are
// then copied to OUT beside them, without the optimizer state. Compare with
//   cmp OUT/model.safetensors assets/<base>/model.safetensors
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { heldOutCorpus, trainingCorpus } from "../dist/fixtures/corpus.js";

/** steps at which a checkpoint is kept (the last one is the finished model itself) */
export const CHECKPOINT_STEPS = [25, 50, 100, 200, 350];
const BASES = { 32: "seed-scale-model", 16: "seed-scale-model-16" };
const RUN_ONLY = new Set(["optimizer.safetensors", "trainer_state.json"]);

const root = resolve(new URL("..", import.meta.url).pathname);
const layers = process.argv[2];
const base = BASES[layers];
if (!base) {
  process.stderr.write("usage: node scripts/train-seed-scale-model.mjs 32|16 [OUT]\n");
  process.exit(2);
}
const out = resolve(process.argv[3] ?? `seed-scale-model-${layers}`);
const run = join(out, "run");
const dusk = (args) => {
  process.stderr.write(`dusk ${args.join(" ")}\n`);
  const r = spawnSync(process.execPath, [join(root, "bin/dusk.js"), ...args], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`dusk ${args[0]} exited with ${r.status}`);
};

/** A checkpoint folder's card (replacing the build's, which names the run folder) and no recipe file. */
function checkpointCard(folder, step) {
  const log = readFileSync(join(run, "train_log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const evalRow = log.find((r) => r.type === "eval" && r.step === step);
  rmSync(join(folder, "mergekit_config.yml"), { force: true });
  writeFileSync(join(folder, "README.md"), [
    `# ${base}, checkpoint at step ${step}`,
    "",
    `The weights of \`assets/${base}\` after ${step} of its training steps (${(step * 2048).toLocaleString("en-US")} tokens),`,
    "rounded to bfloat16; config and tokenizer as the finished model's. Held-out loss at this step",
    `(float32 weights, as \`train_log.jsonl\` records): ${evalRow.loss.toFixed(4)} nats/token (perplexity ${evalRow.ppl.toFixed(2)}).`,
    "`dusk study` reads it for the training-length factor; `scripts/train-seed-scale-model.mjs` writes it.",
    "",
  ].join("\n"));
}

const dir = mkdtempSync(join(tmpdir(), "dusk-seed-scale-"));
try {
  const train = join(dir, "shakespeare-train.txt");
  const heldOut = join(dir, "shakespeare-held-out.txt");
  writeFileSync(train, trainingCorpus());
  writeFileSync(heldOut, heldOutCorpus());
  const config = join(root, "assets", base, "train.yml");
  const trainArgs = ["train", "--config", config, "--text", train, "--held-out-text", heldOut, "-o", run, "--workers", "2", "--quiet"];
  mkdirSync(join(out, "checkpoints"), { recursive: true });
  CHECKPOINT_STEPS.forEach((step, i) => {
    dusk([...trainArgs, ...(i === 0 ? [] : ["--resume"]), "--stop-at", String(step)]);
    const name = `step-${String(step).padStart(4, "0")}`;
    dusk(["build", run, "--preset", "layers", "--layers", `0-${Number(layers) - 1}`, "--dtype", "bfloat16", "-o", join(out, "checkpoints", name), "--force", "--quiet"]);
    checkpointCard(join(out, "checkpoints", name), step);
  });
  dusk([...trainArgs, "--resume"]);
  for (const f of readdirSync(run)) if (!RUN_ONLY.has(f)) copyFileSync(join(run, f), join(out, f));
  copyFileSync(config, join(out, "train.yml"));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
