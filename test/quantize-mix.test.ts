// llama.cpp's per-tensor type choices on a 32-layer model and its 48-layer DUS stack (goldens:
// llama-quantize --dry-run, test/fixtures/quant/stack-types.json), and `--mix-by source`: every
// copy of a base layer in the stack gets the type llama-quantize gives that layer in the base.

import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { FileSink } from "../src/formats/byte-source.js";
import { GgufWriter } from "../src/formats/gguf-writer.js";
import { ggufValue, type GgufKv } from "../src/formats/gguf-value.js";
import { tensorType } from "../src/formats/tensor-types.js";
import { parseQuantFtype } from "../src/quant/ftypes.js";
import { planQuantize, type QuantizeOptions } from "../src/quant/plan.js";
import { main } from "../src/cli/main.js";
import { tempDir } from "./helpers/models.js";

interface GoldenModel {
  kv: Record<string, string | number>;
  tensors: [string, string, number[]][];
  types: Record<string, { most: string; others: Record<string, string> }>;
}
const goldens = JSON.parse(await readFile(new URL("./fixtures/quant/stack-types.json", import.meta.url), "utf8")) as { models: Record<"base32" | "stack48", GoldenModel> };
const files: Partial<Record<"base32" | "stack48", string>> = {};

/** A GGUF with the golden's metadata and tensor list; its data is a hole (the planner reads headers only). */
async function sparseGguf(m: GoldenModel, path: string): Promise<string> {
  const kv: GgufKv = new Map(Object.entries(m.kv).map(([k, v]) => [k, typeof v === "string" ? ggufValue.string(v) : ggufValue.u32(v)]));
  const sink = await FileSink.create(path);
  let size: number;
  try {
    const w = new GgufWriter(sink, { kv, tensors: m.tensors.map(([name, type, shape]) => ({ name, type: tensorType(type)!, shape })) });
    size = w.layout.fileSize;
    await w.writeHeader();
  } finally {
    await sink.close();
  }
  const h = await open(path, "r+");
  await h.truncate(size);
  await h.close();
  return path;
}

beforeAll(async () => {
  const dir = await tempDir("dusk-quant-mix-");
  for (const name of ["base32", "stack48"] as const) files[name] = await sparseGguf(goldens.models[name], join(dir, `${name}.gguf`));
});

async function chosen(name: "base32" | "stack48", ftype: string, extra: Partial<QuantizeOptions> = {}): Promise<Map<string, string>> {
  const c = await openCheckpoint(files[name]!);
  try {
    const plan = planQuantize(c, { ftype: parseQuantFtype(ftype), ...extra });
    return new Map(plan.tensors.filter((t) => t.convert).map((t) => [t.name, t.type]));
  } finally {
    await c.close();
  }
}

function expected(m: GoldenModel, ftype: string, name: string): string {
  const t = m.types[ftype]!;
  return t.others[name] ?? t.most;
}

describe("per-tensor types are llama-quantize's", () => {
  for (const model of ["base32", "stack48"] as const) {
    for (const ftype of Object.keys(goldens.models[model].types)) {
      test(`${model} ${ftype}`, async () => {
        const got = await chosen(model, ftype);
        const m = goldens.models[model];
        const quantized = m.tensors.filter(([, , shape]) => shape.length >= 2).map(([n]) => n);
        const bad = quantized.filter((n) => got.get(n) !== expected(m, ftype, n)).map((n) => `${n}: ${got.get(n)} vs llama.cpp ${expected(m, ftype, n)}`);
        expect(bad).toEqual([]);
      });
    }
  }
});

describe("--mix-by source: each copy of a base layer gets the base layer's type", () => {
  const base = goldens.models.base32;
  // the stack's recorded recipe: DUS of 32 layers, drop 8 → layers 0..23 then 8..31
  const source = (l: number) => (l < 24 ? l : l - 24 + 8);
  for (const ftype of Object.keys(base.types)) {
    test(ftype, async () => {
      const got = await chosen("stack48", ftype, { mixBy: "source" });
      const bad: string[] = [];
      for (const [name, type] of got) {
        const m = /^blk\.(\d+)\.(.*)$/.exec(name);
        const baseName = m ? `blk.${source(Number(m[1]))}.${m[2]}` : name;
        if (type !== expected(base, ftype, baseName)) bad.push(`${name} (as ${baseName}): ${type} vs ${expected(base, ftype, baseName)}`);
      }
      expect(bad).toEqual([]);
    });
  }

  test("the plan says how many tensors the stack's positions change, and --dry-run writes nothing", async () => {
    let out = "";
    const write = process.stdout.write;
    process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
    try {
      expect(await main(["quantize", files.stack48!, "--type", "Q4_K_M", "--dry-run", "--no-table"])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const stackVsSource = [...(await chosen("stack48", "Q4_K_M"))].filter(([n, t]) => t !== (/^blk\.(\d+)\.(.*)$/.exec(n) ? expected(base, "Q4_K_M", n.replace(/^blk\.(\d+)\./, (_, l) => `blk.${source(Number(l))}.`)) : expected(base, "Q4_K_M", n))).length;
    expect(stackVsSource).toBeGreaterThan(0);
    expect(out).toContain(`--mix-by source would type ${stackVsSource} tensors differently`);
  });
});
