// dusk's converter against llama.cpp's own (test/fixtures/reference/README.md): the same small HF
// checkpoints converted by both must give identical keys (cosmetic ones named below), identical
// tensor bytes, and identical tokenization and log-probabilities in llama.cpp. Then the engine on
// the Llama 3.1-style golden (rope_freqs) agrees with llama.cpp at the F32 cross-check tolerance.

import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getLlama } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openCheckpoint, type Checkpoint } from "../src/checkpoint/open-checkpoint.js";
import type { ConvertType } from "../src/convert/gguf-hparams.js";
import { checkpointWeights } from "../src/engine/checkpoint-weights.js";
import { BUILTIN_PRESETS, ChatSession, openModel } from "../src/runtime/index.js";
import { tokenLogprobs } from "../src/engine/index.js";
import { FileSource } from "../src/formats/byte-source.js";
import { parseGguf, type GgufFile } from "../src/formats/gguf.js";
import { ggufPlain } from "../src/formats/gguf-value.js";
import { llamaLogprobs, maxAbsDiff } from "./helpers/llama-logprobs.js";
import { tempDir, toGguf } from "./helpers/models.js";

const ROOT = fileURLToPath(new URL("./fixtures/reference/", import.meta.url));
const GREEDY = BUILTIN_PRESETS[0]!.sampling;

/** Keys that name or describe the file without changing what llama.cpp does with it. */
const COSMETIC_KEYS = new Set([
  "general.name", // the reference title-cases the directory name ("Hf"); dusk keeps it ("hf")
  "general.size_label", // the reference's parameter-count label ("51K"); dusk writes none
]);

/** Keys whose array order is not meaningful: gguf-py builds tokenizer.chat_templates from a set. */
const UNORDERED_KEYS = new Set(["tokenizer.chat_templates"]);

const GOLDENS: [string, ConvertType][] = [
  ["llama31", "f32"], ["llama31", "q8_0"], ["mistral", "f32"], ["mistral", "f16"], ["qwen2", "f32"], ["qwen2", "bf16"],
  ["qwen3", "f32"], ["qwen3", "q8_0"], ["gemma", "f32"], ["gemma2", "f32"], ["gemma2", "f16"], ["gemma3", "f32"], ["gemma3", "bf16"],
  ["gemma3mm", "f32"], ["phi3", "f32"], ["phi3long", "f32"], ["phi3long", "q8_0"], ["phi4mini", "f32"],
];
const PROMPTS = ["Hello world", " leading space, then: ROMEO!", "ROMEO:\nBut soft, what light through yonder window breaks?", "[INST] hi [/INST] 3.14  tabs\tand ünïcödé"];

interface Pair {
  ref: GgufFile;
  dusk: GgufFile;
  refPath: string;
  duskPath: string;
}
const pairs = new Map<string, Pair>();
const sources: FileSource[] = [];

async function open(path: string): Promise<GgufFile> {
  const s = await FileSource.open(path);
  sources.push(s);
  return parseGguf(s);
}

beforeAll(async () => {
  const work = await tempDir();
  for (const [name, type] of GOLDENS) {
    const refPath = join(ROOT, name, `reference-${type}.gguf`);
    const duskPath = await toGguf(join(ROOT, name, "hf"), type, join(work, `${name}-${type}.gguf`));
    pairs.set(`${name}/${type}`, { ref: await open(refPath), dusk: await open(duskPath), refPath, duskPath });
  }
});
afterAll(async () => {
  await Promise.all(sources.map((s) => s.close()));
});

function plain(f: GgufFile, key: string): unknown {
  const v = f.kv.get(key);
  if (v === undefined) return undefined;
  const p = ggufPlain(v);
  return UNORDERED_KEYS.has(key) && Array.isArray(p) ? [...p].sort() : p;
}

