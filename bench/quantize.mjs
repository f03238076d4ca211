// bench/quantize: dusk quantize, measured side by side in one run.
//  1. quality: the embedded default model (hidden 128: rows of 128 and 384, so every K-quant falls
//     back to a 32-block type) and a 256-wide model trained here (every K-quant applies), F16 GGUF →
//     each type; llama.cpp's perplexity (dusk ppl, node-llama-cpp) on held-out text, as a ratio to
//     F16's. Goals: Q4_K_M ≤ 1.05, Q8_0 ≤ 1.005.
//  2. speed: a generated F16 GGUF of about GB gigabytes (rows of 1024/2816) quantized to Q8_0, Q4_K_M
//     and IQ4_XS on every core; seconds per GB of input against `cat FILE > /dev/null` of the same
//     file (warm cache), and against llama-quantize when scripts/quant-goldens/build-llama.sh built one.
// Run after `npx tsc -p .`: node bench/quantize.mjs [GB=0.1]   (env: BENCH_TYPES, BENCH_TEXT_CHARS,
// BENCH_WIDE_MODEL=an HF dir to skip the training, BENCH_TRAIN_TOKENS, BENCH_PARTS=quality,speed)
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";

const GB = Number(process.argv[2] ?? 0.1);
const dist = (p) => import(new URL(`../dist/${p}`, import.meta.url).href);
const { writeTinyHfModel } = await dist("fixtures/tiny-model.js");
const { DEFAULT_MODEL_PATH } = await dist("fixtures/default-model.js");
const { heldOutCorpus, trainingCorpus } = await dist("fixtures/corpus.js");
const { buildTinyTokenizer } = await dist("tokenizer/tiny-tokenizer.js");
const { defaultCorpus } = await dist("fixtures/corpus.js");
const dusk = join(new URL("..", import.meta.url).pathname, "bin/dusk.js");
const llamaQuantize = join(process.env.DUSK_LLAMA_BUILD ?? "/tmp/dusk-llama-quant", "build/bin/llama-quantize");

const dir = mkdtempSync(join(tmpdir(), "dusk-bench-quantize-"));
const run = (cmd, args, env = process.env) => {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28, env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return { out: r.stdout, seconds: (performance.now() - t) / 1000 };
};
const duskRun = (...args) => run(process.execPath, [dusk, ...args]);

/** Trains the 256-wide bench model from scratch with dusk train (config beside the output). */
function trainWide(out) {
  const config = join(dir, "wide.yml");
  writeFileSync(config, ["family: llama", "hidden_size: 256", "intermediate_size: 768", "num_layers: 4", "num_heads: 4", "num_kv_heads: 1",
    "vocab_size: 1024", "max_position_embeddings: 256", "seq_len: 128", "batch: 16", `tokens: ${process.env.BENCH_TRAIN_TOKENS ?? "150K"}`,
    "lr: 0.003", "warmup: 20", "min_lr_ratio: 0.1", "weight_decay: 0.1", "seed: 1", "eval_every: 1000", "eval_sequences: 16"].join("\n") + "\n");
  const train = join(dir, "train.txt");
  writeFileSync(train, trainingCorpus());
  duskRun("train", "--config", config, "--text", train, "-o", out, "--workers", String(Math.min(2, availableParallelism())), "--quiet");
  return out;
}

