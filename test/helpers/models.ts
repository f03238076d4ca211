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

/** Opens `path` (as `ref`), runs `f` on it and closes it. */
export async function withCheckpoint<T>(path: string, f: (c: Checkpoint) => Promise<T>, ref?: string): Promise<T> {
  const c = await openCheckpoint(path, ref);
  try {
    return await f(c);
  } finally {
    await c.close();
  }
}
