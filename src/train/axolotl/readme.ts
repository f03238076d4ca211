// The README and launch script of an exported healing job: what is trained on what, for how many
// tokens, how to launch it on one node of 8 GPUs, and the memory per GPU with its formula. Text
// only; the numbers come from config.ts, memory.ts and unfrozen.ts.

import { AXOLOTL, type CorpusRef, type StepBudget, type TrainingSettings } from "./config.js";
import { gb, type MemoryEstimate } from "./memory.js";
import type { StackInfo } from "./stack-info.js";
import { describePositions, type UnfrozenPlan } from "./unfrozen.js";

export interface ReadmeInput {
  stack: StackInfo;
  baseModel: string;
  corpus: CorpusRef;
  settings: TrainingSettings;
  budget: StepBudget;
  unfrozen: UnfrozenPlan;
  memory: MemoryEstimate;
  /** the job carries a copy of the stack in ./stack */
  stackCopied: boolean;
}

/** 2e-5, not 0.00002 or 0.0000020000000000000003 */
const sci = (x: number) => (x >= 1e-3 ? String(Number(x.toPrecision(3))) : Number(x.toPrecision(3)).toExponential());
const count = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n.toLocaleString("en-US"));

export function launchCommand(gpus: number): string {
  return `axolotl train config.yml --launcher torchrun -- --nnodes 1 --nproc_per_node ${gpus}`;
}

export function launchScript(input: Pick<ReadmeInput, "corpus" | "settings">): string {
  const gpus = input.settings.gpus ?? 8;
  return `#!/usr/bin/env bash
# Continued pretraining ("healing") exported by dusk for axolotl ${AXOLOTL.version}: 1 node x ${gpus} GPUs.
# Run from anywhere; paths in config.yml are relative to this directory.
set -euo pipefail
cd "$(dirname "$0")"
# pip install "axolotl[flash-attn,deepspeed]==${AXOLOTL.version}"
[ -f ${AXOLOTL.zero3Config} ] || axolotl fetch deepspeed_configs
${input.corpus.kind === "completion" ? "axolotl preprocess config.yml\n" : ""}${launchCommand(gpus)}
`;
}

