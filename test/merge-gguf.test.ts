// Merging quantized GGUF inputs: the same recipe run on Q8_0 GGUFs of three models and on their
// safetensors must differ only by Q8_0's rounding — that is, the GGUF merge equals, bit for bit,
// the safetensors merge of the models with every tensor the converter quantized replaced by its
// Q8_0 round trip (tensor names, Q/K row order, filters and random streams all line up). Also
// virtual merges: `dusk ppl` and `dusk analyze` on a merge recipe, through the engine, without
// writing the model, equal the built model's numbers.

import { copyFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hfToGgufName, LLAMA } from "../src/arch/index.js";
import { openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { unpermuteQK } from "../src/convert/qk-permute.js";
import { dequantizeQ8_0, quantizeQ8_0 } from "../src/convert/quantize.js";
import { FileSink } from "../src/formats/byte-source.js";
import { SafetensorsWriter } from "../src/formats/safetensors-writer.js";
import { tensorType } from "../src/formats/tensor-types.js";
import { readTensorBytes, runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyHf, toGguf } from "./helpers/models.js";

const SHAPE = { layers: 3, hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, std: 0.05 } as const;
const temps = tempDirs("dusk-merge-gguf-");
let root: string;
const hf: Record<string, string> = {};
const rounded: Record<string, string> = {};
const gguf: Record<string, string> = {};

/** The HF model with each tensor the Q8_0 GGUF stores quantized replaced by its Q8_0 round trip. */
async function roundTrip(dir: string, q8: string, out: string): Promise<void> {
  const g = await openCheckpoint(q8);
  const c = await openCheckpoint(dir);
  try {
    const sink = await FileSink.create(join(out, "model.safetensors"));
    const f32 = tensorType("F32")!;
    const names = [...c.tensors.keys()];
    const w = await SafetensorsWriter.begin(sink, names.map((n) => ({ name: n, type: f32, shape: c.tensors.get(n)!.shape })));
    for (const name of names) {
      const t = c.tensors.get(name)!;
      const bytes = await t.source.read(t.offset, t.byteLength);
      const quantized = g.tensors.get(hfToGgufName(LLAMA, name)!)!.type.name === "Q8_0";
      const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      await w.write(name, new Uint8Array((quantized ? dequantizeQ8_0(quantizeQ8_0(values)) : values).buffer));
    }
    await w.finish();
    await sink.close();
  } finally {
    await Promise.all([g.close(), c.close()]);
  }
  for (const f of await readdir(dir)) if (f !== "model.safetensors") await copyFile(join(dir, f), join(out, f));
}

beforeAll(async () => {
  root = await temps.make();
  for (const [name, seed] of [["base", 1], ["a", 2], ["b", 3]] as const) {
    hf[name] = await makeTinyHf({ ...SHAPE, seed }, join(root, `${name}-hf`));
    gguf[name] = await toGguf(hf[name]!, "q8_0", join(root, `${name}-q8_0.gguf`));
    rounded[name] = join(root, `${name}-rounded`);
    await (await import("node:fs/promises")).mkdir(rounded[name]!);
    await roundTrip(hf[name]!, gguf[name]!, rounded[name]!);
  }
});
afterAll(() => temps.cleanup());

const recipe = (method: string, refs: Record<string, string>, extra = "") => `merge_method: ${method}
base_model: ${refs.base}
models:
  - model: ${refs.a}
    parameters: {weight: [0.7, 0.4], density: 0.5}
  - model: ${refs.b}
    parameters:
      weight: [{filter: self_attn, value: 0.9}, {value: 0.5}]
      density: 0.6
${extra}`;

describe("the same recipe from safetensors and from a Q8_0 GGUF", () => {
  for (const method of ["ties", "dare_ties"]) {
    it(`${method}: differs only by Q8_0's rounding`, async () => {
      const ggufRecipe = join(root, `${method}-gguf.yml`);
      const hfRecipe = join(root, `${method}-hf.yml`);
      await writeFile(ggufRecipe, recipe(method, gguf));
      await writeFile(hfRecipe, recipe(method, rounded));
      const outGguf = join(root, `${method}.gguf`);
      const outHf = join(root, `${method}-hf`);
      const g = await runCli(["build", ggufRecipe, "-o", outGguf, "--type", "f32", "--seed", "3", "--quiet"]);
      expect(g.stderr).toBe("");
      expect(g.code).toBe(0);
      expect((await runCli(["build", hfRecipe, "-o", outHf, "--seed", "3", "--quiet"])).code).toBe(0);

      const fromHf = await readTensorBytes(outHf);
      const out = await openCheckpoint(outGguf);
      try {
        for (const [name, want] of fromHf) {
          const t = out.tensors.get(hfToGgufName(LLAMA, name)!)!;
          expect(t.type.name, name).toBe("F32");
          let got = await t.source.read(t.offset, t.byteLength);
          if (name.includes("q_proj")) got = unpermuteQK(got, SHAPE.heads, t.shape[0]!);
          if (name.includes("k_proj")) got = unpermuteQK(got, SHAPE.kvHeads, t.shape[0]!);
          expect(Buffer.from(got).equals(Buffer.from(want)), name).toBe(true);
        }
      } finally {
        await out.close();
      }
    });
  }
});

describe("virtual merges", () => {
  it("dusk ppl and dusk analyze on a recipe equal the built model's, with nothing written", async () => {
    const file = join(root, "ties-hf.yml");
    const built = join(root, "ties-hf");
    const text = join(root, "calib.txt");
    await writeFile(text, "ROMEO: But soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n".repeat(4));
    const ppl = async (model: string) => {
      const r = await runCli(["ppl", model, "--backend", "engine", "--text", text, "--ctx", "32", "--stride", "16", "--json", "--quiet", ...(model.endsWith(".yml") ? ["--seed", "3"] : [])]);
      expect(r.stderr).toBe("");
      return JSON.parse(r.stdout) as { ppl: number; tokens: number };
    };
    const virtual = await ppl(file);
    const real = await ppl(built);
    expect(virtual.tokens).toBe(real.tokens);
    expect(virtual.ppl).toBe(real.ppl);
    const a = await runCli(["analyze", file, "--seed", "3", "--text", text, "--ctx", "32", "--stride", "16", "--json", "--quiet"]);
    const b = await runCli(["analyze", built, "--text", text, "--ctx", "32", "--stride", "16", "--json", "--quiet"]);
    expect(a.code).toBe(0);
    expect(typeof JSON.parse(a.stdout).ppl).toBe("number");
    expect(JSON.parse(a.stdout).ppl).toBe(JSON.parse(b.stdout).ppl);
  });
});
