// Bench for the llama.cpp eval scorer (src/runtime/score.ts) on a generated ~80M-param Llama
// (hidden 768, 12 layers, tiny tokenizer) converted to f16: (1) scored tokens/s of loglikelihood
// requests (context + continuation tokens per request, ARC-shaped: one shared 25-shot-like
// context, 4 choices) divided by node-llama-cpp's raw prompt-evaluation tokens/s on the same model
// (goal ≥ 0.5); (2) items/s per task through runTask on generated fixtures.
// Run after `tsc`: node bench/eval.mjs [threads|default] [sequences,...] [tasks,...|none]
// (sequences: KV sequences the scorer batches loglikelihood requests over, several values run one
// after another on the same model; default the scorer's DEFAULT_SCORING_SEQUENCES; tasks: default all)
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../dist/checkpoint/open-checkpoint.js";
import { convertCheckpoint } from "../dist/convert/convert-checkpoint.js";
import { defaultCorpus } from "../dist/fixtures/corpus.js";
import { writeTinyHfModel } from "../dist/fixtures/tiny-model.js";
import { buildTinyTokenizer } from "../dist/tokenizer/tiny-tokenizer.js";
import { resolveTasks, runTask } from "../dist/eval/index.js";
import { DEFAULT_SCORING_SEQUENCES, LlamaScorer } from "../dist/runtime/score.js";

const threads = process.argv[2] && process.argv[2] !== "default" ? Number(process.argv[2]) : undefined;
const sequenceCounts = process.argv[3] ? process.argv[3].split(",").map(Number) : [DEFAULT_SCORING_SEQUENCES];
const taskFilter = process.argv[4] ? process.argv[4].split(",") : undefined;
const dir = mkdtempSync(join(tmpdir(), "dusk-bench-eval-"));
const tok = buildTinyTokenizer(defaultCorpus());
const t0 = performance.now();
await writeTinyHfModel(join(dir, "hf"), {
  hidden: 768, layers: 12, heads: 12, kvHeads: 4, intermediate: 2048, maxPositions: 2048, seed: 3, vocabSize: tok.pieces.length,
  tokenizerFiles: { "tokenizer.model": tok.tokenizerModel, "tokenizer.json": tok.tokenizerJson, "tokenizer_config.json": tok.tokenizerConfig, "special_tokens_map.json": tok.specialTokensMap },
});
const c = await openCheckpoint(join(dir, "hf"));
const gguf = join(dir, "model-f16.gguf");
for await (const _ of convertCheckpoint(c, { output: gguf, type: "f16" })) void _;
await c.close();
console.log(`model: hidden 768, 12 layers, vocab ${tok.pieces.length}, f16; generated + converted in ${((performance.now() - t0) / 1000).toFixed(1)} s; threads ${threads ?? "default"}`);

const corpus = defaultCorpus();

// Raw prompt evaluation: one 1024-token prompt, no probabilities requested, without flash attention
// as the scorer runs.
const probe = await LlamaScorer.open(gguf, { contextSize: 256, sequences: 1 });
const raw = probe.tokenize(corpus).slice(0, 1024);
{
  const ctx = await probe.model.createContext({ contextSize: 2048, batchSize: 2048, flashAttention: false, ...(threads ? { threads } : {}) });
  const seq = ctx.getSequence();
  await seq.evaluateWithoutGeneratingNewTokens(raw.slice(0, 64)); // warm-up
  await seq.clearHistory();
  const t = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(raw);
  var rawTps = raw.length / ((performance.now() - t) / 1000);
  await ctx.dispose();
}
await probe.close();
console.log(`raw prompt eval: ${rawTps.toFixed(0)} tokens/s (${raw.length} tokens)`);

// Scoring: 8 items, each a ~400-token context and 4 short choices (as ARC with 25 shots).
const words = corpus.split(/\s+/);
const items = Array.from({ length: 8 }, (_, i) => ({
  context: words.slice(i * 300, i * 300 + 280).join(" ") + "\nAnswer:",
  choices: [" the king", " my good lord", " a sea of troubles", " thou art"].map((s) => s + " " + i),
}));

