import { createHash } from "node:crypto";
import { lstat, mkdtemp, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { pseudoRandomBytes, startHubServer, type HubServer } from "../../test/helpers/hub-server.js";
import { HubError } from "../errors.js";
import { downloadDataset, downloadModel, exportSnapshot, type DownloadOptions, type HubEvent } from "./index.js";

const REPO = "tiny-org/tiny-llama";
const WEIGHTS = pseudoRandomBytes(3 * 1024 * 1024 + 123, 7); // multi-MB so progress events happen
const FILES = {
  "config.json": JSON.stringify({ architectures: ["LlamaForCausalLM"], num_hidden_layers: 2 }),
  "model.safetensors": WEIGHTS,
  "tokenizer.model": pseudoRandomBytes(5000, 3),
  "nested/deeper/extra.json": "{}",
};

let server: HubServer;
let home: string;

beforeAll(async () => {
  server = await startHubServer({
    models: { [REPO]: { files: FILES, branches: ["v1"] } },
    datasets: { "allenai/ai2_arc": { files: { "ARC-Challenge/test-00000-of-00001.parquet": pseudoRandomBytes(4000, 9), "README.md": "# arc" } } },
  });
});
afterAll(() => server.close());
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "dusk-hub-"));
  server.requests.length = 0;
  server.setFaults([]);
});
afterEach(() => rm(home, { recursive: true, force: true }));

function opts(extra: DownloadOptions = {}): DownloadOptions {
  return { env: { HF_HOME: home, HF_ENDPOINT: server.url }, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...extra };
}

