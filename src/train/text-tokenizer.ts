// The model's own tokenizer for training data: tokenizer.json (+ tokenizer_config.json) through
// @huggingface/tokenizers, with the fast SentencePiece-BPE path when the file has that shape and
// it agrees with the HF tokenizer on a sample of the text being encoded.

import { Tokenizer } from "@huggingface/tokenizers";
import { join } from "node:path";
import { isPlainObject, readJsonFile } from "../checkpoint/read-json.js";
import type { TrainTokenizer } from "./data.js";
import { fastSpmBpeEncoder } from "./fast-spm-bpe.js";
import { TrainError } from "./train-error.js";

/** Characters of each text encoded both ways before the fast path is trusted for it. */
const CHECK_CHARS = 20_000;

export function textTokenizer(tokenizerJson: unknown, tokenizerConfig: unknown): TrainTokenizer {
  const config = isPlainObject(tokenizerConfig) ? tokenizerConfig : {};
  const hf = new Tokenizer(tokenizerJson as object, config);
  const fast = fastSpmBpeEncoder(tokenizerJson);
  const special = (key: string): number | undefined => {
    const v = config[key];
    const text = typeof v === "string" ? v : isPlainObject(v) && typeof v.content === "string" ? v.content : undefined;
    return text === undefined ? undefined : hf.token_to_id(text);
  };
  const slow = (text: string): number[] => hf.encode(text, { add_special_tokens: false }).ids.map(Number);
  return {
    encode(text: string): number[] {
      if (fast) {
        try {
          const sample = text.slice(0, CHECK_CHARS);
          const a = fast(sample);
          const b = slow(sample);
          if (a.length === b.length && a.every((v, i) => v === b[i])) return fast(text);
        } catch {
          /* an added token in the text: the HF tokenizer handles it */
        }
      }
      return slow(text);
    },
    bos: special("bos_token"),
    eos: special("eos_token"),
  };
}

/** The tokenizer of an HF model directory (tokenizer.json is required for training data). */
export async function loadTextTokenizer(dir: string): Promise<TrainTokenizer> {
  const path = join(dir, "tokenizer.json");
  const json = await readJsonFile(path).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new TrainError("TRAIN_NO_TOKENIZER", `${path} not found: training tokenizes the text with the model's own tokenizer`, {
        hint: "use an HF model directory that ships tokenizer.json (dusk's builds copy it from the base)",
      });
    }
    throw e;
  });
  const config = await readJsonFile(join(dir, "tokenizer_config.json")).catch(() => ({}));
  return textTokenizer(json, config);
}
