// Chat prompts: render a conversation with the model's Jinja chat template exactly as HF's
// apply_chat_template does (@huggingface/jinja, trim/lstrip blocks, bos_token/eos_token given as
// text), and a small session that keeps the turns and generates each reply. Not sampling and not
// template-less "chat wrappers": a model without a template needs one given explicitly
// (--chat-template: a built-in name from builtin-chat-templates.ts, or a Jinja file).

import { Template } from "@huggingface/jinja";
import { RuntimeError } from "../errors.js";
import { sanitizeTemplateName } from "../tokenizer/index.js";
import { BUILTIN_CHAT_TEMPLATES } from "./builtin-chat-templates.js";
import { generate, type GenerateOptions, type GenerationResult } from "./generate.js";
import type { LoadedModel } from "./loaded-model.js";
import type { Sampling } from "./sampling.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatTemplateTokens {
  bosToken: string;
  eosToken: string;
  /** the model adds BOS (GGUF add_bos_token): the built-in templates write it then; HF templates decide for themselves */
  addBos?: boolean;
}

/**
 * A model's chat template as llama.cpp looks it up in GGUF metadata (node-llama-cpp's `tokenizer`
 * object): `chat_template` for the default, `chat_template.<name>` for a named one, the name
 * sanitised as the converter stores it (`tool-use` → `tool_use`). Undefined when absent or empty.
 */
export function modelChatTemplate(tokenizer: Readonly<Record<string, unknown>> | undefined, name?: string): string | undefined {
  const t = tokenizer?.[name === undefined || name === "default" ? "chat_template" : `chat_template.${sanitizeTemplateName(name)}`];
  return typeof t === "string" && t !== "" ? t : undefined;
}

/** The named templates a model lists (`tokenizer.chat_templates`), besides the default. */
export function modelChatTemplateNames(tokenizer: Readonly<Record<string, unknown>> | undefined): string[] {
  const names = tokenizer?.chat_templates;
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === "string") : [];
}

/** Parses once; errors name the template's source (the GGUF key or a file). */
export function compileChatTemplate(source: string, origin = "tokenizer.chat_template"): Template {
  try {
    return new Template(source);
  } catch (e) {
    throw new RuntimeError("runtime.chat-template", `${origin}: the chat template does not parse (${(e as Error).message})`, {
      hint: "give a working template with --chat-template NAME|FILE",
      cause: e,
    });
  }
}

/** The prompt text for `messages`, ending with the assistant's opening when `addGenerationPrompt`. */
export function renderChat(template: Template, messages: readonly ChatMessage[], tokens: ChatTemplateTokens, o: { addGenerationPrompt?: boolean; origin?: string } = {}): string {
  try {
    return template.render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: o.addGenerationPrompt ?? true,
      bos_token: tokens.bosToken,
      eos_token: tokens.eosToken,
      add_bos_token: tokens.addBos ?? false,
    });
  } catch (e) {
    throw new RuntimeError("runtime.chat-template", `${o.origin ?? "tokenizer.chat_template"}: rendering the conversation failed (${(e as Error).message})`, {
      hint: "the template may not support this conversation (e.g. a system message, or roles that do not alternate)",
      cause: e,
    });
  }
}

/** A conversation with one model: each `send` renders all turns, generates, and records the reply. */
export class ChatSession {
  readonly messages: ChatMessage[] = [];
  private readonly template: Template;
  /** where the template came from, for error messages */
  private readonly origin: string;

  constructor(
    private readonly model: LoadedModel,
    private readonly sampling: Sampling,
    o: { template?: string; templateOrigin?: string; templateName?: string; system?: string } = {},
  ) {
    const meta = model.model.fileInfo.metadata.tokenizer as unknown as Record<string, unknown> | undefined;
    const key = o.templateName === undefined ? "tokenizer.chat_template" : `tokenizer.chat_template.${sanitizeTemplateName(o.templateName)}`;
    const source = o.template ?? (o.templateName === undefined ? model.chatTemplate : modelChatTemplate(meta, o.templateName));
    if (source === undefined) {
      const names = modelChatTemplateNames(meta);
      throw new RuntimeError("runtime.no-chat-template", `${model.path} has no ${key}`, {
        hint: o.templateName !== undefined && names.length > 0
          ? `its named templates are: ${names.join(", ")} (or omit the name for the default)`
          : `give one with --chat-template NAME|FILE (a built-in: ${Object.keys(BUILTIN_CHAT_TEMPLATES).join(", ")}; or a Jinja file), or use dusk run for plain completion`,
      });
    }
    this.origin = o.templateOrigin ?? (o.template === undefined ? `${model.path}: ${key}` : "the chat template");
    this.template = compileChatTemplate(source, this.origin);
    if (o.system !== undefined) this.messages.push({ role: "system", content: o.system });
  }

  /** The prompt text the next reply would be generated from. */
  render(messages: readonly ChatMessage[] = this.messages): string {
    return renderChat(this.template, messages, { bosToken: this.model.bosText, eosToken: this.model.eosText, addBos: this.model.addBos }, { origin: this.origin });
  }

  async send(userText: string, o: GenerateOptions = {}): Promise<GenerationResult> {
    const turn: ChatMessage[] = [...this.messages, { role: "user", content: userText }];
    // HF tokenizes a rendered template with add_special_tokens=False: the template writes BOS itself.
    const prompt = this.model.tokenize(this.render(turn), { addBos: false, special: true });
    const result = await generate(this.model, prompt, this.sampling, o);
    // Trimmed as chat UIs store replies: the template adds its own separators around content.
    this.messages.push({ role: "user", content: userText }, { role: "assistant", content: result.text.trim() });
    return result;
  }
}
