// The axolotl config of an exported healing job, as a value: continued pretraining of the stack on
// the user's corpus, `unfrozen_parameters` for `--train`, DeepSpeed ZeRO-3 (bf16), AdamW with
// linear warmup and cosine decay, a step budget from the token budget. Written for one axolotl
// version (below); every key is checked against that version's schema in config.test.ts.

import { DuskError } from "../../errors.js";
import type { StackInfo } from "./stack-info.js";
import type { UnfrozenPlan } from "./unfrozen.js";

/** The axolotl release the config is written for, and where its schema was read. */
export const AXOLOTL = {
  version: "0.18.0",
  tag: "v0.18.0",
  commit: "2f5cb9da62a0fe763a1ddeb7798fc9acb2f4a417",
  repo: "https://github.com/axolotl-ai-cloud/axolotl",
  /** shipped with that release; `axolotl fetch deepspeed_configs` copies it out */
  zero3Config: "deepspeed_configs/zero3_bf16.json",
} as const;

export interface CorpusRef {
  /**
   * `pretraining_dataset`: streamed, tokenized and packed while training runs (no preprocessing);
   * `completion`: tokenized and packed up front (`axolotl preprocess`), with a held-out split.
   */
  kind: "pretraining_dataset" | "completion";
  /** local text files, as the cluster sees them */
  files?: readonly string[];
  /** or a Hub dataset */
  hub?: { id: string; name?: string; split?: string; textColumn?: string };
}

export interface TrainingSettings {
  /** token budget (the CLI parses `--tokens 2M`) */
  tokens: number;
  seqLen: number;
  lr: number;
  /** linear warmup steps (default: 5% of the steps, at least 1) */
  warmupSteps?: number;
  /** the cosine ends at lr × this (default 0.1) */
  minLrRatio?: number;
  /** AdamW decoupled weight decay (default 0.1) */
  weightDecay?: number;
  /** clip the global gradient norm (default 1.0) */
  maxGradNorm?: number;
  seed?: number;
  /** GPUs of the one node (default 8) */
  gpus?: number;
  /** sequences per GPU per micro-step (default 1) */
  microBatchSize?: number;
  /** micro-steps per optimizer step (default 4) */
  gradientAccumulation?: number;
  /** where axolotl writes checkpoints and the healed model (default ./out) */
  outputDir?: string;
}

export interface StepBudget {
  tokensPerStep: number;
  steps: number;
  warmupSteps: number;
}

export function stepBudget(t: TrainingSettings): StepBudget {
  const positive = (v: number, what: string) => {
    if (!Number.isSafeInteger(v) || v <= 0) throw new DuskError("AXOLOTL_BAD_SETTING", `${what} must be a positive whole number, found ${v}`, { hint: `give ${what} as a number above 0` });
    return v;
  };
  const tokensPerStep = positive(t.seqLen, "the sequence length") * positive(t.microBatchSize ?? 1, "the micro-batch size") * positive(t.gradientAccumulation ?? 4, "the gradient accumulation") * positive(t.gpus ?? 8, "the GPU count");
  const steps = Math.ceil(positive(t.tokens, "the token budget") / tokensPerStep);
  const warmupSteps = t.warmupSteps ?? Math.max(1, Math.round(steps * 0.05));
  if (!Number.isSafeInteger(warmupSteps) || warmupSteps < 0 || warmupSteps >= Math.max(steps, 2)) {
    throw new DuskError("AXOLOTL_BAD_SETTING", `${warmupSteps} warmup steps do not fit in ${steps} steps`, { hint: "lower the warmup, or raise the token budget" });
  }
  return { tokensPerStep, steps, warmupSteps };
}

