// `dusk run MODEL "prompt"`: load a model (GGUF, HF directory, Hub id) and stream a completion to
// stdout; stats go to stderr, or everything as JSON with --json. Also the sampling and model flags
// that `dusk chat` shares.

import { defineCommand } from "citty";
import { RuntimeError } from "../errors.js";
import { BUILTIN_CHAT_TEMPLATES, ChatSession, DEFAULT_MAX_TOKENS, DEFAULT_PRESET, generate, openModel, resolveChatTemplate, resolveSampling, SAMPLING_FLAGS, type LoadedModel, type OpenModelOptions, type Sampling } from "../runtime/index.js";
import { gpuArgs, gpuFromArgs } from "./gpu-args.js";
import { makeProgress, staleLine } from "./progress.js";

const SAMPLING_KEYS = ["temperature", "topK", "topP", "minP", "repeatPenalty", "repeatLastN", "presencePenalty", "frequencyPenalty"] as const;

/** Flags shared by run and chat: model loading, preset, sampling overrides, limits. */
export const modelArgs = {
  ctx: { type: "string", description: "context size in tokens (default: the model's, at most 4096)" },
  threads: { type: "string", description: "CPU threads (default: llama.cpp's choice)" },
  quiet: { type: "boolean", description: "no progress or stats on stderr" },
  ...gpuArgs,
} as const;

export const samplingArgs = {
  preset: { type: "string", description: `sampling preset: greedy, precise, balanced, creative or one of yours (default ${DEFAULT_PRESET}; see dusk presets)` },
  temperature: { type: "string", description: "0 = greedy; overrides the preset" },
  "top-k": { type: "string", description: "keep the k most likely tokens (0 = off)" },
  "top-p": { type: "string", description: "nucleus sampling, (0, 1] (1 = off)" },
  "min-p": { type: "string", description: "drop tokens below min-p × the top probability, [0, 1] (0 = off)" },
  "repeat-penalty": { type: "string", description: "penalise recent tokens (1 = off)" },
  "repeat-last-n": { type: "string", description: "how many recent tokens the penalties see (0 = off)" },
  "presence-penalty": { type: "string", description: "[-2, 2] (0 = off)" },
  "frequency-penalty": { type: "string", description: "[-2, 2] (0 = off)" },
  "max-tokens": { type: "string", description: `tokens to generate at most (default ${DEFAULT_MAX_TOKENS})` },
  seed: { type: "string", description: "random seed (default: random, printed in the stats)" },
  stop: { type: "string", description: "stop before this text (repeatable; \\n and \\t are understood)" },
} as const;

type FlagValues = Record<string, unknown>;

/** A numeric flag's text → number; a RuntimeError naming the flag when it is not a number. */
export function numberFlag(args: FlagValues, flag: string): number | undefined {
  const v = args[flag];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n)) {
    throw new RuntimeError("runtime.flag", `--${flag} is ${JSON.stringify(v)}, expected a number`, { hint: `e.g. --${flag} 1` });
  }
  return n;
}

/** The preset, with the flags given on the command line laid over it (validated). */
export async function samplingFromArgs(args: FlagValues): Promise<{ preset: string; sampling: Sampling }> {
  const overrides: Partial<Sampling> = {};
  for (const key of SAMPLING_KEYS) {
    const v = numberFlag(args, SAMPLING_FLAGS[key]);
    if (v !== undefined) overrides[key] = v;
  }
  const r = await resolveSampling(typeof args.preset === "string" ? args.preset : undefined, overrides);
  return { preset: r.preset.name, sampling: r.sampling };
}

/** Every `--stop X` / `--stop=X` (citty keeps only the last), with \n, \t and \\ unescaped. */
export function stopFlags(rawArgs: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--stop" && i + 1 < rawArgs.length) out.push(rawArgs[++i]!);
    else if (a.startsWith("--stop=")) out.push(a.slice("--stop=".length));
  }
  return out.map((s) => s.replace(/\\(n|t|\\)/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : "\\")));
}

/** Opens the model named on the command line, drawing conversion/download progress on stderr. */
export async function openModelFromArgs(ref: string, args: FlagValues, quiet: boolean): Promise<LoadedModel> {
  const progress = makeProgress({ quiet });
  const o: OpenModelOptions = {
    ...gpuFromArgs(args),
    onEvent: (e) => {
      const ev = e.event;
      if (ev.type === "stale") {
        if (!quiet) process.stderr.write(staleLine(ev.note));
      } else if (ev.type === "start" && "totalBytes" in ev) progress.start("convert to GGUF (cached)", ev.totalBytes, "bytes");
      else if (ev.type === "resolved") progress.start(`download ${ev.repo}`, ev.total, "bytes");
      else if (ev.type === "progress") progress.update(ev.bytes, "tensor" in ev ? ev.tensor : ev.file);
      else if (ev.type === "done") progress.stop();
    },
  };
  const ctx = numberFlag(args, "ctx");
  const threads = numberFlag(args, "threads");
  if (ctx !== undefined) o.contextSize = ctx;
  if (threads !== undefined) o.threads = threads;
  try {
    return await openModel(ref, o);
  } finally {
    progress.stop();
  }
}

export const runModelCommand = defineCommand({
  meta: { name: "run", description: "Generate a completion with llama.cpp (GGUF, HF directory converted once and cached, or a Hub id)" },
  args: {
    model: { type: "positional", description: "a .gguf file, an HF model directory, or a Hub id org/name[@rev]", required: true },
    prompt: { type: "positional", description: 'the text to continue ("-" reads stdin)', required: true },
    "chat-template": { type: "string", description: `send the prompt as one user turn through a chat template: a built-in name (${Object.keys(BUILTIN_CHAT_TEMPLATES).join(", ")}) or a Jinja file`, valueHint: "name|file" },
    ...samplingArgs,
    ...modelArgs,
    json: { type: "boolean", description: "print one JSON object: the text, token counts, tokens/s, sampling" },
  },
  async run({ args, rawArgs }) {
    const prompt = args.prompt === "-" ? await readStdin() : String(args.prompt);
    const { preset, sampling } = await samplingFromArgs(args);
    const stop = stopFlags(rawArgs);
    const maxTokens = numberFlag(args, "max-tokens");
    const seed = numberFlag(args, "seed");
    const quiet = Boolean(args.quiet || args.json);
    const template = args["chat-template"] === undefined ? undefined : await resolveChatTemplate(String(args["chat-template"]));
    const model = await openModelFromArgs(String(args.model), args, quiet);
    try {
      const options = {
        stop,
        ...(maxTokens === undefined ? {} : { maxTokens }),
        ...(seed === undefined ? {} : { seed }),
        ...(args.json ? {} : { onToken: (t: string) => process.stdout.write(t) }),
      };
      // With a template the prompt is one user turn of a conversation.
      const result = template === undefined
        ? await generate(model, prompt, sampling, options)
        : await new ChatSession(model, sampling, { template: template.source, templateOrigin: template.origin }).send(prompt, options);
      if (args.json) {
        process.stdout.write(JSON.stringify({ model: model.path, preset, sampling, stop, ...result }, null, 2) + "\n");
      } else {
        process.stdout.write("\n");
        if (!args.quiet) {
          process.stderr.write(
            `${result.tokens} tokens (prompt ${result.promptTokens}) · ${result.tokensPerSecond.toFixed(1)} tokens/s · stop: ${result.stopReason} · preset ${preset} · seed ${result.seed} · ${model.device}\n`,
          );
        }
      }
    } finally {
      await model.dispose();
    }
  },
});

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}
