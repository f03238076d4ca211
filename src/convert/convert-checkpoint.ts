// Converts an opened HF checkpoint — or a plan over HF checkpoints, restacked on the fly — into
// one GGUF file, atomically and durably (src/build/atomic-output.ts: free space checked first,
// fsync before the rename, typed errors for a full disk or a folder it may not write).
// Reads the tokenizer files beside the config source.

import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { prepareOutput } from "../build/atomic-output.js";
import type { BuildEvent } from "../build/events.js";
import type { StatfsFn } from "../build/durable-fs.js";
import { newChunkBuffers, streamTensor } from "../build/tensor-stream.js";
import { produceTensor } from "../build/op-bytes.js";
import { openMergeRun } from "../build/merge-run.js";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { checkSideFileSize } from "../checkpoint/read-json.js";
import { LIMITS } from "../limits.js";
import { readHParams, type ConverterFacts } from "../arch/index.js";
import { BuildError } from "../errors.js";
import { FileSink } from "../formats/byte-source.js";
import { ggufValue, type GgufKv } from "../formats/gguf-value.js";
import { tensorByteLength, tensorType } from "../formats/tensor-types.js";
import type { Plan, TensorOp } from "../plan/types.js";
import type { TensorEntry } from "../formats/tensor.js";
import { tokenizerGgufKv } from "../tokenizer/index.js";
import { readTokenizerFiles } from "../tokenizer/load-text-tokenizer.js";
import { convertToGguf, outputShape, planConversion, type ConvertInput } from "./convert.js";
import { isMixType, type ConvertType } from "./gguf-hparams.js";
import { QuantPool } from "../quant/pool.js";

export interface ConvertOptions {
  output: string;
  type: ConvertType;
  force?: boolean;
  /** `general.name` (default: the source directory's name) */
  name?: string;
  /** override the byte-level BPE pre-tokenizer name */
  pre?: string;
  signal?: AbortSignal;
  /** what is writing, shown to a second writer of the same output (default `dusk convert`) */
  purpose?: string;
  /** statfs(2) for the free-space check (tests inject one; default: the real one) */
  statfs?: StatfsFn;
  /** threads quantizing a mix's block types (q4_k_m, …; default one per core) */
  threads?: number;
  /** merged tensors of a plan: seed, worker threads (default one per core), warnings */
  seed?: number;
  mergeWorkers?: number;
  onWarning?: (message: string) => void;
}

/**
 * Reads the tokenizer files of an HF directory into tokenizer.* GGUF keys, with the family
 * converter's set_vocab steps (Llama's add_prefix_space, Gemma's, Phi-3's).
 */
export async function readTokenizerKv(dir: string, vocabSize: number, pre?: string, converter?: ConverterFacts): Promise<GgufKv> {
  return tokenizerGgufKv(await readTokenizerFiles(dir), { vocabSize, llamaVocab: converter?.llamaVocab ?? false, ...(pre === undefined ? {} : { pre }), ...(converter?.vocab ? { family: converter.vocab } : {}) });
}

/** A byte-for-byte plan operation over one stored tensor, to stream it through the build's reader. */
function copyOp(t: TensorEntry): TensorOp {
  return { name: t.name, source: 0, from: t.name, fromType: t.type.name, type: t.type.name, shape: t.shape, byteLength: t.byteLength, transform: { kind: "copy" } };
}

export async function* convertCheckpoint(c: Checkpoint, options: ConvertOptions): AsyncGenerator<BuildEvent> {
  const buffers = newChunkBuffers();
  if (c.format !== "safetensors" || !c.config) {
    throw new BuildError("convert.input", `${c.path} is already GGUF`, { hint: "dusk convert reads HF safetensors directories" });
  }
  const input: ConvertInput = {
    arch: c.arch,
    config: c.config,
    configFile: join(c.path, "config.json"),
    tensors: [...c.tensors.values()].map((t) => ({
      name: t.name,
      type: t.type,
      shape: t.shape,
      stream: (write: (chunk: Uint8Array) => Promise<void>) => streamTensor(copyOp(t), t, write, buffers),
    })),
    tokenizerKv: await readTokenizerKv(c.path, readHParams(c.arch, c.config, join(c.path, "config.json")).vocabSize, options.pre, c.arch.converter),
    name: options.name ?? basename(c.path),
  };
  await trimToTokenizer(input, c.path);
  // a stack dusk built as HF keeps its recipe beside it; the GGUF records it as GGUF builds do
  // (dusk quantize --mix-by source reads it)
  const recipe = await readRecipeBeside(c.path);
  if (recipe !== undefined) input.extraKv = new Map([...(input.extraKv ?? []), ["general.dusk.recipe", ggufValue.string(recipe)]]);
  yield* writeConverted(input, [c], options);
}