/** The config as an ordered value; YAML text is made from it (job.ts). */
export function axolotlConfig(stack: StackInfo, baseModel: string, corpus: CorpusRef, t: TrainingSettings, unfrozen: UnfrozenPlan): Record<string, unknown> {
  if (!(t.lr > 0 && t.lr < 1)) throw new DuskError("AXOLOTL_BAD_SETTING", `the learning rate must be between 0 and 1, found ${t.lr}`, { hint: "continued pretraining uses about 1e-5 to 1e-4" });
  if (t.seqLen > stack.hparams.contextLength) {
    throw new DuskError("AXOLOTL_BAD_SETTING", `the sequence length ${t.seqLen} is longer than ${stack.path}'s context of ${stack.hparams.contextLength} tokens`, {
      hint: `use --seq-len ${stack.hparams.contextLength} or less`,
    });
  }
  const budget = stepBudget(t);
  return {
    base_model: baseModel,
    ...dataKeys(corpus),
    sequence_len: t.seqLen,
    sample_packing: true,
    pad_to_sequence_len: true,
    micro_batch_size: t.microBatchSize ?? 1,
    gradient_accumulation_steps: t.gradientAccumulation ?? 4,
    max_steps: budget.steps,
    optimizer: "adamw_torch_fused",
    learning_rate: t.lr,
    lr_scheduler: "cosine",
    cosine_min_lr_ratio: t.minLrRatio ?? 0.1,
    warmup_steps: budget.warmupSteps,
    weight_decay: t.weightDecay ?? 0.1,
    adam_beta1: 0.9,
    adam_beta2: 0.95,
    adam_epsilon: 1e-8,
    max_grad_norm: t.maxGradNorm ?? 1.0,
    ...(unfrozen.patterns ? { unfrozen_parameters: unfrozen.patterns } : {}),
    bf16: true,
    tf32: true,
    attn_implementation: "flash_attention_2",
    deepspeed: AXOLOTL.zero3Config,
    gradient_checkpointing: true,
    // non-reentrant: reentrant checkpointing loses the gradients of a partly frozen model
    gradient_checkpointing_kwargs: { use_reentrant: false },
    output_dir: t.outputDir ?? "./out",
    save_safetensors: true,
    save_strategy: "steps",
    save_steps: Math.max(1, Math.ceil(budget.steps / 4)),
    save_total_limit: 2,
    logging_steps: Math.max(1, Math.min(10, Math.floor(budget.steps / 20))),
    seed: t.seed ?? 0,
  };
}

function dataKeys(corpus: CorpusRef): Record<string, unknown> {
  const files = corpus.files ?? [];
  if ((files.length > 0) === (corpus.hub !== undefined)) {
    throw new DuskError("AXOLOTL_BAD_CORPUS", "the corpus must be either local text files or a Hub dataset", { hint: "pass --text FILE (one or more), or a Hub dataset id" });
  }
  if (corpus.kind === "pretraining_dataset") {
    // axolotl streams only the first pretraining_dataset entry, and its data_files is one string
    if (files.length > 1) {
      throw new DuskError("AXOLOTL_BAD_CORPUS", `a pretraining_dataset job streams one source; ${files.length} text files were given`, {
        hint: "join them into one file, or export a completion dataset (one entry per file)",
      });
    }
    const entry = corpus.hub
      ? { path: corpus.hub.id, ...(corpus.hub.name ? { name: corpus.hub.name } : {}), split: corpus.hub.split ?? "train", type: "pretrain", text_column: corpus.hub.textColumn ?? "text" }
      : // HF datasets' `text` builder: one example per line of the file
        { path: "text", data_files: files[0]!, split: "train", type: "pretrain", text_column: "text" };
    return { pretraining_dataset: [entry], streaming: true, val_set_size: 0 };
  }
  const datasets = corpus.hub
    ? [{ path: corpus.hub.id, ...(corpus.hub.name ? { name: corpus.hub.name } : {}), split: corpus.hub.split ?? "train", type: "completion", field: corpus.hub.textColumn ?? "text" }]
    : files.map((f) => ({ path: f, ds_type: "text", type: "completion", field: "text" }));
  return { datasets, dataset_prepared_path: "./prepared", val_set_size: 0.01 };
}
