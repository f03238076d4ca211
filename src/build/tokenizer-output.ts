// The side files of an HF build: the config source's (generation config and the like), the
// tokenizer files of the recipe's tokenizer source (base by default, or a model), with the
// tokens a union vocabulary adds appended to tokenizer.json and tokenizer_config.json, and the
// recipe's chat_template written where transformers reads it.

import { copyFile, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { BuildError } from "../errors.js";
import { resolveChatTemplate } from "../merge/chat-templates.js";
import type { Plan } from "../plan/types.js";

const TOKENIZER_FILES = new Set([
  "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
  "vocab.json", "merges.txt", "chat_template.jinja", "chat_template.json",
]);

/** Copies and writes the side files into `dir`; returns their names. */
export async function writeSideFiles(plan: Plan, checkpoints: readonly Checkpoint[], dir: string): Promise<string[]> {
  const config = checkpoints[plan.configSource]!;
  const tokenizer = checkpoints[plan.vocabulary?.filesFrom ?? plan.configSource]!;
  const names: string[] = [];
  for (const side of config.sideFiles) {
    if (tokenizer !== config && TOKENIZER_FILES.has(basename(side))) continue;
    await copyFile(side, join(dir, basename(side)));
    names.push(basename(side));
  }
  if (tokenizer !== config) {
    for (const side of tokenizer.sideFiles) {
      if (!TOKENIZER_FILES.has(basename(side))) continue;
      await copyFile(side, join(dir, basename(side)));
      names.push(basename(side));
    }
  }
  const added = plan.vocabulary?.added ?? [];
  if (added.length > 0) await addTokens(dir, names, added);
  if (plan.recipe.chatTemplate !== undefined) {
    const template = resolveChatTemplate(plan.recipe.chatTemplate, await Promise.all(checkpoints.map(sourceTemplate)));
    if (template !== undefined) {
      await editJson(dir, names, "tokenizer_config.json", (c) => void (c.chat_template = template));
      await writeFile(join(dir, "chat_template.jinja"), template);
      if (!names.includes("chat_template.jinja")) names.push("chat_template.jinja");
    }
  }
  return names;
}

/** The tokens a union vocabulary (or tokenizer.tokens) adds, as transformers' add_tokens records them. */
async function addTokens(dir: string, names: string[], added: NonNullable<Plan["vocabulary"]>["added"]): Promise<void> {
  if (!names.includes("tokenizer.json")) {
    throw new BuildError("build.tokenizer-union", "the recipe adds tokens to the vocabulary, and the tokenizer source has no tokenizer.json to add them to", {
      hint: "use tokenizer_source: base (or a model) when the models' tokenizers are SentencePiece-only",
    });
  }
  await editJson(dir, names, "tokenizer.json", (t) => {
    const list = Array.isArray(t.added_tokens) ? (t.added_tokens as unknown[]) : [];
    for (const a of added) list.push({ id: a.id, content: a.content, single_word: false, lstrip: false, rstrip: false, normalized: a.normalized, special: a.special });
    t.added_tokens = list;
  });
  await editJson(dir, names, "tokenizer_config.json", (c) => {
    const decoder = (typeof c.added_tokens_decoder === "object" && c.added_tokens_decoder !== null ? c.added_tokens_decoder : {}) as Record<string, unknown>;
    for (const a of added) decoder[String(a.id)] = { content: a.content, lstrip: false, normalized: a.normalized, rstrip: false, single_word: false, special: a.special };
    c.added_tokens_decoder = decoder;
  });
}

async function editJson(dir: string, names: string[], name: string, edit: (value: Record<string, unknown>) => void): Promise<void> {
  const path = join(dir, name);
  const value = names.includes(name) ? (JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>) : {};
  edit(value);
  await writeFile(path, JSON.stringify(value, null, 2) + "\n");
  if (!names.includes(name)) names.push(name);
}

/** A source's own chat template: chat_template.jinja, else tokenizer_config.json's, else the GGUF's. */
export async function sourceTemplate(c: Checkpoint): Promise<string | undefined> {
  if (c.format === "gguf") {
    const v = c.gguf!.kv.get("tokenizer.chat_template");
    return v?.type === 8 ? String(v.value) : undefined;
  }
  const jinja = c.sideFiles.find((f) => basename(f) === "chat_template.jinja");
  if (jinja) return readFile(jinja, "utf8");
  const config = c.sideFiles.find((f) => basename(f) === "tokenizer_config.json");
  if (!config) return undefined;
  const t = (JSON.parse(await readFile(config, "utf8")) as { chat_template?: unknown }).chat_template;
  return typeof t === "string" ? t : undefined;
}
