// Memory per GPU under ZeRO-3, worked by hand for SOLAR 10.7B (48 Mistral-7B layers) on 8 GPUs,
// and parameter counts from a config equal to those from a real checkpoint's tensor shapes.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tinyEngineConfig, tinyHfConfig, writeTinyHfModel } from "../../fixtures/tiny-model.js";
import { zero3MemoryPerGpu } from "./memory.js";
import { readStackInfo, stackInfoFromConfig } from "./stack-info.js";

const SOLAR = stackInfoFromConfig("./solar-dus", {
  architectures: ["MistralForCausalLM"], model_type: "mistral", vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336,
  num_hidden_layers: 48, num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 32768,
});

describe("parameters and memory", () => {
  it("SOLAR's 48 layers: 218,112,000 parameters each, 10,731,524,096 in all", () => {
    // per layer: q, o 4096² each; k, v 1024×4096 each; gate, up, down 14336×4096 each; 2 norms of 4096
    const perLayer = 2 * 4096 * 4096 + 2 * 1024 * 4096 + 3 * 14336 * 4096 + 2 * 4096;
    expect(perLayer).toBe(218_112_000);
    expect(SOLAR.params.layers).toEqual(new Array(48).fill(perLayer));
    expect(SOLAR.params.total).toBe(48 * perLayer + 2 * 32000 * 4096 + 4096);
    expect(SOLAR.decoderLayerClass).toBe("MistralDecoderLayer");
  });

  it("all of SOLAR trained on 8 GPUs: 16 bytes per parameter over 8, plus layer, activations, logits, runtime", () => {
    const m = zero3MemoryPerGpu(SOLAR, SOLAR.params.total, { gpus: 8, microBatchSize: 1, seqLen: 4096 });
    const P = 10_731_524_096;
    const states = (16 * P) / 8; // 21.46 GB: bf16 weight + bf16 grad + fp32 master, m, v
    const layer = 4 * 218_112_000;
    const checkpoints = 2 * 4096 * 4096 * 48;
    const recompute = 2 * 4096 * (5 * 4096 + 2 * 1024 + 4 * 14336);
    const logits = 10 * 4096 * 32000;
    expect(m.terms.map((t) => t.formula)).toEqual(["2·P/N", "2·T/N", "12·T/N", "2·2·P_layer", "2·b·s·h·L", "2·b·s·(5h + 2·h_kv + 4i)", "10·b·s·V", "≈ 3 GB"]);
    expect(m.perGpuBytes).toBe(states + layer + checkpoints + recompute + logits + 3e9);
    expect(m.perGpuBytes / 1e9).toBeCloseTo(28.91, 2);
  });

  it("training 4 of the 48 layers keeps optimizer state for those only", () => {
    const T = 4 * 218_112_000;
    const m = zero3MemoryPerGpu(SOLAR, T, { gpus: 8, microBatchSize: 1, seqLen: 4096 });
    expect(m.terms[1]!.bytes + m.terms[2]!.bytes).toBe((14 * T) / 8);
    expect(m.perGpuBytes / 1e9).toBeCloseTo(11.66, 2);
  });

  it("counts from a config equal counts from a checkpoint's tensor shapes (Llama and Qwen2 with biases)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "dusk-stackinfo-"));
    try {
      for (const family of ["llama", "qwen2"] as const) {
        const o = { family, layers: 3, hidden: 32, heads: 4, kvHeads: 2, vocabSize: 48, seed: 1 };
        await writeTinyHfModel(join(dir, family), o);
        const fromFiles = await readStackInfo(join(dir, family));
        const fromConfig = stackInfoFromConfig(join(dir, family), tinyHfConfig(tinyEngineConfig(o), family, "F32"));
        expect(fromFiles.params).toEqual(fromConfig.params);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
