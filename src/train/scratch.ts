// `dusk train`: a Llama-family model from scratch. A SentencePiece-style BPE tokenizer with byte
// fallback is trained on the text first (src/tokenizer's tiny trainer; the files Llama-2/Mistral
// ship, so convert and llama.cpp take the result as they take those), then seeded weights, then
// the same run as healing with every tensor trained.

import { LLAMA } from "../arch/index.js";
import { seededNormal } from "../engine/index.js";
import { isDuskError } from "../errors.js";
import { tinyHfConfig } from "../fixtures/tiny-model.js";
import { tensorType } from "../formats/tensor-types.js";
import { buildTinyTokenizer, textTokenizerFromFiles, tokenizerFilesByName } from "../tokenizer/index.js";
import { prepareData, resolveSettings, type DataInput } from "./heal.js";
import type { TrainEvent } from "./loop.js";
import { hfNames, tokenizerSideFiles, type TrainModel } from "./model.js";
import { allocF32, paramLayout, specView, type ParamLayout } from "./param-store.js";
import type { RunOptions, RunOutput } from "./run.js";
import type { ScratchConfig } from "./scratch-config.js";
import { TrainError } from "./train-error.js";

/** Characters the tokenizer is trained on at most (BPE training is the slow part of a small run). */
export const TOKENIZER_SAMPLE_CHARS = 400_000;

export interface ScratchOptions extends DataInput {
  config: ScratchConfig;
  /** the config file's name, for messages */
  configFile?: string;
  /** tokenizer files to use instead of training new ones (a resumed run reads its own back) */
  tokenizerFiles?: Map<string, Uint8Array>;
  workers?: number;
  output?: RunOutput;
  meta?: Record<string, unknown>;
  signal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
}

/** Seeded initial weights: N(0, std) for embeddings and linear weights, std/√(2L) for the residual
 * outputs (o_proj, down_proj; GPT-2's scaling), norms at 1. Each tensor depends on (seed, name) only. */
export function initWeights(layout: ParamLayout, params: Float32Array, names: Map<string, number>, seed: number, std: number): void {
  const L = layout.config.numLayers;
  for (const [name, i] of names) {
    const s = layout.specs[i]!;
    const view = specView(layout, params, i);
    if (s.kind === "norm") view.fill(1);
    else if (s.kind === "bias") view.fill(0);
    else view.set(seededNormal(seed, name, s.size, s.field === "wo" || s.field === "wDown" ? std / Math.sqrt(2 * L) : std));
  }
}

/** The tokenizer files: given, or trained on the text before the held-out tail (at most TOKENIZER_SAMPLE_CHARS). */
function tokenizerFiles(o: ScratchOptions, holdout: number): { files: Map<string, Uint8Array>; pieces: number; trained: boolean } {
  if (o.tokenizerFiles) {
    const json = JSON.parse(new TextDecoder().decode(o.tokenizerFiles.get("tokenizer.json")!)) as { model?: { vocab?: object } };
    return { files: o.tokenizerFiles, pieces: Object.keys(json.model?.vocab ?? {}).length, trained: false };
  }
  const text = (o.texts ?? []).map((t) => t.text).join("\n");
  const sample = text.slice(0, Math.min(TOKENIZER_SAMPLE_CHARS, Math.floor(text.length * (1 - holdout))));
  let tk;
  try {
    tk = buildTinyTokenizer(sample, { vocabSize: o.config.model.vocabSize });
  } catch (e) {
    if (isDuskError(e) && e.code === "TINY_VOCAB_SIZE") {
      throw new TrainError("TRAIN_BAD_CONFIG", `${o.configFile ?? "the config"} vocab_size: ${e.message}`, { hint: e.hint ?? "raise vocab_size" });
    }
    throw e;
  }
  const files = tokenizerSideFiles(tk);
  return { files, pieces: tk.pieces.length, trained: true };
}

/** Tokenizer, weights, data and settings of a from-scratch run: everything before the first step. */
export async function prepareScratch(o: ScratchOptions): Promise<RunOptions & { unigram: number }> {
  if (!o.texts?.length) throw new TrainError("TRAIN_NO_TEXT", "dusk train needs the text to train on", { hint: "pass --text FILE" });
  const holdout = o.config.settings.holdout ?? 0.05;
  const tok = tokenizerFiles(o, holdout);
  // the corpus may run out of merges before vocab_size: the model takes the vocabulary's real size
  const config = { ...o.config.model, vocabSize: tok.pieces };
  const settings = resolveSettings(config, o.config.budget, o.config.settings);
  const text = textTokenizerFromFiles(tokenizerFilesByName((name) => tok.files.get(name)), { vocabSize: tok.pieces, llamaVocab: true, where: "the run's tokenizer" });
  const { data, texts, unigram } = prepareData(o, text, settings.seqLen, settings.holdout);
  const layout = paramLayout(config);
  const params = allocF32(layout.total, o.workers !== 0);
  const places = hfNames(LLAMA, layout);
  initWeights(layout, params, new Map([...places].map(([name, p]) => [name, p.spec])), settings.seed, o.config.initStd);
  const f32 = tensorType("F32")!;
  const model: TrainModel = {
    config, arch: LLAMA, layout, params, tensors: [...places].map(([name, p]) => ({ name, ...p, type: f32 })),
    hfConfig: tinyHfConfig(config, o.config.family, "F32", { bos: 1, eos: 2 }), sideFiles: tok.files, base: "random initialization",
  };
  return {
    model, selection: { layers: new Array<boolean>(config.numLayers).fill(true), embed: true, head: true }, data, settings, kind: "trained", texts, unigram,
    tokenizer: tok.trained ? `a ${tok.pieces}-piece SentencePiece-style BPE (byte fallback) trained on the text` : `its ${tok.pieces}-piece tokenizer`,
    ...(o.workers === undefined ? {} : { workers: o.workers }), ...(o.output ? { output: o.output } : {}),
    ...(o.meta ? { meta: o.meta } : {}), ...(o.signal ? { signal: o.signal } : {}),
  };
}
