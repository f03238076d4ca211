// The special-token part of GGUF tokenizer metadata, as gguf-py's SpecialVocab derives it (docs/
// convert.md): bos/eos/unk/sep/pad/mask (and eot/eom) ids, add_bos/add_eos/add_sep flags,
// normalizer flags and the chat template(s), from tokenizer.json (added_tokens, post_processor,
// normalizer), tokenizer_config.json, chat_template.jinja / additional_chat_templates/*.jinja /
// chat_template.json and config.json. Not for tokens or merges (gguf-tokenizer.ts).

import { parseJsonFile, type HfAddedToken } from "./tokenizer-json.js";

export type GgufTokenizerKv =
  | { key: string; kind: "string"; value: string }
  | { key: string; kind: "u32"; value: number }
  | { key: string; kind: "bool"; value: boolean }
  | { key: string; kind: "f32"; value: number }
  | { key: string; kind: "string[]"; value: string[] }
  | { key: string; kind: "f32[]"; value: number[] }
  | { key: string; kind: "i32[]"; value: number[] };

const BASE_TYPES = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"] as const;

/** gguf-py has no writer for cls (nor prefix/suffix/middle): those ids are dropped, as there. */
const ID_KEYS: Record<string, string> = {
  bos: "tokenizer.ggml.bos_token_id",
  eos: "tokenizer.ggml.eos_token_id",
  unk: "tokenizer.ggml.unknown_token_id",
  sep: "tokenizer.ggml.seperator_token_id", // sic: llama.cpp's spelling
  pad: "tokenizer.ggml.padding_token_id",
  mask: "tokenizer.ggml.mask_token_id",
  eot: "tokenizer.ggml.eot_token_id",
  eom: "tokenizer.ggml.eom_token_id",
};
const ADD_KEYS: Record<string, string> = {
  bos: "tokenizer.ggml.add_bos_token",
  eos: "tokenizer.ggml.add_eos_token",
  sep: "tokenizer.ggml.add_sep_token",
};

/** A named chat template: tokenizer_config's list form, or additional_chat_templates/NAME.jinja. */
export interface NamedChatTemplate {
  name: string;
  template: string;
}

export interface SpecialVocabInputs {
  /** parsed tokenizer.json, when there is one */
  tokenizerJson?: Record<string, unknown>;
  addedTokens: HfAddedToken[];
  tokenizerConfig?: string;
  chatTemplateJinja?: string;
  /** additional_chat_templates/*.jinja (read only beside chat_template.jinja) */
  additionalChatTemplates?: NamedChatTemplate[];
  /** chat_template.json: {"chat_template": ...} */
  chatTemplateJson?: string;
  configJson?: string;
  /** ids at or above this are skipped, as gguf-py does with n_vocab */
  nVocab?: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Python truthiness of a JSON value. */
function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

function tokenContent(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (isObject(entry) && typeof entry.content === "string") return entry.content;
  return undefined;
}

/** `x.get('SpecialToken', {}).get('id')` of a TemplateProcessing element */
function specialId(x: unknown): unknown {
  return isObject(x) && isObject(x.SpecialToken) ? x.SpecialToken.id : undefined;
}
function sequenceId(x: unknown): unknown {
  return isObject(x) && isObject(x.Sequence) ? x.Sequence.id : undefined;
}

/** gguf-py's add_chat_template: names keep [A-Za-z0-9], anything else becomes "_" */
export function sanitizeTemplateName(name: string): string {
  return [...name].map((c) => (/^[A-Za-z0-9]$/.test(c) ? c : "_")).join("");
}

export function specialVocabKv(inp: SpecialVocabInputs): GgufTokenizerKv[] {
  const types: string[] = [...BASE_TYPES];
  const ids = new Map<string, number>();
  const add = new Map<string, boolean>();
  const setId = (typ: string, id: unknown) => {
    // gguf-py raises on a negative id; dusk skips it (no llama.cpp key can hold it)
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0 || ids.has(typ)) return;
    if (inp.nVocab !== undefined && id >= inp.nVocab) return;
    ids.set(typ, id);
  };
  const parsed = inp.tokenizerConfig === undefined ? undefined : parseJsonFile(inp.tokenizerConfig, "tokenizer_config.json");
  // mutable, as in gguf-py: the post-processor fills bos/cls/eos/sep/eot/eom tokens it implies
  const tc: Record<string, unknown> | undefined = isObject(parsed) ? { ...parsed } : undefined;
  const tj = inp.tokenizerJson;
  let lowercase: boolean | undefined;
  let stripAccents: boolean | undefined;

