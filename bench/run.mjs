// Bench for `dusk run`'s generation loop (src/runtime/generate.ts) against node-llama-cpp's own
// LlamaCompletion on the same loaded model: greedy, same prompt, N tokens, alternating order over
// a few repetitions; prints tokens/s of each and their ratio (goal ≥ 0.95).
// Run after `tsc`: node bench/run.mjs [tokens=128] [reps=4] [threads=1] [hidden=512] [layers=12]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlamaCompletion } from "node-llama-cpp";
import { openCheckpoint } from "../dist/checkpoint/open-checkpoint.js";
import { convertCheckpoint } from "../dist/convert/convert-checkpoint.js";
import { defaultCorpus } from "../dist/fixtures/corpus.js";
import { writeTinyHfModel } from "../dist/fixtures/tiny-model.js";
import { BUILTIN_PRESETS, generate, openModel } from "../dist/runtime/index.js";
import { buildTinyTokenizer } from "../dist/tokenizer/tiny-tokenizer.js";

const [N = 128, REPS = 4, THREADS = 1, HIDDEN = 512, LAYERS = 12] = process.argv.slice(2).map(Number);
const PROMPT = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = await mkdtemp(join(tmpdir(), "dusk-bench-run-"));
try {
  const t = buildTinyTokenizer(defaultCorpus());
  const hf = join(dir, "hf");
  const intermediate = Math.round((HIDDEN * 8) / 3 / 64) * 64;
  await writeTinyHfModel(hf, {
    layers: LAYERS, hidden: HIDDEN, intermediate, heads: HIDDEN / 64, kvHeads: HIDDEN / 64, vocabSize: t.pieces.length, dtype: "F16", seed: 5, std: 0.05,
    tokenizerFiles: { "tokenizer.model": t.tokenizerModel, "tokenizer.json": t.tokenizerJson, "tokenizer_config.json": t.tokenizerConfig, "special_tokens_map.json": t.specialTokensMap },
  });
  const params = LAYERS * (4 * HIDDEN * HIDDEN + 3 * HIDDEN * intermediate) + 2 * t.pieces.length * HIDDEN;
  const gguf = join(dir, "model-f16.gguf");
  const c = await openCheckpoint(hf);
  for await (const _ of convertCheckpoint(c, { output: gguf, type: "f16" })) void _;
  await c.close();

  const model = await openModel(gguf, { contextSize: 512, threads: THREADS });
  // node-llama-cpp's side: its own completion API on a second context of the same model.
  const context = await model.model.createContext({ contextSize: model.contextSize, sequences: 1, threads: THREADS });
  const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
  const greedy = BUILTIN_PRESETS.find((p) => p.name === "greedy").sampling;
  console.log(`model: ${(params / 1e6).toFixed(1)}M params (${LAYERS} layers, hidden ${HIDDEN}), f16 GGUF; context ${model.contextSize}; ${THREADS} thread(s); ${N} greedy tokens × ${REPS} reps, alternating`);

  // Same prompt tokens on both sides: LlamaCompletion adds BOS itself, and would strip the
  // SentencePiece leading space if given text, so it gets dusk's tokens minus BOS.
  const promptTokens = model.tokenize(PROMPT, { addBos: false });
  let duskText = "";
  let nlcText = "";
  // Same measure on both sides: tokens after the first / time after the first token.
  async function duskRun() {
    const r = await generate(model, PROMPT, greedy, { maxTokens: N });
    duskText = r.text;
    return { tokens: r.tokens, tps: r.tokensPerSecond };
  }
  async function nlcRun() {
    let first = 0;
    let count = 0;
    nlcText = await completion.generateCompletion(promptTokens, {
      maxTokens: N, temperature: 0,
      onToken: (tokens) => {
        if (count === 0) first = performance.now();
        count += tokens.length;
      },
    });
    const end = performance.now();
    return { tokens: count, tps: ((count - 1) * 1000) / (end - first) };
  }
  await duskRun(); // warm both paths (page-in of the weights, thread pools)
  await nlcRun();
  const dusk = [];
  const nlc = [];
  for (let i = 0; i < REPS; i++) {
    const order = i % 2 === 0 ? [duskRun, nlcRun] : [nlcRun, duskRun];
    for (const f of order) {
      const r = await f();
      (f === duskRun ? dusk : nlc).push(r);
    }
    const d = dusk.at(-1);
    const n = nlc.at(-1);
    console.log(`rep ${i + 1}: dusk ${d.tps.toFixed(1)} tok/s (${d.tokens} tokens)  node-llama-cpp ${n.tps.toFixed(1)} tok/s (${n.tokens} tokens)  ratio ${(d.tps / n.tps).toFixed(3)}`);
  }
  const d = median(dusk.map((r) => r.tps));
  const n = median(nlc.map((r) => r.tps));
  console.log(`same greedy text from both: ${duskText === nlcText}`);
  console.log(`median: dusk ${d.toFixed(1)} tok/s, node-llama-cpp LlamaCompletion ${n.toFixed(1)} tok/s, ratio ${(d / n).toFixed(3)} (goal ≥ 0.95)`);
  completion.dispose();
  await context.dispose();
  await model.dispose();
} finally {
  await rm(dir, { recursive: true, force: true });
}