describe.each(GOLDENS)("golden %s (%s): dusk's GGUF equals llama.cpp converter's", (name, type) => {
  test("every key but the cosmetic ones: present in both, same GGUF type, same value", () => {
    const { ref, dusk } = pairs.get(`${name}/${type}`)!;
    const keys = [...new Set([...ref.kv.keys(), ...dusk.kv.keys()])].filter((k) => !COSMETIC_KEYS.has(k));
    const diffs = keys.filter((k) => ref.kv.get(k)?.type !== dusk.kv.get(k)?.type || JSON.stringify(plain(ref, k)) !== JSON.stringify(plain(dusk, k)));
    expect(diffs, diffs.map((k) => `${k}: reference ${JSON.stringify(plain(ref, k))?.slice(0, 80)}, dusk ${JSON.stringify(plain(dusk, k))?.slice(0, 80)}`).join("\n")).toEqual([]);
    expect(keys.length).toBeGreaterThan(25);
    // the same order too (llama.cpp does not care; a reader comparing files does)
    const order = (f: GgufFile) => [...f.kv.keys()].filter((k) => !COSMETIC_KEYS.has(k));
    expect(order(dusk)).toEqual(order(ref));
  });

  test("every tensor: same names, types, shapes and bytes", async () => {
    const { ref, dusk } = pairs.get(`${name}/${type}`)!;
    const mine = new Map(dusk.tensors.map((t) => [t.name, t]));
    expect([...mine.keys()].sort()).toEqual(ref.tensors.map((t) => t.name).sort());
    for (const r of ref.tensors) {
      const d = mine.get(r.name)!;
      expect({ name: r.name, type: d.type.name, shape: d.shape }).toEqual({ name: r.name, type: r.type.name, shape: r.shape });
      const [a, b] = await Promise.all([r.source.read(r.offset, r.byteLength), d.source.read(d.offset, d.byteLength)]);
      expect(Buffer.from(b).equals(Buffer.from(a)), `${r.name} bytes`).toBe(true);
    }
  });
});

describe("llama.cpp on both files", () => {
  test.each(GOLDENS.filter(([, t]) => t === "f32"))("%s: identical tokenization and log-probabilities (≤ 1e-6)", async (name) => {
    const { refPath, duskPath } = pairs.get(`${name}/f32`)!;
    const llama = await getLlama({ gpu: false });
    const tokenize = async (path: string) => {
      const model = await llama.loadModel({ modelPath: path });
      try {
        return PROMPTS.map((p) => [...model.tokenize(p)] as number[]);
      } finally {
        await model.dispose();
      }
    };
    const [ref, mine] = [await tokenize(refPath), await tokenize(duskPath)];
    expect(mine).toEqual(ref);
    let max = 0;
    for (const ids of ref) {
      const a = await llamaLogprobs(refPath, ids);
      const b = await llamaLogprobs(duskPath, ids);
      max = Math.max(max, maxAbsDiff(a.next, b.next));
    }
    console.log(`${name}: llama.cpp max |Δ log p| dusk vs reference file = ${max.toExponential(2)} over ${ref.flat().length} tokens`);
    expect(max).toBeLessThanOrEqual(1e-6);
  });

  test("mistral: add_space_prefix=false changes llama.cpp's tokens (without it, every text starts with ▁)", async () => {
    const copy = join(await tempDir(), "hf");
    await cp(join(ROOT, "mistral", "hf"), copy, { recursive: true });
    const configPath = join(copy, "tokenizer_config.json");
    const { add_prefix_space: _removed, ...config } = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
    await writeFile(configPath, JSON.stringify(config));
    const withPrefix = await toGguf(copy, "f32");
    const llama = await getLlama({ gpu: false });
    const tokens = async (path: string) => {
      const model = await llama.loadModel({ modelPath: path });
      try {
        return [...model.tokenize("Hello world")] as number[];
      } finally {
        await model.dispose();
      }
    };
    expect(await tokens(pairs.get("mistral/f32")!.duskPath)).not.toEqual(await tokens(withPrefix));
  });
});

