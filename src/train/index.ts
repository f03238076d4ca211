// Training and healing (continued pretraining) on the TypeScript engine: the library surface.
// `heal` and `prepareScratch`/`runTraining` drive whole runs; the pieces below are for callers that
// assemble their own (dusk experiment heals in-memory stacks with `heal`).

export { heal, prepareHeal, prepareData, resolveSettings, runToEnd, tokenizerOf, type Budget, type DataInput, type HealOptions } from "./heal.js";
export { prepareScratch, initWeights, TOKENIZER_SAMPLE_CHARS, type ScratchOptions } from "./scratch.js";
export { parseScratchConfig, type ScratchConfig } from "./scratch-config.js";
export { runTraining, readResume, checkOutput, type RunOptions, type RunOutput } from "./run.js";
export { trainLoop, modelFingerprint, type EvalEntry, type LogEntry, type StepEntry, type TrainEvent, type TrainResult } from "./loop.js";
export { loadModelForTraining, planModelForTraining, withDtype, hfNames, type ModelTensor, type TrainModel } from "./model.js";
export { parseTrainSpec, readStackRecipe, seamPositions, newPositions, describeSelection, type StackRecipe } from "./selection.js";
export { packData, tokenizeDocs, checkText, epochOrder, SequenceOrder, gatherBatch, unigramEntropy, type PackedData, type TextDoc, type TrainTokenizer } from "./data.js";
export { TRAIN_DEFAULTS, defaultMicroBatch, defaultWarmup, validateSettings, type TrainSettings } from "./settings.js";
export { learningRate, parseCount, stepsForTokens, type Schedule } from "./schedule.js";
export { adamwStep, newAdamWState, globalNorm, ADAMW_DEFAULTS, type AdamWSettings, type AdamWState } from "./optimizer.js";
export { paramLayout, gradLayout, trainableSpecs, countParams, paramsAsWeights, fillParams, allocF32, type ParamLayout, type GradLayout, type TrainSelection } from "./param-store.js";
export { MicroBatchCompute } from "./micro-batch.js";
export { getTrainKernel, type TrainKernel, type ResidentMatrix } from "./train-kernel.js";
export { LocalGradEngine, type GradEngine, type MicroBatch, type LossSum } from "./grad-engine.js";
export { WorkerPool, defaultWorkers } from "./pool.js";
export { saveCheckpoint, readSavedState, writeModelFiles, STATE_FILE, OPTIMIZER_FILE, LOG_FILE, type SavedState } from "./checkpoint.js";
export { trainCard, lossChart } from "./train-card.js";
export { TrainError } from "./train-error.js";
