// `dusk inspect PATH`: what a checkpoint is — family, layers, dims, dtypes, tensors, size.

import { defineCommand } from "citty";
import { describeCheckpoint } from "../checkpoint/describe.js";
import { openModelRef } from "./model-ref.js";
import { fmt } from "./progress.js";

export const inspectCommand = defineCommand({
  meta: { name: "inspect", description: "Show a checkpoint's family, layers, dimensions, dtypes, tensors and size (HF directory or GGUF)" },
  args: {
    model: { type: "positional", description: "HF model directory or .gguf file", required: true },
    json: { type: "boolean", description: "print JSON" },
    tensors: { type: "boolean", description: "list every tensor" },
  },
  async run({ args }) {
    const c = await openModelRef(args.model);
    try {
      const s = describeCheckpoint(c);
      const tensors = [...c.tensors.values()].map((t) => ({ name: t.name, type: t.type.name, shape: t.shape, bytes: t.byteLength }));
      if (args.json) {
        process.stdout.write(JSON.stringify(args.tensors ? { ...s, tensors } : s, null, 2) + "\n");
        return;
      }
      const line = (k: string, v: unknown) => v !== undefined && process.stdout.write(`${k.padEnd(14)}${v}\n`);
      line("path", s.path);
      line("format", s.format + (s.gguf ? ` v${s.gguf.version} (alignment ${s.gguf.alignment})` : ""));
      line("family", `${s.family} (${s.architecture})`);
      line("layers", s.layers);
      line("hidden", s.hiddenSize);
      line("intermediate", s.intermediateSize);
      line("heads", s.heads === undefined ? undefined : `${s.heads} (kv ${s.kvHeads})`);
      line("vocab", s.vocabSize);
      line("context", s.contextLength);
      line("tied head", s.tiedEmbeddings ? "yes" : "no");
      line("dtypes", Object.entries(s.types).map(([t, n]) => `${t}×${n}`).join(", "));
      line("tensors", s.tensorCount);
      line("parameters", s.parameterCount.toLocaleString("en-US"));
      line("size", fmt(s.bytes, "bytes"));
      line("files", s.files.length);
      if (args.tensors) for (const t of tensors) process.stdout.write(`  ${t.name.padEnd(48)} ${t.type.padEnd(6)} [${t.shape.join(", ")}]\n`);
    } finally {
      await c.close();
    }
  },
});