try {
  const text = join(dir, "heldout.txt");
  writeFileSync(text, heldOutCorpus().slice(0, Number(process.env.BENCH_TEXT_CHARS ?? 4000)));
  const t = buildTinyTokenizer(defaultCorpus());
  const tokenizerFiles = { "tokenizer.model": t.tokenizerModel, "tokenizer.json": t.tokenizerJson, "tokenizer_config.json": t.tokenizerConfig, "special_tokens_map.json": t.specialTokensMap };

  const parts = (process.env.BENCH_PARTS ?? "quality,speed").split(",");
  // --- 1. quality
  if (parts.includes("quality")) {
    // a 256-wide model worth measuring is a trained one: `dusk train` from scratch on the corpus's
    // training part (4 layers, hidden 256, FFN 768; ~25 min on two busy cores), or BENCH_WIDE_MODEL
    const wide = process.env.BENCH_WIDE_MODEL ?? trainWide(join(dir, "wide"));
    // non-overlapping windows of 128 tokens: llama.cpp's per-call overhead dominates on models this small
    const ppl = (gguf) => JSON.parse(duskRun("ppl", gguf, "--text", text, "--ctx", "128", "--stride", "128", "--json", "--quiet").out).ppl;
    const quality = [];
    for (const [label, hf] of [["default model (hidden 128)", DEFAULT_MODEL_PATH], ["trained, rows of 256", wide]]) {
      const f16 = join(dir, "f16.gguf");
      duskRun("convert", hf, "-o", f16, "--type", "f16", "--quiet", "--force");
      const base = ppl(f16);
      quality.push({ model: label, type: "F16", ppl: base.toFixed(3), ratio: "1.000", fallbacks: "" });
      for (const type of (process.env.BENCH_TYPES ?? "Q8_0,Q6_K,Q4_K_M,IQ4_XS,Q3_K_M,Q2_K").split(",")) {
        const out = join(dir, `${type}.gguf`);
        const plan = JSON.parse(duskRun("quantize", f16, "-o", out, "--type", type, "--json", "--force").out);
        const p = ppl(out);
        const fell = plan.tensors.filter((x) => x.fallbackFrom).length;
        quality.push({ model: label, type, ppl: p.toFixed(3), ratio: (p / base).toFixed(3), fallbacks: `${fell}/${plan.tensors.filter((x) => x.from !== x.type).length}` });
        rmSync(out);
      }
      rmSync(f16);
  }
  console.log(`llama.cpp perplexity (windows of 128 tokens of ${readFileSync(text, "utf8").length} held-out characters) of each type over F16's`);
  console.table(quality);
  const r = (m, ty) => Number(quality.find((q) => q.model.startsWith(m) && q.type === ty).ratio);
  console.log(`goals: Q4_K_M ≤ 1.05 (default ${r("default", "Q4_K_M")}, 256-wide ${r("trained", "Q4_K_M")}); Q8_0 ≤ 1.005 (default ${r("default", "Q8_0")}, 256-wide ${r("trained", "Q8_0")})`);

  }

  // --- 2. speed
  if (parts.includes("speed")) {
    const hidden = 1024, intermediate = 2816;
    const layers = Math.max(2, Math.round((GB * 1e9) / ((4 * hidden * hidden + 3 * hidden * intermediate) * 2)));
    const big = join(dir, "big-hf");
    await writeTinyHfModel(big, { layers, hidden, intermediate, heads: 16, kvHeads: 4, vocabSize: t.pieces.length, dtype: "F16", seed: 3, tokenizerFiles });
    const input = join(dir, "big-f16.gguf");
    duskRun("convert", big, "-o", input, "--type", "f16", "--quiet");
    rmSync(big, { recursive: true });
    const bytes = statSync(input).size;
    const cat = Math.min(...[0, 1, 2].map(() => run("sh", ["-c", `cat '${input}' > /dev/null`]).seconds));
    const speed = [{ what: "cat > /dev/null", secondsPerGB: (cat / (bytes / 1e9)).toFixed(2), vsCat: "1.0", vsLlama: "" }];
    for (const type of ["Q8_0", "Q4_K_M", "IQ4_XS"]) {
      const out = join(dir, `big-${type}.gguf`);
      const d = duskRun("quantize", input, "-o", out, "--type", type, "--quiet", "--force").seconds;
      let l;
      if (existsSync(llamaQuantize)) {
        rmSync(out);
        l = run(llamaQuantize, [input, out, type, String(availableParallelism())]).seconds;
      }
      // the K-quants' JavaScript quantizers (DUSK_QUANT_WASM=0), beside their WebAssembly build
      const js = type.includes("_K") ? run(process.execPath, [dusk, "quantize", input, "-o", out, "--type", type, "--quiet", "--force"], { ...process.env, DUSK_QUANT_WASM: "0" }).seconds : undefined;
      rmSync(out, { force: true });
      const row = (what, s) => ({ what, secondsPerGB: (s / (bytes / 1e9)).toFixed(2), vsCat: (s / cat).toFixed(1), vsLlama: l ? (s / l).toFixed(2) : "(no llama-quantize)" });
      speed.push(row(`dusk quantize ${type}`, d));
      if (js !== undefined) speed.push(row(`dusk quantize ${type}, JavaScript quantizers`, js));
      if (l) speed.push({ what: `llama-quantize ${type}`, secondsPerGB: (l / (bytes / 1e9)).toFixed(2), vsCat: (l / cat).toFixed(1), vsLlama: "1.00" });
  }
  console.log(`quantizing a ${(bytes / 1e9).toFixed(2)} GB F16 GGUF (${layers} layers, rows of ${hidden}/${intermediate}) on ${availableParallelism()} threads; wall seconds per GB of input (process start included)`);
  console.table(speed);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
