// Generates a bench model of about `gbytes` GB on disk (F16, wide layers, tiny vocabulary) as an
// HF directory, and optionally its F16 GGUF. usage: node make-model.mjs DIR GB [--gguf]
const [dir, gbytes, flag] = process.argv.slice(2);
const dusk = await import(new URL("../dist/index.js", import.meta.url).href);
const hidden = 2048;
const intermediate = 5632;
const perLayer = (4 * hidden * hidden + 3 * hidden * intermediate) * 2;
const layers = Math.max(4, Math.round((Number(gbytes) * 1e9) / perLayer));
const t = dusk.buildTinyTokenizer(dusk.defaultCorpus());
const tokenizerFiles = { "tokenizer.model": t.tokenizerModel, "tokenizer.json": t.tokenizerJson, "tokenizer_config.json": t.tokenizerConfig };
await dusk.writeTinyHfModel(dir, { layers, hidden, intermediate, heads: 16, kvHeads: 16, vocabSize: t.pieces.length, dtype: "F16", seed: 3, shardBytes: 1_000_000_000, tokenizerFiles });
process.stdout.write(JSON.stringify({ layers }) + "\n");
