// `dusk serve MODEL [--parallel N] [--api-key KEY] [--gpu auto]`: an OpenAI-compatible server over
// llama.cpp (src/server/) until SIGINT/SIGTERM, then a graceful shutdown (exit 0). It
// listens at once (/health says "loading") and binds loopback unless told otherwise.

import { basename } from "node:path";
import { defineCommand } from "citty";
import { RuntimeError } from "../errors.js";
import { BUILTIN_CHAT_TEMPLATES, listPresets, openModel, resolveChatTemplate } from "../runtime/index.js";
import { checkBind } from "../server/auth.js";
import { startServer } from "../server/index.js";
import { gpuArgs, gpuFromArgs } from "./gpu-args.js";
import { numberFlag } from "./run.js";

const DEFAULTS = { port: 8000, parallel: 1, queueLimit: 64, timeout: 600, grace: 10, maxBody: 8 << 20 } as const;

export const serveCommand = defineCommand({
  meta: { name: "serve", description: "Serve a model over an OpenAI-compatible HTTP API (completions with echo logprobs, chat, streaming, parallel sequences)" },
  args: {
    model: { type: "positional", description: "a .gguf file, an HF model directory, or a Hub id org/name[@rev]", required: true },
    port: { type: "string", description: `TCP port (default ${DEFAULTS.port}; 0 = any free port)` },
    host: { type: "string", description: "address to bind (default 127.0.0.1; another address needs --api-key or --insecure)" },
    name: { type: "string", description: "model name in the API (default: the file name)" },
    parallel: { type: "string", description: `requests generated at once, one KV-cache sequence each (default ${DEFAULTS.parallel}; each holds a full --ctx)`, valueHint: "n" },
    "queue-limit": { type: "string", description: `requests that may wait for a sequence; more get 429 (default ${DEFAULTS.queueLimit})`, valueHint: "n" },
    "api-key": { type: "string", description: "clients must send Authorization: Bearer KEY (default $DUSK_API_KEY; none: loopback only)" },
    insecure: { type: "boolean", description: "allow a non-loopback --host without an API key" },
    preset: { type: "string", description: "sampling preset for requests that name none (default: OpenAI's defaults); requests may send \"preset\"" },
    "chat-template": { type: "string", alias: "template", description: `chat template instead of the model's: a built-in name (${Object.keys(BUILTIN_CHAT_TEMPLATES).join(", ")}) or a Jinja file`, valueHint: "name|file" },
    ctx: { type: "string", description: "context size per sequence in tokens (default: the model's, at most 4096)" },
    threads: { type: "string", description: "CPU threads (default: llama.cpp's choice)" },
    timeout: { type: "string", description: `seconds a request may take, waiting included (default ${DEFAULTS.timeout})`, valueHint: "s" },
    "max-body": { type: "string", description: `largest request body in bytes (default ${DEFAULTS.maxBody})`, valueHint: "bytes" },
    grace: { type: "string", description: `on SIGTERM/SIGINT, seconds in-flight requests may finish before they are cancelled (default ${DEFAULTS.grace})`, valueHint: "s" },
    "flash-attention": { type: "boolean", description: "llama.cpp's flash attention (faster on GPUs; off, an output depends less on what else is batched)" },
    "kv-cache": { type: "string", description: "KV-cache precision: f16 (default) or f32 (twice the memory; batched outputs then match lone ones to ~1e-8)", valueHint: "f16|f32" },
    quiet: { type: "boolean", description: "print only errors" },
    ...gpuArgs,
  },
  async run({ args }) {
    const int = (flag: string, min: number, max: number, fallback: number): number => {
      const v = numberFlag(args, flag) ?? fallback;
      if (!Number.isInteger(v) || v < min || v > max) throw new RuntimeError("runtime.flag", `--${flag} is ${v}, expected an integer in [${min}, ${max}]`, { hint: `e.g. --${flag} ${fallback}` });
      return v;
    };
    const port = int("port", 0, 65535, DEFAULTS.port);
    const parallel = int("parallel", 1, 256, DEFAULTS.parallel);
    const queueLimit = int("queue-limit", 0, 1_000_000, DEFAULTS.queueLimit);
    const timeout = int("timeout", 1, 86_400, DEFAULTS.timeout);
    const grace = int("grace", 0, 3600, DEFAULTS.grace);
    const maxBody = int("max-body", 1024, 1 << 30, DEFAULTS.maxBody);
    const kvCache = args["kv-cache"] ?? "f16";
    if (kvCache !== "f16" && kvCache !== "f32") throw new RuntimeError("runtime.flag", `--kv-cache is ${JSON.stringify(kvCache)}, expected f16 or f32`, { hint: "--kv-cache f32 doubles the KV cache's memory" });
    const ctx = numberFlag(args, "ctx");
    const threads = numberFlag(args, "threads");
    const apiKey = args["api-key"] ?? (process.env.DUSK_API_KEY || undefined);
    const template = args["chat-template"] === undefined ? undefined : await resolveChatTemplate(String(args["chat-template"]));
    const host = args.host ?? "127.0.0.1";
    // Everything that can be refused is checked before the model starts loading.
    checkBind(host, apiKey, Boolean(args.insecure));
    const presets = await listPresets();
    if (args.preset !== undefined && !presets.some((p) => p.name === args.preset)) {
      throw new RuntimeError("runtime.preset", `unknown preset "${args.preset}"`, { hint: `presets are ${presets.map((p) => p.name).join(", ")}; see dusk presets` });
    }
    const say = (line: string) => void (args.quiet ? undefined : process.stderr.write(line + "\n"));
    const ref = String(args.model);
    // From here on SIGINT/SIGTERM stop the server gracefully, during loading too.
    let onSignal: (name: string) => void = () => undefined;
    const stopped = new Promise<string>((resolve) => (onSignal = resolve));
    const handlers = { SIGINT: () => onSignal("SIGINT"), SIGTERM: () => onSignal("SIGTERM") };
    process.once("SIGINT", handlers.SIGINT).once("SIGTERM", handlers.SIGTERM);
    const loading = openModel(ref, {
      ...gpuFromArgs(args),
      sequences: parallel,
      flashAttention: Boolean(args["flash-attention"]),
      kvCache,
      ...(ctx === undefined ? {} : { contextSize: ctx }),
      ...(threads === undefined ? {} : { threads }),
    });
    loading.catch(() => undefined); // awaited below; startServer may fail first
    try {
      const server = await startServer(loading, {
        modelName: args.name ?? basename(ref).replace(/\.gguf$/i, ""),
        host,
        port,
        queueLimit,
        requestTimeoutMs: timeout * 1000,
        maxBodyBytes: maxBody,
        insecure: Boolean(args.insecure),
        presets,
        ...(apiKey === undefined ? {} : { apiKey }),
        ...(args.preset === undefined ? {} : { defaultPreset: args.preset }),
        ...(template === undefined ? {} : { chatTemplate: template.source, chatTemplateOrigin: template.origin }),
      });
      say(`listening at ${server.url}/v1 (loading ${ref}…)`);
      const first = await Promise.race([server.ready.then(() => undefined), stopped]).catch(async (e: unknown) => {
        await server.close(0);
        throw e;
      });
      if (first === undefined) {
        const model = await loading;
        say(`ready: ${model.path} on ${model.device}; ${parallel} parallel sequence(s) of ${model.contextSize} tokens; ${apiKey === undefined ? "no API key" : "API key required"} (Ctrl-C to stop)`);
      }
      const signal = await stopped;
      say(`${signal}: finishing in-flight requests (up to ${grace} s)…`);
      await server.close(grace * 1000);
      say("stopped");
    } finally {
      process.off("SIGINT", handlers.SIGINT).off("SIGTERM", handlers.SIGTERM);
      await loading.then((m) => m.dispose(), () => undefined);
    }
  },
});
