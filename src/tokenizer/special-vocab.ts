// The special-token part of GGUF tokenizer metadata, as gguf-py's SpecialVocab derives it: the
// bos/eos/unk/sep/pad/mask ids, add_bos/add_eos/add_sep flags and the chat template, from
// tokenizer.json (added_tokens, TemplateProcessing), tokenizer_config.json, chat_template.jinja and
// config.json. dusk additions (noted where used): special_tokens_map.json and tokenizer.model's
// trainer ids as fallbacks. Not for tokens or merges (gguf-tokenizer.ts).

import { parseJsonFile, type HfAddedToken } from "./tokenizer-json.js";

export type GgufTokenizerKv =
  | { key: string; kind: "string"; value: string }
  | { key: string; kind: "u32"; value: number }
  | { key: string; kind: "bool"; value: boolean }
  | { key: string; kind: "f32"; value: number }
  | { key: string; kind: "string[]"; value: string[] }
  | { key: string; kind: "f32[]"; value: number[] }
  | { key: string; kind: "i32[]"; value: number[] };

const TYPES = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"] as const;
type SpecialType = (typeof TYPES)[number];

/** gguf-py writes no key for cls (no writer method): it is dropped, as there. */
const ID_KEYS: Partial<Record<SpecialType, string>> = {
  bos: "tokenizer.ggml.bos_token_id",
  eos: "tokenizer.ggml.eos_token_id",
  unk: "tokenizer.ggml.unknown_token_id",
  sep: "tokenizer.ggml.seperator_token_id", // sic: llama.cpp's spelling
  pad: "tokenizer.ggml.padding_token_id",
  mask: "tokenizer.ggml.mask_token_id",
};
const ADD_KEYS: Partial<Record<SpecialType, string>> = {
  bos: "tokenizer.ggml.add_bos_token",
  eos: "tokenizer.ggml.add_eos_token",
  sep: "tokenizer.ggml.add_sep_token",
};

export interface SpecialVocabInputs {
  /** parsed tokenizer.json, when there is one */
  tokenizerJson?: Record<string, unknown>;
  addedTokens: HfAddedToken[];
  tokenizerConfig?: string;
  chatTemplateJinja?: string;
  specialTokensMap?: string;
  configJson?: string;
  /** ids from tokenizer.model's trainer_spec (dusk fallback; -1 = none) */
  trainerIds?: Partial<Record<"bos" | "eos" | "unk" | "pad", number>>;
  /** ids at or above this are skipped, as gguf-py does with n_vocab */
  nVocab?: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function tokenContent(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (isObject(entry) && typeof entry.content === "string") return entry.content;
  return undefined;
}

export function specialVocabKv(inp: SpecialVocabInputs): GgufTokenizerKv[] {
  const ids = new Map<SpecialType, number>();
  const add = new Map<SpecialType, boolean>();
  const setId = (typ: SpecialType, id: unknown) => {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0 || ids.has(typ)) return;
    if (inp.nVocab !== undefined && id >= inp.nVocab) return;
    ids.set(typ, id);
  };
  const config = inp.tokenizerConfig === undefined ? undefined : parseJsonFile(inp.tokenizerConfig, "tokenizer_config.json");
  const tc = isObject(config) ? config : undefined;
  const stm = inp.specialTokensMap === undefined ? undefined : parseJsonFile(inp.specialTokensMap, "special_tokens_map.json");

  // TemplateProcessing: a leading bos / trailing eos special token means "add it"
  const post = inp.tokenizerJson?.post_processor;
  if (isObject(post)) {
    const processors = Array.isArray(post.processors) ? post.processors : [post];
    for (const p of processors) {
      if (!isObject(p) || p.type !== "TemplateProcessing" || !Array.isArray(p.single) || p.single.length <= 1) continue;
      const specialId = (x: unknown) => (isObject(x) && isObject(x.SpecialToken) && typeof x.SpecialToken.id === "string" ? x.SpecialToken.id : undefined);
      const first = specialId(p.single[0]);
      const last = specialId(p.single[p.single.length - 1]);
      const bos = tokenContent(tc?.bos_token) ?? first;
      const eos = tokenContent(tc?.eos_token) ?? last;
      if (first !== undefined) add.set("bos", first === bos || first === tokenContent(tc?.cls_token));
      if (last !== undefined) add.set("eos", last === eos);
    }
  }

  let chatTemplate: unknown;
  if (tc !== undefined) {
    chatTemplate = tc.chat_template ?? inp.chatTemplateJinja;
    for (const typ of TYPES) {
      const flag = tc[`add_${typ}_token`];
      if (typeof flag === "boolean") add.set(typ, flag);
      const content = tokenContent(tc[`${typ}_token`]) ?? (isObject(stm) ? tokenContent(stm[`${typ}_token`]) : undefined);
      if (content !== undefined) setId(typ, inp.addedTokens.find((a) => a.content === content)?.id);
    }
  } else if (isObject(stm)) {
    for (const typ of TYPES) {
      const content = tokenContent(stm[`${typ}_token`]);
      if (content !== undefined) setId(typ, inp.addedTokens.find((a) => a.content === content)?.id);
    }
  }
  const cfg = inp.configJson === undefined ? undefined : parseJsonFile(inp.configJson, "config.json");
  if (isObject(cfg)) for (const typ of TYPES) setId(typ, cfg[`${typ}_token_id`]);
  for (const [typ, id] of Object.entries(inp.trainerIds ?? {})) setId(typ as SpecialType, id);

  const out: GgufTokenizerKv[] = [];
  for (const [typ, id] of ids) {
    const key = ID_KEYS[typ];
    if (key !== undefined) out.push({ key, kind: "u32", value: id });
  }
  for (const [typ, flag] of add) {
    const key = ADD_KEYS[typ];
    if (key !== undefined) out.push({ key, kind: "bool", value: flag });
  }
  if (typeof chatTemplate === "string") out.push({ key: "tokenizer.chat_template", kind: "string", value: chatTemplate });
  else if (Array.isArray(chatTemplate)) {
    // named templates: "default" → tokenizer.chat_template, others → tokenizer.chat_template.NAME
    const names: string[] = [];
    for (const t of chatTemplate) {
      if (!isObject(t) || typeof t.name !== "string" || typeof t.template !== "string") continue;
      if (t.name === "default") out.push({ key: "tokenizer.chat_template", kind: "string", value: t.template });
      else {
        names.push(t.name);
        out.push({ key: `tokenizer.chat_template.${t.name}`, kind: "string", value: t.template });
      }
    }
    if (names.length > 0) out.push({ key: "tokenizer.chat_templates", kind: "string[]", value: names });
  }
  return out;
}
