import { createHash } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pseudoRandomBytes, startHubServer, type HubServer } from "../../test/helpers/hub-server.js";
import { HubError } from "../errors.js";
import { downloadModel, type DownloadOptions, type HubEvent } from "./index.js";

const REPO = "org/resumable";
const WEIGHTS = pseudoRandomBytes(4 * 1024 * 1024 + 17, 11);
const CUT_AT = 1_500_000;
let server: HubServer;
let home: string;

beforeAll(async () => {
  server = await startHubServer({ models: { [REPO]: { files: { "model.safetensors": WEIGHTS, "config.json": "{}" } } } });
});
afterAll(() => server.close());
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "dusk-hub-resume-"));
  server.setRepo("model", REPO, { files: { "model.safetensors": WEIGHTS, "config.json": "{}" } });
  server.requests.length = 0;
  server.setFaults([]);
});
afterEach(() => rm(home, { recursive: true, force: true }));

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const blobsDir = (): string => join(home, "hub", "models--org--resumable", "blobs");
const weightRequests = () => server.requests.filter((r) => r.url.includes("/resolve/") && r.url.endsWith("model.safetensors"));

function opts(extra: DownloadOptions = {}): DownloadOptions {
  return { env: { HF_HOME: home, HF_ENDPOINT: server.url }, files: ["model.safetensors"], retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...extra };
}

async function collect(gen: AsyncGenerator<HubEvent, string>): Promise<{ events: HubEvent[]; dir: string }> {
  const events: HubEvent[] = [];
  for (;;) {
    const n = await gen.next();
    if (n.done) return { events, dir: n.value };
    events.push(n.value);
  }
}

/** First call: the connection drops after CUT_AT bytes and no retries are allowed. */
async function interruptedFirstCall(): Promise<number> {
  server.setFaults([{ kind: "cut", afterBytes: CUT_AT, match: "model.safetensors", times: 1 }]);
  const e = await collect(downloadModel(REPO, opts({ retry: { attempts: 1 } }))).catch((err: unknown) => err);
  expect(e).toBeInstanceOf(HubError);
  expect(e).toMatchObject({ code: "HUB_DOWNLOAD_INTERRUPTED", hint: expect.stringContaining("resume") });
  const partial = join(blobsDir(), `${sha256(WEIGHTS)}.incomplete`);
  const size = (await stat(partial)).size;
  expect(size).toBeGreaterThan(0);
  expect(size).toBeLessThanOrEqual(CUT_AT);
  return size;
}

