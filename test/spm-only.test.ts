// A Llama checkpoint that ships tokenizer.model and no tokenizer.json (as many Llama-2/Mistral
// fine-tunes do): every command that tokenizes text reads it through loadTextTokenizer, with the
// ids llama.cpp gives on the GGUF converted from it, and analyze, ppl, heal and experiment run on it
// with the same numbers as on the same model with its tokenizer.json.

import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fullCorpus } from "../src/fixtures/corpus.js";
import { writeTinyHfModel } from "../src/fixtures/tiny-model.js";
import { parseSentencePieceModel } from "../src/tokenizer/sentencepiece-model.js";
import { loadTextTokenizer } from "../src/tokenizer/load-text-tokenizer.js";
import { runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyHf, tinyTokenizer, toGguf } from "./helpers/models.js";

const dirs = tempDirs("dusk-spm-only-");
/** tokenizer.model files made by SentencePiece's trainer (test/fixtures/spm/make-spm-models.py) */
const FIXTURES = fileURLToPath(new URL("./fixtures/spm/", import.meta.url));
let full: string; // tokenizer.model + tokenizer.json
let spm: string; // the same model, tokenizer.model only
let added: string; // tokenizer.model + added_tokens.json (user-defined tokens past the pieces)
let text: string;
const OPTS = { layers: 4, hidden: 32, heads: 2, kvHeads: 1, std: 0.08, seed: 5, maxPositions: 256 };

beforeAll(async () => {
  const root = await dirs.make();
  full = await makeTinyHf(OPTS, join(root, "full"));
  spm = await makeTinyHf(OPTS, join(root, "spm"));
  await rm(join(spm, "tokenizer.json"));
  const pieces = tinyTokenizer().pieces.length;
  added = await makeTinyHf({ ...OPTS, vocabSize: pieces + 4 }, join(root, "added"));
  await rm(join(added, "tokenizer.json"));
  await writeFile(join(added, "added_tokens.json"), JSON.stringify({ "<|sep|>": pieces, "wherefore art": pieces + 1 }));
  text = join(root, "calib.txt");
  await writeFile(text, fullCorpus().slice(400_000, 401_500));
});
afterAll(() => dirs.cleanup());

const ODD = [
  "",
  " ",
  "  double  spaces and\ttabs — em dash, café, 日本語 ✓",
  "emoji 🙂👍🏽 and 漢字かな mixed with ASCII",
  "\n\nleading newlines and a trailing space ",
  " leading space",
  "ROMEO:\nWherefore art thou?\n\nJULIET:\nO Romeo, Romeo!",
  // runs of one character: equal scores at several positions, where the leftmost pair merges first
  "mmmm hmmm eeeeee oooo ssss llll .... !!!! ---- ____ \n\n\n\n     five",
];

async function llamaVocab(dir: string): Promise<LlamaModel> {
  const llama = await getLlama({ gpu: false });
  return llama.loadModel({ modelPath: await toGguf(dir), vocabOnly: true });
}

describe("loadTextTokenizer on tokenizer.model alone", () => {
  it("gives llama.cpp's ids on the converted GGUF (held-out text, CJK, emoji, whitespace)", async () => {
    const lines = fullCorpus().slice(500_000, 530_000).split("\n").filter((l) => l.trim().length > 0);
    const samples = [...lines.slice(0, 200), lines.slice(200, 260).join("\n"), ...ODD];
    const tok = await loadTextTokenizer(spm);
    expect(tok.kind).toBe("tokenizer.model");
    const model = await llamaVocab(spm);
    try {
      let tokens = 0;
      for (const s of samples) {
        const expected = [...model.tokenize(s, false)];
        expect(tok.encode(s), JSON.stringify(s)).toEqual(expected);
        tokens += expected.length;
      }
      expect(tokens).toBeGreaterThan(2000);
      expect(tok.bos).toBe(model.tokens.bos);
      expect(tok.eos).toBe(model.tokens.eos);
    } finally {
      await model.dispose();
    }
    // and the same ids as the model's tokenizer.json, where it has one
    const hf = await loadTextTokenizer(full);
    expect(hf.kind).toBe("tokenizer.json");
    for (const s of samples) expect(tok.encode(s), JSON.stringify(s)).toEqual(hf.encode(s));
  });

  it("splits user-defined tokens out first and prefixes the text after them with a space, as llama.cpp does", async () => {
    const tok = await loadTextTokenizer(added);
    const model = await llamaVocab(added);
    try {
      for (const s of ["a<|sep|>b", "<|sep|>", "x <|sep|> y<|sep|><|sep|>z", "O Romeo, wherefore art thou Romeo?", "wherefore artwherefore art", ...ODD]) {
        expect(tok.encode(s), JSON.stringify(s)).toEqual([...model.tokenize(s, false)]);
      }
    } finally {
      await model.dispose();
    }
  });

  it("tokenizer.model files from SentencePiece's own trainer (BPE and unigram, byte fallback): llama.cpp's ids", async () => {
    const root = await dirs.make();
    const samples = [...fullCorpus().slice(600_000, 615_000).split("\n").filter((l) => l.trim().length > 0).slice(0, 120), ...ODD, "act 1234, scene 56<|sep|>exeunt"];
    for (const kind of ["bpe", "unigram"]) {
      const bytes = new Uint8Array(await readFile(join(FIXTURES, `${kind}.model`)));
      const dir = join(root, kind);
      await writeTinyHfModel(dir, { ...OPTS, vocabSize: parseSentencePieceModel(bytes, kind).pieces.length, tokenizerFiles: { "tokenizer.model": bytes } });
      const tok = await loadTextTokenizer(dir);
      const model = await llamaVocab(dir);
      try {
        for (const s of samples) expect(tok.encode(s), `${kind}: ${JSON.stringify(s)}`).toEqual([...model.tokenize(s, false)]);
      } finally {
        await model.dispose();
      }
    }
  });

  it("decodes its ids back to the text", async () => {
    const tok = await loadTextTokenizer(spm);
    for (const s of ODD.slice(2)) expect(tok.decode(tok.encode(s))).toBe(s);
  });
});

