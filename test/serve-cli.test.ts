// `dusk serve` as users run it: bin/dusk.js in a child process with --parallel 4. `dusk eval
// --backend openai` against it scores like the llama.cpp backend; SIGTERM lets an in-flight stream
// finish and exits 0. Also the --gpu flags of the llama.cpp commands on a machine without a GPU.

import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { getLlamaGpuTypes } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResultsFile } from "../src/eval/results.js";
import { exists, runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyGguf } from "./helpers/models.js";

const dirs = tempDirs("dusk-serve-cli-");
const bin = resolve("bin/dusk.js");
let gguf = "";
let data = "";
let child: ChildProcess | undefined;
let url = "";
let stderr = "";

function write(file: string, content: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

/** Starts `dusk serve … --port 0` and resolves with its URL once it says it is ready. */
function startServe(args: string[]): Promise<string> {
  child = spawn(process.execPath, [bin, "serve", gguf, "--port", "0", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((done, fail) => {
    child!.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      const at = /listening at (http:\/\/\S+)\/v1/.exec(stderr);
      if (at && /\nready: /.test(stderr)) done(at[1]!);
    });
    child!.on("exit", (code) => fail(new Error(`dusk serve exited ${code}: ${stderr}`)));
  });
}

beforeAll(async () => {
  // bin/dusk.js runs the compiled dist/ (npm test compiles first); compile when it is missing.
  if (!(await exists(resolve("dist/cli/main.js")))) await promisify(execFile)("npx", ["tsc", "-p", "."], { cwd: resolve(".") });
  ({ gguf } = await makeTinyGguf({ layers: 2, hidden: 64, seed: 5, std: 0.08, maxPositions: 512 }, "f32"));
  data = await dirs.make();
  const wino = (i: number) => ({ sentence: `The king gave the lord a crown because _ was generous ${i}.`, option1: "the king", option2: "the lord", answer: String((i % 2) + 1) });
  const lines = (n: number, f: (i: number) => object) => Array.from({ length: n }, (_, i) => JSON.stringify(f(i))).join("\n");
  write(join(data, "allenai/winogrande/winogrande_xl/validation-00000-of-00001.jsonl"), lines(6, wino));
  write(join(data, "allenai/winogrande/winogrande_xl/train-00000-of-00001.jsonl"), lines(8, (i) => wino(i + 10)));
  const gsm = (i: number) => ({ question: `If I have ${i} apples and buy 2, how many?`, answer: `${i}+2=${i + 2}\n#### ${i + 2}` });
  write(join(data, "openai/gsm8k/main/test-00000-of-00001.jsonl"), lines(3, gsm));
  write(join(data, "openai/gsm8k/main/train-00000-of-00001.jsonl"), lines(4, (i) => gsm(i + 10)));
  url = await startServe(["--parallel", "4", "--ctx", "512", "--threads", "1"]);
}, 120_000);
afterAll(async () => {
  child?.kill("SIGKILL");
  await dirs.cleanup();
});

describe("dusk serve --parallel 4 in a child process", () => {
  it("says where it runs: the CPU, quietly, on a machine without a GPU", () => {
    expect(stderr).toMatch(/ready: .* on CPU/);
    expect(stderr).not.toMatch(/warn|cuda|vulkan|compil|build/i);
  });

  it("dusk eval --backend openai against it gives the llama.cpp backend's scores", async () => {
    const common = ["--tasks", "winogrande,gsm8k", "--data", data, "--shots", "1", "--json", "--quiet"];
    // The server adds BOS as the tokenizer says (as vLLM does); the llama.cpp backend does with --bos.
    const direct = await runCli(["eval", gguf, "--bos", "--ctx", "512", ...common]);
    const served = await runCli(["eval", "--backend", "openai", "--base-url", `${url}/v1`, "--model", "model-f32", "--concurrency", "4", ...common]);
    expect(direct.code, direct.stderr).toBe(0);
    expect(served.code, served.stderr).toBe(0);
    const a = JSON.parse(direct.stdout) as ResultsFile;
    const b = JSON.parse(served.stdout) as ResultsFile;
    expect(Object.keys(b.results).sort()).toEqual(["gsm8k", "winogrande"]);
    expect(b.results).toEqual(a.results);
  }, 120_000);

  it("SIGTERM: an in-flight stream finishes, new requests are refused, and it exits 0", async () => {
    const res = await fetch(`${url}/v1/completions`, { method: "POST", body: JSON.stringify({ prompt: "To be", max_tokens: 480, ignore_eos: true, temperature: 0, stream: true }) });
    const reader = res.body!.getReader();
    await reader.read();
    const exited = new Promise<number | null>((done) => child!.once("exit", done));
    child!.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    // A new request: the listener is closed (connection refused), or a kept-alive connection gets 503.
    const late = await fetch(`${url}/v1/models`).then((r) => r.status, () => "refused");
    expect([503, "refused"]).toContain(late);
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(text).not.toMatch(/"error"/);
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGTERM: finishing in-flight requests/);
    expect(stderr).toMatch(/stopped\n$/);
  }, 60_000);
});

describe("--gpu and --gpu-layers", () => {
  it("run: auto falls back to the CPU and says so; cpu with layers to offload is refused", async () => {
    const r = await runCli(["run", gguf, "To be", "--max-tokens", "3", "--preset", "greedy", "--gpu", "auto", "--gpu-layers", "max"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/· CPU/);
    const bad = await runCli(["run", gguf, "To be", "--gpu", "cpu", "--gpu-layers", "4"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--gpu-layers 4 needs a GPU/);
  });

  it("bad values are usage errors (exit 2) for every llama.cpp command", async () => {
    for (const argv of [["run", gguf, "x"], ["chat", gguf], ["serve", gguf], ["eval", gguf, "--tasks", "winogrande", "--data", data], ["ppl", gguf, "--text", gguf]]) {
      const r = await runCli([...argv, "--gpu", "tpu"]);
      expect([r.code, r.stderr.split("\n")[0]], argv[0]).toEqual([2, 'error: --gpu is "tpu", expected one of auto, cuda, vulkan, cpu']);
      const l = await runCli([...argv, "--gpu-layers", "-3"]);
      expect(l.code, argv[0]).toBe(2);
    }
  });

  it("an explicit GPU that is not there is an error with a hint, never a build from source", async () => {
    const supported = await getLlamaGpuTypes("supported");
    for (const gpu of ["cuda", "vulkan"] as const) {
      if (supported.includes(gpu)) continue; // a machine with that GPU would run it
      const r = await runCli(["run", gguf, "To be", "--max-tokens", "2", "--gpu", gpu]);
      expect(r.code, gpu).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`--gpu ${gpu}: node-llama-cpp's prebuilt .* binary does not run here`));
      expect(r.stderr).toMatch(/hint: .*--gpu auto/);
    }
  });

  it("serve refuses a public bind without a key, or an unknown preset, before loading anything", async () => {
    const r = await runCli(["serve", gguf, "--host", "0.0.0.0", "--port", "0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to serve on 0\.0\.0\.0 without an API key/);
    const p = await runCli(["serve", gguf, "--port", "0", "--preset", "wild"]);
    expect([p.code, p.stderr]).toEqual([1, expect.stringMatching(/unknown preset "wild"\nhint: presets are greedy, precise/)]);
  });
});
