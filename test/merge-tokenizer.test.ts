// Merging models whose vocabularies differ, as mergekit's tokenizer_source / tokenizer: do: the
// union vocabulary (the base's tokens, then the other models' new ones), rows matched by token,
// a token one model lacks taking the model that has it, rules that force a row, padding rows
// that take the mean, the tokens written into tokenizer.json, and the chat template.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyHfModel } from "../src/fixtures/tiny-model.js";
import { readTensorBytes, runCli, tempDirs } from "./helpers/cli.js";

const HIDDEN = 32;
const temps = tempDirs("dusk-merge-tok-");
let root: string;
let a: string;
let b: string;
const A_TOKENS = Array.from({ length: 64 }, (_, i) => `t${i}`);
// b keeps t0..t55 at the same ids, has u0..u7 where a has t56..t63
const B_TOKENS = [...A_TOKENS.slice(0, 56), ...Array.from({ length: 8 }, (_, i) => `u${i}`)];

const tokenizerJson = (tokens: string[]) => JSON.stringify({ version: "1.0", added_tokens: [], model: { type: "BPE", vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges: [] } });

beforeAll(async () => {
  root = await temps.make();
  a = join(root, "a");
  b = join(root, "b");
  const shape = { layers: 2, hidden: HIDDEN, heads: 4, kvHeads: 2, vocabSize: 64 };
  await writeTinyHfModel(a, { ...shape, seed: 1, tokenizerFiles: { "tokenizer.json": tokenizerJson(A_TOKENS), "tokenizer_config.json": JSON.stringify({ chat_template: "{{ a }}" }) } });
  await writeTinyHfModel(b, { ...shape, seed: 2, tokenizerFiles: { "tokenizer.json": tokenizerJson(B_TOKENS), "tokenizer_config.json": JSON.stringify({ chat_template: "{{ b }}" }) } });
});
afterAll(() => temps.cleanup());

const f32 = (bytes: Uint8Array) => new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const row = (m: Float32Array, i: number) => Array.from(m.subarray(i * HIDDEN, (i + 1) * HIDDEN));
const mean2 = (x: number[], y: number[]) => x.map((v, j) => Math.fround(Math.fround(v + y[j]!) / 2));

async function build(name: string, tokenizer: string, extra = ""): Promise<Map<string, Uint8Array>> {
  const file = join(root, `${name}.yml`);
  await writeFile(file, `merge_method: linear\nbase_model: ${a}\n${tokenizer}\n${extra}models:\n  - {model: ${a}, parameters: {weight: 1}}\n  - {model: ${b}, parameters: {weight: 1}}\ndtype: float32\n`);
  const r = await runCli(["build", file, "-o", join(root, name), "--quiet"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return readTensorBytes(join(root, name));
}

describe("tokenizer_source and tokenizer:", () => {
  it("union: the base's tokens then b's new ones; shared tokens merged, a token one model lacks takes the other's row", async () => {
    const out = await build("union", "tokenizer_source: union");
    const [ea, eb] = [f32((await readTensorBytes(a)).get("model.embed_tokens.weight")!), f32((await readTensorBytes(b)).get("model.embed_tokens.weight")!)];
    const e = f32(out.get("model.embed_tokens.weight")!);
    expect(e.length).toBe(72 * HIDDEN);
    expect(row(e, 3)).toEqual(mean2(row(ea, 3), row(eb, 3))); // t3: both
    expect(row(e, 60)).toEqual(row(ea, 60)); // t60: only a, so b's row is a's and the mean is a's
    expect(row(e, 64 + 5)).toEqual(row(eb, 56 + 5)); // u5: only b, appended at 69
    const tok = JSON.parse(await readFile(join(root, "union", "tokenizer.json"), "utf8"));
    expect(tok.added_tokens.map((t: { id: number; content: string }) => [t.id, t.content])).toEqual(Array.from({ length: 8 }, (_, i) => [64 + i, `u${i}`]));
    expect(JSON.parse(await readFile(join(root, "union", "config.json"), "utf8")).vocab_size).toBe(72);
  });

  it("base: a's vocabulary, b's rows found by token; forced rows and padding to a multiple", async () => {
    const out = await build("base", "tokenizer_source: base");
    const [ea, eb] = [f32((await readTensorBytes(a)).get("model.embed_tokens.weight")!), f32((await readTensorBytes(b)).get("model.embed_tokens.weight")!)];
    const e = f32(out.get("model.embed_tokens.weight")!);
    expect(e.length).toBe(64 * HIDDEN);
    expect(row(e, 60)).toEqual(row(ea, 60));
    const ruled = await build("rules", `tokenizer:\n  source: union\n  pad_to_multiple_of: 32\n  tokens:\n    t3: {source: ${b}, force: true}\n    "<new>": {source: {kind: zero}}\n`);
    const r = f32(ruled.get("model.embed_tokens.weight")!);
    expect(r.length).toBe(96 * HIDDEN); // 72 + "<new>" = 73 tokens, padded to 96
    expect(row(r, 3)).toEqual(row(eb, 3)); // forced to b's row for both inputs
    expect(row(r, 72)).toEqual(new Array(HIDDEN).fill(0));
    // padding rows: each input's mean row, then merged (so the merged rows' mean, to rounding)
    const padding = row(r, 95);
    expect(row(r, 80)).toEqual(padding);
    const mean = Array.from({ length: HIDDEN }, (_, j) => { let s = 0; for (let i = 0; i < 73; i++) s += r[i * HIDDEN + j]!; return s / 73; });
    padding.forEach((v, j) => expect(Math.abs(v - mean[j]!)).toBeLessThan(1e-8));
  });

  it("chat_template: a named format, or auto (the sources' most common), into tokenizer_config.json and chat_template.jinja", async () => {
    await build("chatml", "tokenizer_source: base", "chat_template: chatml\n");
    const config = JSON.parse(await readFile(join(root, "chatml", "tokenizer_config.json"), "utf8"));
    expect(config.chat_template).toMatch(/<\|im_start\|>/);
    expect(await readFile(join(root, "chatml", "chat_template.jinja"), "utf8")).toBe(config.chat_template);
    await build("auto", "tokenizer_source: base", "chat_template: auto\n");
    expect(JSON.parse(await readFile(join(root, "auto", "tokenizer_config.json"), "utf8")).chat_template).toBe("{{ a }}"); // a tie: the first seen
    const bad = await runCli(["build", await (async () => { const f = join(root, "badtpl.yml"); await writeFile(f, `merge_method: linear\nchat_template: nope\nmodels:\n  - {model: ${a}, parameters: {weight: 1}}\n`); return f; })(), "-o", join(root, "badtpl")]);
    expect(bad.stderr).toMatch(/neither a template dusk knows nor a Jinja template/);
  });
});
