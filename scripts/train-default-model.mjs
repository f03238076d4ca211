#!/usr/bin/env node
// Trains the embedded default model (assets/default-model) again from the shipped corpus: writes the
// training and held-out parts of assets/tinyshakespeare.txt (split at HELD_OUT_START, as
// src/fixtures/corpus.ts defines it) to a temporary folder and runs the exact `dusk train` command
// the model card records. Run after `npm run build`:
//   node scripts/train-default-model.mjs [OUT]     (default OUT: ./default-model-retrained)
// Then compare: cmp OUT/model.safetensors assets/default-model/model.safetensors
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { heldOutCorpus, trainingCorpus } from "../dist/fixtures/corpus.js";

const root = resolve(new URL("..", import.meta.url).pathname);
const out = resolve(process.argv[2] ?? "default-model-retrained");
const dir = mkdtempSync(join(tmpdir(), "dusk-default-model-"));
try {
  const train = join(dir, "shakespeare-train.txt");
  const heldOut = join(dir, "shakespeare-held-out.txt");
  writeFileSync(train, trainingCorpus());
  writeFileSync(heldOut, heldOutCorpus());
  const args = [join(root, "bin/dusk.js"), "train", "--config", join(root, "assets/default-model/train.yml"), "--text", train, "--held-out-text", heldOut, "-o", out, "--workers", "2"];
  process.stderr.write(`dusk ${args.slice(1).join(" ")}\n`);
  const r = spawnSync(process.execPath, args, { stdio: "inherit" });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
