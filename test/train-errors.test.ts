// Bad input to dusk train and dusk heal: each a typed error naming the file or field, with what was
// expected and found and a hint, a non-zero exit, and nothing written (no output, no temporary).

import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultCorpus } from "../src/fixtures/corpus.js";
import { exists, leftoverTemps, runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyHf } from "./helpers/models.js";

const dirs = tempDirs("dusk-train-errors-");
let root: string;
let model: string;
let other: string;
let corpus: string;

beforeAll(async () => {
  root = await dirs.make();
  model = await makeTinyHf({ layers: 2, hidden: 32 }, join(root, "model"));
  other = await makeTinyHf({ layers: 3, hidden: 32 }, join(root, "other"));
  corpus = join(root, "corpus.txt");
  await writeFile(corpus, defaultCorpus().slice(0, 20_000));
});
afterAll(() => dirs.cleanup());

async function expectRefused(argv: string[], out: string, message: RegExp): Promise<string> {
  const r = await runCli(argv);
  expect(r.code, r.stdout + r.stderr).not.toBe(0);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/\nhint: /);
  expect(r.stderr).not.toMatch(/internal error|at .*\.ts:\d+/);
  expect(await exists(out)).toBe(false);
  expect(await leftoverTemps(out)).toEqual([]);
  return r.stderr;
}

const heal = (text: string, out: string, extra: string[] = []) => ["heal", model, "--text", text, "-o", out, "--steps", "2", "--seq-len", "32", "--workers", "0", ...extra];

describe("bad input is refused before anything is written", () => {
  it("an output inside the model it heals, refused before training", async () => {
    const out = join(model, "healed");
    const r = await runCli([...heal(corpus, out), "--force"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the output .*healed overlaps the input/);
    expect(r.stderr).not.toMatch(/held-out loss/);
    expect(await exists(out)).toBe(false);
    expect(await leftoverTemps(out)).toEqual([]);
  });

  it("an empty text", async () => {
    const f = join(root, "empty.txt");
    await writeFile(f, "\n  \n");
    await expectRefused(heal(f, join(root, "o1")), join(root, "o1"), /empty\.txt: the text is empty/);
  });

  it("a binary file", async () => {
    const f = join(root, "model.bin");
    await writeFile(f, Buffer.from([0x47, 0x47, 0x55, 0x46, 0, 0, 0, 3, 0xff, 0xfe, 0, 1]));
    await expectRefused(heal(f, join(root, "o2")), join(root, "o2"), /model\.bin: expected UTF-8 text, found binary data \(a NUL byte/);
  });

  it("a text shorter than one sequence", async () => {
    const f = join(root, "short.txt");
    await writeFile(f, "To be, or not to be.");
    await expectRefused(heal(f, join(root, "o3")), join(root, "o3"), /short\.txt gives \d+ tokens; one training sequence and one held-out sequence of --seq-len 32 need at least 65/);
  });

  it("--train naming a layer the model does not have", async () => {
    await expectRefused(heal(corpus, join(root, "o4"), ["--train", "1,5"]), join(root, "o4"), /--train 5 names layer 5, but the model has 2 layers \(0–1\)/);
  });

  it("--train seams on a model without a recorded recipe", async () => {
    await expectRefused(heal(corpus, join(root, "o5"), ["--train", "seams"]), join(root, "o5"), /needs the stack's recipe/);
  });

  it("a config whose heads do not divide the hidden size", async () => {
    const cfg = join(root, "bad.yml");
    await writeFile(cfg, "hidden_size: 48\nintermediate_size: 96\nnum_layers: 2\nnum_heads: 5\nvocab_size: 400\nsteps: 2\n");
    const out = join(root, "o6");
    await expectRefused(["train", "--config", cfg, "--text", corpus, "-o", out, "--workers", "0"], out, /bad\.yml:4:12 num_attention_heads: expected a divisor of hidden_size 48, found 5/);
  });

  it("a config with an unknown key", async () => {
    const cfg = join(root, "typo.yml");
    await writeFile(cfg, "hidden_size: 32\nnum_layers: 2\nnum_heads: 4\nhiden: 3\n");
    const out = join(root, "o7");
    await expectRefused(["train", "--config", cfg, "--text", corpus, "-o", out], out, /typo\.yml:4:1 hiden: expected a known key/);
  });

  it("--resume with a state that does not match the model; the saved run is untouched", async () => {
    const out = join(root, "run");
    const ok = await runCli(heal(corpus, out, ["--quiet"]));
    expect(ok.code, ok.stderr).toBe(0);
    const files = await readdir(out);
    const weights = await readFile(join(out, "model.safetensors"));
    const r = await runCli(["heal", other, "-o", out, "--resume", "--workers", "0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--resume: the saved state does not match the model/);
    expect(r.stderr).toMatch(/hint: /);
    expect(await readdir(out)).toEqual(files);
    expect((await readFile(join(out, "model.safetensors"))).equals(weights)).toBe(true);
    expect(await leftoverTemps(out)).toEqual([]);
  });

  it("--resume of an output that holds no run, and an existing output without --resume or --force", async () => {
    await expectRefused(["heal", model, "-o", join(root, "none"), "--resume"], join(root, "none"), /--resume: .*none does not exist/);
    const r = await runCli(heal(corpus, join(root, "run")));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/run already exists/);
  });
});