  if (tj !== undefined) {
    const parseNormalizer = (n: unknown): void => {
      if (!isObject(n)) return;
      if (n.type === "Lowercase") lowercase = true;
      else if (n.type === "StripAccents") stripAccents = true;
      else if (n.type === "BertNormalizer") {
        if ("lowercase" in n) lowercase = Boolean(n.lowercase);
        if ("strip_accents" in n && typeof n.strip_accents === "boolean") stripAccents = n.strip_accents;
      } else if (n.type === "Sequence" && Array.isArray(n.normalizers)) n.normalizers.forEach(parseNormalizer);
    };
    if (truthy(tj.normalizer)) parseNormalizer(tj.normalizer);
    let bos = tc?.bos_token;
    let cls = tc?.cls_token;
    let eos = tc?.eos_token;
    let sep = tc?.sep_token;
    if (!truthy(bos) && truthy(cls) && truthy(tc)) tc!.bos_token = bos = cls;
    if (!truthy(eos) && truthy(sep) && truthy(tc)) tc!.eos_token = eos = sep;
    const post = tj.post_processor;
    const processors = isObject(post) ? (Array.isArray(post.processors) ? post.processors : [post]) : [];
    for (const p of processors) {
      if (!isObject(p)) continue;
      if (p.type === "RobertaProcessing") {
        for (const t of ["bos", "eos", "sep"]) add.set(t, true);
        if (!truthy(cls) && truthy(tc)) tc!.cls_token = cls = Array.isArray(p.cls) ? p.cls[0] : bos;
        if (!truthy(sep) && truthy(tc)) tc!.sep_token = sep = Array.isArray(p.sep) ? p.sep[0] : eos;
        continue;
      }
      if (p.type !== "TemplateProcessing") continue;
      // crude, as gguf-py: a leading special token means "add BOS", a trailing one "add EOS"
      const single = Array.isArray(p.single) ? p.single : [];
      let pair = Array.isArray(p.pair) ? p.pair : [];
      let first: unknown;
      let last: unknown;
      if (single.length > 1) {
        first = specialId(single[0]);
        if (truthy(first)) {
          if (!truthy(tc)) bos = first;
          else if (first !== bos && first !== cls) {
            if (!truthy(bos)) tc!.bos_token = bos = first;
            if (!truthy(cls)) tc!.cls_token = cls = first;
          }
          add.set("bos", first === bos || first === cls);
        }
        last = specialId(single[single.length - 1]);
        if (truthy(last)) {
          if (!truthy(tc)) eos = last;
          else if (last !== eos) {
            // the configured EOS becomes EOT (or EOM) and the template's trailing token the EOS
            if (!types.includes("eot")) {
              types.push("eot");
              tc!.eot_token = eos;
            } else if (!types.includes("eom")) {
              types.push("eom");
              tc!.eom_token = eos;
            }
            tc!.eos_token = eos = last;
          }
          add.set("eos", last === eos);
        }
      }
      if (pair.length > 0) {
        const start = truthy(first) && specialId(pair[0]) === first ? 1 : 0;
        const stop = truthy(last) && specialId(pair[pair.length - 1]) === last ? pair.length - 1 : pair.length;
        pair = pair.slice(start, stop);
        if (pair.length > 0 && sequenceId(pair[0]) === "A" && sequenceId(pair[pair.length - 1]) === "B" && pair.length > 2) {
          const middle = pair.slice(1, -1); // A [sep] [eos] B
          let addSep = false;
          const entry = specialId(middle[0]);
          if (truthy(entry) && (entry === sep || entry === eos) && !truthy(last)) addSep = true;
          if (middle.length === 2) {
            const second = specialId(middle[1]);
            if (truthy(second) && (second === sep || second === eos)) addSep = true;
          }
          add.set("sep", addSep);
          if (addSep && !truthy(sep) && truthy(tc)) tc!.sep_token = eos;
        }
      }
    }
  }

