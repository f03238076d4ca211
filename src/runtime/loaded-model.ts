// A model loaded into llama.cpp with one context of one or more sequences: the resource-owning
// object that generation, chat, scoring and the server share (`dispose()` frees it). Resolves what the user typed
// (a .gguf, an HF directory converted once into the cache, or a Hub id) to a GGUF path first.
// Not generation (generate.ts) and not chat templates (chat-template.ts).

import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { BuildEvent } from "../build/events.js";
import { RuntimeError } from "../errors.js";
import { FileSource } from "../formats/byte-source.js";
import { parseGguf } from "../formats/gguf.js";
import { parseModelRef, resolveModelDir } from "../hub/index.js";
import type { HubEvent } from "../hub/index.js";
import { cachedGguf } from "./gguf-cache.js";
import { bySequenceId } from "./batch-order.js";
import { serializeSampling } from "./sampling-lock.js";
import { StepBarrier } from "./step-barrier.js";
import { tokenBytesOf, type TokenBytes } from "./token-bytes.js";
import { describeDevice, gpuLayersFor, llamaInstance, llamaLogSince, logMark, type GpuOptions } from "./llama-instance.js";

export interface OpenModelOptions extends GpuOptions {
  /** tokens the context holds (default: the model's training context, at most 4096) */
  contextSize?: number;
  /** CPU threads (default: llama.cpp's choice, the math cores) */
  threads?: number;
  /**
   * KV-cache sequences in the context (default 1), each holding `contextSize` tokens of its own:
   * independent generations that llama.cpp evaluates in shared batches (`dusk serve --parallel`).
   */
  sequences?: number;
  /** llama.cpp's flash attention (default: node-llama-cpp's choice); off, outputs depend less on what else is batched */
  flashAttention?: boolean;
  /**
   * KV-cache precision (default "f16", llama.cpp's). "f32" doubles its memory, and brings the
   * difference between a batched and a lone generation from ~1e-4 to ~1e-8 in log-probability
   * (docs/DESIGN.md, "Batched generation").
   */
  kvCache?: "f16" | "f32";
  /** where converted HF directories are cached (default $DUSK_CACHE/gguf or ~/.cache/dusk/gguf) */
  cacheDir?: string;
  /** conversion (HF directory) and download (Hub id) progress */
  onEvent?: (e: { kind: "convert"; event: BuildEvent } | { kind: "download"; event: HubEvent }) => void;
  signal?: AbortSignal;
}

export const DEFAULT_CONTEXT_CAP = 4096;
const CONTEXT_RANGE = { min: 32, max: 1 << 20 };
const THREADS_MAX = 1024;
/** Each sequence holds a full context of KV cache, so memory grows linearly with this. */
const SEQUENCES_MAX = 256;

export class LoadedModel {
  /** the tokens currently decoded into `sequence` are owned by whoever holds `withSequence` */
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private bytes: TokenBytes | null | undefined;
  /** with several sequences: keeps their generations in step (step-barrier.ts) */
  readonly steps: StepBarrier | undefined;

  private constructor(
    readonly llama: Llama,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    /** every sequence of the context; the first is `sequence`, which `withSequence` hands out */
    readonly sequences: readonly LlamaContextSequence[],
    /** the GGUF file llama.cpp loaded */
    readonly path: string,
    /** where it came from: the ref as typed */
    readonly ref: string,
    /** where it runs, for the user: "CPU (no usable GPU found)", "CUDA (…), 33/33 layers on the GPU" */
    readonly device: string,
  ) {
    this.steps = sequences.length > 1 ? new StepBarrier() : undefined;
  }

  get sequence(): LlamaContextSequence {
    return this.sequences[0]!;
  }

