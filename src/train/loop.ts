// The training loop as an async generator of progress events: each step gathers its sequences
// from the seeded order, sums micro-batch gradients (in this thread or on worker threads), takes
// an AdamW step at the scheduled rate, logs, evaluates the held-out split every k steps and saves
// resumable checkpoints. A resumed run restores weights, moments and data position exactly.

import { createHash } from "node:crypto";
import { gatherBatch, SequenceOrder, type PackedData } from "./data.js";
import type { GradEngine, MicroBatch } from "./grad-engine.js";
import type { TrainModel } from "./model.js";
import { adamwStep, newAdamWState, type AdamWState } from "./optimizer.js";
import { countParams, gradLayout, trainableSpecs, type GradLayout, type TrainSelection } from "./param-store.js";
import { learningRate } from "./schedule.js";
import { describeSelection } from "./selection.js";
import type { TrainSettings } from "./settings.js";
import type { SavedState } from "./checkpoint.js";
import { TrainError } from "./train-error.js";

export interface StepEntry {
  type: "step";
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  tokens_per_s: number;
  elapsed_s: number;
}

export interface EvalEntry {
  type: "eval";
  step: number;
  loss: number;
  ppl: number;
  tokens: number;
}

export type LogEntry = StepEntry | EvalEntry;

export type TrainEvent =
  | { type: "start"; step: number; steps: number; tokensPerStep: number; trainableParams: number; totalParams: number; workers: number; selection: string }
  | { type: "step"; entry: StepEntry; steps: number; etaSeconds: number }
  | { type: "eval"; entry: EvalEntry }
  | { type: "save"; step: number; path: string }
  | { type: "interrupted"; step: number; requested: boolean };

export interface TrainResult {
  steps: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  trainableParams: number;
  /** held-out loss before the first step of this run (undefined when resumed) and at the end */
  initial?: EvalEntry;
  final: EvalEntry;
  log: LogEntry[];
  interrupted: boolean;
}

/** How the loop saves: the checkpoint writer bound to an output (see run.ts). */
export type SaveFn = (step: number, adam: AdamWState, g: GradLayout, log: readonly LogEntry[], state: Record<string, unknown>) => Promise<string>;

export interface LoopInput {
  model: TrainModel;
  selection: TrainSelection;
  data: PackedData;
  settings: TrainSettings;
  engine: GradEngine;
  save?: SaveFn;
  /** recorded as trainer_state.json `meta` (texts, source, --train: what --resume reads back) */
  meta?: Record<string, unknown>;
  resume?: SavedState;
  /** log entries of the run being resumed */
  resumeLog?: LogEntry[];
  signal?: AbortSignal;
  /** stop after this step with a checkpoint, as if interrupted there (training in sessions) */
  stopAt?: number;
}

/** sha256 of the tensor names, shapes and dtypes: what a resumed run must find again. */
export function modelFingerprint(m: TrainModel): string {
  const h = createHash("sha256");
  for (const t of m.tensors) h.update(`${t.name} ${t.shape.join("x")} ${t.type.name}\n`);
  return h.digest("hex").slice(0, 32);
}

function microBatches(data: PackedData, indices: number[], micro: number, stream: Int32Array): MicroBatch[] {
  const out: MicroBatch[] = [];
  for (let i = 0; i < indices.length; i += micro) out.push(gatherBatch(stream, data.seqLen, indices.slice(i, i + micro)));
  return out;
}

