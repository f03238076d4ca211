// The `--gpu` and `--gpu-layers` flags every llama.cpp command shares (run, chat, serve, eval, ppl,
// and any later one such as experiment: spread `gpuArgs` into its args and pass
// `gpuFromArgs(args)` to openModel / LlamaScorer.open). Parsing only; the runtime loads the binary.

import { checkGpuLayers, GPU_CHOICES, type GpuChoice, type GpuLayers, type GpuOptions } from "../runtime/llama-instance.js";
import { UsageError } from "./flag-check.js";

export const gpuArgs = {
  gpu: { type: "string", description: `where llama.cpp runs: ${GPU_CHOICES.join(", ")} (default auto: a CUDA or Vulkan GPU when one works, else the CPU)`, valueHint: "auto|cuda|vulkan|cpu" },
  "gpu-layers": { type: "string", description: "layers to offload to the GPU: a number, max, or auto (default: as many as fit)", valueHint: "n|max|auto" },
} as const;

/** `--gpu` and `--gpu-layers` → the runtime's GpuOptions (a UsageError for a value it cannot take). */
export function gpuFromArgs(args: Record<string, unknown>): GpuOptions {
  const gpu = args.gpu === undefined || args.gpu === "" ? "auto" : String(args.gpu);
  if (!(GPU_CHOICES as readonly string[]).includes(gpu)) {
    throw new UsageError("cli.gpu", `--gpu is ${JSON.stringify(gpu)}, expected one of ${GPU_CHOICES.join(", ")}`, { hint: "--gpu auto uses a GPU when one works and the CPU otherwise" });
  }
  const raw = args["gpu-layers"];
  let gpuLayers: GpuLayers = "auto";
  if (raw !== undefined && raw !== "") {
    const text = String(raw).trim();
    try {
      gpuLayers = checkGpuLayers(text === "auto" || text === "max" ? text : /^\d+$/.test(text) ? Number(text) : text);
    } catch (e) {
      throw new UsageError("cli.gpu-layers", (e as Error).message, { hint: "e.g. --gpu-layers max, --gpu-layers 20, or --gpu-layers 0 for none" });
    }
  }
  return { gpu: gpu as GpuChoice, gpuLayers };
}
