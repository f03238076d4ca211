// One llama.cpp binding per process and device choice (loading one costs ~0.5 s), with its log
// captured in a small ring so a failed model load can say what llama.cpp complained about; and
// the GPU options every llama.cpp command shares (`--gpu`, `--gpu-layers`): which prebuilt binary
// to load (CUDA, Vulkan or CPU, never a build from source) and how many layers to offload.
// Not model loading itself (loaded-model.ts).

import { getLlama, getLlamaGpuTypes, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";
import { RuntimeError } from "../errors.js";

/** Why 60 lines: a failed load logs its complaint in the last few lines before the failure. */
const LOG_RING_LINES = 60;

/** The newest llama.cpp log lines; `written` counts every line ever appended. */
class LogRing {
  private lines: string[] = [];
  written = 0;
  append(line: string): void {
    this.lines.push(line);
    this.written++;
    if (this.lines.length > LOG_RING_LINES) this.lines.shift();
  }
  /** lines appended after `mark` (a past value of `written`) that are still held */
  since(mark: number): string[] {
    return this.lines.slice(Math.max(0, this.lines.length - (this.written - mark)));
  }
}

const log = new LogRing();
const instances = new Map<string, Promise<Llama>>();

/**
 * Which llama.cpp binary runs the model. "auto" (the default): CUDA or Vulkan when a prebuilt
 * binary for it loads and finds a device, else the CPU, without a warning. "cuda" / "vulkan":
 * that one or an error. "cpu" (or `false`, the older spelling): the CPU only.
 */
export type GpuChoice = "auto" | "cuda" | "vulkan" | "cpu" | false;
export const GPU_CHOICES = ["auto", "cuda", "vulkan", "cpu"] as const;

/** Layers offloaded to the GPU: a count, "max" (all), or "auto" (as many as fit, node-llama-cpp's estimate). */
export type GpuLayers = number | "auto" | "max";

/** The GPU options of every llama.cpp command (run, chat, serve, eval, ppl, experiment). */
export interface GpuOptions {
  /** default "auto" */
  gpu?: GpuChoice;
  /** default "auto"; ignored (0) on the CPU */
  gpuLayers?: GpuLayers;
}

/** The shared binding for `gpu` (default "auto"); never compiles llama.cpp. */
export function llamaInstance(gpu: GpuChoice = "auto"): Promise<Llama> {
  const key = gpu === false ? "cpu" : gpu;
  let p = instances.get(key);
  if (!p) {
    p = key === "auto" ? autoBinding() : loadBinding(key);
    instances.set(key, p);
    p.catch(() => instances.delete(key));
  }
  return p;
}

/** "auto" where node-llama-cpp finds no CUDA driver or Vulkan loader is the CPU binding: shared, not loaded twice. */
async function autoBinding(): Promise<Llama> {
  const types = await getLlamaGpuTypes("supported");
  return types.some((t) => t !== false) ? loadBinding("auto") : llamaInstance("cpu");
}

async function loadBinding(choice: Exclude<GpuChoice, false>): Promise<Llama> {
  try {
    return await getLlama({
      gpu: choice === "cpu" ? false : choice,
      // Prebuilt binaries only: no compiler, no download, and no console warnings while probing
      // GPU binaries that do not fit this machine (auto then quietly takes the CPU).
      build: "never",
      skipDownload: true,
      progressLogs: false,
      // 0: a context's `threads` is then exactly what the user asked for.
      maxThreads: 0,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => log.append(`${level}: ${message.trimEnd()}`),
    });
  } catch (e) {
    if (choice === "cuda" || choice === "vulkan") {
      throw new RuntimeError("runtime.gpu", `--gpu ${choice}: node-llama-cpp's prebuilt ${choice === "cuda" ? "CUDA" : "Vulkan"} binary does not run here (${(e as Error).message})`, {
        hint: `check the ${choice === "cuda" ? "NVIDIA driver and CUDA runtime" : "Vulkan driver"}; --gpu auto picks a working GPU or the CPU`,
        cause: e,
      });
    }
    throw e;
  }
}

/** Checks a `--gpu-layers` value: a non-negative integer, "auto" or "max". */
export function checkGpuLayers(value: unknown): GpuLayers {
  if (value === "auto" || value === "max") return value;
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 100_000) return value;
  throw new RuntimeError("runtime.gpu-layers", `--gpu-layers is ${JSON.stringify(value)}, expected a non-negative integer, "auto" or "max"`, { hint: "e.g. --gpu-layers max (every layer on the GPU) or --gpu-layers 20" });
}

/** What node-llama-cpp's loadModel takes for `gpuLayers`: 0 on a CPU binding, whatever was asked. */
export function gpuLayersFor(llama: Llama, o: GpuOptions): GpuLayers {
  const layers = checkGpuLayers(o.gpuLayers ?? "auto");
  if (llama.gpu !== false) return layers;
  if (typeof layers === "number" && layers > 0 && o.gpu !== "auto" && o.gpu !== undefined) {
    throw new RuntimeError("runtime.gpu-layers", `--gpu-layers ${layers} needs a GPU, and --gpu ${o.gpu === false ? "cpu" : o.gpu} runs on the CPU`, { hint: "drop --gpu-layers, or use --gpu auto|cuda|vulkan" });
  }
  return 0;
}

/** One line for the user: "CPU" or "CUDA (NVIDIA H200), 33/33 layers on the GPU". */
export async function describeDevice(llama: Llama, model: LlamaModel, asked: GpuChoice = "auto"): Promise<string> {
  if (llama.gpu === false) return asked === "auto" || asked === undefined ? "CPU (no usable GPU found)" : "CPU";
  const names = await llama.getGpuDeviceNames().catch(() => [] as string[]);
  const kind = llama.gpu === "cuda" ? "CUDA" : llama.gpu === "vulkan" ? "Vulkan" : "Metal";
  return `${kind}${names.length ? ` (${names.join(", ")})` : ""}, ${model.gpuLayers}/${model.fileInsights.totalLayers} layers on the GPU`;
}

/** A position in llama.cpp's log, for llamaLogSince. */
export function logMark(): number {
  return log.written;
}

/** llama.cpp's warnings and errors since `mark` (newest last, at most the ring's size). */
export function llamaLogSince(mark: number): string[] {
  return log.since(mark);
}
