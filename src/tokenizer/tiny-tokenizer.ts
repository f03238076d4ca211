// The tiny SentencePiece-style tokenizer of dusk's generated test models, as the four files a
// Llama-2/Mistral checkpoint ships: tokenizer.model (protobuf), tokenizer.json (HF BPE with byte
// fallback and Llama-2's normalizer/decoder), tokenizer_config.json (with a Mistral-instruct style
// chat template) and special_tokens_map.json. Text in, bytes/strings out: no paths are read here.

import {
  serializeSentencePieceModel,
  SpmModelType,
  type SentencePiece,
  type SentencePieceModel,
} from "./sentencepiece-model.js";
import { SPM_SPACE, TINY_SPECIALS, trainTinyBpe, type TinyBpeOptions } from "./tiny-bpe-trainer.js";

export interface TinyTokenizerFiles {
  /** tokenizer.model */
  tokenizerModel: Uint8Array;
  /** tokenizer.json */
  tokenizerJson: string;
  /** tokenizer_config.json */
  tokenizerConfig: string;
  /** special_tokens_map.json */
  specialTokensMap: string;
  /** the vocabulary behind the files */
  pieces: SentencePiece[];
  merges: [string, string][];
}

/** Mistral-instruct style: [INST] user [/INST] assistant</s>, roles must alternate. */
export const TINY_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}" +
  "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
  "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}" +
  "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

function tokenizerJsonOf(pieces: SentencePiece[], merges: [string, string][]): string {
  // vocab as an object built in id order; keys are piece texts (a "__proto__" piece is just a key)
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  pieces.forEach((p, id) => (vocab[p.piece] = id));
  const bosId = 1;
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [addedToken(0, TINY_SPECIALS.unk), addedToken(1, TINY_SPECIALS.bos), addedToken(2, TINY_SPECIALS.eos)],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: SPM_SPACE },
        { type: "Replace", pattern: { String: " " }, content: SPM_SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: TINY_SPECIALS.bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: TINY_SPECIALS.bos, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: TINY_SPECIALS.bos, type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { [TINY_SPECIALS.bos]: { id: TINY_SPECIALS.bos, ids: [bosId], tokens: [TINY_SPECIALS.bos] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: SPM_SPACE }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: TINY_SPECIALS.unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  return JSON.stringify(json, null, 2);
}

function tokenizerConfigOf(chatTemplate: string): string {
  const decoder: Record<string, unknown> = {};
  [TINY_SPECIALS.unk, TINY_SPECIALS.bos, TINY_SPECIALS.eos].forEach((content, id) => {
    const { id: _id, ...rest } = addedToken(id, content);
    decoder[String(id)] = rest;
  });
  return JSON.stringify(
    {
      add_bos_token: true,
      add_eos_token: false,
      added_tokens_decoder: decoder,
      bos_token: TINY_SPECIALS.bos,
      chat_template: chatTemplate,
      clean_up_tokenization_spaces: false,
      eos_token: TINY_SPECIALS.eos,
      legacy: false,
      model_max_length: 1_000_000_000,
      pad_token: null,
      sp_model_kwargs: {},
      spaces_between_special_tokens: false,
      tokenizer_class: "LlamaTokenizer",
      unk_token: TINY_SPECIALS.unk,
      use_default_system_prompt: false,
    },
    null,
    2,
  );
}

function specialTokensMapOf(): string {
  const tok = (content: string) => ({ content, lstrip: false, normalized: false, rstrip: false, single_word: false });
  return JSON.stringify({ bos_token: tok(TINY_SPECIALS.bos), eos_token: tok(TINY_SPECIALS.eos), unk_token: tok(TINY_SPECIALS.unk) }, null, 2);
}

/**
 * The four files of a SentencePiece-style BPE vocabulary laid out as the tiny trainer lays it out
 * (<unk> <s> </s> at ids 0, 1, 2, byte fallback): from the trainer, or read back from a GGUF.
 */
export function spmTokenizerFiles(pieces: SentencePiece[], merges: [string, string][], opts: { addDummyPrefix?: boolean; chatTemplate?: string } = {}): TinyTokenizerFiles {
  const model: SentencePieceModel = {
    pieces,
    trainerSpec: {
      modelType: SpmModelType.bpe,
      vocabSize: pieces.length,
      byteFallback: true,
      unkId: 0,
      bosId: 1,
      eosId: 2,
      padId: -1,
      unknownFields: [],
    },
    normalizerSpec: { name: "identity", addDummyPrefix: opts.addDummyPrefix ?? true, removeExtraWhitespaces: false, escapeWhitespaces: true, unknownFields: [] },
    unknownFields: [],
  };
  return {
    tokenizerModel: serializeSentencePieceModel(model),
    tokenizerJson: tokenizerJsonOf(pieces, merges),
    tokenizerConfig: tokenizerConfigOf(opts.chatTemplate ?? TINY_CHAT_TEMPLATE),
    specialTokensMap: specialTokensMapOf(),
    pieces,
    merges,
  };
}

/** Trains the tiny vocabulary on `text` (e.g. tinyshakespeare) and renders the four files. */
export function buildTinyTokenizer(text: string, opts: TinyBpeOptions = {}): TinyTokenizerFiles {
  const { pieces, merges } = trainTinyBpe(text, opts);
  return spmTokenizerFiles(pieces, merges);
}
