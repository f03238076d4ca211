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
