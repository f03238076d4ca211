// dusk quantize against llama.cpp's llama-quantize, byte for byte: the tiny models of
// src/fixtures/quant-models.ts, every file type, with and without an importance matrix (llama-imatrix's,
// in its GGUF and legacy formats). Goldens: test/fixtures/quant/models.json (SHA-256 of each file
// and tensor llama-quantize wrote), made by scripts/quant-goldens/regenerate.sh.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { writeQuantGoldenGguf, type QuantGoldenModel } from "../src/fixtures/quant-models.js";
import { parseQuantFtype } from "../src/quant/ftypes.js";
import { readImatrix } from "../src/quant/imatrix-file.js";
import { planQuantize } from "../src/quant/plan.js";
import { QuantPool } from "../src/quant/pool.js";
import { quantizeGguf } from "../src/quant/run.js";
import { main } from "../src/cli/main.js";
import { tempDir } from "./helpers/models.js";

interface Described {
  sha256: string;
  bytes: number;
  tensors: Record<string, string>;
}
const goldens = JSON.parse(await readFile(new URL("./fixtures/quant/models.json", import.meta.url), "utf8")) as {
  models: Record<QuantGoldenModel, { input: string; runs: Record<string, Described> }>;
};
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

let dir: string;
let pool: QuantPool; // two workers for every file (the bytes do not depend on their number)
const inputs: Partial<Record<QuantGoldenModel, string>> = {};

beforeAll(async () => {
  dir = await tempDir("dusk-quant-goldens-");
  pool = QuantPool.create(2);
  for (const name of Object.keys(goldens.models) as QuantGoldenModel[]) {
    inputs[name] = await writeQuantGoldenGguf(name, dir);
    // the goldens were made from these very bytes; if this fails the fixture generator changed
    expect(sha(await readFile(inputs[name]!)), `${name} input (regenerate the goldens if the fixture generator changed)`).toBe(goldens.models[name].input);
  }
});

afterAll(() => pool?.close());

/** The tensors (name: type sha) of a GGUF, as the goldens describe them. */
async function describeFile(path: string): Promise<Record<string, string>> {
  const c = await openCheckpoint(path);
  try {
    const out: Record<string, string> = {};
    for (const t of c.tensors.values()) out[t.name] = `${t.type.name} ${sha(await t.source.read(t.offset, t.byteLength)).slice(0, 16)}`;
    return out;
  } finally {
    await c.close();
  }
}

async function quantize(input: string, label: string, output: string, slabElems?: number): Promise<void> {
  const [type, imatrixFile] = label.split("+");
  const imatrixPath = imatrixFile === undefined ? undefined : `test/fixtures/quant/k256.${imatrixFile === "imatrix" ? "imatrix.gguf" : imatrixFile}`;
  const c = await openCheckpoint(input);
  try {
    const plan = planQuantize(c, { ftype: parseQuantFtype(type!), ...(imatrixPath ? { imatrix: { path: imatrixPath, data: await readImatrix(imatrixPath) } } : {}) });
    for await (const _ of quantizeGguf(c, plan, { output, pool, ...(slabElems ? { slabElems } : {}) })) void _;
  } finally {
    await c.close();
  }
}

for (const [model, g] of Object.entries(goldens.models) as [QuantGoldenModel, (typeof goldens.models)["k256"]][]) {
  describe(`${model}: dusk quantize writes llama-quantize's file`, () => {
    for (const [label, want] of Object.entries(g.runs)) {
      test(label, async () => {
        const out = join(dir, `${model}-${label}.gguf`);
        await quantize(inputs[model]!, label, out);
        const bytes = await readFile(out);
        if (sha(bytes) !== want.sha256) {
          // name what differs: the tensors (type or bytes), else the header
          const got = await describeFile(out);
          const bad = Object.keys(want.tensors).filter((n) => got[n] !== want.tensors[n]).map((n) => `${n}: ${got[n]?.split(" ")[0]} vs llama.cpp ${want.tensors[n]!.split(" ")[0]}`);
          expect(bad, "tensors that differ").toEqual([]);
          expect(bytes.byteLength, "file size").toBe(want.bytes);
          expect(sha(bytes), "header bytes differ (metadata order or values)").toBe(want.sha256);
        }
      });
    }
  });
}

test("slabs of 32768 elements (several per tensor, each widened while the workers quantize the one before) write the same bytes", async () => {
  const out = join(dir, "slabs-q4km.gguf");
  await quantize(inputs.k256!, "Q4_K_M+imatrix", out, 2 * 16384); // two workers take a slab each half
  expect(sha(await readFile(out))).toBe(goldens.models.k256.runs["Q4_K_M+imatrix"]!.sha256);
});

test("the CLI on one thread writes the same bytes (Q4_K_M with the legacy imatrix)", async () => {
  const out = join(dir, "cli-q4km.gguf");
  const code = await main(["quantize", inputs.k256!, "-o", out, "--type", "q4_k", "--imatrix", "test/fixtures/quant/k256.imatrix.dat", "--threads", "1", "--quiet"]);
  expect(code).toBe(0);
  expect(sha(await readFile(out))).toBe(goldens.models.k256.runs["Q4_K_M+imatrix.dat"]!.sha256);
});