async function collect(gen: AsyncGenerator<HubEvent, string>): Promise<{ events: HubEvent[]; dir: string }> {
  const events: HubEvent[] = [];
  for (;;) {
    const n = await gen.next();
    if (n.done) return { events, dir: n.value };
    events.push(n.value);
  }
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const resolveRequests = (): string[] => server.requests.filter((r) => r.url.includes("/resolve/")).map((r) => r.url);

describe("downloadModel", () => {
  it("fills the HF cache layout (blobs, relative snapshot symlinks, refs) and reports progress", async () => {
    const { events, dir } = await collect(downloadModel(REPO, opts()));
    const commit = server.sha("model", REPO);
    const root = join(home, "hub", "models--tiny-org--tiny-llama");
    expect(dir).toBe(join(root, "snapshots", commit));
    expect(await readFile(join(root, "refs", "main"), "utf8")).toBe(commit);

    const weights = server.file("model", REPO, "model.safetensors");
    expect(weights.etag).toBe(sha256(WEIGHTS)); // LFS: the blob is named by sha256
    const pointer = join(dir, "model.safetensors");
    expect((await lstat(pointer)).isSymbolicLink()).toBe(true);
    expect(await readlink(pointer)).toBe(`../../blobs/${weights.etag}`);
    expect(sha256(await readFile(join(root, "blobs", weights.etag)))).toBe(sha256(WEIGHTS));
    const nested = server.file("model", REPO, "nested/deeper/extra.json");
    expect(await readlink(join(dir, "nested", "deeper", "extra.json"))).toBe(`../../../../blobs/${nested.etag}`);
    expect(await readFile(join(dir, "config.json"), "utf8")).toBe(FILES["config.json"]);

    expect(events[0]?.type).toBe("resolved");
    expect(events.at(-1)).toMatchObject({ type: "done", snapshotDir: dir, commit, total: events[0]?.type === "resolved" ? events[0].total : -1 });
    const progress = events.flatMap((e) => (e.type === "progress" && e.file === "model.safetensors" ? [e.bytes] : []));
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(WEIGHTS.byteLength);
    expect(events.filter((e) => e.type === "file-done").map((e) => e.type === "file-done" && e.cached)).toEqual([false, false, false, false]);
    const files = await import("node:fs/promises").then((fs) => fs.readdir(join(root, "blobs")));
    expect(files.some((f) => f.endsWith(".incomplete"))).toBe(false);
  });

  it("does not download complete files again", async () => {
    await collect(downloadModel(REPO, opts()));
    server.requests.length = 0;
    const { events } = await collect(downloadModel(REPO, opts()));
    expect(resolveRequests()).toEqual([]);
    expect(events.filter((e) => e.type === "file-done").every((e) => e.type === "file-done" && e.cached)).toBe(true);
  });

  it("re-links a blob already in the cache without fetching it again", async () => {
    await collect(downloadModel(REPO, opts({ files: ["model.safetensors"] })));
    server.setRepo("model", "tiny-org/other", { files: { "model.safetensors": WEIGHTS } });
    const cache = join(home, "hub");
    server.requests.length = 0;
    // same blob name in a different repo folder is not shared (as in huggingface_hub): it downloads
    await collect(downloadModel("tiny-org/other", opts()));
    expect(resolveRequests().length).toBe(1);
    // but a pinned commit of the same repo re-uses the blob
    server.requests.length = 0;
    await rm(join(cache, "models--tiny-org--tiny-llama", "snapshots"), { recursive: true });
    const { dir } = await collect(downloadModel(`${REPO}@${server.sha("model", REPO)}`, opts({ files: ["model.safetensors"] })));
    expect(resolveRequests()).toEqual([]);
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(WEIGHTS));
  });

  it("selects files with glob patterns and exact names", async () => {
    const { events } = await collect(downloadModel(REPO, opts({ files: ["*.json", "tokenizer.model"] })));
    const done = events.at(-1);
    expect(done?.type === "done" && done.files).toEqual(["config.json", "tokenizer.model", "nested/deeper/extra.json"]);
    expect(resolveRequests().some((u) => u.includes("safetensors"))).toBe(false);
  });

  it("names a missing exact file and an empty glob selection", async () => {
    await expect(collect(downloadModel(REPO, opts({ files: ["tokenizer.json"] })))).rejects.toMatchObject({
      code: "HUB_FILE_NOT_FOUND",
      message: expect.stringContaining("tokenizer.json"),
    });
    await expect(collect(downloadModel(REPO, opts({ files: ["*.gguf"] })))).rejects.toMatchObject({
      code: "HUB_NO_MATCHING_FILES",
      hint: expect.stringContaining("model.safetensors"),
    });
  });

  it("writes refs for a branch but not for a commit hash", async () => {
    const commit = server.sha("model", REPO);
    const root = join(home, "hub", "models--tiny-org--tiny-llama");
    await collect(downloadModel(`${REPO}@v1`, opts({ files: ["config.json"] })));
    expect(await readFile(join(root, "refs", "v1"), "utf8")).toBe(commit);
    await rm(join(root, "refs"), { recursive: true });
    await collect(downloadModel(`${REPO}@${commit}`, opts({ files: ["config.json"] })));
    await expect(stat(join(root, "refs"))).rejects.toThrow();
  });

  it("sends HF_TOKEN as a bearer token and explains a missing or refused one", async () => {
    const gated = await startHubServer({ models: { [REPO]: { files: { "config.json": "{}" } } }, token: "secret-mirror-token" });
    try {
      const env = { HF_HOME: home, HF_ENDPOINT: gated.url };
      await collect(downloadModel(REPO, { env: { ...env, HF_TOKEN: "secret-mirror-token" } }));
      expect(gated.requests.length).toBeGreaterThanOrEqual(3);
      expect(gated.requests.every((r) => r.authorization === "Bearer secret-mirror-token")).toBe(true);

      const missing = await collect(downloadModel(REPO, { env })).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(HubError);
      expect(missing).toMatchObject({ code: "HUB_AUTH_REQUIRED", status: 401, hint: expect.stringMatching(/HF_TOKEN.*accept the license/s) });
      const wrong = await collect(downloadModel(REPO, { env: { ...env, HF_TOKEN: "hf_wrong" } })).catch((e: unknown) => e);
      expect(wrong).toMatchObject({ code: "HUB_ACCESS_DENIED", status: 403, hint: expect.stringContaining("HF_TOKEN") });
    } finally {
      await gated.close();
    }
  });

  it("honours HF_ENDPOINT, HF_HOME and HF_HUB_CACHE from process.env", async () => {
    const hubCache = join(home, "elsewhere");
    vi.stubEnv("HF_ENDPOINT", `${server.url}/`);
    vi.stubEnv("HF_HOME", join(home, "unused"));
    vi.stubEnv("HF_HUB_CACHE", hubCache);
    vi.stubEnv("HF_TOKEN", "");
    try {
      const { dir } = await collect(downloadModel(REPO, { files: ["config.json"] }));
      expect(dir.startsWith(join(hubCache, "models--tiny-org--tiny-llama", "snapshots"))).toBe(true);
      expect(server.requests.length).toBeGreaterThan(0);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("follows paged tree listings", async () => {
    const paged = await startHubServer({ models: { [REPO]: { files: FILES } }, treePageSize: 2 });
    try {
      const { events } = await collect(downloadModel(REPO, { env: { HF_HOME: home, HF_ENDPOINT: paged.url }, files: ["*.json"] }));
      expect(paged.requests.filter((r) => r.url.includes("/tree/")).length).toBeGreaterThan(1);
      expect(events.at(-1)).toMatchObject({ type: "done", files: ["config.json", "nested/deeper/extra.json"] });
    } finally {
      await paged.close();
    }
  });

  it("serves HF_HUB_OFFLINE=1 from the cache alone", async () => {
    await collect(downloadModel(REPO, opts({ files: ["*.json"] })));
    server.requests.length = 0;
    const env = { HF_HOME: home, HF_ENDPOINT: "http://127.0.0.1:9", HF_HUB_OFFLINE: "1" };
    const { dir, events } = await collect(downloadModel(REPO, { env, files: ["config.json"] }));
    expect(server.requests).toEqual([]);
    expect(await readFile(join(dir, "config.json"), "utf8")).toBe(FILES["config.json"]);
    expect(events.at(-1)).toMatchObject({ type: "done", files: ["config.json"] });
    await expect(collect(downloadModel(REPO, { env, files: ["model.safetensors"] }))).rejects.toMatchObject({ code: "HUB_OFFLINE_NOT_CACHED" });
    await expect(collect(downloadModel(`${REPO}@v1`, { env }))).rejects.toMatchObject({ code: "HUB_OFFLINE_NOT_CACHED" });
  });
});

describe("downloadDataset + exportSnapshot", () => {
  it("downloads from /datasets/{repo}/resolve and places files under DIR/org/name", async () => {
    const { dir } = await collect(downloadDataset("allenai/ai2_arc", ["ARC-Challenge/*"], opts()));
    expect(dir).toContain(join("hub", "datasets--allenai--ai2_arc", "snapshots"));
    expect(resolveRequests()).toEqual([`/datasets/allenai/ai2_arc/resolve/${server.sha("dataset", "allenai/ai2_arc")}/ARC-Challenge/test-00000-of-00001.parquet`]);
    expect(server.requests.some((r) => r.url.startsWith("/api/datasets/allenai/ai2_arc/revision/main"))).toBe(true);

    const target = join(home, "data", "allenai", "ai2_arc");
    const written = await exportSnapshot(dir, target);
    const parquet = join(target, "ARC-Challenge", "test-00000-of-00001.parquet");
    expect(written).toEqual([parquet]);
    expect((await lstat(parquet)).isFile()).toBe(true);
    expect(await readFile(parquet)).toEqual(Buffer.from(pseudoRandomBytes(4000, 9)));
    await exportSnapshot(dir, target, { mode: "symlink" });
    expect((await lstat(parquet)).isSymbolicLink()).toBe(true);
    expect(await readFile(parquet)).toEqual(Buffer.from(pseudoRandomBytes(4000, 9)));
  });

  it("refuses a local path where a Hub id is needed", async () => {
    expect(() => downloadModel("./models/x")).toThrow(expect.objectContaining({ code: "HUB_BAD_REF" }) as Error);
  });
});
