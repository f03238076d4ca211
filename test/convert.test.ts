// `dusk convert`: output types and tensor layout as llama.cpp's converter writes them, the
// metadata keys, and bad input refused with nothing written (missing or corrupt tokenizer,
// vocab mismatch, unsupported family or rope type, interrupted conversion, GGUF input).

import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { convertCheckpoint } from "../src/convert/convert-checkpoint.js";
import { ggufGet } from "../src/formats/gguf-value.js";
import { exists, leftoverTemps, runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyHf } from "./helpers/models.js";

const dirs = tempDirs("dusk-convert-");
let work: string;
let hf: string;

beforeAll(async () => {
  work = await dirs.make();
  hf = await makeTinyHf({ layers: 2, hidden: 64, heads: 4, kvHeads: 2, dtype: "BF16" }, join(await dirs.make(), "tiny"));
});
afterAll(() => dirs.cleanup());

describe("output", () => {
  test.each([
    ["f32", "F32"],
    ["f16", "F16"],
    ["bf16", "BF16"],
    ["q8_0", "Q8_0"],
    ["q4_0", "Q4_0"],
  ])("--type %s: 2-D weights are %s, norms stay F32, names and metadata as llama.cpp writes them", async (type, ggml) => {
    const out = join(work, `tiny-${type}.gguf`);
    const r = await runCli(["convert", hf, "-o", out, "--type", type, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const c = await openCheckpoint(out);
    try {
      const kv = c.gguf!.kv;
      expect([...c.tensors.keys()].slice(0, 3)).toEqual(["token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight"]);
      expect(c.tensors.get("blk.1.ffn_down.weight")!.type.name).toBe(ggml);
      expect(c.tensors.get("blk.1.ffn_norm.weight")!.type.name).toBe("F32");
      expect(c.tensors.get("output_norm.weight")!.type.name).toBe("F32");
      expect(c.tensors.get("output.weight")!.shape).toEqual([c.tensors.get("token_embd.weight")!.shape[0], 64]);
      expect(ggufGet(kv, "general.architecture")).toBe("llama");
      expect(ggufGet(kv, "llama.block_count")).toBe(2);
      expect(ggufGet(kv, "llama.embedding_length")).toBe(64);
      expect(ggufGet(kv, "llama.attention.head_count")).toBe(4);
      expect(ggufGet(kv, "llama.attention.head_count_kv")).toBe(2);
      expect(ggufGet(kv, "llama.rope.dimension_count")).toBe(16);
      expect(ggufGet(kv, "llama.rope.freq_base")).toBe(10000);
      expect(ggufGet(kv, "general.file_type")).toBe({ f32: 0, f16: 1, bf16: 32, q8_0: 7, q4_0: 2 }[type]);
      expect(ggufGet(kv, "tokenizer.ggml.model")).toBe("llama");
      expect(ggufGet(kv, "tokenizer.ggml.add_bos_token")).toBe(true);
      expect(String(ggufGet(kv, "tokenizer.chat_template"))).toContain("[INST]");
      if (type.startsWith("q")) expect(ggufGet(kv, "general.quantization_version")).toBe(2);
    } finally {
      await c.close();
    }
  });
});

describe("bad input: a clear error, and nothing left half-written", () => {
  async function variant(name: string, edit: (dir: string) => Promise<void>): Promise<string> {
    const dir = join(await dirs.make(), name);
    await makeTinyHf({ layers: 2, hidden: 32, heads: 2, kvHeads: 1 }, dir);
    await edit(dir);
    return dir;
  }
  const refuse = async (dir: string, message: RegExp) => {
    const out = join(work, `refused-${Math.random().toString(36).slice(2)}.gguf`);
    const r = await runCli(["convert", dir, "-o", out, "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^hint: /m);
    expect(await exists(out)).toBe(false);
    expect(await leftoverTemps(out)).toEqual([]);
  };

  test("missing tokenizer files", async () => {
    const dir = await variant("no-tok", async (d) => {
      for (const f of ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) await rm(join(d, f));
    });
    await refuse(dir, /tokenizer/i);
  });

  test("a corrupt tokenizer.model (and no tokenizer.json)", async () => {
    const dir = await variant("bad-tok", async (d) => {
      await rm(join(d, "tokenizer.json"));
      const b = await readFile(join(d, "tokenizer.model"));
      await writeFile(join(d, "tokenizer.model"), b.subarray(0, Math.floor(b.length / 3)));
    });
    await refuse(dir, /tokenizer\.model/);
  });

  test("config vocab_size smaller than the tokenizer", async () => {
    const dir = await variant("vocab", async (d) => {
      const cfg = JSON.parse(await readFile(join(d, "config.json"), "utf8"));
      cfg.vocab_size = 100;
      await writeFile(join(d, "config.json"), JSON.stringify(cfg));
    });
    await refuse(dir, /vocab/i);
  });

  test("an unsupported rope scaling type", async () => {
    const dir = await variant("rope", async (d) => {
      const cfg = JSON.parse(await readFile(join(d, "config.json"), "utf8"));
      cfg.rope_scaling = { type: "su", factor: 2 };
      await writeFile(join(d, "config.json"), JSON.stringify(cfg));
    });
    await refuse(dir, /rope/i);
  });

  test("an unsupported architecture", async () => {
    const dir = await variant("arch", async (d) => {
      const cfg = JSON.parse(await readFile(join(d, "config.json"), "utf8"));
      cfg.architectures = ["FalconForCausalLM"];
      cfg.model_type = "falcon";
      await writeFile(join(d, "config.json"), JSON.stringify(cfg));
    });
    await refuse(dir, /FalconForCausalLM[\s\S]*known families/);
  });

  test("a GGUF given as the input", async () => {
    const gguf = join(work, "tiny-f16.gguf");
    if (!(await exists(gguf))) expect((await runCli(["convert", hf, "-o", gguf, "--quiet"])).code).toBe(0);
    await refuse(gguf, /already GGUF/);
  });

  test("a missing model directory", async () => {
    const r = await runCli(["convert", join(work, "nope"), "-o", join(work, "x.gguf")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("nope");
  });

  test("a conversion interrupted midway leaves no output and no temporary file", async () => {
    const out = join(work, "interrupted.gguf");
    const controller = new AbortController();
    const c = await openCheckpoint(hf);
    let seen = 0;
    await expect(async () => {
      for await (const e of convertCheckpoint(c, { output: out, type: "f16", signal: controller.signal })) {
        if (e.type === "progress" && ++seen === 3) controller.abort(new Error("test"));
      }
    }).rejects.toThrow(/interrupted/);
    await c.close();
    expect(seen).toBe(3);
    expect(await exists(out)).toBe(false);
    expect(await leftoverTemps(out)).toEqual([]);
  });
});
