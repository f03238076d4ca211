// Writes the small HF checkpoints that the reference converter turns into the golden GGUFs of
// test/fixtures/reference/ (see its README). Deterministic: the same dusk build writes the same
// bytes. usage: node scripts/reference-goldens/make-inputs.mjs OUT_DIR   (after `npm run build`)
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

const out = process.argv[2];
if (!out) throw new Error("usage: make-inputs.mjs OUT_DIR");
const dusk = await import(new URL("../../dist/index.js", import.meta.url).href);
const t = dusk.buildTinyTokenizer(dusk.defaultCorpus());
const base = { "tokenizer.model": t.tokenizerModel, "tokenizer.json": t.tokenizerJson };
const tokenizerConfig = JSON.parse(t.tokenizerConfig);
const dims = { layers: 2, hidden: 32, intermediate: 64, heads: 4, vocabSize: t.pieces.length, dtype: "F32", std: 0.15 };

/** Writes one model, then edits its config.json (the fixture writer knows no rope scaling). */
async function model(name, options, files, configEdit = {}) {
  const dir = join(out, name);
  await dusk.writeTinyHfModel(dir, { ...dims, ...options, tokenizerFiles: { ...base, ...files } });
  const configPath = join(dir, "config.json");
  const config = { ...JSON.parse(await readFile(configPath, "utf8")), ...configEdit };
  await writeFile(configPath, JSON.stringify(config, null, 2) + "\n");
}

// Llama 3.1-style: llama3 rope scaling with Llama 3.1's parameters, GQA (4 heads, 2 KV), untied.
await model("llama31", { family: "llama", kvHeads: 2, tied: false, seed: 31, ropeTheta: 500000, maxPositions: 131072 },
  { "tokenizer_config.json": JSON.stringify(tokenizerConfig, null, 2) },
  { rope_scaling: { factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192, rope_type: "llama3" } });

// Mistral: add_prefix_space false, the template only in chat_template.json, tied head, GQA.
const { chat_template: template, ...mistralConfig } = tokenizerConfig;
await model("mistral", { family: "mistral", kvHeads: 1, tied: true, seed: 7 }, {
  "tokenizer_config.json": JSON.stringify({ ...mistralConfig, add_prefix_space: false, legacy: false }, null, 2),
  "chat_template.json": JSON.stringify({ chat_template: template }, null, 2),
});

// Qwen2: q/k/v biases, named templates (names the converter sanitises), tied head, GQA.
await model("qwen2", { family: "qwen2", kvHeads: 2, tied: true, seed: 2 }, {
  "tokenizer_config.json": JSON.stringify({
    ...tokenizerConfig,
    chat_template: [
      { name: "default", template },
      { name: "tool-use", template: "{% for m in messages %}<tool>{{ m['content'] }}</tool>{% endfor %}" },
      { name: "rag.v2 beta", template: "{% for m in messages %}[doc] {{ m['content'] }}{% endfor %}" },
    ],
  }, null, 2),
});

// The newer families (issue 15): their real config layouts (src/fixtures/tiny-family-config.ts),
// with the keys transformers would default spelled out, since the reference runs without it.
const small = { layers: 2, hidden: 32, intermediate: 64, heads: 4, vocabSize: t.pieces.length, dtype: "F32", std: 0.15 };
async function family(name, options, configEdit = (c) => c, files = {}) {
  const dir = join(out, name);
  await dusk.writeTinyFamilyModel(dir, { ...small, ...options, tokenizerFiles: { ...base, "tokenizer_config.json": JSON.stringify(tokenizerConfig, null, 2), ...files } });
  const configPath = join(dir, "config.json");
  await writeFile(configPath, JSON.stringify(configEdit(JSON.parse(await readFile(configPath, "utf8"))), null, 2) + "\n");
}
// Qwen3: q/k norms, head_dim 16 ≠ hidden/heads (key_length), tied, GQA 4/2
await family("qwen3", { family: "qwen3", kvHeads: 2, seed: 3 });
// Gemma (v1): +1 norms, tied; the converter's CodeGemma special ids (67–70, 107) fall inside the tiny vocabulary
await family("gemma", { family: "gemma", kvHeads: 1, seed: 1 });
// Gemma 2: sandwich norms, softcaps, sliding window, head_dim 16, no lm_head
await family("gemma2", { family: "gemma2", kvHeads: 2, seed: 22 });
// Gemma 3 (1B-style text model): q/k norms, rope_local_base_freq, no softcaps
await family("gemma3", { family: "gemma3", kvHeads: 1, seed: 33 });
// Gemma 3 multimodal (4B-style): text_config with linear rope scaling, a vision tower and projector
// the converter leaves out; the text config's defaults spelled out as transformers fills them
await family("gemma3mm", { family: "gemma3-multimodal", kvHeads: 2, seed: 34 }, (c) => ({
  ...c,
  text_config: {
    ...c.text_config, max_position_embeddings: 131072, rms_norm_eps: 1e-6, rope_theta: 1000000.0, rope_local_base_freq: 10000.0,
    sliding_window_pattern: 6, final_logit_softcapping: null, attn_logit_softcapping: null,
  },
}));
// Phi-3 mini 4k: fused qkv and gate_up, sliding window 2047-style, untied
await family("phi3", { family: "phi3", kvHeads: 4, seed: 30 });
// Phi-3 mini 128k: LongRoPE factors (rope_factors_long/short) and the attention factor
await family("phi3long", { family: "phi3-longrope", kvHeads: 4, seed: 31 });
// Phi-4-mini-style: partial rotary 0.75, LongRoPE over the rotated dims only, tied head, GQA
await family("phi4mini", { family: "phi4-mini", kvHeads: 2, seed: 40 });
