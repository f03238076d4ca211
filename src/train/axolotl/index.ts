// `--export axolotl`: a ready continued-pretraining job for axolotl (config, README, launch script)
// from a stack and a `--train` selection. The lead's `dusk heal` calls writeAxolotlJob.
export { axolotlJob, writeAxolotlJob, type AxolotlJob, type AxolotlJobOptions, type WriteAxolotlJobOptions, type WrittenAxolotlJob } from "./job.js";
export { AXOLOTL, axolotlConfig, stepBudget, type CorpusRef, type StepBudget, type TrainingSettings } from "./config.js";
export { readStackInfo, stackInfoFromConfig, type StackInfo } from "./stack-info.js";
export { describePositions, unfrozenPlan, type TrainSelection, type UnfrozenPlan } from "./unfrozen.js";
export { zero3MemoryPerGpu, type MemoryEstimate, type MemoryTerm } from "./memory.js";
