// `writeAxolotlJob` on a stack dusk built: the job directory appears whole (config, README, an
// executable launch script, optionally the stack itself), reads what dusk recorded (layout), and
// follows the output rules (never inside the stack, no replacing without force, nothing left over).

import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuskError } from "../src/errors.js";
import { writeTinyHfModel } from "../src/fixtures/tiny-model.js";
import { writeAxolotlJob, type WriteAxolotlJobOptions } from "../src/train/axolotl/index.js";
import { leftoverTemps, runCli, tempDirs } from "./helpers/cli.js";

const temps = tempDirs("dusk-axolotl-");
let root: string;
let stack: string;
let n = 0;

const options = (output: string, extra: Partial<WriteAxolotlJobOptions> = {}): WriteAxolotlJobOptions => ({
  stack,
  output,
  train: { layers: [2, 3, 4, 5], includeEmbed: false, includeHead: false },
  corpus: { kind: "pretraining_dataset", files: ["/data/corpus.txt"] },
  tokens: 2_000_000,
  seqLen: 512,
  lr: 3e-5,
  ...extra,
});

beforeAll(async () => {
  root = await temps.make();
  const base = join(root, "base");
  await writeTinyHfModel(base, { layers: 8, hidden: 32, heads: 4, kvHeads: 2, vocabSize: 64, seed: 9, maxPositions: 1024 });
  stack = join(root, "dus");
  const r = await runCli(["build", "--preset", "dus", "--drop", "2", base, "-o", stack, "--quiet"]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => temps.cleanup());

describe("writeAxolotlJob", () => {
  it("writes config, README and an executable launch script, whole, from the stack dusk built", async () => {
    const out = join(root, `job-${++n}`);
    const written = await writeAxolotlJob(options(out));
    expect(written.files).toEqual(["config.yml", "README.md", "launch.sh"]);
    expect((await readdir(out)).sort()).toEqual(["README.md", "config.yml", "launch.sh"]);
    expect((await stat(join(out, "launch.sh"))).mode & 0o777).toBe(0o755);
    const config = parse(await readFile(join(out, "config.yml"), "utf8")) as Record<string, unknown>;
    expect(config.base_model).toBe(stack);
    expect(config.unfrozen_parameters).toEqual(["^model.layers.(2|3|4|5)."]);
    expect(config.max_steps).toBe(Math.ceil(2_000_000 / (512 * 4 * 8)));
    const readme = await readFile(join(out, "README.md"), "utf8");
    expect(readme).toContain("layout 0..5, 2..7");
    expect(readme).toContain("axolotl train config.yml --launcher torchrun -- --nnodes 1 --nproc_per_node 8");
    expect(readme).toMatch(/## Expected memory per GPU: \d+\.\d+ GB/);
    expect(readme).toContain("stack positions 2–5 (4 of 12 layers)");
    expect(await leftoverTemps(out)).toEqual([]);
  });

  it("with copyStack the job carries the stack, byte for byte, and base_model points at it", async () => {
    const out = join(root, `job-${++n}`);
    await writeAxolotlJob(options(out, { copyStack: true }));
    const names = (await readdir(stack)).sort();
    expect((await readdir(join(out, "stack"))).sort()).toEqual(names);
    for (const f of names) expect(Buffer.compare(await readFile(join(out, "stack", f)), await readFile(join(stack, f))), f).toBe(0);
    expect((parse(await readFile(join(out, "config.yml"), "utf8")) as { base_model: string }).base_model).toBe("./stack");
  });

  it("an existing job is kept without force and replaced with it; a job inside the stack is refused", async () => {
    const out = join(root, `job-${++n}`);
    await writeAxolotlJob(options(out));
    const refused = await writeAxolotlJob(options(out, { lr: 1e-4 })).then(() => undefined, (e: unknown) => e);
    expect((refused as DuskError).code).toBe("build.output-exists");
    await writeAxolotlJob(options(out, { lr: 1e-4, force: true }));
    expect((parse(await readFile(join(out, "config.yml"), "utf8")) as { learning_rate: number }).learning_rate).toBe(1e-4);
    const inside = await writeAxolotlJob(options(join(stack, "job"))).then(() => undefined, (e: unknown) => e);
    expect((inside as DuskError).code).toBe("build.output-is-input");
    expect(await leftoverTemps(out)).toEqual([]);
  });

  it("a --train position past the stack is refused before anything is written", async () => {
    const out = join(root, `job-${++n}`);
    const e = await writeAxolotlJob(options(out, { train: { layers: [12], includeEmbed: false, includeHead: false } })).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(DuskError);
    expect((e as DuskError).hint).toBeTruthy();
    expect(await readdir(root)).not.toContain(`job-${n}`);
    expect(await leftoverTemps(out)).toEqual([]);
  });
});

describe("the project README's SOLAR section", () => {
  it("states the steps and memory per GPU that the job computes for SOLAR", async () => {
    const { axolotlJob, stackInfoFromConfig } = await import("../src/train/axolotl/index.js");
    const solar = stackInfoFromConfig("./solar-dus", {
      architectures: ["MistralForCausalLM"], model_type: "mistral", vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336,
      num_hidden_layers: 48, num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 32768,
    });
    const settings = { corpus: { kind: "pretraining_dataset" as const, files: ["corpus.txt"] }, tokens: 1e9, seqLen: 4096, lr: 2e-5 };
    const all = axolotlJob({ stack: solar, train: { layers: "all", includeEmbed: true, includeHead: true }, ...settings });
    const seams = axolotlJob({ stack: solar, train: { layers: [22, 23, 24, 25], includeEmbed: false, includeHead: false }, ...settings });
    const readme = await readFile("README.md", "utf8");
    expect(readme).toContain(`= ${all.budget.steps} steps`);
    expect(readme).toContain(`about ${(all.memory.perGpuBytes / 1e9).toFixed(1)} GB per GPU training everything`);
    expect(readme).toContain(`(${((all.memory.terms[0]!.bytes + all.memory.terms[1]!.bytes + all.memory.terms[2]!.bytes) / 1e9).toFixed(1)} GB of it`);
    expect(readme).toContain(`about ${(seams.memory.perGpuBytes / 1e9).toFixed(1)} GB training the seams only`);
    expect(readme).toContain(seams.unfrozen.patterns![0]!);
  });
});

describe("dusk heal --export axolotl", () => {
  it("resolves --train seams against the stack's recorded recipe and writes the job", async () => {
    const job = join(root, "cli-job");
    const r = await runCli(["heal", stack, "--export", "axolotl", "--train", "seams", "--text", "/data/corpus.txt", "--tokens", "4M", "--seq-len", "512", "-o", job, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { files: string[]; steps: number; tokens_per_step: number; unfrozen_parameters: string[] };
    expect(summary.files.sort()).toEqual(["README.md", "config.yml", "launch.sh"]);
    // DUS of 8 layers with drop 2: 0..5 + 2..7, one seam between positions 5 and 6
    expect(summary.unfrozen_parameters).toEqual(["^model.layers.(5|6)."]);
    expect(summary.tokens_per_step).toBe(512 * 1 * 4 * 8);
    expect(summary.steps).toBe(Math.ceil(4_000_000 / (512 * 32)));
    const config = parse(await readFile(join(job, "config.yml"), "utf8")) as Record<string, unknown>;
    expect(config.learning_rate).toBe(3e-5);
    expect(config.unfrozen_parameters).toEqual(summary.unfrozen_parameters);
  });

  it("refuses a job without a corpus or a budget, and an unknown trainer", async () => {
    const noText = await runCli(["heal", stack, "--export", "axolotl", "--tokens", "1M", "-o", join(root, "x1")]);
    expect(noText.code).not.toBe(0);
    expect(noText.stderr).toMatch(/needs the corpus/);
    const noBudget = await runCli(["heal", stack, "--export", "axolotl", "--text", "/d.txt", "-o", join(root, "x2")]);
    expect(noBudget.stderr).toMatch(/token budget/);
    const other = await runCli(["heal", stack, "--export", "deepspeed-chat", "--text", "/d.txt", "--tokens", "1M", "-o", join(root, "x3")]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/--export axolotl/);
    for (const d of ["x1", "x2", "x3"]) await expect(stat(join(root, d))).rejects.toThrow();
  });
});
