// Bench for `dusk analyze` / `dusk search` (src/analyze). Run after `tsc`: node bench/analyze.mjs [T]
//  1. map cost: analysis tokens/s ÷ the engine's forward tokens/s, same generated model (BF16,
//     8 × hidden 1024) and the same T-token text, interleaved, 5 runs each (goal ≥ 0.8); and what a
//     seam report (base + virtual DUS stack) costs in forwards.
//  2. search: candidates ranked per minute on a generated 32-layer model at depth 48, with and
//     without resuming candidates after their leading base layers.
//  3. from the measured rates (matmul work and weight widening, separated), the time and memory of
//     the map of a 32-layer 7B-shaped model (Mistral-7B, BF16) on T tokens.
// Each measurement runs in a child process so its peak RSS is its own; a 4× deeper model of the
// same width checks that peak memory follows one layer, not the model.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runChild } from "./lib.mjs";

const dusk = await import(new URL("../dist/index.js", import.meta.url).href);
const self = fileURLToPath(import.meta.url);
const MID = { layers: 8, hidden: 1024, intermediate: 2816, heads: 16, kvHeads: 8, dtype: "BF16", std: 0.05, seed: 4 };
const TINY32 = { layers: 32, hidden: 64, std: 0.08, seed: 5 };
const DEEP = { ...MID, layers: 32 }; // MID's width at 4× the depth: peak memory must not grow with it

/** useful FLOPs of one forward over T tokens (linear layers + head + causal attention), as bench/engine.mjs counts */
function forwardFlops(c, T) {
  return 2 * T * (c.numLayers * layerParams(c) + c.vocabSize * c.hiddenSize) + c.numLayers * 4 * c.numHeads * c.headDim * (T * (T + 1)) / 2;
}

async function makeModel(dir, o) {
  const t = dusk.buildTinyTokenizer(dusk.defaultCorpus());
  const tokenizerFiles = { "tokenizer.model": t.tokenizerModel, "tokenizer.json": t.tokenizerJson, "tokenizer_config.json": t.tokenizerConfig };
  return dusk.writeTinyHfModel(dir, { ...o, vocabSize: t.pieces.length, tokenizerFiles });
}

/** A held-out corpus slice of exactly T tokens under the model's tokenizer (the text is cut, not the ids). */
function textOfTokens(tok, T) {
  const corpus = dusk.fullCorpus().slice(500_000);
  let lo = 1;
  let hi = T * 8;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (tok.encode(corpus.slice(0, mid)).length <= T) lo = mid;
    else hi = mid - 1;
  }
  return corpus.slice(0, lo);
}

const best = (xs) => Math.min(...xs);

const layerParams = (c) => c.hiddenSize * c.numHeads * c.headDim * 2 + c.hiddenSize * c.numKvHeads * c.headDim * 2 + 3 * c.hiddenSize * c.intermediateSize;
/** BF16 bytes on disk: layers, embedding and (untied) head */
const weightBytes = (c) => (c.numLayers * layerParams(c) + (c.tiedEmbeddings ? 1 : 2) * c.vocabSize * c.hiddenSize) * 2;

/**
 * Peak bytes an analysis holds beyond the process: the larger of the layer phase (one layer in f32
 * plus its raw BF16 bytes, a layer's activations) and the head phase (head f32 + raw, logits), plus
 * the window's n+1 boundaries and tfjs-wasm's heap, which grows to the largest matmul's operands.
 */
function peakBytes(c, T) {
  const D = c.hiddenSize;
  const F = c.intermediateSize;
  const V = c.vocabSize;
  const layer = layerParams(c) * 6 + T * (6 * D + 3 * F + 3 * c.numHeads * c.headDim) * 4;
  const head = V * D * 6 + 2 * T * V * 4;
  const wasm = Math.max(V * D + D * T + V * T, F * D + D * T + F * T) * 4;
  return Math.max(layer, head) + (c.numLayers + 1) * T * D * 4 + wasm;
}

