// Built-in chat templates for `--chat-template NAME` (serve, chat, run), so base models and stacks
// without a template of their own can be chatted with: llama.cpp's built-in formats of the same
// names (llm_chat_apply_template), written as Jinja and checked against llama.cpp's own rendering
// (test/fixtures/chat-template-golden.json). Each starts with BOS when the model adds one, as
// llama.cpp's tokenizer does for these. Not here: reading a template file (chat-template.ts).

import { readFile } from "node:fs/promises";
import { RuntimeError } from "../errors.js";

/** BOS as the text of the model's BOS token when its GGUF says to add one (`add_bos_token`, set by the caller). */
const BOS = "{% if add_bos_token %}{{ bos_token }}{% endif %}";

/** llama2 and its system-message variant: one [INST] … [/INST] per user turn, replies end in </s>. */
const llama2 = (system: string) =>
  BOS + "{% for message in messages %}" +
  "{% if loop.first or messages[loop.index0 - 1]['role'] == 'assistant' %}{{ '[INST] ' }}{% endif %}" +
  `{% if message['role'] == 'system' %}{{ ${system} }}` +
  "{% elif message['role'] == 'user' %}{{ message['content'] + ' [/INST]' }}" +
  "{% else %}{{ message['content'] + '</s>' }}{% endif %}{% endfor %}";

/** `<|role|>\n content END\n` per message, then the assistant's header (phi3, zephyr). */
const roleTags = (end: string) =>
  BOS + `{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '${end}\\n' }}{% endfor %}` +
  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

export const BUILTIN_CHAT_TEMPLATES: Readonly<Record<string, string>> = {
  chatml:
    BOS + "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  llama2: llama2("message['content'] + '\\n'"),
  "llama2-sys": llama2("'<<SYS>>\\n' + message['content'] + '\\n<</SYS>>\\n\\n'"),
  llama3:
    BOS + "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
  // no system role: system messages are joined and put before the next user turn
  gemma:
    BOS + "{% set ns = namespace(system='') %}{% for message in messages %}" +
    "{% if message['role'] == 'system' %}{% set ns.system = ns.system + message['content'] | trim %}{% else %}" +
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}{{ '<start_of_turn>' + role + '\\n' }}" +
    "{% if ns.system != '' and role != 'model' %}{{ ns.system + '\\n\\n' }}{% set ns.system = '' %}{% endif %}" +
    "{{ message['content'] | trim + '<end_of_turn>\\n' }}{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}",
  phi3: roleTags("<|end|>"),
  zephyr: roleTags("<|endoftext|>"),
  "mistral-v1":
    BOS + "{% for message in messages %}" +
    "{% if loop.first or messages[loop.index0 - 1]['role'] == 'assistant' %}{{ ' [INST] ' }}{% endif %}" +
    "{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}" +
    "{% elif message['role'] == 'user' %}{{ message['content'] + ' [/INST]' }}" +
    "{% else %}{{ ' ' + message['content'] + '</s>' }}{% endif %}{% endfor %}",
  "mistral-v7":
    BOS + "{% for message in messages %}" +
    "{% if message['role'] == 'system' %}{{ '[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}" +
    "{% elif message['role'] == 'user' %}{{ '[INST] ' + message['content'] + '[/INST]' }}" +
    "{% else %}{{ ' ' + message['content'] + '</s>' }}{% endif %}{% endfor %}",
  vicuna:
    BOS + "{% for message in messages %}" +
    "{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}" +
    "{% elif message['role'] == 'user' %}{{ 'USER: ' + message['content'] + '\\n' }}" +
    "{% else %}{{ 'ASSISTANT: ' + message['content'] + '</s>\\n' }}{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}",
};
// llama.cpp reads the name "mistral" as a template that starts with it: the llama2 format
Object.assign(BUILTIN_CHAT_TEMPLATES, { mistral: BUILTIN_CHAT_TEMPLATES.llama2 });

export interface ChatTemplateChoice {
  /** Jinja source */
  source: string;
  /** for messages: "the built-in chatml template" or the file */
  origin: string;
  /** a built-in: BOS comes from `add_bos_token` (the model's), not from the template's author */
  builtin: boolean;
}

/** `--chat-template NAME|FILE`: a built-in name, else a Jinja file; a clear error for neither. */
export async function resolveChatTemplate(spec: string): Promise<ChatTemplateChoice> {
  const builtin = Object.hasOwn(BUILTIN_CHAT_TEMPLATES, spec) ? BUILTIN_CHAT_TEMPLATES[spec] : undefined;
  if (builtin !== undefined) return { source: builtin, origin: `the built-in ${spec} chat template`, builtin: true };
  const names = Object.keys(BUILTIN_CHAT_TEMPLATES).join(", ");
  let source: string;
  try {
    source = await readFile(spec, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const looksLikeName = !/[/\\.]/.test(spec);
    throw new RuntimeError("runtime.chat-template", looksLikeName && code === "ENOENT"
      ? `--chat-template ${spec}: no built-in chat template has that name, and there is no file of that name`
      : `--chat-template ${spec}: cannot read the chat template file (${code ?? (e as Error).message})`, {
      hint: `give one of the built-in names (${names}) or a readable Jinja template file`,
      cause: e,
    });
  }
  if (source.length > MAX_TEMPLATE_BYTES) {
    throw new RuntimeError("runtime.chat-template", `--chat-template ${spec}: ${source.length} characters, more than a chat template has (at most ${MAX_TEMPLATE_BYTES})`, { hint: "give a Jinja chat template file" });
  }
  return { source, origin: spec, builtin: false };
}

/** why 1 MB: real templates are a few kB (the longest tool-use ones ~20 kB); a larger file is a mistake */
const MAX_TEMPLATE_BYTES = 1 << 20;
