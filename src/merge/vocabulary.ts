// Reads the vocabularies a recipe with a tokenizer source needs: each source's token of each id
// (tokenizer.json with its added tokens, else tokenizer.model's pieces; a GGUF's
// tokenizer.ggml.tokens) and its embedding rows (config vocab_size, or the GGUF's token_embd).
// The planner turns them into the output vocabulary (src/plan/vocabulary.ts).

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { ggufGetStringArray } from "../formats/gguf-value.js";
import { LIMITS, TOKENIZER_LIMITS } from "../limits.js";
import type { SourceVocabulary } from "../plan/vocabulary.js";
import { parseSentencePieceModel } from "../tokenizer/sentencepiece-model.js";
import { parseTokenizerJson } from "../tokenizer/tokenizer-json.js";
import { MergeError } from "./merge-error.js";

export async function readVocabulary(c: Checkpoint): Promise<SourceVocabulary> {
  const embedRows = c.tensors.get(c.format === "gguf" ? "token_embd.weight" : "model.embed_tokens.weight")?.shape[0];
  if (c.format === "gguf") {
    const tokens = ggufGetStringArray(c.gguf!.kv, "tokenizer.ggml.tokens", c.path);
    if (!tokens) throw new MergeError("MERGE_NO_VOCABULARY", `${c.path} has no tokenizer.ggml.tokens`, { hint: "a tokenizer source needs every model's vocabulary" });
    return { ref: c.ref, tokens, rows: embedRows ?? tokens.length, added: [] };
  }
  const rows = typeof c.config?.vocab_size === "number" ? c.config.vocab_size : embedRows;
  const json = await side(c.path, "tokenizer.json");
  if (json !== undefined) {
    const t = parseTokenizerJson(new TextDecoder().decode(json));
    const size = Math.max(0, ...t.vocab.values(), ...t.addedTokens.map((a) => a.id)) + 1;
    if (size > TOKENIZER_LIMITS.vocabSize) throw new MergeError("MERGE_VOCABULARY_SIZE", `${c.path}/tokenizer.json has ids up to ${size - 1}`);
    const tokens = new Array<string>(size).fill("");
    for (const [piece, id] of t.vocab) tokens[id] = piece;
    for (const a of t.addedTokens) tokens[a.id] = a.content;
    return { ref: c.ref, tokens, rows: rows ?? size, added: t.addedTokens };
  }
  const model = await side(c.path, "tokenizer.model");
  if (model !== undefined) {
    const tokens = parseSentencePieceModel(model, join(c.path, "tokenizer.model")).pieces.map((p) => p.piece);
    return { ref: c.ref, tokens, rows: rows ?? tokens.length, added: [] };
  }
  throw new MergeError("MERGE_NO_VOCABULARY", `${c.path} has neither tokenizer.json nor tokenizer.model`, { hint: "a tokenizer source needs every merged model's tokenizer files" });
}

export async function readVocabularies(checkpoints: readonly Checkpoint[]): Promise<SourceVocabulary[]> {
  return Promise.all(checkpoints.map(readVocabulary));
}

async function side(dir: string, name: string): Promise<Uint8Array | undefined> {
  try {
    const s = await stat(join(dir, name));
    if (s.size > LIMITS.jsonFileBytes) throw new MergeError("MERGE_SIDE_FILE", `${join(dir, name)} is ${s.size} bytes, over the limit of ${LIMITS.jsonFileBytes}`);
    return new Uint8Array(await readFile(join(dir, name)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}
