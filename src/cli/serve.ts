// `dusk serve MODEL [--port 8000] [--host 127.0.0.1]`: an OpenAI-compatible server over llama.cpp
// (src/runtime/server.ts) until Ctrl-C. Binds loopback unless told otherwise.

import { basename } from "node:path";
import { defineCommand } from "citty";
import { EvalError } from "../errors.js";
import { LlamaScorer } from "../runtime/score.js";
import { startServer } from "../runtime/server.js";
import { positiveInt } from "./eval.js";

export const serveCommand = defineCommand({
  meta: { name: "serve", description: "Serve a GGUF model over an OpenAI-compatible HTTP API (completions with echo logprobs, chat)" },
  args: {
    model: { type: "positional", description: "the .gguf model", required: true },
    port: { type: "string", description: "TCP port (default 8000; 0 = any free port)" },
    host: { type: "string", description: "address to bind (default 127.0.0.1; 0.0.0.0 exposes it to the network)" },
    ctx: { type: "string", description: "context window in tokens (default min(model, 2048))" },
    name: { type: "string", description: "model name in the API (default: the file name)" },
  },
  async run({ args }) {
    const port = args.port === undefined ? 8000 : Number(args.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EvalError("EVAL_BAD_ARG", `--port must be an integer in [0, 65535], got ${JSON.stringify(args.port)}`, { hint: "e.g. --port 8000" });
    const ctx = positiveInt(args.ctx, "--ctx");
    const scorer = await LlamaScorer.open(args.model, ctx ? { contextSize: ctx } : {});
    const server = await startServer(scorer, { modelName: args.name ?? basename(args.model), port, host: args.host ?? "127.0.0.1" });
    process.stderr.write(`serving ${args.model} at ${server.url}/v1 (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await server.close();
    await scorer.close();
  },
});
