// Every newer family through the pipeline on its tiny checkpoint: inspect, build (DUS, iDUS-1,
// LLaMA-Pro) → verify → convert → llama.cpp runs the result; and the GGUF path (a Q8_0 conversion
// restacked without dequantizing → verify → llama.cpp). Per-layer config rewritten with the stack.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { phi3TokenizerFiles } from "../src/fixtures/family-tokenizers.js";
import { writeTinyFamilyModel, type TinyFamilyName } from "../src/fixtures/tiny-family.js";
import { FileSource } from "../src/formats/byte-source.js";
import { parseGguf } from "../src/formats/gguf.js";
import { ggufPlain } from "../src/formats/gguf-value.js";
import { runCli, tempDirs } from "./helpers/cli.js";
import { llamaLogprobs } from "./helpers/llama-logprobs.js";
import { tinyTokenizerFiles, tinyTokenizer } from "./helpers/models.js";

const FAMILIES: TinyFamilyName[] = ["qwen3", "gemma", "gemma2", "gemma3", "gemma3-multimodal", "phi3", "phi3-longrope", "phi4-mini"];
const RECIPES: [string, string[]][] = [
  ["dus", ["--preset", "dus", "--drop", "2"]],
  ["idus1", ["--preset", "idus", "--group", "1", "--drop", "2"]],
  ["llamapro", ["--preset", "expand", "--blocks", "2"]],
];
/** token ids of a short text in the tiny tokenizer (every family's fixture uses it) */
const TOKENS = [1, ...Array.from({ length: 15 }, (_, i) => 40 + ((i * 37) % 400))];

const dirs = tempDirs("dusk-families-");
let root: string;
beforeAll(async () => {
  root = await dirs.make();
  const phi3 = phi3TokenizerFiles(tinyTokenizer());
  for (const family of FAMILIES) {
    // Phi-3's fixtures carry its added tokens (llama.cpp needs <|endoftext|> in a model named phi3)
    const tok = family.startsWith("phi3") ? { vocabSize: phi3.vocabSize, tokenizerFiles: phi3.files, specialTokenIds: phi3.specialTokenIds } : { vocabSize: tinyTokenizer().pieces.length, tokenizerFiles: tinyTokenizerFiles() };
    await writeTinyFamilyModel(join(root, family), { family, layers: 6, ...tok, seed: 7, std: 0.1 });
  }
});
afterAll(() => dirs.cleanup());

async function ok(argv: string[]) {
  const r = await runCli(argv);
  expect(r.code, `dusk ${argv.join(" ")}\n${r.stderr}`).toBe(0);
  return r;
}

/** llama.cpp loads the file and gives finite log-probabilities for every next token. */
async function llamaRuns(gguf: string): Promise<void> {
  const { next } = await llamaLogprobs(gguf, TOKENS);
  expect(next).toHaveLength(TOKENS.length - 1);
  expect(next.every((x) => Number.isFinite(x) && x <= 0), `${gguf}: ${next.slice(0, 4).join(", ")}`).toBe(true);
}

async function ggufKeys(path: string): Promise<Map<string, unknown>> {
  const s = await FileSource.open(path);
  try {
    const g = await parseGguf(s);
    return new Map([...g.kv].map(([k, v]) => [k, ggufPlain(v)]));
  } finally {
    await s.close();
  }
}

describe.each(FAMILIES.map((f) => [f]))("%s", (family) => {
  test("inspect, then build DUS / iDUS-1 / LLaMA-Pro → verify → convert → llama.cpp runs", async () => {
    const model = join(root, family);
    const info = JSON.parse((await ok(["inspect", model, "--json"])).stdout) as { family: string; layers: number };
    expect(info.layers).toBe(6);
    const work = await dirs.make();
    for (const [name, flags] of RECIPES) {
      const out = join(work, name);
      await ok(["build", ...flags, model, "-o", out, "--quiet"]);
      const verify = JSON.parse((await ok(["verify", out, "--json", "--quiet"])).stdout) as { mismatches: unknown[] };
      expect(verify.mismatches, name).toEqual([]);
      const gguf = join(work, `${name}.gguf`);
      await ok(["convert", out, "-o", gguf, "--type", "f32", "--quiet"]);
      await llamaRuns(gguf);
    }
  });

  test("GGUF: a Q8_0 conversion restacked (iDUS-1) without dequantizing → verify → llama.cpp runs", async () => {
    const work = await dirs.make();
    const base = join(work, "base-q8_0.gguf");
    await ok(["convert", join(root, family), "-o", base, "--type", "q8_0", "--quiet"]);
    const out = join(work, "idus1.gguf");
    await ok(["build", "--preset", "idus", "--group", "1", "--drop", "2", base, "-o", out, "--quiet"]);
    const verify = JSON.parse((await ok(["verify", out, "--json", "--quiet"])).stdout) as { mismatches: unknown[] };
    expect(verify.mismatches).toEqual([]);
    const c = await openCheckpoint(out);
    try {
      expect(c.numLayers).toBe(8);
      expect([...c.tensors.values()].some((t) => t.type.name === "Q8_0")).toBe(true);
    } finally {
      await c.close();
    }
    await llamaRuns(out);
  });
});

