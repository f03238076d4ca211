// Detection's refusals: each names the file and the field that gave the checkpoint away.

import { describe, expect, test } from "vitest";
import { ggufValue, type GgufKv } from "../formats/gguf-value.js";
import { detectGgufArchitecture, detectHfArchitecture } from "./detect.js";

const f = "/m/config.json";

describe("detectHfArchitecture", () => {
  test("every family by its architectures entry, and by model_type", () => {
    const names = (a: string) => detectHfArchitecture({ architectures: [a] }, f).name;
    expect(["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "GemmaForCausalLM", "Gemma2ForCausalLM", "Gemma3ForCausalLM", "Gemma3ForConditionalGeneration", "Phi3ForCausalLM"].map(names))
      .toEqual(["llama", "llama", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "gemma3-multimodal", "phi3"]);
    expect(detectHfArchitecture({ model_type: "gemma3_text" }, f).name).toBe("gemma3");
  });

  test("MoE checkpoints: by architecture name and by expert count, with the dense sibling", () => {
    expect(() => detectHfArchitecture({ architectures: ["Qwen3MoeForCausalLM"], model_type: "qwen3_moe", num_experts: 128 }, f)).toThrow(
      expect.objectContaining({ code: "arch.moe", file: f, field: "architectures", message: expect.stringMatching(/mixture-of-experts.*Qwen3MoeForCausalLM/), hint: expect.stringMatching(/Qwen3ForCausalLM/) }),
    );
    expect(() => detectHfArchitecture({ architectures: ["MixtralForCausalLM"], num_local_experts: 8 }, f)).toThrow(expect.objectContaining({ code: "arch.moe", hint: expect.stringMatching(/MistralForCausalLM/) }));
    expect(() => detectHfArchitecture({ architectures: ["MistralForCausalLM"], num_local_experts: 8 }, f)).toThrow(expect.objectContaining({ code: "arch.moe", field: "num_local_experts", message: expect.stringMatching(/8 experts per layer/) }));
  });

  test("rerankers: a sequence-classification head, or a Qwen3 reranker by name", () => {
    expect(() => detectHfArchitecture({ architectures: ["Qwen3ForSequenceClassification"] }, f)).toThrow(expect.objectContaining({ code: "arch.reranker", field: "architectures" }));
    expect(() => detectHfArchitecture({ architectures: ["Qwen3ForCausalLM"], _name_or_path: "Qwen/Qwen3-Reranker-0.6B" }, f)).toThrow(expect.objectContaining({ code: "arch.reranker", field: "_name_or_path" }));
  });

  test("unknown: names what was found and the known families", () => {
    expect(() => detectHfArchitecture({ architectures: ["GPTNeoXForCausalLM"] }, f)).toThrow(
      expect.objectContaining({ code: "arch.unknown", file: f, actual: "GPTNeoXForCausalLM", hint: expect.stringMatching(/qwen3 \(Qwen3ForCausalLM, gguf:qwen3\).*phi3/) }),
    );
  });
});

describe("detectGgufArchitecture", () => {
  const kv = (entries: [string, ReturnType<typeof ggufValue.u32>][]): GgufKv => new Map(entries);
  test("a Mixtral GGUF is llama with experts; a llama.cpp reranker has rank pooling", () => {
    expect(() => detectGgufArchitecture("llama", "/m.gguf", kv([["llama.expert_count", ggufValue.u32(8)]]))).toThrow(expect.objectContaining({ code: "arch.moe", field: "llama.expert_count" }));
    expect(() => detectGgufArchitecture("qwen3moe", "/m.gguf", kv([]))).toThrow(expect.objectContaining({ code: "arch.moe" }));
    expect(() => detectGgufArchitecture("qwen3", "/m.gguf", kv([["qwen3.pooling_type", ggufValue.u32(4)]]))).toThrow(expect.objectContaining({ code: "arch.reranker" }));
    expect(detectGgufArchitecture("gemma3", "/m.gguf", kv([])).name).toBe("gemma3");
    expect(() => detectGgufArchitecture("gptneox", "/m.gguf", kv([]))).toThrow(expect.objectContaining({ code: "arch.unknown", field: "general.architecture" }));
  });
});