/** mergekit_config.yml of an HF directory (dusk build writes it), bounded like a recipe. */
async function readRecipeBeside(dir: string): Promise<string | undefined> {
  const path = join(dir, "mergekit_config.yml");
  try {
    await checkSideFileSize(path, LIMITS.recipeBytes);
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** HF sources + a plan → GGUF in one pass: each planned tensor is restacked, then converted. */
export async function* convertPlan(plan: Plan, checkpoints: readonly Checkpoint[], options: ConvertOptions & { recipeYaml: string; layout: string }): AsyncGenerator<BuildEvent> {
  const base = checkpoints[plan.configSource]!;
  if (plan.format !== "safetensors" || !plan.config) throw new BuildError("convert.input", "only plans over HF checkpoints convert to GGUF here");
  if (plan.vocabulary || plan.recipe.chatTemplate !== undefined) {
    throw new BuildError("convert.vocabulary", "this recipe changes the tokenizer (tokenizer_source, tokenizer or chat_template), which a build straight into GGUF does not carry over", {
      hint: "build the HF checkpoint first (-o out/), then dusk convert out/ -o out.gguf",
    });
  }
  const buffers = newChunkBuffers();
  const merge = openMergeRun(plan, options);
  const extraKv: GgufKv = new Map([
    ["general.dusk.layout", ggufValue.string(options.layout)],
    ["general.dusk.recipe", ggufValue.string(options.recipeYaml)],
    ["general.base_model.count", ggufValue.u32(plan.sources.length)],
    ...plan.sources.map((s, i) => [`general.base_model.${i}.name`, ggufValue.string(s.ref)] as [string, ReturnType<typeof ggufValue.string>]),
  ]);
  const input: ConvertInput = {
    arch: base.arch,
    config: plan.config,
    configFile: join(base.path, "config.json"),
    tensors: plan.tensors.map((op) => ({
      name: op.name,
      type: tensorType(op.type)!,
      shape: op.shape,
      stream: (write: (chunk: Uint8Array) => Promise<void>) => produceTensor(op, checkpoints, write, buffers, merge.options),
    })),
    tokenizerKv: await readTokenizerKv(base.path, readHParams(base.arch, plan.config, join(base.path, "config.json")).vocabSize, options.pre, base.arch.converter),
    name: options.name ?? basename(options.output).replace(/\.gguf$/i, ""),
    extraKv,
  };
  await trimToTokenizer(input, base.path);
  try {
    yield* writeConverted(input, checkpoints, options);
  } finally {
    await merge.close();
  }
}

/**
 * Gemma 3's converter keeps only the embedding rows its tokenizer has: the SentencePiece vocabulary
 * (padded to vocab_size), else tokenizer.json's vocab plus added tokens, counted as it counts them.
 */
async function trimToTokenizer(input: ConvertInput, dir: string): Promise<void> {
  if (!input.arch.converter.trimEmbeddingToVocab) return;
  const tokens = input.tokenizerKv.get("tokenizer.ggml.tokens");
  const spm = input.tokenizerKv.get("tokenizer.ggml.model");
  if (spm?.type === 8 && spm.value === "llama" && tokens?.type === 9) {
    input.embeddingRows = tokens.items.length;
    return;
  }
  const path = join(dir, "tokenizer.json");
  await checkSideFileSize(path);
  const json = JSON.parse(await readFile(path, "utf8")) as { model?: { vocab?: Record<string, number> }; added_tokens?: unknown[] };
  input.embeddingRows = Object.keys(json.model?.vocab ?? {}).length + (json.added_tokens?.length ?? 0);
}

async function* writeConverted(input: ConvertInput, checkpoints: readonly Checkpoint[], options: ConvertOptions): AsyncGenerator<BuildEvent> {
  const started = Date.now();
  // The tensor data's size, known before a byte is written (the header adds the tokenizer, ~MBs).
  const bytes = planConversion(input, options.type).tensors.reduce((n, t) => n + tensorByteLength(t.type, outputShape(t))!, 0);
  const out = await prepareOutput(options.output, checkpoints.flatMap((c) => [c.path, ...c.files]), {
    kind: "file",
    force: options.force ?? false,
    bytes,
    purpose: options.purpose ?? "dusk convert",
    ...(options.statfs ? { statfs: options.statfs } : {}),
  });
  let committed = false;
  try {
    for (const note of out.stale) yield { type: "stale", note };
    const sink = await FileSink.create(out.tmpPath);
    let pool: QuantPool | undefined;
    let written = 0;
    try {
      // workers only where a mix quantizes to block types (the converter's own q8_0/q4_0 stay here)
      pool = QuantPool.create(isMixType(options.type) ? options.threads : 1);
      for await (const e of convertToGguf(input, sink, options.type, pool)) {
        if (options.signal?.aborted) throw new BuildError("convert.aborted", "the conversion was interrupted; nothing was written", { cause: options.signal.reason });
        if (e.type === "progress") written = e.bytes;
        yield e.type === "start" ? { ...e, output: out.path } : e;
      }
    } finally {
      await Promise.all([sink.close(), pool?.close()]);
    }
    await out.commit();
    committed = true;
    yield { type: "done", output: out.path, files: [out.path], bytes: written, seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    throw out.failure(e);
  } finally {
    if (!committed) await out.abort();
  }
}
