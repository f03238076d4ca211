// The hyperparameters of an opened checkpoint: config.json for HF directories, metadata plus the
// small tensors that carry hyperparameters (rope_freqs, Phi-3's rope_factors_long/short) for GGUF.

import { join } from "node:path";
import { readGgufHParams, readHParams, tensorName, type HParams } from "../arch/index.js";
import { ggufGetNumber } from "../formats/gguf-value.js";
import type { Checkpoint } from "./open-checkpoint.js";

export function checkpointHParams(c: Checkpoint): HParams {
  const scheme = c.format === "gguf" ? "gguf" : "hf";
  const hp = c.format === "gguf" ? readGgufHParams(c.arch, c.gguf!.kv, c.path) : readHParams(c.arch, c.config!, join(c.path, "config.json"));
  const head = c.arch.postLayer.find((r) => r.role === "lm_head");
  hp.tied = !head || !c.tensors.has(tensorName(head, scheme));
  if (c.ropeFreqFactors) hp.ropeFreqFactors = c.ropeFreqFactors;
  if (c.ropeLongFactors && c.ropeShortFactors) {
    const a = c.arch.ggufArchitectures[0]!;
    const original = hp.originalContextLength ?? hp.contextLength;
    hp.ropeScaling = {
      type: "longrope",
      factor: hp.contextLength / original,
      originalContext: original,
      attentionFactor: ggufGetNumber(c.gguf!.kv, `${a}.rope.scaling.attn_factor`, c.path) ?? 1,
      shortFactor: [...c.ropeShortFactors],
      longFactor: [...c.ropeLongFactors],
    };
  }
  return hp;
}
