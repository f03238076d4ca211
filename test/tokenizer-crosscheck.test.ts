// llama.cpp's tokenization of a converted model equals @huggingface/tokenizers' tokenization of
// the same text with the original tokenizer.json (held-out corpus text, not the training
// excerpt the tokenizer learned from).

import { Tokenizer } from "@huggingface/tokenizers";
import { getLlama } from "node-llama-cpp";
import { expect, test } from "vitest";
import { makeTinyGguf, tinyTokenizer } from "./helpers/models.js";
import { fullCorpus } from "../src/fixtures/corpus.js";


test("llama.cpp and HF tokenizers give identical ids on Shakespeare", async () => {
  const text = fullCorpus();
  // Held-out text: the tokenizer was trained on the first 120 kB.
  const lines = text.slice(500_000, 540_000).split("\n").filter((l) => l.trim().length > 0);
  const samples = [...lines.slice(0, 300), "  double  spaces and\ttabs — em dash, café, 日本語 ✓", lines.slice(300, 340).join("\n")];
  const t = tinyTokenizer();
  const hf = new Tokenizer(JSON.parse(t.tokenizerJson), JSON.parse(t.tokenizerConfig));
  const { gguf } = await makeTinyGguf({ layers: 2, hidden: 32 }, "f16");
  const llama = await getLlama({ gpu: false });
  const model = await llama.loadModel({ modelPath: gguf });
  try {
    let tokens = 0;
    for (const s of samples) {
      const expected = hf.encode(s, { add_special_tokens: false }).ids;
      const got = [...model.tokenize(s)];
      expect(got, JSON.stringify(s)).toEqual(expected);
      tokens += expected.length;
    }
    expect(tokens).toBeGreaterThan(3000);
    // BOS as the model asks: llama.cpp's tokenizer.ggml.add_bos_token matches tokenizer_config.
    expect(model.tokens.bos).toBe(hf.encode("x").ids[0]);
  } finally {
    await model.dispose();
  }
});