describe("resumable downloads", () => {
  it("resumes an interrupted file on the next call with a Range request and gets the exact bytes", async () => {
    const partialSize = await interruptedFirstCall();
    server.requests.length = 0;
    const { dir, events } = await collect(downloadModel(REPO, opts()));
    expect(weightRequests().map((r) => [r.range, r.status])).toEqual([[`bytes=${partialSize}-`, 206]]);
    expect(events.find((e) => e.type === "file-start")).toMatchObject({ bytes: partialSize, total: WEIGHTS.byteLength, cached: false });
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(WEIGHTS));
    expect((await readdir(blobsDir())).filter((f) => f.endsWith(".incomplete"))).toEqual([]);
  });

  it("resumes within the same call when retries are allowed", async () => {
    server.setFaults([{ kind: "cut", afterBytes: CUT_AT, match: "model.safetensors", times: 1 }]);
    const { dir } = await collect(downloadModel(REPO, opts()));
    const reqs = weightRequests();
    expect(reqs.map((r) => r.status)).toEqual([200, 206]);
    expect(reqs[1]?.range).toMatch(/^bytes=\d+-$/);
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(WEIGHTS));
  });

  it("starts over when the server ignores Range", async () => {
    await interruptedFirstCall();
    server.requests.length = 0;
    server.setFaults([{ kind: "ignore-range" }]);
    const { dir } = await collect(downloadModel(REPO, opts()));
    expect(weightRequests().map((r) => r.status)).toEqual([200]);
    expect(weightRequests()[0]?.range).toMatch(/^bytes=/);
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(WEIGHTS));
  });

  it("drops the partial file when the resumed response carries another etag", async () => {
    await interruptedFirstCall();
    server.requests.length = 0;
    server.setFaults([{ kind: "other-etag", match: "model.safetensors", times: 1 }]);
    const { dir } = await collect(downloadModel(REPO, opts()));
    expect(weightRequests().map((r) => [r.range === undefined ? "none" : "range", r.status])).toEqual([
      ["range", 206],
      ["none", 200],
    ]);
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(WEIGHTS));
  });

  it("downloads afresh when the file changed upstream (new etag)", async () => {
    await interruptedFirstCall();
    const changed = pseudoRandomBytes(WEIGHTS.byteLength, 99);
    server.setRepo("model", REPO, { files: { "model.safetensors": changed, "config.json": "{}" } });
    server.requests.length = 0;
    const { dir } = await collect(downloadModel(REPO, opts()));
    expect(weightRequests().map((r) => r.range)).toEqual([undefined]);
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(changed));
  });

  it("refuses a corrupt partial file (checksum), deletes it, and the next call recovers", async () => {
    const partialSize = await interruptedFirstCall();
    const partial = join(blobsDir(), `${sha256(WEIGHTS)}.incomplete`);
    await writeFile(partial, new Uint8Array(partialSize)); // same size, wrong bytes
    const e = await collect(downloadModel(REPO, opts())).catch((err: unknown) => err);
    expect(e).toMatchObject({ code: "HUB_CHECKSUM_MISMATCH", message: expect.stringContaining(sha256(WEIGHTS)) });
    await expect(stat(partial)).rejects.toThrow();
    const { dir } = await collect(downloadModel(REPO, opts()));
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(WEIGHTS));
  });

  it("an abort mid-file stops the transfer, keeps the partial, and the next call resumes", async () => {
    const controller = new AbortController();
    const gen = downloadModel(REPO, opts({ signal: controller.signal }));
    const e = await (async () => {
      for await (const ev of gen) if (ev.type === "progress") controller.abort(new Error("ctrl-c"));
    })().catch((err: unknown) => err);
    expect(e).toMatchObject({ code: "HUB_ABORTED", hint: expect.stringContaining("resume") });
    const partial = (await stat(join(blobsDir(), `${sha256(WEIGHTS)}.incomplete`))).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(WEIGHTS.byteLength);
    server.requests.length = 0;
    const { dir } = await collect(downloadModel(REPO, opts()));
    expect(weightRequests()[0]?.range).toBe(`bytes=${partial}-`);
    expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(WEIGHTS));
  });

  it("verifies small non-LFS files by their git blob id", async () => {
    server.setRepo("model", REPO, { files: { "config.json": '{"a":1}' } });
    const { dir } = await collect(downloadModel(REPO, opts({ files: ["config.json"] })));
    const f = server.file("model", REPO, "config.json");
    expect(f.lfsOid).toBeUndefined();
    expect(await readdir(blobsDir())).toEqual([f.oid]);
    expect(await readFile(join(dir, "config.json"), "utf8")).toBe('{"a":1}');
  });
});

describe("LFS files behind a CDN redirect (as the real Hub serves them)", () => {
  it("follows the 302, resumes with Range at the CDN, and does not send the token there", async () => {
    const hub = await startHubServer({ models: { [REPO]: { files: { "model.safetensors": WEIGHTS, "config.json": "{}" } } }, lfsRedirect: true, token: "hf_secret" });
    try {
      const env = { HF_HOME: home, HF_ENDPOINT: hub.url, HF_TOKEN: "hf_secret" };
      hub.setFaults([{ kind: "cut", afterBytes: CUT_AT, match: "/lfs/", times: 1 }]);
      const { dir } = await collect(downloadModel(REPO, { env, retry: { baseDelayMs: 5 } }));
      expect(sha256(await readFile(join(dir, "model.safetensors")))).toBe(sha256(WEIGHTS));
      const cdn = hub.requests.filter((r) => r.server === "cdn");
      expect(cdn.map((r) => r.status)).toEqual([200, 206]);
      expect(cdn[1]?.range).toMatch(/^bytes=\d+-$/);
      expect(cdn.every((r) => r.authorization === undefined)).toBe(true);
      expect(hub.requests.filter((r) => r.server === "hub").every((r) => r.authorization === "Bearer hf_secret")).toBe(true);
    } finally {
      await hub.close();
    }
  });
});
