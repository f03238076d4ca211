// `dusk ppl MODEL --text FILE --ctx 512 --stride 256`: token-level perplexity with a sliding window
// on llama.cpp (default) or the TS engine. Not here: the windowing (src/eval/perplexity.ts).

import { readFile } from "node:fs/promises";
import { defineCommand } from "citty";
import { EvalError } from "../errors.js";
import { perplexity, type PerplexityResult } from "../eval/perplexity.js";
import { openScorer, positiveInt, scorerArgs } from "./eval.js";
import { makeProgress } from "./progress.js";

export const pplCommand = defineCommand({
  meta: { name: "ppl", description: "Perplexity of a text file with a sliding window (llama.cpp or the TS engine)" },
  args: {
    models: { type: "positional", description: "MODEL: a .gguf or an HF directory, a mergekit recipe (.yml, run virtually with --backend engine), or sources with --preset and --backend engine", required: false },
    text: { type: "string", description: "UTF-8 text file to score", required: true },
    stride: { type: "string", description: "tokens each window advances (default ctx/2)" },
    ...scorerArgs,
    json: { type: "boolean", description: "print JSON" },
    quiet: { type: "boolean", description: "no progress output" },
  },
  async run({ args }) {
    if (args.backend === "openai") throw new EvalError("EVAL_PPL_BACKEND", "perplexity needs token-level windows, which the openai backend does not offer", { hint: "use --backend llamacpp or --backend engine" });
    const text = await readFile(args.text, "utf8");
    const ctx = positiveInt(args.ctx, "--ctx") ?? 512;
    const stride = positiveInt(args.stride, "--stride") ?? Math.max(1, Math.floor(ctx / 2));
    const { scorer, close } = await openScorer((args._ ?? []).map(String), { ...args, ctx: String(ctx) });
    if ("device" in scorer && !args.quiet && !args.json) process.stderr.write(`llama.cpp on ${String(scorer.device)}\n`);
    const progress = makeProgress({ quiet: args.quiet || args.json });
    let result: PerplexityResult;
    try {
      if (!scorer.tokenize || !scorer.scoreWindow || scorer.maxWindow === undefined) throw new EvalError("EVAL_PPL_BACKEND", `backend ${scorer.name} cannot score token windows`, { hint: "use --backend llamacpp or engine" });
      const gen = perplexity(scorer as Required<typeof scorer>, text, { ctx, stride });
      for (;;) {
        const n = await gen.next();
        if (n.done) {
          result = n.value;
          break;
        }
        if (n.value.done === 0) progress.start("ppl", n.value.total);
        progress.update(n.value.done);
      }
    } finally {
      progress.stop();
      await close();
    }
    if (args.json) return void process.stdout.write(JSON.stringify({ ...result, backend: scorer.name, text: args.text }, null, 2) + "\n");
    process.stdout.write(`ppl ${result.ppl.toFixed(4)}  nll ${result.nll.toFixed(5)}  tokens ${result.tokens}  windows ${result.windows} (ctx ${ctx}, stride ${stride}, ${scorer.name})\n`);
  },
});
