// The command line as a user meets it: unknown flags refused with a hint (citty alone ignores
// them), help and usage text, error formatting. Runs main(argv) in-process on a tiny HF model.

import { execFile } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyHfModel } from "../src/fixtures/tiny-model.js";
import { exists, leftoverTemps, runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyHf, toGguf } from "./helpers/models.js";

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

describe("build output flags", () => {
  it("flags that would do nothing for this kind of output are refused (exit 2), nothing written", async () => {
    const hf = await makeTinyHf({ layers: 8, hidden: 32, heads: 4, kvHeads: 2 }, join(root, "flags-hf"));
    const gguf = await toGguf(hf, "f16", join(root, "flags.gguf"));
    const cases: [string[], RegExp][] = [
      [[hf, "-o", join(root, "f1"), "--type", "q8_0"], /--type sets a GGUF tensor type, but the output is an HF directory/],
      [[gguf, "-o", join(root, "f2.gguf"), "--type", "q8_0"], /--type converts HF sources; these sources are GGUF/],
      [[hf, "-o", join(root, "f3.gguf"), "--split-max-tensors", "50"], /--split-max-tensors applies to GGUF→GGUF restacks/],
      [[hf, "-o", join(root, "f4"), "--split-max-size", "1MB"], /--split-max-size applies to GGUF outputs/],
      [[gguf, "-o", join(root, "f5.gguf"), "--shard-size", "1MB"], /--shard-size applies to HF directory outputs/],
      [[gguf, "-o", join(root, "f6.gguf"), "--split-max-tensors", "abc"], /--split-max-tensors must be a positive whole number, found "abc"/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(["build", "--preset", "dus", ...args, "--quiet"]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/\nhint: /);
      expect(await exists(args[2]!)).toBe(false);
    }
  });

  it("a split GGUF build reports its first part as the output (not the removed .parts directory)", async () => {
    const gguf = await toGguf(await makeTinyHf({ layers: 8, hidden: 32, heads: 4, kvHeads: 2 }, join(root, "split-hf")), "f16", join(root, "split-src.gguf"));
    const r = await runCli(["build", "--preset", "dus", gguf, "-o", join(root, "split.gguf"), "--split-max-tensors", "40", "--json", "--quiet"]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { output: string; files: string[] };
    expect(summary.output).toBe(summary.files[0]);
    expect(summary.output).toMatch(/split-00001-of-0000\d\.gguf$/);
    expect(await exists(summary.output)).toBe(true);
    const one = await runCli(["build", "--preset", "dus", gguf, "-o", join(root, "one.gguf"), "--quiet"]);
    expect(one.stdout).toMatch(/^built .*one\.gguf \(1 file, 12 layers\)/);
  });
});

describe("model references", () => {
  it("a missing org/name-looking .gguf is a missing file, not a Hub download", async () => {
    const r = await runCli(["inspect", "some-org/missing.gguf"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: \/.*some-org\/missing\.gguf: no such file or directory\nhint: /);
    expect(r.stderr).not.toMatch(/huggingface|Hub/i);
  });
});

describe("build errors come alone", () => {
  it("an existing output or the input as output: error and hint only, the plan is not printed first", async () => {
    const out = join(root, "exists");
    expect((await runCli(["build", "--preset", "dus", model, "-o", out, "--quiet"])).code).toBe(0);
    for (const target of [out, model]) {
      const r = await runCli(["build", "--preset", "dus", model, "-o", target]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^error: [^\n]*\nhint: [^\n]*\n$/);
    }
  });
});

describe("a closed pipe during a build", () => {
  it("dusk build … 2>&1 | head: the build is interrupted, its temporary removed, exit non-zero (not 0)", async () => {
    const { spawn } = await import("node:child_process");
    const bin = join(import.meta.dirname, "..", "bin", "dusk.js");
    const source = join(root, "pipe-source");
    await makeTinyHf({ layers: 8, hidden: 128, heads: 4, kvHeads: 2 }, source);
    for (const output of [join(root, "pipe-out"), join(root, "pipe-out.gguf")]) {
      const args = output.endsWith(".gguf") ? ["build", "--preset", "dus", source, "-o", output, "--type", "f16"] : ["build", "--preset", "dus", source, "-o", output];
      const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      child.stderr.destroy(); // the plan and progress lines now fail with EPIPE
      let stdout = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      const code = await new Promise<number | null>((done) => child.on("close", done));
      expect(code, output).toBe(1);
      expect(stdout).toBe("");
      expect(await exists(output)).toBe(false);
      expect(await leftoverTemps(output)).toEqual([]);
    }
  });

  it("an error whose message meets the closed pipe keeps its exit code (not 0)", async () => {
    const { spawn } = await import("node:child_process");
    const bin = join(import.meta.dirname, "..", "bin", "dusk.js");
    const child = spawn(process.execPath, [bin, "build", "--preset", "dus", join(root, "no-such-model"), "-o", join(root, "never2")], { stdio: ["ignore", "pipe", "pipe"] });
    child.stderr.destroy();
    const code = await new Promise<number | null>((done) => child.on("close", done));
    expect(code).toBe(1);
  });
});

describe("help", () => {
  it("is plain text when stdout is not a terminal: no colour codes, no padded line ends", async () => {
    for (const argv of [["--help"], ["build", "--help"], ["convert", "-h"]]) {
      const r = await runCli(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(/\x1b\[/); // eslint-disable-line no-control-regex
      expect(r.stdout).not.toMatch(/[ \t]+$/m);
    }
  });

  it("names values by what they are and states a default once", async () => {
    const build = (await runCli(["build", "--help"])).stdout;
    expect(build).toContain("--drop-range=<a:b>");
    expect(build).toContain("--group=<g>");
    expect(build).not.toContain("<drop_range>");
    const convert = (await runCli(["convert", "--help"])).stdout;
    expect(convert.match(/default:? f16/gi)).toHaveLength(1);
  });

  it("dusk help CMD is CMD --help; a subcommand's --help is its own", async () => {
    expect((await runCli(["help", "verify"])).stdout).toBe((await runCli(["verify", "--help"])).stdout);
    const pull = await runCli(["data", "pull", "--help"]);
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain("USAGE dusk data pull [OPTIONS] --to=<to>");
  });
});

describe("bin/dusk.js before a build", () => {
  it("a checkout without dist/ says to run npm run build, exit 1, no module-not-found stack", async () => {
    // a copy of the package without dist/: bin/ and package.json are all the launcher needs
    const pkg = join(root, "unbuilt");
    await mkdir(join(pkg, "bin"), { recursive: true });
    await copyFile(resolve("bin/dusk.js"), join(pkg, "bin", "dusk.js"));
    await copyFile(resolve("package.json"), join(pkg, "package.json"));
    const r = await promisify(execFile)(process.execPath, [join(pkg, "bin", "dusk.js"), "--help"]).then(
      (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("run `npm run build` first");
    expect(r.stderr).toContain(join(pkg, "dist", "cli", "main.js"));
    expect(r.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|\n\s+at /);
  });
});
