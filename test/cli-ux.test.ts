// The command line as a user meets it: unknown flags refused with a hint (citty alone ignores
// them), help and usage text, error formatting. Runs main(argv) in-process on a tiny HF model.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyHfModel } from "../src/fixtures/tiny-model.js";
import { exists, runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyHf } from "./helpers/models.js";

const temps = tempDirs("dusk-ux-");
let root: string;
let model: string;

beforeAll(async () => {
  root = await temps.make();
  model = join(root, "model");
  await writeTinyHfModel(model, { layers: 8, hidden: 32, heads: 4, kvHeads: 2, vocabSize: 64 });
});
afterAll(() => temps.cleanup());

describe("unknown flags", () => {
  it("a misspelt flag is refused with the nearest declared one, exit 2, nothing built", async () => {
    const out = join(root, "never");
    const r = await runCli(["build", "--preset", "idus", "--grop", "2", model, "-o", out]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("error: dusk build has no option --grop\nhint: did you mean --drop or --group? see dusk build --help\n");
    expect(await exists(out)).toBe(false);
  });

  it("a misspelt switch (which citty would take as true and ignore) is refused", async () => {
    const r = await runCli(["inspect", model, "--tensor"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has no option --tensor");
    expect(r.stderr).toContain("did you mean --tensors?");
  });

  it("an unknown short flag and a flag of a subcommand are checked too", async () => {
    expect((await runCli(["inspect", "-x", model])).stderr).toContain("dusk inspect has no option -x");
    const r = await runCli(["data", "pull", "--bogus", "--to", root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("dusk data pull has no option --bogus");
  });

  it("declared flags in every spelling still work: -o, --flag=value, negative values, --no-switch", async () => {
    const r = await runCli(["plan", "--preset=expand", "--blocks", "2", "--scale", "-0.5", "--no-json", model]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("layout");
    const out = join(root, "built");
    const b = await runCli(["build", "--preset", "dus", "--drop", "2", model, "-o", out, "--quiet"]);
    expect(b.stderr).toBe("");
    expect(b.code).toBe(0);
    expect(await exists(join(out, "config.json"))).toBe(true);
  });

  it("everything after -- is positional", async () => {
    const r = await runCli(["inspect", "--json", "--", model]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty("family", "llama");
  });
});

describe("verify", () => {
  it("a GGUF restacked and converted from HF in one pass is refused with a way to verify, not 870 mismatches", async () => {
    const hf = await makeTinyHf({ layers: 8, hidden: 32, heads: 4, kvHeads: 2 }, join(root, "with-tokenizer"));
    const out = join(root, "idus.gguf");
    const b = await runCli(["build", "--preset", "idus", "--group", "2", hf, "-o", out, "--type", "q8_0", "--quiet"]);
    expect(b.code).toBe(0);
    const v = await runCli(["verify", out, "--quiet"]);
    expect(v.code).toBe(1);
    expect(v.stdout).toBe("");
    expect(v.stderr).toMatch(/^error: .*idus\.gguf is a GGUF built from HF safetensors sources.*\nhint: .*dusk verify DIR, then dusk convert DIR/);
  });
});
