// dusk heal end to end on a DUS stack of a trained tiny model: the held-out loss drops, frozen
// layers (and embedding, norm, head) come out bit-identical, and --resume from step k reaches the
// same bytes at step 2k as an uninterrupted run, with 2 worker threads against the main thread.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkpointHeader, openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { makePlan } from "../src/plan/plan.js";
import { dusRecipe, recipeToMergekitYaml } from "../src/recipe/index.js";
import { heal as healLibrary, type TrainEvent } from "../src/train/index.js";
import { exists, readTensorBytes, runCli, tempDirs } from "./helpers/cli.js";
import { trainedTinyModel } from "./helpers/trained.js";

const dirs = tempDirs("dusk-heal-");
let stack: string;
let textFile: string;
let root: string;
let baseDir: string;

beforeAll(async () => {
  const base = await trainedTinyModel();
  textFile = base.textFile;
  baseDir = base.dir;
  root = await dirs.make();
  stack = join(root, "dus");
  const b = await runCli(["build", "--preset", "dus", "--drop", "1", base.dir, "-o", stack, "--quiet"]);
  expect(b.code, b.stderr).toBe(0);
});
afterAll(() => dirs.cleanup());

const heal = (args: string[]) => runCli(["heal", stack, "--text", textFile, "--seq-len", "32", "--batch", "8", "--lr", "3e-3", "--quiet", "--json", ...args]);

describe("dusk heal", () => {
  it("lowers the stack's held-out loss", async () => {
    const r = await heal(["--steps", "40", "--workers", "0", "-o", join(root, "all")]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.final.loss).toBeLessThan(j.initial.loss - 0.02);
  });

  it("--train seams trains the two layers at the seam and leaves every other tensor bit-identical", async () => {
    const out = join(root, "seams");
    const r = await heal(["--train", "seams", "--steps", "40", "--workers", "0", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.final.loss).toBeLessThan(j.initial.loss);
    const before = await readTensorBytes(stack);
    const after = await readTensorBytes(out);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    // 6 layers 0,1,2 | 1,2,3: the seam is between positions 2 and 3
    for (const [name, bytes] of after) {
      const trains = /^model\.layers\.(2|3)\./.test(name);
      if (trains) expect(Buffer.from(bytes).equals(Buffer.from(before.get(name)!)), name).toBe(false);
      else expect(Buffer.from(bytes).equals(Buffer.from(before.get(name)!)), name).toBe(true);
    }
    const state = JSON.parse(await readFile(join(out, "trainer_state.json"), "utf8"));
    expect(state.fingerprint.selection).toBe("2-3");
    expect(await readFile(join(out, "mergekit_config.yml"), "utf8")).toBe(await readFile(join(stack, "mergekit_config.yml"), "utf8"));
  });

  it("--dtype bfloat16 writes every tensor as BF16 and says so in config.json", async () => {
    const out = join(root, "bf16");
    const r = await heal(["--steps", "2", "--workers", "0", "--dtype", "bfloat16", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    const c = await openCheckpoint(out);
    try {
      expect(new Set([...c.tensors.values()].map((t) => t.type.name))).toEqual(new Set(["BF16"]));
      expect(c.config!.torch_dtype).toBe("bfloat16");
    } finally {
      await c.close();
    }
  });

  it("--resume from step k gives the bytes of an uninterrupted run at 2k (2 workers, then the main thread)", async () => {
    const a = join(root, "whole");
    const b = join(root, "resumed");
    const common = ["--train", "new,head", "--steps", "8", "--seed", "5", "--micro-batch", "2"];
    expect((await heal([...common, "--workers", "0", "-o", a])).code).toBe(0);
    const first = await heal([...common, "--workers", "2", "--stop-at", "4", "-o", b]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).steps).toBe(4);
    const second = await runCli(["heal", stack, "-o", b, "--resume", "--workers", "0", "--quiet", "--json"]);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).steps).toBe(8);
    for (const f of ["model.safetensors", "optimizer.safetensors"]) {
      expect(Buffer.from(await readFile(join(b, f))).equals(await readFile(join(a, f))), f).toBe(true);
    }
    const log = (await readFile(join(b, "train_log.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    expect(log.filter((e) => e.type === "step").map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await exists(join(b, "loss.png"))).toBe(true);
  });

  it("the library heals an in-memory stack (a plan, never written) exactly as the built one", async () => {
    const cli = await heal(["--steps", "6", "--workers", "0", "-o", join(root, "built")]);
    expect(cli.code, cli.stderr).toBe(0);
    const c = await openCheckpoint(baseDir, baseDir);
    try {
      const recipe = dusRecipe({ model: baseDir, layers: 4, drop: 1 });
      const plan = makePlan(recipe, [checkpointHeader(c)]);
      const events: TrainEvent["type"][] = [];
      const r = await healLibrary({
        model: { plan, checkpoints: [c], recipeYaml: recipeToMergekitYaml(recipe) },
        texts: [{ name: textFile, text: await readFile(textFile, "utf8") }],
        budget: { steps: 6 }, settings: { seqLen: 32, batch: 8, lr: 3e-3 }, workers: 0,
        onEvent: (e) => events.push(e.type),
      });
      const j = JSON.parse(cli.stdout);
      expect(r.initial!.loss).toBe(j.initial.loss);
      expect(r.final.loss).toBe(j.final.loss);
      expect(r.log.filter((e) => e.type === "step")).toHaveLength(6);
      expect(events[0]).toBe("start");
      expect(events.filter((e) => e === "step")).toHaveLength(6);
      expect(r.unigram).toBeGreaterThan(r.final.loss);
    } finally {
      await c.close();
    }
  });
});