export function jobReadme(r: ReadmeInput): string {
  const { stack, settings: t, budget, unfrozen, memory } = r;
  const gpus = t.gpus ?? 8;
  const n = stack.params.layers.length;
  const trains = unfrozen.patterns === undefined
    ? "every parameter (all layers, embeddings, final norm and head)"
    : [
        unfrozen.layers.length === n ? `all ${n} layers` : unfrozen.layers.length > 0 ? `stack position${unfrozen.layers.length === 1 ? "" : "s"} ${describePositions(unfrozen.layers)} (${unfrozen.layers.length} of ${n} layers)` : undefined,
        unfrozen.patterns.some((p) => p.includes(stack.names.embed)) ? "the embeddings" : undefined,
        unfrozen.patterns.some((p) => p.includes(stack.names.norm)) ? "the final norm and head" : undefined,
      ].filter(Boolean).join(", ");
  const corpus = r.corpus.hub
    ? `the Hub dataset \`${r.corpus.hub.id}\`${r.corpus.hub.name ? ` (config \`${r.corpus.hub.name}\`)` : ""}, column \`${r.corpus.hub.textColumn ?? "text"}\``
    : r.corpus.files!.map((f) => `\`${f}\``).join(", ");
  const sym = memory.symbols;
  return `# Healing ${stack.path} with axolotl ${AXOLOTL.version}

Continued pretraining of a ${n}-layer ${stack.decoderLayerClass.replace(/DecoderLayer$/, "")} stack (${count(stack.params.total)} parameters),
exported by \`dusk heal --export axolotl\`. The config is written for **axolotl ${AXOLOTL.version}**
(tag ${AXOLOTL.tag}, commit ${AXOLOTL.commit.slice(0, 12)}); other versions may name options differently.

| file | what |
|---|---|
| \`config.yml\` | the axolotl config |
| \`launch.sh\` | fetches axolotl's DeepSpeed configs if missing${r.corpus.kind === "completion" ? ", tokenizes the data" : ""} and launches training |
| \`README.md\` | this page |${r.stackCopied ? "\n| `stack/` | the stack itself (HF safetensors), which `base_model` points at |" : ""}

## The run

- **Model**: \`${r.baseModel}\`${r.stackCopied ? "" : " (copy the stack there on the cluster, or edit `base_model`)"}${stack.layout ? `; layout ${stack.layout}` : ""}.
- **Trains**: ${trains}: ${count(unfrozen.trainableParams)} of ${count(stack.params.total)} parameters.${unfrozen.patterns ? ` Everything else is frozen through \`unfrozen_parameters\`:\n${unfrozen.patterns.map((p) => `  \`${p}\``).join("\n")}` : ""}${unfrozen.notes.map((x) => `\n  Note: ${x}.`).join("")}
- **Data**: ${corpus}, as a \`${r.corpus.kind}\` dataset${r.corpus.kind === "pretraining_dataset" ? " (streamed and packed while training)" : " (tokenized and packed by `axolotl preprocess`; 1% held out)"}.
- **Budget**: ${t.tokens.toLocaleString("en-US")} tokens = ${budget.steps} steps of ${budget.tokensPerStep.toLocaleString("en-US")} tokens (${gpus} GPUs × ${t.microBatchSize ?? 1} × ${t.gradientAccumulation ?? 4} accumulation × ${t.seqLen} tokens).
- **Schedule**: AdamW (β 0.9, 0.95; weight decay ${t.weightDecay ?? 0.1}), learning rate ${sci(t.lr)} after ${budget.warmupSteps} linear warmup steps, cosine decay to ${sci(t.lr * (t.minLrRatio ?? 0.1))}; gradients clipped at norm ${t.maxGradNorm ?? 1.0}.
- **Sharding**: DeepSpeed ZeRO-3 with bf16 (\`${AXOLOTL.zero3Config}\`, shipped with axolotl), activation checkpointing.

## Launch (1 node × ${gpus} GPUs)

\`\`\`sh
pip install "axolotl[flash-attn,deepspeed]==${AXOLOTL.version}"
axolotl fetch deepspeed_configs${r.corpus.kind === "completion" ? "\naxolotl preprocess config.yml" : ""}
${launchCommand(gpus)}
\`\`\`

(\`./launch.sh\` runs the same.) The healed model is written to \`${t.outputDir ?? "./out"}\` in HF format;
\`dusk convert\` and \`dusk eval\` take it like any checkpoint.

## Expected memory per GPU: ${gb(memory.perGpuBytes)}

ZeRO-3 shards weights, gradients and optimizer state over the N GPUs. With P = ${sym.P!.toLocaleString("en-US")} parameters,
T = ${sym.T!.toLocaleString("en-US")} trained, N = ${sym.N}, the largest layer P_layer = ${sym.P_layer!.toLocaleString("en-US")}, L = ${sym.L} layers,
micro-batch b = ${sym.b}, sequence s = ${sym.s}, hidden h = ${sym.h}, h_kv = ${sym.h_kv}, intermediate i = ${sym.i}, vocabulary V = ${sym.V}:

| term | formula | per GPU |
|---|---|---|
${memory.terms.map((x) => `| ${x.what} | ${x.formula} | ${gb(x.bytes)} |`).join("\n")}
| **total** | | **${gb(memory.perGpuBytes)}** |

An estimate for choosing hardware; the allocator's real peak varies by a few GB. If it does not
fit, lower \`micro_batch_size\` (raising \`gradient_accumulation_steps\` keeps the tokens per step), or
switch \`deepspeed\` to \`deepspeed_configs/zero3_bf16_cpuoffload_params.json\`.
`;
}