export async function* trainLoop(input: LoopInput): AsyncGenerator<TrainEvent, TrainResult> {
  const { model, data, settings: s, engine } = input;
  const L = model.layout;
  const g = gradLayout(L, trainableSpecs(L, input.selection));
  if (g.total === 0) throw new TrainError("TRAIN_NOTHING", "the --train selection trains no tensor", { hint: "e.g. --train all" });
  const adam = newAdamWState(g);
  const selection = describeSelection(input.selection);
  const fingerprint = { model: modelFingerprint(model), data: data.fingerprint, selection };
  let start = 0;
  const log: LogEntry[] = [...(input.resumeLog ?? [])];
  if (input.resume) start = restore(input.resume, model, g, adam, fingerprint, s);
  const grad = new Float32Array(g.total);
  const order = new SequenceOrder(data.trainSequences, s.seed);
  const tokensPerStep = s.batch * s.seqLen;
  const evalBatches = microBatches(data, [...Array(Math.min(s.evalSequences, data.heldOutSequences)).keys()], s.microBatch, data.heldOut);
  const evaluate = async (step: number): Promise<EvalEntry> => {
    const r = await engine.evaluate(evalBatches);
    const loss = r.loss / r.tokens;
    return { type: "eval", step, loss, ppl: Math.exp(loss), tokens: r.tokens };
  };
  const stateOf = (step: number): Record<string, unknown> => ({
    format: "dusk-trainer-state", version: 1, step, steps: s.steps, cursor: step * s.batch, tokens: step * tokensPerStep,
    settings: s, fingerprint, trainable: model.tensors.filter((t) => g.trainable[t.spec]).map((t) => t.name), ...(input.meta ? { meta: input.meta } : {}),
  });
  yield { type: "start", step: start, steps: s.steps, tokensPerStep, trainableParams: g.total, totalParams: countParams(L), workers: engine.workers, selection };
  let initial: EvalEntry | undefined;
  if (start === 0) {
    initial = await evaluate(0);
    log.push(initial);
    yield { type: "eval", entry: initial };
  }
  const began = performance.now();
  let step = start;
  let saved = start;
  let interrupted = false;
  let lastEval: EvalEntry | undefined = initial;
  while (step < s.steps) {
    if (input.signal?.aborted || (input.stopAt !== undefined && step >= input.stopAt)) {
      interrupted = true;
      break;
    }
    const indices = Array.from({ length: s.batch }, (_, j) => order.at(step * s.batch + j));
    const r = await engine.gradients(microBatches(data, indices, s.microBatch, data.train), grad);
    const inv = 1 / r.tokens;
    for (let i = 0; i < grad.length; i++) grad[i]! *= inv;
    const lr = learningRate({ lr: s.lr, minLrRatio: s.minLrRatio, warmupSteps: s.warmupSteps, totalSteps: s.steps }, step);
    const norm = adamwStep(L, g, model.params, grad, adam, lr, s.adamw);
    engine.changed(g.trainable);
    step++;
    const elapsed = (performance.now() - began) / 1000;
    const done = step - start;
    const entry: StepEntry = {
      type: "step", step, loss: r.loss / r.tokens, lr, grad_norm: norm, tokens: step * tokensPerStep,
      tokens_per_s: (done * tokensPerStep) / elapsed, elapsed_s: elapsed,
    };
    log.push(entry);
    yield { type: "step", entry, steps: s.steps, etaSeconds: (elapsed / done) * (s.steps - step) };
    if (s.evalEvery > 0 && step % s.evalEvery === 0 && step < s.steps) {
      lastEval = await evaluate(step);
      log.push(lastEval);
      yield { type: "eval", entry: lastEval };
    }
    if (input.save && s.saveEvery > 0 && step % s.saveEvery === 0 && step < s.steps) {
      yield { type: "save", step, path: await input.save(step, adam, g, log, stateOf(step)) };
      saved = step;
    }
  }
  if (interrupted) yield { type: "interrupted", step, requested: !input.signal?.aborted };
  if (lastEval?.step !== step) {
    // also when stopped early: the summary and the card report the weights being saved
    lastEval = await evaluate(step);
    log.push(lastEval);
    yield { type: "eval", entry: lastEval };
  }
  if (input.save && step > saved) yield { type: "save", step, path: await input.save(step, adam, g, log, stateOf(step)) };
  const seconds = (performance.now() - began) / 1000;
  const final = lastEval ?? (await evaluate(step));
  return {
    steps: step, tokens: step * tokensPerStep, seconds, tokensPerSecond: ((step - start) * tokensPerStep) / Math.max(seconds, 1e-9),
    trainableParams: g.total, ...(initial ? { initial } : {}), final, log, interrupted,
  };
}

/** Restores master weights, moments and the step from a saved state; refuses one from another run. */
function restore(saved: SavedState, model: TrainModel, g: GradLayout, adam: AdamWState, fp: Record<string, string>, s: TrainSettings): number {
  const st = saved.state;
  const was = (st.fingerprint ?? {}) as Record<string, unknown>;
  const mismatch = (what: string, hint: string): never => {
    throw new TrainError("TRAIN_RESUME_MISMATCH", `--resume: the saved state does not match ${what}`, { hint });
  };
  if (was.model !== fp.model) mismatch("the model (tensor names, shapes or dtypes differ)", "resume with the same model the run started from");
  if (was.selection !== fp.selection) mismatch(`the --train selection (saved: ${String(was.selection)}, now: ${fp.selection})`, "resume with the run's own --train value");
  if (was.data !== fp.data) mismatch("the data (the texts or --seq-len changed)", "resume with the same texts and settings");
  if (JSON.stringify(st.settings) !== JSON.stringify(s)) mismatch("the training settings", "a resumed run keeps the settings it was started with");
  const step = st.step;
  if (typeof step !== "number" || !Number.isSafeInteger(step) || step < 0 || step > s.steps) mismatch(`a valid step (found ${String(step)})`, "the state is damaged");
  const L = model.layout;
  for (const t of model.tensors) {
    if (!g.trainable[t.spec]) continue;
    const size = t.size;
    const get = (part: string): Float32Array => {
      const v = saved.tensors.get(`${part}/${t.name}`);
      if (!v || v.length !== size) mismatch(`the trainable tensor ${t.name} (${part} missing or resized)`, "resume with the run's own model and --train value");
      return v!;
    };
    model.params.set(get("master"), L.specs[t.spec]!.offset);
    adam.m.set(get("exp_avg"), g.offsets[t.spec]!);
    adam.v.set(get("exp_avg_sq"), g.offsets[t.spec]!);
  }
  adam.step = step as number;
  return step as number;
}