describe("dusk chat on the HF directories (converted and cached as dusk run/chat do)", () => {
  test("mistral: the template kept only in chat_template.json is the model's template", async () => {
    const model = await openModel(join(ROOT, "mistral", "hf"), { contextSize: 256, threads: 1, cacheDir: await tempDir() });
    try {
      const session = new ChatSession(model, GREEDY);
      expect(session.render([{ role: "user", content: "hi" }])).toBe(`${model.bosText}[INST] hi [/INST]`);
    } finally {
      await model.dispose();
    }
  });

  test("qwen2: a named template is found by the name the repo gave it (tool-use → tool_use)", async () => {
    const model = await openModel(join(ROOT, "qwen2", "hf"), { contextSize: 256, threads: 1, cacheDir: await tempDir() });
    try {
      const tool = new ChatSession(model, GREEDY, { templateName: "tool-use" });
      expect(tool.render([{ role: "user", content: "ls" }])).toBe("<tool>ls</tool>");
      const rag = new ChatSession(model, GREEDY, { templateName: "rag.v2 beta" });
      expect(rag.render([{ role: "user", content: "q" }])).toBe("[doc] q");
      expect(() => new ChatSession(model, GREEDY, { templateName: "nope" })).toThrow(
        expect.objectContaining({ message: expect.stringMatching(/no tokenizer\.chat_template\.nope$/), hint: expect.stringMatching(/tool_use, rag_v2_beta|rag_v2_beta, tool_use/) }),
      );
    } finally {
      await model.dispose();
    }
  });
});

describe("engine vs llama.cpp on the Llama 3.1-style golden (rope_freqs)", () => {
  let hf: Checkpoint;
  let gguf: Checkpoint;
  let tokens: number[];
  beforeAll(async () => {
    hf = await openCheckpoint(join(ROOT, "llama31", "hf"));
    gguf = await openCheckpoint(join(ROOT, "llama31", "reference-f32.gguf"));
    // a long text: llama3 scaling changes only the slow rotary dimensions, visible at later positions
    const llama = await getLlama({ gpu: false });
    const model = await llama.loadModel({ modelPath: join(ROOT, "llama31", "reference-f32.gguf") });
    try {
      tokens = [...model.tokenize("ROMEO:\nBut soft, what light through yonder window breaks? It is the east, and Juliet is the sun. ".repeat(6), false)] as number[];
    } finally {
      await model.dispose();
    }
  });
  afterAll(async () => {
    await hf?.close();
    await gguf?.close();
  });

  test("F32: within the cross-check tolerance (1e-3), from config.json and from the GGUF's tensor; plain RoPE is not", async () => {
    const llama = (await llamaLogprobs(join(ROOT, "llama31", "reference-f32.gguf"), tokens)).next;
    const fromHf = [...(await tokenLogprobs(checkpointWeights(hf), tokens))];
    const fromGguf = [...(await tokenLogprobs(checkpointWeights(gguf), tokens))];
    const plainW = checkpointWeights(hf);
    const { ropeFreqFactors: _dropped, ...plainConfig } = plainW.config;
    const plainRope = [...(await tokenLogprobs({ ...plainW, config: plainConfig }, tokens))];
    const d = { hf: maxAbsDiff(fromHf, llama), gguf: maxAbsDiff(fromGguf, llama), plain: maxAbsDiff(plainRope, llama) };
    console.log(`llama31 (${tokens.length} tokens) engine vs llama.cpp max |Δ log p|: from config.json ${d.hf.toExponential(2)}, from rope_freqs.weight ${d.gguf.toExponential(2)}, without factors ${d.plain.toExponential(2)}`);
    expect(gguf.ropeFreqFactors).toEqual(checkpointWeights(hf).config.ropeFreqFactors);
    expect(d.hf).toBeLessThan(1e-3);
    expect(d.gguf).toBeLessThan(1e-3);
    expect(d.plain).toBeGreaterThan(10 * Math.max(d.hf, d.gguf));
  });
});
