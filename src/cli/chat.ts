// `dusk chat MODEL`: a conversation through the model's chat template, one user turn per stdin
// line (interactive on a terminal, or piped), each reply streamed to stdout. `/exit` quits and
// `/reset` starts over.

import { createInterface } from "node:readline";
import { defineCommand } from "citty";
import { BUILTIN_CHAT_TEMPLATES, ChatSession, resolveChatTemplate } from "../runtime/index.js";
import { modelArgs, numberFlag, openModelFromArgs, samplingArgs, samplingFromArgs, stopFlags } from "./run.js";

export const chatCommand = defineCommand({
  meta: { name: "chat", description: "Chat with a model through its chat template (stdin lines are user turns; /exit quits, /reset starts over)" },
  args: {
    model: { type: "positional", description: "a .gguf file, an HF model directory, or a Hub id org/name[@rev]", required: true },
    system: { type: "string", description: "a system message to start the conversation with" },
    "chat-template": { type: "string", alias: "template", description: `chat template instead of the model's: a built-in name (${Object.keys(BUILTIN_CHAT_TEMPLATES).join(", ")}) or a Jinja file`, valueHint: "name|file" },
    "template-name": { type: "string", description: "one of the model's named chat templates (tokenizer.chat_templates, e.g. tool_use)" },
    ...samplingArgs,
    ...modelArgs,
    json: { type: "boolean", description: "print one JSON line per turn instead of streaming" },
  },
  async run({ args, rawArgs }) {
    const { sampling } = await samplingFromArgs(args);
    const stop = stopFlags(rawArgs);
    const maxTokens = numberFlag(args, "max-tokens");
    const seed = numberFlag(args, "seed");
    const template = args["chat-template"] === undefined ? undefined : await resolveChatTemplate(String(args["chat-template"]));
    const quiet = Boolean(args.quiet || args.json);
    const interactive = Boolean(process.stdin.isTTY);
    const model = await openModelFromArgs(String(args.model), args, quiet);
    try {
      const options = {
        ...(args.system === undefined ? {} : { system: String(args.system) }),
        ...(template === undefined ? {} : { template: template.source, templateOrigin: template.origin }),
        ...(args["template-name"] === undefined ? {} : { templateName: String(args["template-name"]) }),
      };
      let session = new ChatSession(model, sampling, options);
      if (interactive && !quiet) process.stderr.write(`[${model.device}]\n`);
      const lines = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
      if (interactive) process.stderr.write("> ");
      for await (const raw of lines) {
        const line = raw.trim();
        if (line === "/exit" || line === "/quit") break;
        if (line === "/reset") session = new ChatSession(model, sampling, options);
        else if (line !== "") {
          const result = await session.send(line, {
            stop,
            ...(maxTokens === undefined ? {} : { maxTokens }),
            ...(seed === undefined ? {} : { seed }),
            ...(args.json ? {} : { onToken: (t: string) => process.stdout.write(t) }),
          });
          if (args.json) {
            process.stdout.write(JSON.stringify({ user: line, reply: result.text, tokens: result.tokens, promptTokens: result.promptTokens, tokensPerSecond: result.tokensPerSecond, stopReason: result.stopReason, seed: result.seed }) + "\n");
          } else {
            process.stdout.write("\n");
            if (!quiet && interactive) process.stderr.write(`[${result.tokens} tokens · ${result.tokensPerSecond.toFixed(1)} tokens/s · ${result.stopReason}]\n`);
          }
        }
        if (interactive) process.stderr.write("> ");
      }
      lines.close();
    } finally {
      await model.dispose();
    }
  },
});
