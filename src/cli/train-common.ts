// What `dusk train` and `dusk heal` share: the run flags, reading the texts, the progress display
// (a bar with loss, tokens/s and ETA on a TTY; a line per eval and every ~5% otherwise), the
// summary (text or --json), and Ctrl-C (the run stops after its step and saves a checkpoint).

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import cliProgress from "cli-progress";
import { runTraining, TrainError, type RunOptions, type TextDoc, type TrainEvent, type TrainResult } from "../index.js";
import { UsageError } from "./flag-check.js";
import { interruptible } from "./interrupt.js";

export const runArgs = {
  text: { type: "string", description: "training text file (repeat --text for several)", valueHint: "file" },
  "held-out-text": { type: "string", description: "held-out text file (default: the last --holdout of the training text)", valueHint: "file" },
  output: { type: "string", alias: "o", description: "output directory (an HF checkpoint; saved atomically)", required: true, valueHint: "dir" },
  workers: { type: "string", description: "worker threads (default: one per core); 0 runs in the main thread", valueHint: "N" },
  resume: { type: "boolean", description: "continue the run saved in -o exactly where it stopped" },
  "stop-at": { type: "string", description: "stop after step N with a checkpoint (continue later with --resume)", valueHint: "N" },
  force: { type: "boolean", description: "replace an existing -o that is not this run's checkpoint" },
  quiet: { type: "boolean", description: "no progress output" },
  json: { type: "boolean", description: "print a JSON summary" },
} as const;

/** `it's` → `'it'\''s'`; plain words (paths, flags) stay as they are. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Every value of a repeatable string flag, in order (`--text a --text b`, `--text=c`). */
export function repeated(rawArgs: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === `--${flag}` && i + 1 < rawArgs.length) out.push(rawArgs[++i]!);
    else if (a.startsWith(`--${flag}=`)) out.push(a.slice(flag.length + 3));
  }
  return out;
}

/** Reads text files as UTF-8 (checked for binary and emptiness by the data step). */
export async function readTexts(paths: readonly string[]): Promise<TextDoc[]> {
  return Promise.all(paths.map(async (p) => {
    const bytes = await readFile(p).catch((e: NodeJS.ErrnoException) => {
      throw new TrainError("TRAIN_NO_TEXT", `${p}: ${e.code === "ENOENT" ? "no such file" : e.message}`, { hint: "give a readable text file with --text" });
    });
    return { name: p, text: new TextDecoder("utf-8", { fatal: false }).decode(bytes) };
  }));
}

export function intFlag(value: string | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError("TRAIN_BAD_FLAG", `${flag} must be an integer ≥ ${min}, found ${JSON.stringify(value)}`, { hint: `e.g. ${flag} ${Math.max(min, 8)}` });
  return n;
}

export function numFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError("TRAIN_BAD_FLAG", `${flag} must be a number ≥ 0, found ${JSON.stringify(value)}`, { hint: `e.g. ${flag} 3e-4` });
  return n;
}

const clock = (s: number): string => {
  if (!Number.isFinite(s)) return "?";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
};

/** Renders training events on stderr. */
function progressRenderer(quiet: boolean): { on(e: TrainEvent): void; stop(): void } {
  const err = process.stderr;
  if (quiet) return { on() {}, stop() {} };
  const tty = err.isTTY && !process.env.CI;
  let bar: cliProgress.SingleBar | undefined;
  let lastPct = -1;
  return {
    on(e) {
      if (e.type === "start") {
        err.write(`training ${e.trainableParams.toLocaleString("en-US")} of ${e.totalParams.toLocaleString("en-US")} parameters (${e.selection}) for ${e.steps} steps of ${e.tokensPerStep} tokens on ${e.workers === 0 ? "the main thread" : `${e.workers} worker thread${e.workers === 1 ? "" : "s"}`}${e.step > 0 ? `, resuming at step ${e.step}` : ""}\n`);
        if (tty) {
          bar = new cliProgress.SingleBar({ stream: err, format: "{bar} {value}/{total} steps | loss {loss} | {tps} tok/s | ETA {eta_t}", hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);
          bar.start(e.steps, e.step, { loss: "-", tps: "-", eta_t: "?" });
        }
      } else if (e.type === "step") {
        const x = e.entry;
        if (bar) bar.update(x.step, { loss: x.loss.toFixed(4), tps: x.tokens_per_s.toFixed(0), eta_t: clock(e.etaSeconds) });
        else {
          const pct = Math.floor((x.step / e.steps) * 20);
          if (pct !== lastPct || x.step === 1) {
            lastPct = pct;
            err.write(`step ${x.step}/${e.steps} loss ${x.loss.toFixed(4)} lr ${x.lr.toExponential(2)} grad-norm ${x.grad_norm.toFixed(3)} ${x.tokens_per_s.toFixed(0)} tok/s ETA ${clock(e.etaSeconds)}\n`);
          }
        }
      } else if (e.type === "eval") {
        const line = `held-out loss ${e.entry.loss.toFixed(4)} (perplexity ${e.entry.ppl.toFixed(2)}) at step ${e.entry.step}`;
        if (bar) bar.update({ loss: `${e.entry.loss.toFixed(4)} (held-out)` });
        else err.write(`${line}\n`);
      } else if (e.type === "save" && !bar) err.write(`saved ${e.path} at step ${e.step}\n`);
      else if (e.type === "interrupted") {
        bar?.stop();
        bar = undefined;
        err.write(`${e.requested ? "stopping" : "interrupted"} after step ${e.step}; saving a checkpoint (continue with --resume)\n`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Runs a prepared training with progress, Ctrl-C handling and the final summary. */
export async function runWithProgress(run: RunOptions & { unigram: number }, o: { quiet?: boolean; json?: boolean; verb: string; stopAt?: string }): Promise<TrainResult> {
  const stopAt = intFlag(o.stopAt, "--stop-at");
  const interrupt = interruptible();
  const progress = progressRenderer(Boolean(o.quiet || o.json));
  let result: TrainResult;
  try {
    const gen = runTraining({ ...run, signal: interrupt.signal, ...(stopAt === undefined ? {} : { stopAt }) });
    for (;;) {
      const r = await gen.next();
      if (r.done) {
        result = r.value;
        break;
      }
      progress.on(r.value);
    }
  } finally {
    progress.stop();
    interrupt.release();
  }
  const out = run.output ? resolve(run.output.dir) : undefined;
  if (o.json) {
    process.stdout.write(JSON.stringify({
      output: out, steps: result.steps, tokens: result.tokens, seconds: result.seconds, tokens_per_s: result.tokensPerSecond,
      trainable_params: result.trainableParams, unigram_entropy: run.unigram, initial: result.initial ?? null, final: result.final, interrupted: result.interrupted,
    }, null, 2) + "\n");
  } else {
    const before = result.initial ? `${result.initial.loss.toFixed(4)} → ` : "";
    process.stdout.write(`${o.verb} ${out ?? "(not saved)"}: ${result.steps} steps, ${result.tokens.toLocaleString("en-US")} tokens in ${clock(result.seconds)} (${result.tokensPerSecond.toFixed(0)} tok/s); held-out loss ${before}${result.final.loss.toFixed(4)} (perplexity ${result.final.ppl.toFixed(2)}; unigram entropy ${run.unigram.toFixed(4)})\n`);
  }
  if (result.interrupted && stopAt === undefined) process.exitCode = 130;
  return result;
}