async function childMap(dir, T) {
  const c = await dusk.openCheckpoint(dir);
  const tok = await dusk.openTextTokenizer(c);
  const text = textOfTokens(tok, T);
  const ids = tok.encode(text);
  const weights = dusk.checkpointWeights(c);
  const n = c.numLayers;
  await dusk.forward(weights, ids.slice(0, 16), { logitsFor: "last" }); // warm-up
  const fwd = [];
  const map = [];
  const seam = [];
  for (let r = 0; r < 5; r++) {
    let t = performance.now();
    await dusk.forward(weights, ids);
    fwd.push((performance.now() - t) / 1000);
    t = performance.now();
    await dusk.analyze({ checkpoints: [c], text, tokenizer: tok }, { ctx: T });
    map.push((performance.now() - t) / 1000);
    if (r < 2) {
      t = performance.now();
      await dusk.analyze({ checkpoints: [c], recipe: dusk.dusRecipe({ model: c.ref, layers: n }), text, tokenizer: tok }, { ctx: T });
      seam.push((performance.now() - t) / 1000);
    }
  }
  // weight loading alone (read + BF16 → f32 widening), the part of a pass that scales with bytes
  let t = performance.now();
  for (let i = 0; i < n; i++) await weights.layer(i);
  await weights.embedding();
  await weights.finalNorm();
  if (!weights.config.tiedEmbeddings) await weights.lmHead();
  const load = (performance.now() - t) / 1000;
  const bytes = [...c.tensors.values()].reduce((s, e) => s + e.byteLength, 0);
  await tok.close();
  await c.close();
  // the machine is shared: adjacent runs see the same load, so the median of per-pair ratios is the steadier figure
  const pairs = map.map((x, i) => fwd[i] / x).sort((a, b) => a - b);
  return { T: ids.length, config: weights.config, forward: best(fwd), map: best(map), pairMedian: pairs[2], seam: best(seam), load, bytes, flops: forwardFlops(weights.config, ids.length) };
}

async function childPeak(dir, T) {
  const c = await dusk.openCheckpoint(dir);
  const tok = await dusk.openTextTokenizer(c);
  const text = textOfTokens(tok, T);
  const a = await dusk.analyze({ checkpoints: [c], text, tokenizer: tok }, { ctx: T });
  await tok.close();
  await c.close();
  return { tokens: a.tokens };
}

async function childSearch(dir, T, resume, budgetS) {
  const c = await dusk.openCheckpoint(dir);
  const tok = await dusk.openTextTokenizer(c);
  const text = textOfTokens(tok, T);
  const t = performance.now();
  let base = 0;
  const r = await dusk.searchLayouts({ checkpoint: c, text, tokenizer: tok }, {
    depth: 48, ctx: T, budgetMs: budgetS * 1000, resume,
    onProgress: (e) => { if (e.type === "base" && e.done === e.total) base = (performance.now() - t) / 1000; },
  });
  await tok.close();
  await c.close();
  const evalSeconds = r.ranking.reduce((s, x) => s + x.seconds, 0);
  return { ranked: r.ranking.length, total: r.ranking.length + r.not_ranked.length, seconds: r.seconds, base, evalSeconds, resumed: r.resumed, best: r.ranking[0].name };
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "--child") {
  const [kind, dir, T, extra, budget] = rest;
  const out = kind === "map" ? await childMap(dir, Number(T))
    : kind === "peak" ? await childPeak(dir, Number(T))
    : await childSearch(dir, Number(T), extra === "resume", Number(budget));
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
}

