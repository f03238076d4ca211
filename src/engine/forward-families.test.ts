// The engine's family features (q/k norms, (1+w) norms, √D embeddings, GeGLU, sandwich norms,
// softcaps, sliding windows, two RoPE tables, partial rotary, longrope) against goldens of HF
// transformers' forward math run in float64 torch on the same seeded weights
// (scripts/engine-goldens/hf-forward.py → test/fixtures/engine-families-golden.json).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { forward } from "./forward.js";
import { logSoftmax } from "./ops.js";
import { randomWeights } from "./random-weights.js";
import type { EngineConfig } from "./types.js";

interface GoldenCase {
  name: string;
  config: EngineConfig;
  seed: number;
  std: number;
  tokens: number[];
  logSoftmax: number[][];
}

const golden = JSON.parse(readFileSync(new URL("../../test/fixtures/engine-families-golden.json", import.meta.url), "utf8")) as { cases: GoldenCase[] };

describe("engine forward = HF modeling math (torch goldens)", () => {
  for (const g of golden.cases) {
    it(g.name, async () => {
      const w = randomWeights(g.config, { seed: g.seed, std: g.std });
      const r = await forward(w, g.tokens);
      const V = g.config.vocabSize;
      const got = logSoftmax(r.logits, g.tokens.length, V);
      let worst = 0;
      g.logSoftmax.forEach((row, t) => row.forEach((v, i) => (worst = Math.max(worst, Math.abs(got[t * V + i]! - v)))));
      const spread = Math.max(...g.logSoftmax.flat()) - Math.min(...g.logSoftmax.flat());
      console.log(`[engine vs HF] ${g.name}: max |Δ log p| = ${worst.toExponential(2)} (spread ${spread.toFixed(2)})`);
      expect(spread).toBeGreaterThan(1); // not a flat distribution
      expect(worst).toBeLessThan(2e-5);
    });
  }
});

describe("each feature is visible in the log-probs (so the goldens above can fail)", () => {
  const byName = (prefix: string) => golden.cases.find((c) => c.name.startsWith(prefix))!;
  const variants: Array<[string, string, (c: EngineConfig) => EngineConfig]> = [
    ["gemma2", "no attention softcap", ({ attnLogitSoftcap: _, ...c }) => c],
    ["gemma2", "no final softcap", ({ finalLogitSoftcap: _, ...c }) => c],
    ["gemma2", "no sliding window", ({ layerTypes: _, ...c }) => c],
    ["gemma2", "headDim scale", ({ queryPreAttnScalar: _, ...c }) => c],
    ["gemma2", "no sandwich norms", (c) => ({ ...c, sandwichNorms: false })],
    ["gemma:", "no embedding scale", ({ embedScale: _, ...c }) => c],
    ["gemma:", "silu", (c) => ({ ...c, activation: "silu" })],
    ["gemma3", "one rope table", ({ ropeLocalTheta: _, ...c }) => c],
    ["gemma3", "no q/k norms", (c) => ({ ...c, qkNorm: false })],
    ["qwen3", "no q/k norms", (c) => ({ ...c, qkNorm: false })],
    ["phi3: partial", "full rotary", ({ rotaryDim: _, ropeScaling: __, ...c }) => c],
  ];
  for (const [family, what, change] of variants) {
    it(`${family.replace(/:$/, "")}: ${what}`, async () => {
      const g = byName(family);
      const base = await forward(randomWeights(g.config, { seed: g.seed, std: g.std }), g.tokens);
      const other = await forward(randomWeights(change(g.config), { seed: g.seed, std: g.std }), g.tokens);
      let diff = 0;
      base.logits.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - other.logits[i]!))));
      expect(diff).toBeGreaterThan(1e-2);
    });
  }
});
