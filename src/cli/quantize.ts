// `dusk quantize IN.gguf -o OUT.gguf --type Q4_K_M`: llama-quantize's file types and per-tensor
// mixes, byte for byte, streamed on every core. Prints the plan (each tensor's type, the size)
// before writing; --dry-run stops there.

import { defineCommand } from "citty";
import { parseQuantFtype, QUANT_FTYPES } from "../quant/ftypes.js";
import { checkImatrixFinite, readImatrix } from "../quant/imatrix-file.js";
import { planQuantize, type QuantizeOptions } from "../quant/plan.js";
import { quantizeGguf } from "../quant/run.js";
import { renderQuantizePlan } from "../quant/view.js";
import { QuantError } from "../quant/quant-error.js";
import { interruptible } from "./interrupt.js";
import { openModelRef } from "./model-ref.js";
import { makeProgress, staleLine } from "./progress.js";


export const quantizeCommand = defineCommand({
  meta: { name: "quantize", description: "Quantize a GGUF as llama-quantize does (K-quants and their mixes, IQ4, Q8_0 …), byte for byte" },
  args: {
    model: { type: "positional", description: "input .gguf (F32/F16/BF16; quantized ones need --allow-requantize)", required: true },
    output: { type: "string", alias: "o", description: "output .gguf file", valueHint: "file.gguf" },
    type: { type: "string", description: `file type: ${QUANT_FTYPES.map((f) => f.name).join(", ")} (Q4_K = Q4_K_M)`, required: true, valueHint: "type" },
    imatrix: { type: "string", description: "importance matrix (llama.cpp's GGUF or legacy .dat format, or dusk imatrix's)", valueHint: "file" },
    "mix-by": { type: "string", description: "layer rules by `stack` position (llama.cpp) or by `source` layer (each copy in a dusk stack as its base layer)", default: "stack", valueHint: "stack|source" },
    "base-layers": { type: "string", description: "--mix-by source: the base model's layer count (default: from the recorded recipe)", valueHint: "n" },
    pure: { type: "boolean", description: "no mix: the type's tensor type everywhere (fallbacks still apply)" },
    "leave-output-tensor": { type: "boolean", description: "keep output.weight as it is" },
    "output-tensor-type": { type: "string", description: "type for output.weight", valueHint: "type" },
    "token-embedding-type": { type: "string", description: "type for token_embd.weight", valueHint: "type" },
    "allow-requantize": { type: "boolean", description: "allow quantizing tensors that are already quantized" },
    strict: { type: "boolean", description: "refuse llama.cpp's fallbacks for rows a type's blocks do not tile" },
    threads: { type: "string", description: "worker threads (default: one per core)", valueHint: "n" },
    "dry-run": { type: "boolean", description: "print the plan and the file size; write nothing" },
    table: { type: "boolean", description: "list every tensor (default; --no-table prints the totals only)", default: true },
    force: { type: "boolean", description: "replace an existing output" },
    quiet: { type: "boolean", description: "no plan listing or progress" },
    json: { type: "boolean", description: "print the plan and result as JSON" },
  },
  async run({ args }) {
    const ftype = parseQuantFtype(args.type);
    const mixBy = args["mix-by"];
    if (mixBy !== "stack" && mixBy !== "source") throw new QuantError("QUANT_MIX_BY", `--mix-by must be stack or source, got ${mixBy}`);
    if (!args["dry-run"] && !args.output) throw new QuantError("QUANT_NO_OUTPUT", "no output file", { hint: "pass -o OUT.gguf, or --dry-run to see the plan only" });
    const count = (v: string | undefined, flag: string): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new QuantError("QUANT_BAD_FLAG", `${flag} must be a positive integer, got ${v}`);
      return n;
    };
    const threads = count(args.threads, "--threads");
    const baseLayers = count(args["base-layers"], "--base-layers");
    let imatrix: QuantizeOptions["imatrix"];
    if (args.imatrix) {
      const data = await readImatrix(args.imatrix);
      checkImatrixFinite(data, args.imatrix);
      imatrix = { path: args.imatrix, data };
    }
    const c = await openModelRef(args.model);
    const interrupt = interruptible();
    const progress = makeProgress({ quiet: args.quiet || args.json });
    try {
      const plan = planQuantize(c, {
        ftype, mixBy, ...(imatrix ? { imatrix } : {}), ...(baseLayers ? { baseLayers } : {}),
        ...(args.pure ? { pure: true } : {}), ...(args["leave-output-tensor"] ? { leaveOutput: true } : {}),
        ...(args["output-tensor-type"] ? { outputType: args["output-tensor-type"] } : {}),
        ...(args["token-embedding-type"] ? { embeddingType: args["token-embedding-type"] } : {}),
        ...(args["allow-requantize"] ? { allowRequantize: true } : {}), ...(args.strict ? { strict: true } : {}),
      });
      const summary = {
        input: plan.input, type: plan.ftype, mixBy: plan.mixBy, inputBytes: plan.inputBytes, outputBytes: plan.outputBytes,
        ...(plan.mixDifferences === undefined ? {} : { mixDifferences: plan.mixDifferences }), notes: plan.notes,
        tensors: plan.tensors.map((t) => ({ name: t.name, shape: t.shape, from: t.from, type: t.type, reason: t.reason, ...(t.fallbackFrom ? { fallbackFrom: t.fallbackFrom } : {}), imatrix: t.imatrix })),
      };
      if (!args.quiet && !args.json) process.stdout.write(renderQuantizePlan(plan, { table: args.table }));
      if (args["dry-run"]) {
        if (args.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
        return;
      }
      for await (const e of quantizeGguf(c, plan, { output: args.output!, force: args.force, signal: interrupt.signal, ...(threads ? { threads } : {}) })) {
        if (e.type === "stale") {
          if (!args.quiet) process.stderr.write(staleLine(e.note));
        } else if (e.type === "start") progress.start(`quantize ${plan.ftype}`, e.totalBytes, "bytes");
        else if (e.type === "progress") progress.update(e.bytes, e.tensor);
        else if (e.type === "done") {
          progress.stop();
          if (args.json) process.stdout.write(JSON.stringify({ ...summary, output: e.output, seconds: e.seconds }, null, 2) + "\n");
          else if (!args.quiet) process.stdout.write(`wrote ${e.output} (${plan.ftype}, ${(e.bytes / 1024 / 1024).toFixed(2)} MiB) in ${e.seconds.toFixed(1)} s\n`);
        }
      }
    } finally {
      progress.stop();
      interrupt.release();
      await c.close();
    }
  },
});
