// The library entry points: heal (continued pretraining of an HF checkpoint, a float GGUF or an
// in-memory stack) for a token or step budget, returning the loss curve and held-out metrics,
// with progress as callbacks; and the shared step that resolves settings and data for any run.

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import type { EngineConfig } from "../engine/index.js";
import type { Plan } from "../plan/types.js";
import { packData, tokenizeDocs, unigramEntropy, type PackedData, type TextDoc, type TrainTokenizer } from "./data.js";
import type { TrainEvent, TrainResult } from "./loop.js";
import { loadModelForTraining, planModelForTraining, withDtype, type TrainModel } from "./model.js";
import { ADAMW_DEFAULTS } from "./optimizer.js";
import { runTraining, type RunOptions, type RunOutput } from "./run.js";
import { stepsForTokens } from "./schedule.js";
import { parseTrainSpec } from "./selection.js";
import { defaultMicroBatch, defaultWarmup, TRAIN_DEFAULTS, validateSettings, type TrainSettings } from "./settings.js";
import { textTokenizerFromFiles, tokenizerFilesByName } from "../tokenizer/text-tokenizer.js";
import { TrainError } from "./train-error.js";

/** A budget in tokens (rounded up to whole steps) or in optimizer steps. */
export type Budget = { tokens: number } | { steps: number };

/** Settings from defaults, the caller's choices and the budget; checked against the model. */
export function resolveSettings(c: EngineConfig, budget: Budget, given: Partial<TrainSettings> = {}): TrainSettings {
  const seqLen = given.seqLen ?? Math.min(TRAIN_DEFAULTS.seqLen, c.maxPositions);
  const batch = given.batch ?? TRAIN_DEFAULTS.batch;
  const steps = "steps" in budget ? budget.steps : stepsForTokens(budget.tokens, batch * seqLen);
  const s: TrainSettings = {
    seqLen, batch, microBatch: given.microBatch ?? defaultMicroBatch(c, seqLen, batch), steps,
    lr: given.lr ?? TRAIN_DEFAULTS.lr, minLrRatio: given.minLrRatio ?? TRAIN_DEFAULTS.minLrRatio,
    warmupSteps: given.warmupSteps ?? defaultWarmup(steps), adamw: { ...ADAMW_DEFAULTS, ...given.adamw },
    seed: given.seed ?? TRAIN_DEFAULTS.seed, holdout: given.holdout ?? TRAIN_DEFAULTS.holdout,
    evalEvery: given.evalEvery ?? TRAIN_DEFAULTS.evalEvery, evalSequences: given.evalSequences ?? TRAIN_DEFAULTS.evalSequences,
    saveEvery: given.saveEvery ?? TRAIN_DEFAULTS.saveEvery,
  };
  validateSettings(s, c);
  return s;
}

/** Training data: texts through the tokenizer (or token streams given), packed and split. */
export interface DataInput {
  texts?: TextDoc[];
  heldOutTexts?: TextDoc[];
  /** token streams already made with this model's tokenizer (skips tokenization) */
  tokens?: { train: Int32Array; heldOut?: Int32Array };
}

export function prepareData(input: DataInput, tok: TrainTokenizer | undefined, seqLen: number, holdout: number): { data: PackedData; texts: { name: string; chars: number }[]; unigram: number } {
  let stream: Int32Array;
  let held: Int32Array | undefined;
  let texts: { name: string; chars: number }[];
  if (input.tokens) {
    stream = input.tokens.train;
    held = input.tokens.heldOut;
    texts = [{ name: "token stream", chars: 0 }];
  } else {
    if (!input.texts || input.texts.length === 0) throw new TrainError("TRAIN_NO_TEXT", "no training text was given", { hint: "pass --text FILE (repeatable)" });
    if (!tok) throw new TrainError("TRAIN_NO_TOKENIZER", "the model has no tokenizer to encode the text with", { hint: "use a model directory with tokenizer.json or tokenizer.model" });
    stream = tokenizeDocs(input.texts, tok);
    held = input.heldOutTexts?.length ? tokenizeDocs(input.heldOutTexts, tok) : undefined;
    texts = [...input.texts, ...(input.heldOutTexts ?? [])].map((t) => ({ name: t.name, chars: t.text.length }));
  }
  const what = input.texts?.length === 1 ? input.texts[0]!.name : "the text";
  const data = packData(stream, seqLen, { holdout, what, ...(held ? { heldOut: held } : {}) });
  return { data, texts, unigram: unigramEntropy(data.train) };
}

export interface HealOptions extends DataInput {
  /** an HF model directory or float GGUF, an in-memory stack (plan over HF sources), or a loaded model */
  model: string | { plan: Plan; checkpoints: readonly Checkpoint[]; recipeYaml: string } | TrainModel;
  /** --train: all (default), seams, new, embed, head, layer positions */
  train?: string;
  budget: Budget;
  settings?: Partial<TrainSettings>;
  /** output dtype (default: each tensor keeps its own) */
  dtype?: string;
  /** worker threads (default one per core); 0 = this thread */
  workers?: number;
  output?: RunOutput;
  meta?: Record<string, unknown>;
  signal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
}

/** Loads the model, tokenizes and packs the data, parses --train: everything before the first step. */
export async function prepareHeal(o: HealOptions): Promise<RunOptions & { unigram: number }> {
  const shared = o.workers !== 0;
  let model: TrainModel;
  if (typeof o.model === "string") model = await loadModelForTraining(o.model, { shared });
  else if ("plan" in o.model) model = await planModelForTraining(o.model.plan, o.model.checkpoints, o.model.recipeYaml, { shared });
  else model = o.model;
  if (o.dtype) model = withDtype(model, o.dtype);
  const selection = parseTrainSpec(o.train ?? "all", model.config.numLayers, model.recipe);
  const settings = resolveSettings(model.config, o.budget, o.settings);
  const tok = o.tokens ? undefined : tokenizerOf(model);
  const { data, texts, unigram } = prepareData(o, tok, settings.seqLen, settings.holdout);
  return {
    model, selection, data, settings, kind: "healed", texts, tokenizer: "the model's own tokenizer", unigram,
    ...(o.workers === undefined ? {} : { workers: o.workers }), ...(o.output ? { output: o.output } : {}),
    ...(o.meta ? { meta: o.meta } : {}), ...(o.signal ? { signal: o.signal } : {}),
  };
}

/** The model's tokenizer (tokenizer.json, else tokenizer.model) from its side files. */
export function tokenizerOf(model: TrainModel): TrainTokenizer {
  const files = tokenizerFilesByName((name) => (name === "config.json" ? JSON.stringify(model.hfConfig) : model.sideFiles.get(name)));
  return textTokenizerFromFiles(files, { vocabSize: model.config.vocabSize, llamaVocab: model.arch.converter?.llamaVocab ?? false, ...(model.arch.converter?.vocab ? { family: model.arch.converter.vocab } : {}), where: model.base });
}

/** Runs a prepared training to the end, passing every event to `onEvent`. */
export async function runToEnd(run: AsyncGenerator<TrainEvent, TrainResult>, onEvent?: (e: TrainEvent) => void): Promise<TrainResult> {
  for (;;) {
    const r = await run.next();
    if (r.done) return r.value;
    onEvent?.(r.value);
  }
}

/** Heals a model for a budget: the loss curve, held-out loss before and after, and the model. */
export async function heal(o: HealOptions): Promise<TrainResult & { model: TrainModel; unigram: number }> {
  const run = await prepareHeal(o);
  const result = await runToEnd(runTraining(run), o.onEvent);
  return { ...result, model: run.model, unigram: run.unigram };
}
