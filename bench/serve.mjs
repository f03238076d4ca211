// Bench for `dusk serve` (src/server/) on a generated model (f16 and f32 GGUFs), all measured side by
// side in one run and printed as ratios:
//   batching gain  = total generated tokens/s of C concurrent streaming clients (--parallel C)
//                    ÷ the same of one client alone (goal ≥ 2 with C = 8 on 2 cores)
//   serving cost   = one streaming client through the server ÷ the library's generate() on the
//                    same loaded model (goal ≥ 0.9)
//   time to first token under load: p50 and p99 over every client of every round.
// Greedy, exactly N tokens per request (ignore_eos), a different prompt per client, rounds
// alternating the three measurements. Also llama.cpp's decode time per batch by batch size (read
// through node-llama-cpp's internal binding, for the bench only): the ceiling batching can reach.
// Run after `tsc`: node bench/serve.mjs [tokens=64] [reps=3] [threads=1] [hidden=512] [layers=12] [clients=8] [f16|f32|q8_0|q4_0 (default both f16 and f32)]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dusk = await import(new URL("../dist/index.js", import.meta.url).href);
const { BUILTIN_PRESETS, generate, openModel, startServer } = dusk;

const args = process.argv.slice(2);
// f16 and f32 by default: on a CPU where one token of f16 is already compute-bound, batching buys
// little; f32's single token is memory-bound, the case batching is for.
const TYPES = ["f16", "f32", "q8_0", "q4_0"].includes(args.at(-1)) ? [args.pop()] : ["f16", "f32"];
const [N = 64, REPS = 3, THREADS = 1, HIDDEN = 512, LAYERS = 12, CLIENTS = 8] = args.map(Number);
const PROMPTS = ["To be, or not to be, that is the question", "Now is the winter of our discontent", "Friends, Romans, countrymen, lend me your ears", "All the world's a stage, and all the men", "Once more unto the breach, dear friends", "But soft, what light through yonder window", "The quality of mercy is not strained", "If music be the food of love, play on"];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];

