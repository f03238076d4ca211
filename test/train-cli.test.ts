// dusk train from scratch, end to end through the CLI: a tokenizer trained on the text, a model
// whose held-out loss ends well below the unigram entropy of that text (computed here from the
// tokens), and an output directory with the card, the JSONL log, the chart and resumable state.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultCorpus } from "../src/fixtures/corpus.js";
import { openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { runCli, tempDirs } from "./helpers/cli.js";
import { TINY_TRAIN_YAML } from "./helpers/trained.js";

const dirs = tempDirs("dusk-train-cli-");
let root: string;
let corpus: string;
const text = defaultCorpus().slice(0, 60_000);

beforeAll(async () => {
  root = await dirs.make();
  corpus = join(root, "corpus.txt");
  await writeFile(corpus, text);
});
afterAll(() => dirs.cleanup());

describe("dusk train", () => {
  it("learns: held-out loss well below the text's unigram entropy", async () => {
    const cfg = join(root, "tiny.yml");
    await writeFile(cfg, TINY_TRAIN_YAML.replace("eval_every: 0", "eval_every: 100").replace("steps: 200", "steps: 300"));
    const out = join(root, "model");
    const r = await runCli(["train", "--config", cfg, "--text", corpus, "-o", out, "--workers", "0", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.steps).toBe(300);

    // the unigram entropy of the text in the model's own tokens: the best loss without context
    const tok = new Tokenizer(JSON.parse(await readFile(join(out, "tokenizer.json"), "utf8")), JSON.parse(await readFile(join(out, "tokenizer_config.json"), "utf8")));
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    let entropy = 0;
    for (const c of counts.values()) entropy -= (c / ids.length) * Math.log(c / ids.length);
    expect(entropy).toBeGreaterThan(4);
    expect(j.final.loss, `held-out ${j.final.loss} vs unigram ${entropy}`).toBeLessThan(entropy - 0.6);
    expect(j.initial.loss).toBeGreaterThan(entropy);

    const c = await openCheckpoint(out);
    try {
      expect(c.arch.name).toBe("llama");
      expect(c.numLayers).toBe(4);
      expect(c.config!.vocab_size).toBe(400);
      expect(c.config!.architectures).toEqual(["LlamaForCausalLM"]);
      expect([...c.tensors.values()].every((t) => t.type.name === "F32")).toBe(true);
    } finally {
      await c.close();
    }
    const card = await readFile(join(out, "README.md"), "utf8");
    expect(card).toMatch(/trained from scratch/);
    expect(card).toMatch(/corpus\.txt \(60,000 characters\)/);
    expect(card).toMatch(/\| sequence length \| 32 \|/);
    expect(card).toMatch(/400-piece SentencePiece-style BPE/);
    const log = (await readFile(join(out, "train_log.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(log.filter((e) => e.type === "step")).toHaveLength(300);
    expect(log.filter((e) => e.type === "eval").map((e) => e.step)).toEqual([0, 100, 200, 300]);
    expect(Object.keys(log[1])).toEqual(["type", "step", "loss", "lr", "grad_norm", "tokens", "tokens_per_s", "elapsed_s"]);
    expect((await readFile(join(out, "loss.png"))).subarray(1, 4).toString()).toBe("PNG");
    expect(await readFile(join(out, "loss.svg"), "utf8")).toMatch(/^<svg/);
  });

  it("--help for train and heal", async () => {
    for (const cmd of ["train", "heal"]) {
      const r = await runCli([cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/--resume/);
      expect(r.stdout).toMatch(/--json/);
    }
    expect((await runCli(["heal", "--help"])).stdout).toMatch(/--train/);
  });

  it("--stop-at then --resume: the bytes of an uninterrupted run, tokenizer read back", async () => {
    const cfg = join(root, "short.yml");
    await writeFile(cfg, TINY_TRAIN_YAML.replace("steps: 200", "steps: 6"));
    const whole = join(root, "whole");
    const parts = join(root, "parts");
    expect((await runCli(["train", "--config", cfg, "--text", corpus, "-o", whole, "--workers", "0", "--quiet"])).code).toBe(0);
    const first = await runCli(["train", "--config", cfg, "--text", corpus, "-o", parts, "--workers", "0", "--quiet", "--stop-at", "3"]);
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(["train", "--config", cfg, "-o", parts, "--resume", "--workers", "0", "--quiet", "--json"]);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).steps).toBe(6);
    for (const f of ["model.safetensors", "optimizer.safetensors", "tokenizer.json"]) {
      expect((await readFile(join(parts, f))).equals(await readFile(join(whole, f))), f).toBe(true);
    }
  });
});

