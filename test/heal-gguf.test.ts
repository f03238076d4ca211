// dusk heal of a GGUF: F16 weights are healed into an HF checkpoint whose tokenizer files are the
// original model's again and whose frozen tensors are the GGUF's values unchanged; a quantized
// GGUF is refused before anything is written.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromFloat32, toFloat32 } from "../src/formats/dtype-convert.js";
import { tensorType } from "../src/formats/tensor-types.js";
import { exists, leftoverTemps, readTensorBytes, runCli, tempDirs } from "./helpers/cli.js";
import { toGguf } from "./helpers/models.js";
import { trainedTinyModel } from "./helpers/trained.js";

const dirs = tempDirs("dusk-heal-gguf-");
let base: Awaited<ReturnType<typeof trainedTinyModel>>;
let root: string;

beforeAll(async () => {
  base = await trainedTinyModel();
  root = await dirs.make();
});
afterAll(() => dirs.cleanup());

describe("dusk heal of a GGUF", () => {
  it("F16: an HF checkpoint with the original tokenizer, frozen tensors unchanged", async () => {
    const gguf = await toGguf(base.dir, "f16", join(root, "base-f16.gguf"));
    const out = join(root, "healed");
    const r = await runCli(["heal", gguf, "--text", base.textFile, "--train", "0", "--steps", "3", "--seq-len", "32", "--workers", "0", "--quiet", "--json", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(out, "tokenizer.json"), "utf8")).toBe(await readFile(join(base.dir, "tokenizer.json"), "utf8"));
    expect(Buffer.from(await readFile(join(out, "tokenizer.model"))).equals(await readFile(join(base.dir, "tokenizer.model")))).toBe(true);
    const config = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
    expect(config).toMatchObject({ architectures: ["LlamaForCausalLM"], num_hidden_layers: 4, vocab_size: 400, torch_dtype: "float16" });
    const healed = await readTensorBytes(out);
    const original = await readTensorBytes(base.dir);
    const [f32, f16] = [tensorType("F32")!, tensorType("F16")!];
    for (const [name, bytes] of original) {
      if (name.startsWith("model.layers.0.")) continue; // trained
      // the GGUF holds the F16 rounding of each weight matrix; norms stay F32 (llama.cpp's converter)
      const want = name.endsWith("norm.weight") ? bytes : fromFloat32(toFloat32(bytes, f32), f16);
      expect(Buffer.from(healed.get(name)!).equals(Buffer.from(want)), name).toBe(true);
    }
    expect(Buffer.from(healed.get("model.layers.0.self_attn.q_proj.weight")!).equals(Buffer.from(fromFloat32(toFloat32(original.get("model.layers.0.self_attn.q_proj.weight")!, f32), f16)))).toBe(false);
  });

  it("a quantized GGUF is refused, nothing written", async () => {
    const gguf = await toGguf(base.dir, "q8_0", join(root, "base-q8.gguf"));
    const out = join(root, "q8");
    const r = await runCli(["heal", gguf, "--text", base.textFile, "--steps", "2", "--workers", "0", "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is Q8_0; a GGUF is healed only when its weights are F32, F16 or BF16/);
    expect(r.stderr).toMatch(/hint: /);
    expect(await exists(out)).toBe(false);
    expect(await leftoverTemps(out)).toEqual([]);
  });
});
