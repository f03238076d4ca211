// `dusk convert HF_DIR -o model.gguf --type f16`: HF Llama-family checkpoint → GGUF, streamed.

import { defineCommand } from "citty";
import { openModelRef } from "./model-ref.js";
import { convertCheckpoint } from "../convert/convert-checkpoint.js";
import { CONVERT_TYPES, parseConvertType } from "../convert/gguf-hparams.js";
import { RecipeError } from "../errors.js";
import { interruptible } from "./interrupt.js";
import { makeProgress, staleLine } from "./progress.js";

export const convertCommand = defineCommand({
  meta: { name: "convert", description: "Convert an HF Llama/Mistral/Qwen2 checkpoint to GGUF (as llama.cpp's converter does), streamed" },
  args: {
    model: { type: "positional", description: "HF model directory", required: true },
    output: { type: "string", alias: "o", description: "output .gguf file", required: true, valueHint: "file.gguf" },
    type: { type: "string", description: `tensor type: ${CONVERT_TYPES.join(", ")} (1-D tensors stay f32)`, default: "f16", valueHint: "type" },
    name: { type: "string", description: "general.name (default: the directory name)" },
    pre: { type: "string", description: "override the BPE pre-tokenizer name (byte-level BPE tokenizers)" },
    threads: { type: "string", description: "threads quantizing a mix's block types such as q4_k_m (default: one per core)", valueHint: "n" },
    force: { type: "boolean", description: "replace an existing output" },
    quiet: { type: "boolean", description: "no progress output" },
    json: { type: "boolean", description: "print a JSON summary" },
  },
  async run({ args }) {
    const type = parseConvertType(args.type);
    const threads = args.threads === undefined ? undefined : Number(args.threads);
    if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
      throw new RecipeError("convert.threads", `--threads must be a positive integer, got ${JSON.stringify(args.threads)}`, { path: "--threads", hint: "e.g. --threads 4" });
    }
    const c = await openModelRef(args.model);
    const interrupt = interruptible();
    const progress = makeProgress({ quiet: args.quiet || args.json });
    try {
      for await (const e of convertCheckpoint(c, {
        output: args.output, type, force: args.force, signal: interrupt.signal, ...(threads ? { threads } : {}),
        ...(args.name ? { name: args.name } : {}), ...(args.pre ? { pre: args.pre } : {}),
      })) {
        if (e.type === "stale") {
          if (!args.quiet) process.stderr.write(staleLine(e.note));
        } else if (e.type === "start") progress.start("convert", e.totalBytes, "bytes");
        else if (e.type === "progress") progress.update(e.bytes, e.tensor);
        else if (e.type === "done") {
          progress.stop();
          if (args.json) process.stdout.write(JSON.stringify({ output: e.output, type, bytes: e.bytes, seconds: e.seconds }, null, 2) + "\n");
          else process.stdout.write(`wrote ${e.output} (${type.replace(/^mix:/, "").toLowerCase()}) in ${e.seconds.toFixed(1)} s\n`);
        }
      }
    } finally {
      progress.stop();
      interrupt.release();
      await c.close();
    }
  },
});