describe("commands on a tokenizer.model-only checkpoint", () => {
  const W = ["--ctx", "64", "--stride", "32"];
  const json = async (argv: string[]) => {
    const r = await runCli([...argv, "--json", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, any>;
  };

  it("analyze: the same map as with tokenizer.json", async () => {
    const a = await json(["analyze", spm, "--text", text, ...W]);
    const b = await json(["analyze", full, "--text", text, ...W]);
    expect(a.tokenizer).toBe("tokenizer.model");
    expect(a.tokens).toBe(b.tokens);
    expect(a.ppl).toBe(b.ppl);
    expect(a.angular_distance_mean).toEqual(b.angular_distance_mean);
    expect(a.block_influence).toEqual(b.block_influence);
  });

  it("ppl --backend engine: the same perplexity as with tokenizer.json", async () => {
    const a = await json(["ppl", spm, "--backend", "engine", "--text", text, ...W]);
    const b = await json(["ppl", full, "--backend", "engine", "--text", text, ...W]);
    expect(a.tokens).toBe(b.tokens);
    expect(a.ppl).toBe(b.ppl);
  });

  it("heal: trains on the text tokenized by tokenizer.model, with the same losses as with tokenizer.json", async () => {
    const root = await dirs.make();
    const heal = (model: string, out: string) => json(["heal", model, "--text", text, "--steps", "2", "--seq-len", "32", "--batch", "2", "--workers", "0", "--eval-every", "0", "--eval-sequences", "2", "-o", out]);
    const a = await heal(spm, join(root, "a"));
    const b = await heal(full, join(root, "b"));
    expect(a.tokens).toBe(b.tokens);
    expect(a.unigram_entropy).toBe(b.unigram_entropy);
    expect(a.initial).toEqual(b.initial);
    expect(a.final).toEqual(b.final);
    expect((await readdir(join(root, "a"))).sort()).toContain("tokenizer.model");
  });

  it("experiment --quick runs on it end to end: analysis, search, builds and measurements", async () => {
    // 8 layers: on 4, iDUS-n/4 is iDUS-1 and the experiment refuses the duplicate layout. A short
    // corpus, no next-word items and no healing keep it small (healing's tokenizer is heal's, above).
    const root = await dirs.make();
    const base = await makeTinyHf({ ...OPTS, layers: 8 }, join(root, "base"));
    await rm(join(base, "tokenizer.json"));
    const corpus = join(root, "corpus.txt");
    await writeFile(corpus, fullCorpus().slice(0, 40_000));
    const out = join(root, "report");
    const r = await runCli(["experiment", base, "--quick", "--text", corpus, "--items", "0", "--search-budget", "2s", "--ctx", "128", "--heal", "none", "--quiet", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(await readFile(join(out, "results.json"), "utf8")) as { layouts: { name: string; before: { tokens: number; ppl: number } }[] };
    expect(res.layouts.map((l) => l.name).slice(0, 4)).toEqual(["base", "DUS", "iDUS-2", "iDUS-1"]);
    for (const l of res.layouts) expect(l.before.ppl).toBeGreaterThan(1);
  }, 900_000);
});