// Items/s per task on generated fixtures (JSONL in each dataset's schema).
const data = join(dir, "data");
const put = (p, rows) => {
  mkdirSync(join(data, p, ".."), { recursive: true });
  writeFileSync(join(data, p), rows.map((r) => JSON.stringify(r)).join("\n"));
};
const arc = (i) => ({ id: `q${i}`, question: words.slice(i * 20, i * 20 + 15).join(" ") + "?", choices: { text: ["the king", "my lord", "good sir", "thou art"], label: ["A", "B", "C", "D"] }, answerKey: "ABCD"[i % 4] });
put("allenai/ai2_arc/ARC-Challenge/test-00000-of-00001.jsonl", Array.from({ length: 20 }, (_, i) => arc(i)));
put("allenai/ai2_arc/ARC-Challenge/train-00000-of-00001.jsonl", Array.from({ length: 60 }, (_, i) => arc(i + 100)));
const wino = (i) => ({ sentence: `The king gave the lord a crown because _ was ${words[i]}.`, option1: "the king", option2: "the lord", answer: String((i % 2) + 1) });
put("allenai/winogrande/winogrande_xl/validation-00000-of-00001.jsonl", Array.from({ length: 20 }, (_, i) => wino(i)));
put("allenai/winogrande/winogrande_xl/train-00000-of-00001.jsonl", Array.from({ length: 40 }, (_, i) => wino(i + 50)));
const gsm = (i) => ({ question: `If I have ${i} apples and buy 2, how many?`, answer: `${i}+2=${i + 2}\n#### ${i + 2}` });
put("openai/gsm8k/main/test-00000-of-00001.jsonl", Array.from({ length: 3 }, (_, i) => gsm(i)));
put("openai/gsm8k/main/train-00000-of-00001.jsonl", Array.from({ length: 20 }, (_, i) => gsm(i + 10)));
const hs = (i) => ({ ind: i, activity_label: "Speaking", ctx_a: words.slice(i * 12, i * 12 + 10).join(" ") + ".", ctx_b: "then the king", ctx: "", endings: ["speaks to the lord.", "draws his sword.", "sits upon the throne.", "weeps for his son."], source_id: `s${i}`, split: "val", split_type: "indomain", label: String(i % 4) });
put("Rowan/hellaswag/data/validation-00000-of-00001.jsonl", Array.from({ length: 20 }, (_, i) => hs(i)));
put("Rowan/hellaswag/data/train-00000-of-00001.jsonl", Array.from({ length: 40 }, (_, i) => hs(i + 100)));
const tqa = (i) => ({
  question: words.slice(i * 10, i * 10 + 8).join(" ") + "?",
  mc1_targets: { choices: ["The king.", "The lord.", "Nobody."], labels: [1, 0, 0] },
  mc2_targets: { choices: ["The king.", "A king.", "The lord.", "Nobody."], labels: [1, 1, 0, 0] },
});
put("truthfulqa/truthful_qa/multiple_choice/validation-00000-of-00001.jsonl", Array.from({ length: 20 }, (_, i) => tqa(i)));
const mmlu = (i) => ({ question: words.slice(i * 15, i * 15 + 12).join(" ") + "?", subject: "philosophy", choices: ["the king", "my lord", "good sir", "thou art"], answer: i % 4 });
put("cais/mmlu/philosophy/test-00000-of-00001.jsonl", Array.from({ length: 20 }, (_, i) => mmlu(i)));
put("cais/mmlu/philosophy/dev-00000-of-00001.jsonl", Array.from({ length: 5 }, (_, i) => mmlu(i + 200)));
for (const sequences of sequenceCounts) {
  const scorer = await LlamaScorer.open(gguf, { contextSize: 2048, sequences, ...(threads ? { threads } : {}) });
  console.log(`-- scorer sequences ${sequences}`);
  const requests = items.flatMap((it) => it.choices.map((ch) => ({ kind: "loglikelihood", context: it.context, continuation: ch })));
  const reqTokens = requests.reduce((n, r) => n + scorer.tokenize(r.context + r.continuation).length, 0);
  let t = performance.now();
  await scorer.loglikelihood(requests);
  const secs = (performance.now() - t) / 1000;
  const scoredTps = reqTokens / secs;
  console.log(`scored (sequences ${sequences}): ${requests.length} requests, ${reqTokens} request tokens in ${secs.toFixed(2)} s = ${scoredTps.toFixed(0)} tokens/s; ratio to raw ${(scoredTps / rawTps).toFixed(2)} (goal ≥ 0.5)`);

  for (const [name, limit] of [["arc_challenge", 20], ["hellaswag", 20], ["mmlu_philosophy", 20], ["truthfulqa_mc2", 20], ["winogrande", 20], ["gsm8k", 3]]) {
    if (taskFilter && !taskFilter.includes(name)) continue;
    const [task] = resolveTasks([name]);
    t = performance.now();
    const gen = runTask(task, scorer, { dataDir: data, protocol: "v1", limit });
    let result;
    for (;;) {
      const n = await gen.next();
      if (n.done) { result = n.value; break; }
    }
    const s = (performance.now() - t) / 1000;
    console.log(`${name}: ${result.nSamples.effective} items (${task.defaultShots}-shot) in ${s.toFixed(1)} s = ${(result.nSamples.effective / s).toFixed(2)} items/s`);
  }
  await scorer.close();
}
