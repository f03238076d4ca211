import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileSelection } from "./file-filter.js";
import { formatHubRef, parseDatasetRef, parseModelRef } from "./model-ref.js";
import { hubCacheDir, hubToken, resolveHubSettings } from "./hub-config.js";

let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), "dusk-ref-"));
  await mkdir(join(cwd, "mistralai", "Mistral-7B-v0.1"), { recursive: true });
});
afterAll(() => rm(cwd, { recursive: true, force: true }));

describe("parseModelRef", () => {
  it("reads Hub ids with and without a revision", () => {
    expect(parseModelRef("mistralai/Mistral-7B-v0.1", { cwd: "/nonexistent" })).toEqual({ kind: "hub", repo: "mistralai/Mistral-7B-v0.1", repoType: "model" });
    expect(parseModelRef("org/name@refs/pr/1", { cwd: "/nonexistent" })).toEqual({ kind: "hub", repo: "org/name", revision: "refs/pr/1", repoType: "model" });
    const sha = "0123456789abcdef0123456789abcdef01234567";
    expect(parseModelRef(`hf://org/name@${sha}`, { cwd: "/nonexistent" })).toMatchObject({ revision: sha });
  });

  it("knows datasets by prefix or by the caller", () => {
    expect(parseModelRef("datasets/allenai/ai2_arc", { cwd: "/nonexistent" })).toEqual({ kind: "hub", repo: "allenai/ai2_arc", repoType: "dataset" });
    expect(parseDatasetRef("allenai/ai2_arc", { cwd: "/nonexistent" })).toMatchObject({ repoType: "dataset", repo: "allenai/ai2_arc" });
    expect(formatHubRef({ kind: "hub", repo: "allenai/ai2_arc", repoType: "dataset", revision: "main" })).toBe("datasets/allenai/ai2_arc@main");
  });

  it("lets an existing local folder win over a Hub id of the same spelling", () => {
    expect(parseModelRef("mistralai/Mistral-7B-v0.1", { cwd })).toEqual({ kind: "local", path: join(cwd, "mistralai", "Mistral-7B-v0.1") });
  });

  it("treats ./x, ../x, /x and ~/x as local even when missing", () => {
    expect(parseModelRef("./out/model", { cwd })).toEqual({ kind: "local", path: join(cwd, "out", "model") });
    expect(parseModelRef("../m", { cwd })).toEqual({ kind: "local", path: join(cwd, "..", "m") });
    expect(parseModelRef("/abs/m", { cwd })).toEqual({ kind: "local", path: "/abs/m" });
    expect(parseModelRef("~/models/m", { cwd })).toEqual({ kind: "local", path: join(homedir(), "models", "m") });
  });

  it.each([
    ["", /empty/],
    ["gpt2", /neither an existing local path nor a Hub id/],
    ["a/b/c", /2 slashes/],
    ["org/na me", /may only contain/],
    ["org/-name", /starts or ends/],
    ["org--x/name", /'--'/],
    ["org/name@", /revision ""/],
    ["org/name@a..b", /revision "a..b"/],
    [`org/${"x".repeat(100)}`, /at most 96/],
  ])("rejects %j with HUB_BAD_REF and a hint", (text, why) => {
    let caught: unknown;
    try {
      parseModelRef(text, { cwd: "/nonexistent" });
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: "HUB_BAD_REF", message: expect.stringMatching(why), hint: expect.stringContaining("org/name") });
  });
});

describe("file selection (fnmatch like huggingface_hub's allow_patterns)", () => {
  const files = ["config.json", "model-00001-of-00002.safetensors", "sub/a.json", "tokenizer.model", "[x].txt"];
  const pick = (patterns: string[]): string[] => files.filter(compileSelection(patterns).matches);
  it("matches across folders with * and by exact name", () => {
    expect(pick(["*.json"])).toEqual(["config.json", "sub/a.json"]);
    expect(pick(["tokenizer.model", "model-?????-of-*.safetensors"])).toEqual(["model-00001-of-00002.safetensors", "tokenizer.model"]);
    expect(pick(["sub/"])).toEqual(["sub/a.json"]);
    expect(pick(["[ct]*"])).toEqual(["config.json", "tokenizer.model"]);
    expect(pick(["[!cst]*"])).toEqual(["model-00001-of-00002.safetensors", "[x].txt"]);
    expect(compileSelection(["*.json", "tokenizer.model"]).exactNames).toEqual(["tokenizer.model"]);
  });
});

describe("hub settings", () => {
  it("follows huggingface_hub's precedence for the cache and the endpoint", () => {
    expect(hubCacheDir({ HF_HOME: "/h" })).toBe(join("/h", "hub"));
    expect(hubCacheDir({ HF_HOME: "/h", HF_HUB_CACHE: "/c" })).toBe("/c");
    expect(hubCacheDir({ XDG_CACHE_HOME: "/x" })).toBe(join("/x", "huggingface", "hub"));
    expect(hubCacheDir({})).toBe(join(homedir(), ".cache", "huggingface", "hub"));
    const s = resolveHubSettings({ env: { HF_ENDPOINT: "http://mirror.local/", HF_HOME: cwd, HF_TOKEN: "t", HF_HUB_OFFLINE: "1" } });
    expect(s).toEqual({ endpoint: "http://mirror.local", cacheDir: join(cwd, "hub"), token: "t", offline: true });
    expect(resolveHubSettings({ env: { HF_HOME: cwd, HF_TOKEN: "t" }, token: null }).token).toBeUndefined();
  });

  it("falls back to the token file that `huggingface-cli login` writes", async () => {
    await writeFile(join(cwd, "token"), "hf_from_file\n");
    expect(hubToken({ HF_HOME: cwd })).toBe("hf_from_file");
    expect(hubToken({ HF_HOME: cwd, HF_TOKEN: "hf_env" })).toBe("hf_env");
    expect(hubToken({ HF_HOME: join(cwd, "none") })).toBeUndefined();
  });
});
