// Writes a tiny random checkpoint of every family dusk knows into OUT_DIR/<family>/, in the HF
// layout and config.json each family's real repos use, with the tiny SentencePiece tokenizer
// (Phi-3's with its added tokens, as llama.cpp needs <|endoftext|> in a Phi-3). Deterministic.
// usage: node scripts/tiny-checkpoints.mjs OUT_DIR [family ...]   (after `npm run build`)
import { join } from "node:path";

const [out, ...only] = process.argv.slice(2);
if (!out) throw new Error("usage: tiny-checkpoints.mjs OUT_DIR [family ...]");
const dusk = await import(new URL("../dist/index.js", import.meta.url).href);
const corpus = dusk.defaultCorpus();
const spm = dusk.buildTinyTokenizer(corpus);
const spmFiles = { "tokenizer.model": spm.tokenizerModel, "tokenizer.json": spm.tokenizerJson, "tokenizer_config.json": spm.tokenizerConfig, "special_tokens_map.json": spm.specialTokensMap };
const families = only.length > 0 ? only : [...dusk.TINY_FAMILIES, "llama", "mistral", "qwen2"];
for (const family of families) {
  const dir = join(out, family);
  if (["llama", "mistral", "qwen2"].includes(family)) {
    await dusk.writeTinyHfModel(dir, { family, layers: 4, hidden: 32, heads: 4, vocabSize: spm.pieces.length, tokenizerFiles: spmFiles });
  } else if (family.startsWith("phi3")) {
    const phi3 = dusk.phi3TokenizerFiles(spm);
    await dusk.writeTinyFamilyModel(dir, { family, vocabSize: phi3.vocabSize, tokenizerFiles: phi3.files, specialTokenIds: phi3.specialTokenIds });
  } else {
    await dusk.writeTinyFamilyModel(dir, { family, vocabSize: spm.pieces.length, tokenizerFiles: spmFiles });
  }
  console.log(`${family}: ${dir}`);
}