describe("per-layer config rewritten with the stack", () => {
  const S = "sliding_attention";
  const F = "full_attention";

  test("Gemma 2: explicit layer_types from the source layers; iDUS-1 breaks the GGUF position rule and plan says so", async () => {
    const plan = JSON.parse((await ok(["plan", "--preset", "idus", "--group", "1", "--drop", "2", join(root, "gemma2"), "--json"])).stdout);
    // layout 0,2,1,3,2,4,3,5: even source layers slide
    expect(plan.config.layer_types).toEqual([S, S, F, F, S, S, F, F]);
    expect(plan.attention.gguf).toEqual([S, F, S, F, S, F, S, F]);
    expect(plan.warnings.map((w: { code: string }) => w.code)).toContain("position-rule");
    const text = (await ok(["plan", "--preset", "idus", "--group", "1", "--drop", "2", join(root, "gemma2")])).stdout;
    expect(text).toMatch(/✗ position rule/);
    expect(text).toMatch(/nearest layout that keeps every layer's kind: idus --drop \d+ --group 2/);
    // DUS with an even drop keeps every kind
    const dus = JSON.parse((await ok(["plan", "--preset", "dus", "--drop", "2", join(root, "gemma2"), "--json"])).stdout);
    expect(dus.warnings ?? []).toEqual([]);
    expect(dus.attention.gguf).toEqual(dus.attention.trained);
  });

  test("Gemma 3 multimodal: text_config rewritten, vision tower and projector carried unchanged", async () => {
    const work = await dirs.make();
    const out = join(work, "dus");
    await ok(["build", "--preset", "dus", "--drop", "2", join(root, "gemma3-multimodal"), "-o", out, "--quiet"]);
    const config = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
    // source kinds S S S S S F; DUS 0..3 + 2..5 → S S S S S S S F
    expect(config.text_config.num_hidden_layers).toBe(8);
    expect(config.text_config.layer_types).toEqual([S, S, S, S, S, S, S, F]);
    expect(config.text_config.sliding_window_pattern).toBe(8);
    expect(config.vision_config.num_hidden_layers).toBe(2);
    const [src, built] = [await openCheckpoint(join(root, "gemma3-multimodal")), await openCheckpoint(out)];
    try {
      const vision = [...src.tensors.keys()].filter((n) => n.startsWith("vision_tower.") || n.startsWith("multi_modal_projector."));
      expect(vision.length).toBeGreaterThan(20);
      for (const n of vision) {
        const [a, b] = [src.tensors.get(n)!, built.tensors.get(n)!];
        expect(Buffer.from(await b.source.read(b.offset, b.byteLength)).equals(Buffer.from(await a.source.read(a.offset, a.byteLength))), n).toBe(true);
      }
    } finally {
      await Promise.all([src.close(), built.close()]);
    }
    // the kinds follow llama.cpp's rule at period 8, so the GGUF says so and keeps them
    const gguf = join(work, "dus.gguf");
    await ok(["convert", out, "-o", gguf, "--type", "f32", "--quiet"]);
    expect((await ggufKeys(gguf)).get("gemma3.attention.sliding_window_pattern")).toBe(8);
  });

  test("Qwen3: max_window_layers follows the stack", async () => {
    const plan = JSON.parse((await ok(["plan", "--preset", "dus", "--drop", "2", join(root, "qwen3"), "--json"])).stdout);
    expect(plan.config.num_hidden_layers).toBe(8);
    expect(plan.config.max_window_layers).toBe(8);
    expect(plan.config.layer_types).toBeUndefined();
  });
});
