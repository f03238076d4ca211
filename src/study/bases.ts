// The points of the training-length factor: a base directory is its final model, and its
// `checkpoints/step-NNNN/` folders (each a loadable model saved along the same training run) are the
// earlier points. Steps and tokens come from the folder names and the run's train_log.jsonl.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { StudyError } from "./study-error.js";

export interface StudyCheckpoint {
  /** optimizer steps taken (null: the final model of a run without a log) */
  step: number | null;
  /** training tokens seen by then (from train_log.jsonl; null when unknown) */
  tokens: number | null;
  final: boolean;
  path: string;
  /** held-out loss the training run logged at this step (null when it did not) */
  train_eval_loss: number | null;
}

const STEP_DIR = /^step-(\d+)$/;

interface LogEntry { type?: string; step?: number; tokens?: number; loss?: number }

async function readLog(dir: string): Promise<LogEntry[]> {
  const text = await readFile(join(dir, "train_log.jsonl"), "utf8").catch(() => "");
  const out: LogEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as LogEntry;
      if (e && typeof e === "object") out.push(e);
    } catch {
      // a torn last line of a running log: skip it
    }
  }
  return out;
}

/** Every checkpoint of a base, earliest first, the base itself (final) last. */
export async function baseCheckpoints(dir: string): Promise<StudyCheckpoint[]> {
  const log = await readLog(dir);
  const tokensAt = new Map<number, number>();
  const evalAt = new Map<number, number>();
  for (const e of log) {
    if (typeof e.step !== "number") continue;
    if (e.type === "step" && typeof e.tokens === "number") tokensAt.set(e.step, e.tokens);
    if (e.type === "eval" && typeof e.loss === "number") evalAt.set(e.step, e.loss);
  }
  const lastStep = log.filter((e) => e.type === "step" && typeof e.step === "number").map((e) => e.step!).reduce((a, b) => Math.max(a, b), -1);
  const entries = await readdir(join(dir, "checkpoints"), { withFileTypes: true }).catch(() => []);
  const steps = entries.flatMap((e) => {
    const m = e.isDirectory() ? STEP_DIR.exec(e.name) : null;
    return m ? [{ step: Number(m[1]), name: e.name }] : [];
  }).sort((a, b) => a.step - b.step);
  const point = (step: number | null, path: string, final: boolean): StudyCheckpoint => ({
    step, final, path,
    tokens: step === null ? null : tokensAt.get(step) ?? null,
    train_eval_loss: step === null ? null : evalAt.get(step) ?? null,
  });
  const finalStep = lastStep >= 0 ? lastStep : null;
  if (finalStep !== null && steps.some((s) => s.step >= finalStep)) {
    throw new StudyError("STUDY_CHECKPOINTS", `${dir}: checkpoint step-${steps.at(-1)!.step} is not earlier than the final model (step ${finalStep} in train_log.jsonl)`, {
      hint: "checkpoints/ should hold only models saved before the run ended",
    });
  }
  return [...steps.map((s) => point(s.step, join(dir, "checkpoints", s.name), false)), point(finalStep, dir, true)];
}
