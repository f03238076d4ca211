import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startHubServer, type HubServer } from "../../test/helpers/hub-server.js";
import { HubError } from "../errors.js";
import { downloadModel, type DownloadOptions, type HubEvent, type RetryNotice } from "./index.js";

const REPO = "org/model";
let server: HubServer;
let home: string;

beforeAll(async () => {
  server = await startHubServer({ models: { [REPO]: { files: { "config.json": "{}", "model.safetensors": new Uint8Array(2048) } } } });
});
afterAll(() => server.close());
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "dusk-hub-err-"));
  server.requests.length = 0;
  server.setFaults([]);
});
afterEach(() => rm(home, { recursive: true, force: true }));

function opts(extra: DownloadOptions = {}, endpoint = server.url): DownloadOptions {
  return { env: { HF_HOME: home, HF_ENDPOINT: endpoint }, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 }, ...extra };
}

async function drain(gen: AsyncGenerator<HubEvent, string>): Promise<string> {
  for (;;) {
    const n = await gen.next();
    if (n.done) return n.value;
  }
}

async function failure(gen: AsyncGenerator<HubEvent, string>): Promise<HubError> {
  const e = await drain(gen).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HubError);
  return e as HubError;
}

describe("download errors", () => {
  it("404: says whether the repo, the revision or the file is missing", async () => {
    const repo = await failure(downloadModel("org/nope", opts()));
    expect(repo).toMatchObject({ code: "HUB_REPO_NOT_FOUND", status: 404, message: expect.stringContaining("org/nope") });
    expect(repo.hint).toMatch(/org\/name.*HF_TOKEN/s);
    const rev = await failure(downloadModel(`${REPO}@no-such-branch`, opts()));
    expect(rev).toMatchObject({ code: "HUB_REVISION_NOT_FOUND", message: expect.stringContaining("no-such-branch") });
    expect(rev.hint).toContain("@");
    // a file vanishing between listing and download (injected 404 on its resolve URL)
    server.setFaults([{ kind: "status", status: 404, errorCode: "EntryNotFound", match: "/resolve/" }]);
    const file = await failure(downloadModel(REPO, opts({ files: ["config.json"] })));
    expect(file).toMatchObject({ code: "HUB_FILE_NOT_FOUND", message: expect.stringContaining('"config.json"') });
    expect(file.hint).toContain("/tree/");
  });

  it("429: waits for Retry-After, then succeeds", async () => {
    server.setFaults([{ kind: "status", status: 429, retryAfter: "1", match: "/api/models/", times: 1 }]);
    const notices: RetryNotice[] = [];
    const t0 = Date.now();
    await drain(downloadModel(REPO, opts({ files: ["config.json"], onRetry: (n) => notices.push(n) })));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(notices).toMatchObject([{ attempt: 1, delayMs: 1000, reason: "HTTP 429" }]);
    expect(server.requests.filter((r) => r.url.startsWith("/api/models/org/model/revision/")).map((r) => r.status)).toEqual([429, 200]);
  });

  it("429: gives up with HUB_RATE_LIMITED after the retries, or at once for a long Retry-After", async () => {
    server.setFaults([{ kind: "status", status: 429, retryAfter: "0", match: "/tree/" }]);
    const e = await failure(downloadModel(REPO, opts()));
    expect(e).toMatchObject({ code: "HUB_RATE_LIMITED", status: 429, hint: expect.stringContaining("HF_TOKEN") });
    expect(server.requests.filter((r) => r.url.includes("/tree/")).length).toBe(3);

    server.requests.length = 0;
    server.setFaults([{ kind: "status", status: 429, retryAfter: "3600" }]);
    expect(await failure(downloadModel(REPO, opts()))).toMatchObject({ code: "HUB_RATE_LIMITED" });
    expect(server.requests.length).toBe(1);
  });

  it("5xx: retries with backoff, then HUB_SERVER_ERROR", async () => {
    server.setFaults([{ kind: "status", status: 500, match: "/resolve/", times: 1 }]);
    await drain(downloadModel(REPO, opts({ files: ["config.json"] })));
    expect(server.requests.filter((r) => r.url.includes("/resolve/")).map((r) => r.status)).toEqual([500, 200]);

    server.requests.length = 0;
    server.setFaults([{ kind: "status", status: 503 }]);
    const e = await failure(downloadModel(REPO, opts()));
    expect(e).toMatchObject({ code: "HUB_SERVER_ERROR", status: 503, message: expect.stringContaining("503") });
    expect(server.requests.length).toBe(3);
  });

  it("network failure: names the endpoint and mentions HF_ENDPOINT and offline use", async () => {
    // a port that was free a moment ago: connection refused
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const endpoint = `http://127.0.0.1:${port}`;
    const e = await failure(downloadModel(REPO, opts({}, endpoint)));
    expect(e.code).toBe("HUB_NETWORK");
    expect(e.message).toContain(endpoint);
    expect(e.message).toContain("ECONNREFUSED");
    expect(e.hint).toMatch(/HF_ENDPOINT.*HF_HUB_OFFLINE/s);
  });

  it("a silent server: header timeout becomes HUB_NETWORK (timeout)", async () => {
    const sockets: import("node:net").Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
      const e = await failure(downloadModel(REPO, opts({ headerTimeoutMs: 100, retry: { attempts: 2, baseDelayMs: 5 } }, endpoint)));
      expect(e).toMatchObject({ code: "HUB_NETWORK", message: expect.stringContaining("timeout") });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it("an AbortSignal cancels with HUB_ABORTED", async () => {
    const controller = new AbortController();
    controller.abort(new Error("user pressed ctrl-c"));
    expect(await failure(downloadModel(REPO, opts({ signal: controller.signal })))).toMatchObject({ code: "HUB_ABORTED" });
  });

  it("refuses listings whose paths would escape the snapshot folder", async () => {
    const evil = await startHubServer({ models: { [REPO]: { files: { "../../escape.json": "{}" } } } });
    try {
      const e = await failure(downloadModel(REPO, opts({}, evil.url)));
      expect(e).toMatchObject({ code: "HUB_BAD_RESPONSE", message: expect.stringContaining("../../escape.json") });
      expect(evil.requests.some((r) => r.url.includes("/resolve/"))).toBe(false);
    } finally {
      await evil.close();
    }
  });

  it("bad references are HUB_BAD_REF with a hint", () => {
    for (const bad of ["org/na me", "a/b/c", "org--x/name", "org/name@bad..rev", "justaname"]) {
      expect(() => downloadModel(bad), bad).toThrow(expect.objectContaining({ code: "HUB_BAD_REF", hint: expect.stringContaining("org/name") }) as Error);
    }
  });
});
