// Hub ids on the command line, end to end against a local server in the Hub's URL layout that
// serves a generated model: inspect, build and run download into the HF cache (HF_HOME and
// HF_ENDPOINT honoured), reuse it, and report a missing repo or a refused token clearly.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { runCli, tempDirs } from "./helpers/cli.js";
import { startHubServer, type HubServer } from "./helpers/hub-server.js";
import { makeTinyHf } from "./helpers/models.js";

const dirs = tempDirs("dusk-hub-e2e-");
let server: HubServer;
let home: string;
const saved = { HF_HOME: process.env.HF_HOME, HF_ENDPOINT: process.env.HF_ENDPOINT, HF_TOKEN: process.env.HF_TOKEN, DUSK_CACHE: process.env.DUSK_CACHE };

beforeAll(async () => {
  const model = await makeTinyHf({ layers: 4, hidden: 32, heads: 2, kvHeads: 1 }, join(await dirs.make(), "tiny"));
  const files: Record<string, Uint8Array> = {};
  for (const f of await readdir(model)) files[f] = new Uint8Array(await readFile(join(model, f)));
  server = await startHubServer({ models: { "dusk-test/tiny-llama": { files } }, token: "hf_secret" });
  home = await dirs.make();
  Object.assign(process.env, { HF_HOME: home, HF_ENDPOINT: server.url, HF_TOKEN: "hf_secret", DUSK_CACHE: join(home, "dusk") });
});

afterAll(async () => {
  await server.close();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await dirs.cleanup();
});

test("inspect, build and run a Hub id: downloaded once into the HF cache, then reused", async () => {
  const r = await runCli(["inspect", "dusk-test/tiny-llama", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).layers).toBe(4);
  const cacheDir = join(home, "hub", "models--dusk-test--tiny-llama");
  expect((await readdir(join(cacheDir, "snapshots"))).length).toBe(1);
  const downloads = server.requests.filter((q) => q.url.includes("/resolve/")).length;
  expect(downloads).toBeGreaterThan(3);

  const out = join(await dirs.make(), "dus");
  const b = await runCli(["build", "--preset", "dus", "--drop", "1", "dusk-test/tiny-llama", "-o", out, "--quiet"]);
  expect(b.code, b.stderr).toBe(0);
  expect(JSON.parse(await readFile(join(out, "config.json"), "utf8")).num_hidden_layers).toBe(6);
  expect(await readFile(join(out, "mergekit_config.yml"), "utf8")).toContain("model: dusk-test/tiny-llama");
  // No file was fetched again.
  expect(server.requests.filter((q) => q.url.includes("/resolve/")).length).toBe(downloads);

  const run = await runCli(["run", "dusk-test/tiny-llama", "ROMEO:", "--max-tokens", "4", "--preset", "greedy", "--json"]);
  expect(run.code, run.stderr).toBe(0);
  expect(JSON.parse(run.stdout).tokens).toBeGreaterThan(0);
});

test("a missing repo and a refused token are reported with their own messages", async () => {
  const missing = await runCli(["inspect", "dusk-test/no-such-model"]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/not found/i);
  expect(missing.stderr).toContain("dusk-test/no-such-model");
  process.env.HF_TOKEN = "hf_wrong";
  try {
    const denied = await runCli(["inspect", "dusk-test/tiny-llama@main", "--json"]);
    // Already cached at this revision? Then it must still resolve the revision online and be refused.
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/HF_TOKEN/);
  } finally {
    process.env.HF_TOKEN = "hf_secret";
  }
});