const T = Number(mode ?? 512);
const work = mkdtempSync(join(tmpdir(), "dusk-bench-analyze-"));
try {
  const mid = join(work, "mid");
  const tiny = join(work, "tiny32");
  const deep = join(work, "deep");
  await makeModel(mid, MID);
  await makeModel(tiny, TINY32);
  await makeModel(deep, DEEP);

  const m = runChild(self, ["--child", "map", mid, String(T)]);
  const peak = runChild(self, ["--child", "peak", mid, String(T)]);
  const deepPeak = runChild(self, ["--child", "peak", deep, String(T)]);
  const c = m.config;
  const flopRate = m.flops / (m.forward - m.load); // matmul-side FLOP/s, weight loading taken out
  const byteRate = m.bytes / m.load;
  const deepBytes = m.bytes + (DEEP.layers - MID.layers) * layerParams(c) * 2;
  console.log(`model: ${c.numLayers} layers, hidden ${c.hiddenSize}, intermediate ${c.intermediateSize}, BF16, ${(m.bytes / 1e6).toFixed(0)} MB; text ${m.T} tokens (one window)`);
  console.log(`forward ${(m.T / m.forward).toFixed(1)} tokens/s (${m.forward.toFixed(2)} s), analysis ${(m.T / m.map).toFixed(1)} tokens/s (${m.map.toFixed(2)} s)`);
  console.log(`map: analysis tokens/s ÷ forward tokens/s = ${(m.forward / m.map).toFixed(2)} best of 5 each, ${m.pairMedian.toFixed(2)} median of 5 adjacent pairs (goal ≥ 0.8)`);
  console.log(`seam report (base + virtual DUS ${2 * (c.numLayers - Math.round(c.numLayers / 4))} layers) = ${(m.seam / m.forward).toFixed(2)} forwards of the base`);
  console.log(`rates: ${(flopRate / 1e9).toFixed(1)} GFLOP/s of forward work, weights read and widened at ${(byteRate / 1e6).toFixed(0)} MB/s (${(m.load / m.forward * 100).toFixed(0)}% of a forward)`);
  console.log(`peak RSS of an analysis run alone: ${peak.peakRssMB.toFixed(0)} MiB at ${c.numLayers} layers (${(m.bytes / 1e6).toFixed(0)} MB of weights), ${deepPeak.peakRssMB.toFixed(0)} MiB at ${DEEP.layers} layers (${(deepBytes / 1e6).toFixed(0)} MB): ×${(deepPeak.peakRssMB / peak.peakRssMB).toFixed(2)} for ×${(deepBytes / m.bytes).toFixed(1)} the weights`);

  const on = runChild(self, ["--child", "search", tiny, String(T), "resume", "150"]);
  const off = runChild(self, ["--child", "search", tiny, String(T), "full", "150"]);
  for (const [name, s] of [["resumed", on], ["recomputed", off]]) {
    console.log(`search (32 layers → depth 48, ${name} prefixes): ${s.ranked}/${s.total} candidates in ${s.seconds.toFixed(1)} s (base pass ${s.base.toFixed(1)} s): ${(s.ranked / (s.evalSeconds / 60)).toFixed(1)} candidates ranked per minute of ranking, ${(s.ranked / (s.seconds / 60)).toFixed(1)} per minute overall; best ${s.best}`);
  }
  console.log(`resuming after shared base layers: ${((on.ranked / on.evalSeconds) / (off.ranked / off.evalSeconds)).toFixed(2)}× candidates per minute`);

  // 7B estimate: Mistral-7B shapes, BF16 on disk (untied head), T tokens, one window
  const b7 = { vocabSize: 32000, hiddenSize: 4096, intermediateSize: 14336, numLayers: 32, numHeads: 32, numKvHeads: 8, headDim: 128, tiedEmbeddings: false };
  const seconds7 = forwardFlops(b7, T) / flopRate + weightBytes(b7) / byteRate;
  const baseline = peak.peakRssMB * 2 ** 20 - peakBytes(c, m.T); // the process itself: Node, tfjs, tokenizer, GC slack
  const mem7 = peakBytes(b7, T) + baseline;
  console.log(`7B estimate (32 layers, hidden 4096, BF16, ${T} tokens): ${(forwardFlops(b7, T) / 1e12).toFixed(2)} TFLOP at the measured rate + ${(weightBytes(b7) / 1e9).toFixed(1)} GB read and widened = ${(seconds7 / 60).toFixed(1)} min; peak memory ≈ ${(mem7 / 2 ** 30).toFixed(1)} GiB (${(peakBytes(b7, T) / 2 ** 30).toFixed(2)} GiB of one layer, the head, the window's boundaries and activations, plus the ${(baseline / 2 ** 20).toFixed(0)} MiB this bench measured beyond that formula on its own model)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
