// Generated models for tests: tiny HF checkpoints with the tiny SentencePiece-style tokenizer, and
// their GGUF conversions (which llama.cpp loads). Cached per process by their options.

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint, type Checkpoint } from "../../src/checkpoint/open-checkpoint.js";
import { convertCheckpoint } from "../../src/convert/convert-checkpoint.js";
import type { ConvertType } from "../../src/convert/gguf-hparams.js";
import { defaultCorpus } from "../../src/fixtures/corpus.js";
import { writeTinyHfModel, type TinyModelOptions } from "../../src/fixtures/tiny-model.js";
import { buildTinyTokenizer, type TinyTokenizerFiles } from "../../src/tokenizer/tiny-tokenizer.js";

let tokenizer: TinyTokenizerFiles | undefined;

/** The tiny tokenizer trained on the embedded corpus (deterministic). */
export function tinyTokenizer(): TinyTokenizerFiles {
  return (tokenizer ??= buildTinyTokenizer(defaultCorpus()));
}

export function tinyTokenizerFiles(): Record<string, string | Uint8Array> {
  const t = tinyTokenizer();
  return {
    "tokenizer.model": t.tokenizerModel,
    "tokenizer.json": t.tokenizerJson,
    "tokenizer_config.json": t.tokenizerConfig,
    "special_tokens_map.json": t.specialTokensMap,
  };
}

export async function tempDir(prefix = "dusk-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A tiny HF model with the tiny tokenizer; returns its directory. */
export async function makeTinyHf(options: TinyModelOptions = {}, dir?: string): Promise<string> {
  const out = dir ?? join(await tempDir(), "model");
  await writeTinyHfModel(out, { vocabSize: tinyTokenizer().pieces.length, tokenizerFiles: tinyTokenizerFiles(), ...options });
  return out;
}

/** Converts an HF model directory to GGUF; returns the .gguf path. */
export async function toGguf(hfDir: string, type: ConvertType = "f32", output?: string): Promise<string> {
  const out = output ?? join(await tempDir(), `model-${type}.gguf`);
  const c = await openCheckpoint(hfDir);
  try {
    for await (const _ of convertCheckpoint(c, { output: out, type })) void _;
  } finally {
    await c.close();
  }
  return out;
}

/** A tiny GGUF model that llama.cpp loads (HF fixture converted). */
export async function makeTinyGguf(options: TinyModelOptions = {}, type: ConvertType = "f32"): Promise<{ hf: string; gguf: string }> {
  const hf = await makeTinyHf(options);
  return { hf, gguf: await toGguf(hf, type) };
}

/**
 * A tiny GGUF that greedily continues token i with `next.get(i)`: one layer whose o_proj and
 * down_proj are zero (each position's state is its token's embedding), and lm_head rows that point
 * at the embeddings of the tokens they follow (cosine 1 against ~0.1 for the others, ×16). For
 * tests that need a model to write exactly a given token sequence, e.g. characters split over
 * byte tokens. Tokens without a successor continue at random.
 */
export async function makeSuccessorGguf(next: ReadonlyMap<number, number>): Promise<{ hf: string; gguf: string }> {
  const vocab = tinyTokenizer().pieces.length;
  const D = 64;
  let embedding: Float32Array | undefined;
  const hf = await makeTinyHf({
    layers: 1, hidden: D, heads: 2, kvHeads: 1, maxPositions: 256, seed: 17, vocabSize: vocab,
    weights: (name, random) => {
      if (name === "model.embed_tokens.weight") return (embedding = random);
      if (/o_proj|down_proj/.test(name)) return new Float32Array(random.length);
      if (name === "model.norm.weight") return new Float32Array(random.length).fill(1);
      if (name !== "lm_head.weight") return random;
      const head = new Float32Array(random.length); // [vocab, D]
      for (const [from, to] of next) {
        const e = embedding!.subarray(from * D, (from + 1) * D);
        const norm = Math.hypot(...e);
        for (let k = 0; k < D; k++) head[to * D + k]! += (16 * e[k]!) / norm;
      }
      return head;
    },
  });
  return { hf, gguf: await toGguf(hf, "f32") };
}

/** Opens `path` (as `ref`), runs `f` on it and closes it. */
export async function withCheckpoint<T>(path: string, f: (c: Checkpoint) => Promise<T>, ref?: string): Promise<T> {
  const c = await openCheckpoint(path, ref);
  try {
    return await f(c);
  } finally {
    await c.close();
  }
}
