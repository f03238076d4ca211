// A model directory's tokenizer files read from disk (bounded, as every side file), for the
// converter and for loadTextTokenizer: the one function every command that tokenizes text calls.
// Not here: which file wins and how it encodes (text-tokenizer.ts). A GGUF's vocabulary is
// llama.cpp's to read (analyze), or written back as HF files first (heal).

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import { checkSideFileSize } from "../checkpoint/read-json.js";
import { FormatError } from "../errors.js";
import type { TokenizerFiles } from "./gguf-tokenizer.js";
import type { NamedChatTemplate } from "./special-vocab.js";
import { textTokenizerFromFiles, TOKENIZER_SIDE_FILES, tokenizerFilesByName, type TextTokenizer } from "./text-tokenizer.js";

/** why 64: real repos ship a handful (tool_use, rag); more is not a chat model's tokenizer */
const MAX_NAMED_TEMPLATES = 64;

/** A side file of `dir` (size-checked first), or undefined when it is not there. */
async function readSideFile(dir: string, name: string): Promise<Uint8Array | undefined> {
  try {
    await checkSideFileSize(join(dir, name));
    return new Uint8Array(await readFile(join(dir, name)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** The tokenizer files of an HF directory, as the converter reads them. */
export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  const found = new Map<string, Uint8Array>();
  for (const name of TOKENIZER_SIDE_FILES) {
    const bytes = await readSideFile(dir, name);
    if (bytes !== undefined) found.set(name, bytes);
  }
  const files = tokenizerFilesByName((name) => found.get(name));
  // as gguf-py: additional_chat_templates/NAME.jinja only beside chat_template.jinja
  const additional = files.chatTemplateJinja === undefined ? undefined : await additionalTemplates(dir);
  return additional === undefined ? files : { ...files, additionalChatTemplates: additional };
}

/** additional_chat_templates/*.jinja as named templates, sorted by name (bounded like side files). */
async function additionalTemplates(dir: string): Promise<NamedChatTemplate[] | undefined> {
  let names: string[];
  try {
    names = (await readdir(join(dir, "additional_chat_templates"))).filter((n) => n.endsWith(".jinja")).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw e;
  }
  const out: NamedChatTemplate[] = [];
  for (const n of names.slice(0, MAX_NAMED_TEMPLATES)) {
    const template = await readSideFile(dir, join("additional_chat_templates", n));
    if (template !== undefined) out.push({ name: n.slice(0, -".jinja".length), template: new TextDecoder().decode(template) });
  }
  return out.length > 0 ? out : undefined;
}

/**
 * The text tokenizer of an HF model directory (a path, or a checkpoint already open): its
 * tokenizer.json, else its tokenizer.model with the ids llama.cpp gives the converted GGUF.
 */
export async function loadTextTokenizer(model: string | Checkpoint): Promise<TextTokenizer> {
  const c = typeof model === "string" ? await openCheckpoint(model) : model;
  try {
    if (c.format === "gguf" || !c.config) {
      throw new FormatError("TOKENIZER_GGUF", "this needs the HF tokenizer files, and a GGUF has its vocabulary inside", {
        file: c.path,
        hint: "pass the HF directory the GGUF was converted from, or use llama.cpp (--backend llamacpp)",
      });
    }
    const files = await readTokenizerFiles(c.path);
    return textTokenizerFromFiles(files, { vocabSize: Number(c.config.vocab_size), llamaVocab: c.arch.converter?.llamaVocab ?? false, ...(c.arch.converter?.vocab ? { family: c.arch.converter.vocab } : {}), where: c.path });
  } finally {
    if (typeof model === "string") await c.close();
  }
}