/** One streaming completion: generated tokens, seconds to the last chunk, seconds to the first text. */
async function streamOnce(url, i) {
  const start = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({ prompt: PROMPTS[i % PROMPTS.length], max_tokens: N, ignore_eos: true, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  const decoder = new TextDecoder();
  let buffer = "";
  let first = 0;
  let tokens = 0;
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
      const chunk = JSON.parse(event.slice(6));
      if (!first && chunk.choices?.[0]?.text) first = performance.now();
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  const end = performance.now();
  return { tokens, seconds: (end - start) / 1000, ttft: ((first || end) - start) / 1000 };
}

const dir = await mkdtemp(join(tmpdir(), "dusk-bench-serve-"));
try {
  const t = dusk.buildTinyTokenizer(dusk.defaultCorpus());
  const intermediate = Math.round((HIDDEN * 8) / 3 / 64) * 64;
  const tokenizerFiles = { "tokenizer.model": t.tokenizerModel, "tokenizer.json": t.tokenizerJson, "tokenizer_config.json": t.tokenizerConfig, "special_tokens_map.json": t.specialTokensMap };
  await dusk.writeTinyHfModel(join(dir, "hf"), { layers: LAYERS, hidden: HIDDEN, intermediate, heads: HIDDEN / 64, kvHeads: HIDDEN / 64, vocabSize: t.pieces.length, dtype: "F16", seed: 5, std: 0.05, tokenizerFiles });
  const params = LAYERS * (4 * HIDDEN * HIDDEN + 3 * HIDDEN * intermediate) + 2 * t.pieces.length * HIDDEN;
  for (const TYPE of TYPES) await benchType(TYPE, params);
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function benchType(TYPE, params) {
  const gguf = join(dir, `model-${TYPE}.gguf`);
  const checkpoint = await dusk.openCheckpoint(join(dir, "hf"));
  for await (const _ of dusk.convertCheckpoint(checkpoint, { output: gguf, type: TYPE })) void _;
  await checkpoint.close();

  const model = await openModel(gguf, { contextSize: 512, sequences: CLIENTS, threads: THREADS, flashAttention: false });
  const server = await startServer(model, { modelName: "bench", port: 0, queueLimit: 4 * CLIENTS });
  // Bench-only instrumentation: how many tokens each llama.cpp batch held, and how long it took.
  const batches = [];
  const addon = model.context._ctx;
  if (addon?.initBatch && addon?.decodeBatch) {
    const [init, decode] = [addon.initBatch.bind(addon), addon.decodeBatch.bind(addon)];
    let size = 0;
    Object.defineProperty(addon, "initBatch", { value: (n) => ((size = n), init(n)) });
    Object.defineProperty(addon, "decodeBatch", { value: async () => { const t = performance.now(); await decode(); batches.push([size, performance.now() - t]); } });
  }
  const greedy = BUILTIN_PRESETS.find((p) => p.name === "greedy").sampling;
  console.log(`model: ${(params / 1e6).toFixed(1)}M params (${LAYERS} layers, hidden ${HIDDEN}), ${TYPE} GGUF on ${model.device}; ${THREADS} thread(s); ${N} greedy tokens per request; ${CLIENTS} sequences; ${REPS} rounds`);

  // The library side: generate() on the same loaded model (its first sequence; the server is idle then).
  async function libraryOnce(i) {
    const start = performance.now();
    const r = await generate(model, PROMPTS[i % PROMPTS.length], greedy, { maxTokens: N, ignoreEos: true });
    return { tokens: r.tokens, seconds: (performance.now() - start) / 1000 };
  }
  async function concurrentOnce() {
    const start = performance.now();
    const all = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => streamOnce(server.url, i)));
    return { tokens: all.reduce((n, r) => n + r.tokens, 0), seconds: (performance.now() - start) / 1000, ttfts: all.map((r) => r.ttft) };
  }
  await libraryOnce(0); // warm up: page in the weights, start the thread pool
  await streamOnce(server.url, 0);

  const tps = { library: [], single: [], concurrent: [] };
  const ttfts = [];
  for (let rep = 0; rep < REPS; rep++) {
    const lib = await libraryOnce(rep);
    const one = await streamOnce(server.url, rep);
    const many = await concurrentOnce();
    tps.library.push(lib.tokens / lib.seconds);
    tps.single.push(one.tokens / one.seconds);
    tps.concurrent.push(many.tokens / many.seconds);
    ttfts.push(...many.ttfts);
    console.log(`round ${rep + 1}: library ${tps.library.at(-1).toFixed(1)} tok/s · one client ${tps.single.at(-1).toFixed(1)} tok/s (TTFT ${(one.ttft * 1000).toFixed(0)} ms) · ${CLIENTS} clients ${tps.concurrent.at(-1).toFixed(1)} tok/s total (${many.tokens} tokens in ${many.seconds.toFixed(2)} s)`);
  }
  const [lib, one, many] = [median(tps.library), median(tps.single), median(tps.concurrent)];
  console.log(`median: library ${lib.toFixed(1)} tok/s, one client ${one.toFixed(1)} tok/s, ${CLIENTS} clients ${many.toFixed(1)} tok/s total`);
  console.log(`batching gain (${CLIENTS} clients ÷ one): ${(many / one).toFixed(2)} (goal ≥ 2)`);
  console.log(`serving cost (one client through dusk serve ÷ library generate): ${(one / lib).toFixed(3)} (goal ≥ 0.9)`);
  const decodeMs = (n) => median(batches.filter(([s]) => s === n).map(([, ms]) => ms));
  const full = batches.filter(([s]) => s === CLIENTS).length;
  const ones = batches.filter(([s]) => s === 1).length;
  if (full > 0 && ones > 0) {
    console.log(`llama.cpp batches: ${full} held ${CLIENTS} tokens (median ${decodeMs(CLIENTS).toFixed(1)} ms), ${ones} held 1 (median ${decodeMs(1).toFixed(1)} ms): the ceiling of the batching gain here is ${((CLIENTS * decodeMs(1)) / decodeMs(CLIENTS)).toFixed(2)}`);
  }
  console.log(`TTFT under load (${ttfts.length} requests): p50 ${(quantile(ttfts, 0.5) * 1000).toFixed(0)} ms, p99 ${(quantile(ttfts, 0.99) * 1000).toFixed(0)} ms`);
  await server.close(0);
  await model.dispose();
}