  let chatTemplate: unknown;
  if (truthy(tc)) {
    let alt: unknown;
    if (inp.chatTemplateJinja !== undefined) {
      alt = inp.chatTemplateJinja;
      if (inp.additionalChatTemplates?.length) alt = [{ name: "default", template: inp.chatTemplateJinja }, ...inp.additionalChatTemplates];
    } else if (inp.chatTemplateJson !== undefined) {
      const j = parseJsonFile(inp.chatTemplateJson, "chat_template.json");
      alt = isObject(j) ? j.chat_template : undefined;
    }
    // a chat_template key in tokenizer_config.json wins, even when null
    chatTemplate = "chat_template" in tc! ? tc!.chat_template : alt;
    for (const typ of types) {
      const flag = tc![`add_${typ}_token`];
      if (typeof flag === "boolean") add.set(typ, flag);
      const content = tokenContent(tc![`${typ}_token`]);
      if (content !== undefined) setId(typ, inp.addedTokens.find((a) => a.content === content)?.id);
    }
  }
  const cfg = inp.configJson === undefined ? undefined : parseJsonFile(inp.configJson, "config.json");
  if (isObject(cfg)) {
    for (const typ of types) {
      const id = cfg[`${typ}_token_id`] ?? (isObject(cfg.text_config) ? cfg.text_config[`${typ}_token_id`] : undefined);
      setId(typ, id);
    }
  }

  const out: GgufTokenizerKv[] = [];
  for (const [typ, id] of ids) if (ID_KEYS[typ] !== undefined) out.push({ key: ID_KEYS[typ], kind: "u32", value: id });
  for (const [typ, flag] of add) if (ADD_KEYS[typ] !== undefined) out.push({ key: ADD_KEYS[typ], kind: "bool", value: flag });
  out.push(...chatTemplateKv(chatTemplate));
  if (lowercase !== undefined) out.push({ key: "tokenizer.ggml.normalizer.lowercase", kind: "bool", value: lowercase });
  if (stripAccents !== undefined) out.push({ key: "tokenizer.ggml.normalizer.strip_accents", kind: "bool", value: stripAccents });
  return out;
}

/** A string → tokenizer.chat_template; a list of {name, template} → "default" there, the others
 * under tokenizer.chat_template.<sanitized name> and listed in tokenizer.chat_templates. */
function chatTemplateKv(t: unknown): GgufTokenizerKv[] {
  if (typeof t === "string") return t === "" ? [] : [{ key: "tokenizer.chat_template", kind: "string", value: t }];
  if (!Array.isArray(t)) return [];
  const out: GgufTokenizerKv[] = [];
  const named = new Map<string, string>();
  let fallback: string | undefined;
  for (const choice of t) {
    if (!isObject(choice)) continue;
    const name = sanitizeTemplateName(typeof choice.name === "string" ? choice.name : "");
    if (name === "" || typeof choice.template !== "string") continue;
    if (name === "default") fallback = choice.template;
    else named.set(name, choice.template);
  }
  for (const [name, template] of named) if (template !== "") out.push({ key: `tokenizer.chat_template.${name}`, kind: "string", value: template });
  if (named.size > 0) out.push({ key: "tokenizer.chat_templates", kind: "string[]", value: [...named.keys()] });
  if (fallback !== undefined && fallback !== "") out.push({ key: "tokenizer.chat_template", kind: "string", value: fallback });
  return out;
}
