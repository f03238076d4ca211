// `dusk imatrix MODEL --text FILE -o imatrix.gguf`: an importance matrix for `dusk quantize
// --imatrix` (and llama-quantize), computed on the TypeScript engine as llama-imatrix computes it
// (llama.cpp is not used: node-llama-cpp exposes no evaluation callback). Writes llama-imatrix's
// GGUF format, durably.

import { readFile } from "node:fs/promises";
import { defineCommand } from "citty";
import { computeImatrix } from "../analyze/imatrix-compute.js";
import { openTextTokenizer } from "../analyze/text-tokenizer.js";
import { writeFileDurably } from "../build/durable-write.js";
import { checkpointWeights } from "../engine/checkpoint-weights.js";
import { MemorySink } from "../formats/byte-source.js";
import { ggufGetBool } from "../formats/gguf-value.js";
import { writeImatrixGguf } from "../quant/imatrix-file.js";
import { QuantError } from "../quant/quant-error.js";
import { positiveInt } from "./eval.js";
import { interruptible } from "./interrupt.js";
import { openModelRef } from "./model-ref.js";
import { makeProgress, staleLine } from "./progress.js";

export const imatrixCommand = defineCommand({
  meta: { name: "imatrix", description: "Compute an importance matrix (llama-imatrix's GGUF format) on the TS engine, for dusk quantize --imatrix" },
  args: {
    model: { type: "positional", description: "a .gguf (any type the engine reads) or an HF directory", required: true },
    text: { type: "string", description: "calibration text (UTF-8 file)", required: true, valueHint: "file" },
    output: { type: "string", alias: "o", description: "output imatrix .gguf", required: true, valueHint: "file" },
    ctx: { type: "string", description: "tokens per chunk (default 512, as llama-imatrix -c)", valueHint: "n" },
    chunks: { type: "string", description: "at most this many chunks (default: all of the text)", valueHint: "n" },
    force: { type: "boolean", description: "replace an existing output" },
    quiet: { type: "boolean", description: "no progress output" },
    json: { type: "boolean", description: "print a JSON summary" },
  },
  async run({ args }) {
    const ctx = positiveInt(args.ctx, "--ctx") ?? 512;
    const chunks = positiveInt(args.chunks, "--chunks");
    let text: string;
    try {
      text = await readFile(args.text, "utf8");
    } catch (e) {
      throw new QuantError("QUANT_IMATRIX_TEXT", `cannot read the text ${args.text}: ${(e as Error).message}`, { cause: e });
    }
    const c = await openModelRef(args.model, { quiet: args.quiet || args.json });
    const interrupt = interruptible();
    const progress = makeProgress({ quiet: args.quiet || args.json });
    const tok = await openTextTokenizer(c);
    try {
      const t0 = performance.now();
      // as common_tokenize(…, add_special = true): BOS first when the vocabulary adds one
      const addBos = tok.bos !== undefined && (c.gguf ? ggufGetBool(c.gguf.kv, "tokenizer.ggml.add_bos_token", c.path) ?? true : true);
      const tokens = [...(addBos ? [tok.bos!] : []), ...tok.encode(text)];
      const gen = computeImatrix(checkpointWeights(c), tokens, addBos ? tok.bos : undefined, { ctx, dataset: args.text, signal: interrupt.signal, ...(chunks ? { chunks } : {}) });
      let r = await gen.next();
      while (!r.done) {
        if (r.value.type === "start") progress.start("imatrix", r.value.chunks);
        else progress.update(r.value.done, `chunk ${r.value.done}/${r.value.chunks}`);
        r = await gen.next();
      }
      progress.stop();
      const sink = new MemorySink();
      await writeImatrixGguf(sink, r.value);
      for (const note of await writeFileDurably(args.output, sink.bytes(), { inputs: [c.path, ...c.files], force: args.force ?? false, purpose: "dusk imatrix" })) {
        if (!args.quiet) process.stderr.write(staleLine(note));
      }
      const seconds = (performance.now() - t0) / 1000;
      const summary = { output: args.output, entries: r.value.entries.size, chunks: r.value.chunkCount, ctx, tokens: r.value.chunkCount * ctx, seconds };
      if (args.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
      else if (!args.quiet) process.stdout.write(`wrote ${args.output}: ${summary.entries} tensors from ${summary.chunks} chunks of ${ctx} tokens in ${seconds.toFixed(1)} s\n`);
    } finally {
      progress.stop();
      interrupt.release();
      await tok.close();
      await c.close();
    }
  },
});
