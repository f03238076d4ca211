// mergekit's `chat_template`: `auto` (the template most sources share), a named format, or a
// Jinja template given whole. The named formats are dusk's own renditions of the conversation
// layouts mergekit ships under those names (ChatML, Llama 3, Mistral [INST], Alpaca).

import { RecipeError } from "../errors.js";

const NAMED: Record<string, string> = {
  chatml:
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  llama3:
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
  mistral:
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
    "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}{% else %}{{ message['content'] + '\\n\\n' }}{% endif %}{% endfor %}",
  alpaca:
    "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}" +
    "{% elif message['role'] == 'user' %}{{ '### Instruction:\\n' + message['content'] + '\\n\\n' }}" +
    "{% elif message['role'] == 'assistant' %}{{ '### Response:\\n' + message['content'] + eos_token + '\\n\\n' }}{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}",
};

export const NAMED_CHAT_TEMPLATES: readonly string[] = Object.keys(NAMED);

/**
 * The template text for a recipe's `chat_template`, given the sources' own templates (for
 * `auto`: the most common one, first seen on a tie; undefined when none has one).
 */
export function resolveChatTemplate(value: string, sourceTemplates: readonly (string | undefined)[]): string | undefined {
  if (value === "auto") {
    const counts = new Map<string, number>();
    for (const t of sourceTemplates) if (t) counts.set(t.trim(), (counts.get(t.trim()) ?? 0) + 1);
    let best: string | undefined;
    for (const [t, n] of counts) if (best === undefined || n > counts.get(best)!) best = t;
    return best;
  }
  const named = Object.hasOwn(NAMED, value) ? NAMED[value] : undefined;
  if (named !== undefined) return named;
  if (value.length < 20 || !value.includes("{")) {
    throw new RecipeError("RECIPE_CHAT_TEMPLATE", `chat_template "${value}" is neither a template dusk knows nor a Jinja template`, {
      path: "chat_template",
      hint: `use auto, one of ${NAMED_CHAT_TEMPLATES.join(", ")}, or the Jinja text itself (mergekit refuses the same)`,
    });
  }
  return value;
}
