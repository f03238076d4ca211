// The README model card of a trained or healed checkpoint (base, layout, data, training settings,
// held-out results), and the loss chart beside it (train loss per step, held-out loss per eval).

import { lineChart, svgToPng } from "../charts/index.js";
import { describeLayout } from "../recipe/index.js";
import type { LogEntry } from "./loop.js";
import type { TrainModel } from "./model.js";
import type { TrainSettings } from "./settings.js";

export interface CardInput {
  model: TrainModel;
  settings: TrainSettings;
  /** "healed" (continued pretraining of `model.base`) or "trained" (from scratch) */
  kind: "healed" | "trained";
  selection: string;
  trainableParams: number;
  totalParams: number;
  step: number;
  log: readonly LogEntry[];
  /** texts as named by the user, with their sizes */
  texts: { name: string; chars: number }[];
  trainTokens: number;
  heldOutTokens: number;
  /** the tokenizer's origin, e.g. "the base model's" or "trained on the text (1024 pieces)" */
  tokenizer: string;
  command?: string;
}

const fmt = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
/** 3 significant digits without float noise: 3e-5, not 0.000029999999999999997 */
const num = (v: number) => String(Number(v.toPrecision(3)));

export function trainCard(c: CardInput): string {
  const m = c.model;
  const s = c.settings;
  const k = m.config;
  const evals = c.log.filter((e) => e.type === "eval");
  const first = evals[0];
  const last = evals[evals.length - 1];
  const layout = m.recipe ? describeLayout(m.recipe.layers) : `${k.numLayers} layers`;
  const rows: [string, string][] = [
    ["steps", `${c.step} of ${s.steps}`],
    ["tokens seen", (c.step * s.batch * s.seqLen).toLocaleString("en-US")],
    ["sequence length", String(s.seqLen)],
    ["batch (sequences per step)", `${s.batch} (micro-batches of ${s.microBatch})`],
    ["learning rate", `${num(s.lr)}, linear warmup ${s.warmupSteps} steps, cosine to ${num(s.lr * s.minLrRatio)}`],
    ["optimizer", `AdamW β=(${s.adamw.beta1}, ${s.adamw.beta2}), ε=${s.adamw.eps}, weight decay ${s.adamw.weightDecay} (linear weights only), clip ${s.adamw.clip}`],
    ["precision", "f32 master weights and moments"],
    ["trained tensors", `${c.selection} (${c.trainableParams.toLocaleString("en-US")} of ${c.totalParams.toLocaleString("en-US")} parameters; the rest unchanged bit for bit)`],
    ["seed", String(s.seed)],
  ];
  const results = first && last
    ? `| | step | held-out loss | perplexity |\n|---|---|---|---|\n| before | ${first.step} | ${fmt(first.loss)} | ${fmt(first.ppl, 2)} |\n| after | ${last.step} | ${fmt(last.loss)} | ${fmt(last.ppl, 2)} |\n`
    : "No held-out evaluation was recorded.\n";
  return `---
${c.kind === "healed" ? `base_model:\n- ${m.base}\n` : ""}library_name: transformers
tags:
- dusk
- ${c.kind === "healed" ? "continued-pretraining" : "pretraining"}
---
# ${c.kind === "healed" ? `${m.base}, healed` : `A ${k.numLayers}-layer ${m.arch.name} model trained from scratch`}

${c.kind === "healed"
    ? `Continued pretraining (next-token cross-entropy) of **${m.base}** with [dusk](https://www.npmjs.com/package/dusk).`
    : "Pretrained (next-token cross-entropy) from random weights with [dusk](https://www.npmjs.com/package/dusk)."}

## Model

| | |
|---|---|
| layout | ${layout} |
| layers | ${k.numLayers} |
| hidden / intermediate | ${k.hiddenSize} / ${k.intermediateSize} |
| heads / kv heads | ${k.numHeads} / ${k.numKvHeads} |
| vocabulary | ${k.vocabSize} |
| parameters | ${c.totalParams.toLocaleString("en-US")} |

## Data

${c.texts.map((t) => `- ${t.name} (${t.chars.toLocaleString("en-US")} characters)`).join("\n")}

Tokenized with ${c.tokenizer}: ${c.trainTokens.toLocaleString("en-US")} training tokens, ${c.heldOutTokens.toLocaleString("en-US")} held out (never trained on). Packed into sequences of ${s.seqLen} tokens, shuffled per epoch from the seed.

## Training

| setting | value |
|---|---|
${rows.map(([a, b]) => `| ${a} | ${b} |`).join("\n")}

## Results

${results}
![loss curve](loss.png)

The per-step log is in \`train_log.jsonl\`; \`trainer_state.json\` and \`optimizer.safetensors\` let \`--resume\` continue this run exactly.
${c.command ? `\n## Reproduce\n\n\`\`\`sh\n${c.command}\n\`\`\`\n` : ""}`;
}

/** The loss curve: training loss per step and held-out loss per evaluation, against the step. */
export function lossChart(log: readonly LogEntry[], title: string): { svg: string; png: Uint8Array } {
  const steps = log.filter((e) => e.type === "step").map((e) => [e.step, e.loss] as [number, number]);
  const evals = log.filter((e) => e.type === "eval").map((e) => [e.step, e.loss] as [number, number]);
  const svg = lineChart({
    title, xLabel: "step", yLabel: "loss (nats per token)",
    series: [{ name: "training loss", points: steps, markers: false }, { name: "held-out loss", points: evals, markers: true }],
  });
  return { svg, png: svgToPng(svg) };
}
