// `dusk train --config tiny.yml --text corpus.txt -o dir`: a Llama-family model from scratch, with a
// SentencePiece-style BPE tokenizer trained on the text first; resumable like `dusk heal`.

import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { checkOutput, parseScratchConfig, prepareScratch, readSavedState, TrainError } from "../index.js";
import { intFlag, readTexts, repeated, runArgs, runWithProgress, shellQuote } from "./train-common.js";

const TOKENIZER_FILES = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"];

export const trainCommand = defineCommand({
  meta: { name: "train", description: "Train a small Llama-family model from scratch on a text (a BPE tokenizer is trained on the text first)" },
  args: {
    config: { type: "string", description: "YAML: hidden_size, intermediate_size, num_layers, num_heads, num_kv_heads, vocab_size, seq_len, batch, steps or tokens, lr, seed, …", required: true, valueHint: "file" },
    ...runArgs,
  },
  async run({ args, rawArgs }) {
    const out = args.output;
    let textPaths = repeated(rawArgs, "text");
    let heldOutPaths = repeated(rawArgs, "held-out-text");
    const configText = await readFile(args.config, "utf8").catch((e: NodeJS.ErrnoException) => {
      throw new TrainError("TRAIN_BAD_CONFIG", `${args.config}: ${e.code === "ENOENT" ? "no such file" : e.message}`, { hint: "give the YAML model and training config with --config" });
    });
    const config = parseScratchConfig(configText, args.config);
    let tokenizerFiles: Map<string, Uint8Array> | undefined;
    // the model card's "Reproduce" line: the command that started the run, also when resumed
    let command = ["dusk", "train", ...rawArgs.map(shellQuote)].join(" ");
    if (args.resume) {
      // the resumed run reads back its tokenizer (training it again would take as long as the first time)
      await checkOutput({ dir: out, inputs: [], resume: true });
      const meta = ((await readSavedState(out)).state.meta ?? {}) as { texts?: string[]; heldOutTexts?: string[]; command?: string };
      command = meta.command ?? command;
      if (textPaths.length === 0) textPaths = meta.texts ?? [];
      if (heldOutPaths.length === 0) heldOutPaths = meta.heldOutTexts ?? [];
      tokenizerFiles = new Map();
      for (const f of TOKENIZER_FILES) tokenizerFiles.set(f, new Uint8Array(await readFile(join(out, f))));
    } else await checkOutput({ dir: out, inputs: [], force: Boolean(args.force) });
    if (textPaths.length === 0) throw new TrainError("TRAIN_NO_TEXT", "dusk train needs the text to train on", { hint: "pass --text FILE (repeat for several files)" });
    if (!tokenizerFiles && !args.quiet && !args.json) process.stderr.write(`training a ${config.model.vocabSize}-piece BPE tokenizer on the text, then tokenizing it…\n`);
    const run = await prepareScratch({
      config, configFile: args.config, texts: await readTexts(textPaths), heldOutTexts: await readTexts(heldOutPaths),
      ...(tokenizerFiles ? { tokenizerFiles } : {}),
      ...(args.workers !== undefined ? { workers: intFlag(args.workers, "--workers", 0)! } : {}),
      output: { dir: out, inputs: [args.config, ...textPaths, ...heldOutPaths], force: Boolean(args.force), resume: Boolean(args.resume), purpose: "dusk train", command },
      meta: { kind: "train", command, config: resolve(args.config), texts: textPaths.map((p) => resolve(p)), heldOutTexts: heldOutPaths.map((p) => resolve(p)) },
    });
    await runWithProgress(run, { quiet: args.quiet, json: args.json, verb: "trained", ...(args["stop-at"] ? { stopAt: args["stop-at"] } : {}) });
  },
});
