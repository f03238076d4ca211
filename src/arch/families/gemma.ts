// Gemma (v1): Llama's layer with NEOX rope, gelu_tanh MLP, RMSNorm gains stored as w − 1, embeddings
// scaled by √hidden, and the head tied to the embedding (the converter drops a stored lm_head).

import type { Architecture } from "../architecture.js";
import { LLAMA } from "./llama.js";
import { LLAMA_LAYER, NORM, withoutQkPermute } from "./roles.js";

export const GEMMA: Architecture = {
  ...LLAMA,
  name: "gemma",
  hfArchitectures: ["GemmaForCausalLM"],
  hfModelTypes: ["gemma"],
  ggufArchitectures: ["gemma"],
  layer: withoutQkPermute(LLAMA_LAYER),
  postLayer: [NORM],
  tied: { head: "lm_head", embedding: "embed_tokens", hfConfigKey: "tie_word_embeddings", defaultTied: true },
  converter: { vocabAndRopeDimKeys: false, ropeFreqsTensor: false, llamaVocab: false },
  forward: { activation: "gelu_tanh", normWeightOffset: 1, scaleEmbeddings: true, qkNorm: false, sandwichNorms: false },
};
