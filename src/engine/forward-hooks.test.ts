// The forward pass's boundary hook and resume option: the hook sees exactly the states
// hiddenStates returns, and resuming from a boundary reproduces the full pass bit for bit.

import { describe, expect, it } from "vitest";
import { tinyEngineConfig } from "../fixtures/tiny-model.js";
import { RuntimeError } from "../errors.js";
import { forward } from "./forward.js";
import { randomWeights } from "./random-weights.js";

const config = tinyEngineConfig({ layers: 5, hidden: 32, heads: 4, kvHeads: 2, vocabSize: 97 });
const weights = randomWeights(config, { seed: 3, std: 0.1 });
const tokens = Array.from({ length: 23 }, (_, i) => (i * 31 + 7) % 97);

describe("forward: onBoundary and resume", () => {
  it("onBoundary sees every boundary, equal to hiddenStates", async () => {
    const seen: [number, Float32Array][] = [];
    const r = await forward(weights, tokens, { hiddenStates: true, onBoundary: (b, x) => void seen.push([b, x]) });
    expect(seen.map(([b]) => b)).toEqual([0, 1, 2, 3, 4, 5]);
    seen.forEach(([b, x]) => expect(x).toEqual(r.hidden![b]));
  });

  it("resuming at a boundary gives the same logits and later states, bit for bit", async () => {
    const full = await forward(weights, tokens, { hiddenStates: true });
    for (const b of [0, 2, 5]) {
      const hidden = full.hidden![b]!.slice();
      const r = await forward(weights, tokens, { hiddenStates: true, resume: { boundary: b, hidden } });
      expect(r.logits).toEqual(full.logits);
      expect(r.hidden).toEqual(full.hidden!.slice(b));
      expect(hidden).toEqual(full.hidden![b]); // not modified
    }
  });

  it("refuses a resume state of the wrong size or boundary", async () => {
    const x = new Float32Array(tokens.length * 32);
    await expect(forward(weights, tokens, { resume: { boundary: 6, hidden: x } })).rejects.toThrow(RuntimeError);
    await expect(forward(weights, tokens, { resume: { boundary: 1, hidden: x.subarray(1) } })).rejects.toThrow(/resume at boundary 1/);
    await expect(forward(weights, tokens, { tape: true, resume: { boundary: 1, hidden: x } })).rejects.toThrow(/no tape/);
  });
});
