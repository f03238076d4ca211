// Bad input for the newer families: an unknown architecture, a mixture-of-experts checkpoint, a
// Qwen3 reranker (by class, by directory name, by README title) and a checkpoint missing one of its
// family's norms. Each is a clear error naming the file and what is wrong, and nothing is written.

import { cp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { writeTinyFamilyModel } from "../src/fixtures/tiny-family.js";
import { FileSink } from "../src/formats/byte-source.js";
import { SafetensorsWriter } from "../src/formats/safetensors-writer.js";
import { runCli, tempDirs } from "./helpers/cli.js";
import { tinyTokenizer, tinyTokenizerFiles } from "./helpers/models.js";

const dirs = tempDirs("dusk-families-bad-");
let root: string;
let qwen3: string;
let gemma2: string;
beforeAll(async () => {
  root = await dirs.make();
  qwen3 = join(root, "qwen3");
  gemma2 = join(root, "gemma2");
  const tok = { vocabSize: tinyTokenizer().pieces.length, tokenizerFiles: tinyTokenizerFiles() };
  await writeTinyFamilyModel(qwen3, { family: "qwen3", layers: 2, ...tok });
  await writeTinyFamilyModel(gemma2, { family: "gemma2", layers: 2, ...tok });
});
afterAll(() => dirs.cleanup());

const exists = (p: string) => stat(p).then(() => true, () => false);

/** A copy of `src` named `name`, with config.json edited. */
async function variant(src: string, name: string, edit: (c: Record<string, unknown>) => Record<string, unknown>): Promise<string> {
  const dir = join(root, name);
  await cp(src, dir, { recursive: true });
  const path = join(dir, "config.json");
  await writeFile(path, JSON.stringify(edit(JSON.parse(await readFile(path, "utf8")))));
  return dir;
}

/** build, convert and plan all refuse the model: non-zero exit, the message, nothing written. */
async function refused(model: string, message: RegExp): Promise<string> {
  const out = join(await dirs.make(), "out");
  const runs = [
    ["build", "--preset", "dus", model, "-o", out],
    ["convert", model, "-o", `${out}.gguf`],
    ["plan", "--preset", "idus", "--group", "1", model],
  ];
  let stderr = "";
  for (const argv of runs) {
    const r = await runCli(argv);
    expect(r.code, argv.join(" ")).not.toBe(0);
    expect(r.stderr, argv.join(" ")).toMatch(message);
    stderr = r.stderr;
  }
  expect(await exists(out)).toBe(false);
  expect(await exists(`${out}.gguf`)).toBe(false);
  return stderr;
}

describe("refused with a clear error, nothing written", () => {
  test("an unknown architecture: names config.json, what it found and the known families", async () => {
    const model = await variant(qwen3, "neox", (c) => ({ ...c, architectures: ["GPTNeoXForCausalLM"], model_type: "gpt_neox" }));
    const err = await refused(model, /neox\/config\.json.*unknown model architecture.*GPTNeoXForCausalLM/);
    expect(err).toMatch(/hint: known families: .*qwen3 .*gemma2 .*phi3/);
  });

  test("a MoE checkpoint (Qwen3-MoE): names the class and the dense sibling", async () => {
    const model = await variant(qwen3, "moe", (c) => ({ ...c, architectures: ["Qwen3MoeForCausalLM"], model_type: "qwen3_moe", num_experts: 8, num_experts_per_tok: 2 }));
    const err = await refused(model, /moe\/config\.json, architectures: a mixture-of-experts checkpoint.*Qwen3MoeForCausalLM/);
    expect(err).toMatch(/use the dense Qwen3ForCausalLM/);
  });

  test("a Mixtral-style expert count under a dense class", async () => {
    const model = await variant(qwen3, "experts", (c) => ({ ...c, num_local_experts: 8 }));
    await refused(model, /experts\/config\.json, num_local_experts: a mixture-of-experts checkpoint.*8 experts per layer/);
  });

  test("a Qwen3 reranker: by its class, by its directory's name, by its README's title", async () => {
    await refused(await variant(qwen3, "seqcls", (c) => ({ ...c, architectures: ["Qwen3ForSequenceClassification"] })), /seqcls\/config\.json, architectures: a reranker.*Qwen3ForSequenceClassification/);
    await refused(await variant(qwen3, "Qwen3-Reranker-0.6B", (c) => c), /Qwen3-Reranker-0\.6B\/config\.json.*Qwen3 reranker.*found Qwen3-Reranker-0\.6B/);
    const readme = await variant(qwen3, "downloaded", (c) => c);
    await writeFile(join(readme, "README.md"), "---\nlicense: apache-2.0\n---\n# Qwen3-Reranker-4B\n\nText ranking.\n");
    await refused(readme, /downloaded\/config\.json.*Qwen3 reranker/);
  });

  test("a Gemma 2 checkpoint missing a layer's post-feedforward norm: names the file and the tensor", async () => {
    const dir = join(root, "gemma2-no-norm");
    await cp(gemma2, dir, { recursive: true });
    const missing = "model.layers.1.post_feedforward_layernorm.weight";
    const c = await openCheckpoint(gemma2);
    try {
      const keep = [...c.tensors.values()].filter((t) => t.name !== missing);
      await rm(join(dir, "model.safetensors"));
      const sink = await FileSink.create(join(dir, "model.safetensors"));
      try {
        const w = await SafetensorsWriter.begin(sink, keep.map((t) => ({ name: t.name, type: t.type, shape: t.shape })));
        for (const t of keep) await w.write(t.name, await t.source.read(t.offset, t.byteLength));
        await w.finish();
      } finally {
        await sink.close();
      }
    } finally {
      await c.close();
    }
    await refused(dir, new RegExp(`gemma2-no-norm/model\\.safetensors, ${missing.replaceAll(".", "\\.")}: layer 1 has no post_feedforward_norm tensor, which every gemma2 checkpoint has`));
  });
});