  /** @internal openModel's constructor */
  static async create(llama: Llama, path: string, ref: string, o: OpenModelOptions): Promise<LoadedModel> {
    await checkGgufHeader(path);
    const gpuLayers = gpuLayersFor(llama, o);
    const mark = logMark();
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: path, gpuLayers });
    } catch (e) {
      throw loadFailure(path, mark, e);
    }
    try {
      const contextSize = o.contextSize ?? Math.min(model.trainContextSize || DEFAULT_CONTEXT_CAP, DEFAULT_CONTEXT_CAP);
      const sequences = o.sequences ?? 1;
      let created: LlamaContext | undefined;
      const context = await model.createContext({
        contextSize,
        sequences,
        // Several sequences: each batch sorted by sequence id, so llama.cpp runs it as one graph (batch-order.ts).
        ...(sequences > 1 ? { batching: { itemPrioritizationStrategy: bySequenceId(() => created) } } : {}),
        ...(o.threads === undefined ? {} : { threads: o.threads }),
        ...(o.flashAttention === undefined ? {} : { flashAttention: o.flashAttention }),
        ...(o.kvCache === "f32" ? { experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" } : {}),
      });
      created = context;
      serializeSampling(context);
      const all = Array.from({ length: sequences }, () => context.getSequence());
      return new LoadedModel(llama, model, context, all, path, ref, await describeDevice(llama, model, o.gpu));
    } catch (e) {
      await model.dispose();
      throw new RuntimeError("runtime.context", `${path}: llama.cpp could not create a context of ${o.contextSize ?? "default"} tokens (${(e as Error).message})`, {
        hint: (o.sequences ?? 1) > 1 ? "try a smaller --ctx or fewer --parallel sequences (each holds a full context)" : "try a smaller --ctx",
        cause: e,
      });
    }
  }

  /** tokens the context holds (llama.cpp may round the request up) */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /** the GGUF says to start every text with BOS (tokenizer.ggml.add_bos_token, or the vocab's default) */
  get addBos(): boolean {
    return this.model.tokens.shouldPrependBosToken && this.model.tokens.bos !== null;
  }

  get bosText(): string {
    return this.model.tokens.bosString ?? "";
  }

  get eosText(): string {
    return this.model.tokens.eosString ?? "";
  }

  /** GGUF `tokenizer.chat_template`, if the model has one */
  get chatTemplate(): string | undefined {
    const t = this.model.fileInfo.metadata.tokenizer?.chat_template;
    return typeof t === "string" && t !== "" ? t : undefined;
  }

  /**
   * Text → tokens as llama.cpp's own tools do: BOS first when the model wants it (override with
   * `addBos`), then the text; `special` parses special-token text such as `<s>` (for rendered chat
   * templates). SentencePiece vocabularies get their leading-space prefix, as in HF.
   */
  tokenize(text: string, o: { addBos?: boolean; special?: boolean } = {}): Token[] {
    const tokens = this.model.tokenize(text, o.special ?? false);
    const bos = this.model.tokens.bos;
    if ((o.addBos ?? this.addBos) && bos !== null && tokens[0] !== bos) tokens.unshift(bos);
    return tokens;
  }

  /** Tokens → text; `previous` tokens let SentencePiece decide whether a leading space shows. */
  detokenize(tokens: readonly Token[], previous?: readonly Token[]): string {
    return this.model.detokenize(tokens, false, previous);
  }

  /** each token's bytes, from the GGUF vocabulary (undefined for vocabulary types not read here) */
  get tokenBytes(): TokenBytes | undefined {
    if (this.bytes === undefined) {
      const meta = this.model.fileInfo.metadata as { tokenizer?: { ggml?: Parameters<typeof tokenBytesOf>[0] } };
      this.bytes = tokenBytesOf(meta.tokenizer?.ggml) ?? null;
    }
    return this.bytes ?? undefined;
  }

  isEndOfGeneration(token: Token): boolean {
    return this.model.isEogToken(token);
  }

  /** Runs `fn` with exclusive use of the sequence (callers queue; a server shares one model). */
  withSequence<T>(fn: (sequence: LlamaContextSequence) => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new RuntimeError("runtime.disposed", `${this.ref}: the model was disposed`));
    const run = this.queue.then(() => fn(this.sequence));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue;
    await this.context.dispose();
    await this.model.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/** Loads `ref`: a .gguf file, an HF directory (converted once, cached), or a Hub id `org/name[@rev]`. */
export async function openModel(ref: string, o: OpenModelOptions = {}): Promise<LoadedModel> {
  if (o.contextSize !== undefined) checkInt("contextSize (--ctx)", o.contextSize, CONTEXT_RANGE.min, CONTEXT_RANGE.max);
  if (o.threads !== undefined) checkInt("threads (--threads)", o.threads, 1, THREADS_MAX);
  if (o.sequences !== undefined) checkInt("sequences (--parallel)", o.sequences, 1, SEQUENCES_MAX);
  const path = await resolveGgufPath(ref, o);
  const llama = await llamaInstance(o.gpu ?? "auto");
  return LoadedModel.create(llama, path, ref, o);
}

/** What the user typed → the GGUF path llama.cpp will load. */
export async function resolveGgufPath(ref: string, o: Pick<OpenModelOptions, "cacheDir" | "onEvent" | "signal"> = {}): Promise<string> {
  // A name ending in .gguf is always a file, even without ./ (never a Hub id to download).
  const parsed = /\.gguf$/i.test(ref) ? { kind: "local" as const, path: resolve(ref) } : parseModelRef(ref);
  let path: string;
  if (parsed.kind === "local") {
    path = parsed.path;
  } else {
    // Hub ids download into the shared HF cache (src/hub), then load like a local directory.
    path = await resolveModelDir(ref, { ...(o.signal ? { signal: o.signal } : {}), onEvent: (event) => o.onEvent?.({ kind: "download", event }) });
  }
  const st = await stat(path).catch(() => undefined);
  if (!st) {
    throw new RuntimeError("runtime.model-missing", `model not found: ${path}`, {
      hint: "give a .gguf file, an HF model directory (config.json + *.safetensors), or a Hub id such as org/name",
    });
  }
  if (st.isFile()) return path;
  const names = await readdir(path);
  if (names.includes("config.json") && names.some((n) => n.endsWith(".safetensors"))) {
    const cached = await cachedGguf(path, { ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}), ...(o.signal ? { signal: o.signal } : {}), onEvent: (event) => o.onEvent?.({ kind: "convert", event }) });
    return cached.path;
  }
  const ggufs = names.filter((n) => n.toLowerCase().endsWith(".gguf")).sort();
  // Split GGUFs: llama.cpp loads the first part and finds the rest beside it.
  const firstParts = ggufs.filter((n) => !/-\d{5}-of-\d{5}\.gguf$/i.test(n) || /-00001-of-\d{5}\.gguf$/i.test(n));
  if (firstParts.length === 1) return join(path, firstParts[0]!);
  throw new RuntimeError("runtime.model-dir", `${path}: ${firstParts.length === 0 ? "holds neither an HF model (config.json + *.safetensors) nor a .gguf file" : `holds ${firstParts.length} GGUF models (${firstParts.slice(0, 5).join(", ")})`}`, {
    hint: firstParts.length === 0 ? "give a model directory or a .gguf file" : "give the path of the .gguf file to run",
  });
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RuntimeError("runtime.option", `${name} is ${v}, allowed an integer in [${min}, ${max}]`, { hint: `give ${name.split(" ")[0]} a value in [${min}, ${max}]` });
  }
}

/**
 * Our own bounded GGUF parse first: a truncated or foreign file then fails with a FormatError
 * naming the offset and field, instead of node-llama-cpp's generic failure.
 */
async function checkGgufHeader(path: string): Promise<void> {
  const source = await FileSource.open(path);
  try {
    await parseGguf(source);
  } finally {
    await source.close();
  }
}

function loadFailure(path: string, mark: number, e: unknown): RuntimeError {
  const log = llamaLogSince(mark).filter((l) => !/^(debug|info):/.test(l));
  return new RuntimeError("runtime.load", `${path}: llama.cpp could not load the model (${(e as Error).message})${log.length ? `\nllama.cpp said:\n  ${log.slice(-12).join("\n  ")}` : ""}`, {
    hint: "check that the file is a complete GGUF of an architecture llama.cpp supports (dusk inspect shows its keys)",
    cause: e,
  });
}
