// The embedded default model (assets/default-model) is what the quick start runs on: it loads in
// the TypeScript engine and, converted, in llama.cpp, and both give the same log-probabilities on
// held-out text; it is a language model (far below the unigram baseline); its files are the ones
// the model card lists, small enough to ship.

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { afterAll, expect, test } from "vitest";
import { openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { checkpointWeights } from "../src/engine/checkpoint-weights.js";
import { tokenLogprobs } from "../src/engine/index.js";
import { DEFAULT_MODEL_PATH } from "../src/fixtures/default-model.js";
import { heldOutCorpus } from "../src/fixtures/corpus.js";
import { llamaLogprobs, maxAbsDiff } from "./helpers/llama-logprobs.js";
import { tempDirs } from "./helpers/cli.js";
import { toGguf } from "./helpers/models.js";

const dirs = tempDirs("dusk-default-model-");
afterAll(() => dirs.cleanup());

test("the embedded default: engine and llama.cpp agree on held-out text, far below the unigram baseline", async () => {
  const tok = new Tokenizer(JSON.parse(readFileSync(join(DEFAULT_MODEL_PATH, "tokenizer.json"), "utf8")), JSON.parse(readFileSync(join(DEFAULT_MODEL_PATH, "tokenizer_config.json"), "utf8")));
  // 120 tokens of held-out text (never trained on), inside the 128-token training context
  const ids = tok.encode(heldOutCorpus().slice(20_000, 21_000), { add_special_tokens: false }).ids.slice(0, 120);
  expect(ids.length).toBe(120);
  const c = await openCheckpoint(DEFAULT_MODEL_PATH);
  let engine: Float32Array;
  try {
    expect(c.numLayers).toBe(16);
    engine = await tokenLogprobs(checkpointWeights(c), ids);
  } finally {
    await c.close();
  }
  const gguf = await toGguf(DEFAULT_MODEL_PATH, "f32", join(await dirs.make(), "default.f32.gguf"));
  const { next } = await llamaLogprobs(gguf, ids);
  const diff = maxAbsDiff([...engine], next);
  expect(diff).toBeLessThan(1e-4);
  const nll = -next.reduce((a, b) => a + b, 0) / next.length;
  // unigram entropy of the training tokens: 5.516 nats (assets/default-model/README.md)
  expect(nll).toBeLessThan(4);
  console.log(`default model: engine vs llama.cpp max |Δ log p| ${diff.toExponential(2)} over ${next.length} tokens; held-out nll ${nll.toFixed(3)}`);
});

test("the default model ships its card, config, log and tokenizer, under 20 MB", () => {
  const files = ["README.md", "config.json", "model.safetensors", "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "train.yml", "train_log.jsonl", "loss.svg", "loss.png"];
  let bytes = 0;
  for (const f of files) bytes += statSync(join(DEFAULT_MODEL_PATH, f)).size;
  expect(bytes).toBeLessThan(20e6);
  const card = readFileSync(join(DEFAULT_MODEL_PATH, "README.md"), "utf8");
  expect(card).toContain("node scripts/train-default-model.mjs");
  const log = readFileSync(join(DEFAULT_MODEL_PATH, "train_log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { type: string; step: number; ppl?: number });
  const last = log.filter((e) => e.type === "eval").pop()!;
  expect(last.step).toBe(733);
  expect(card).toContain(last.ppl!.toFixed(2));
});
