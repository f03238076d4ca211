// Renders progress events: a cli-progress bar on a TTY, plain occasional lines under CI or a
// pipe (so logs stay readable), nothing with --quiet or --json.

import cliProgress from "cli-progress";
import { describeStale, type StaleOutput } from "../build/atomic-output.js";

/** The line a command prints when a write cleaned up after an earlier, dead writer. */
export function staleLine(note: StaleOutput): string {
  return `note: ${describeStale(note)}\n`;
}

export interface ProgressSink {
  start(label: string, total: number, unit?: "bytes" | "items"): void;
  update(done: number, detail?: string): void;
  /** a message above the bar (a best-so-far table), which keeps going below it */
  note(text: string): void;
  stop(): void;
}

export function makeProgress(options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): ProgressSink {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { start() {}, update() {}, note() {}, stop() {} };
  if (stream.isTTY && !process.env.CI) return ttyProgress(stream);
  return lineProgress(stream);
}

function ttyProgress(stream: NodeJS.WriteStream): ProgressSink {
  let bar: cliProgress.SingleBar | undefined;
  let unit: "bytes" | "items" = "items";
  let last = { label: "", total: 0, done: 0, detail: "" };
  const sink: ProgressSink = {
    start(label, total, u = "items") {
      unit = u;
      last = { label, total, done: 0, detail: "" };
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${label} {bar} {percentage}% | {value_h}/{total_h} | ETA {eta_formatted} | {detail}`,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { detail: "", value_h: fmt(0, unit), total_h: fmt(total, unit) });
    },
    update(done, detail = "") {
      last = { ...last, done, detail };
      bar?.update(done, { detail, value_h: fmt(done, unit) });
    },
    note(text) {
      const running = bar !== undefined;
      const { label, total, done, detail } = last;
      sink.stop();
      stream.write(text.endsWith("\n") ? text : `${text}\n`);
      if (running) {
        sink.start(label, total, unit);
        sink.update(done, detail);
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
  return sink;
}

function lineProgress(stream: NodeJS.WriteStream): ProgressSink {
  let label = "";
  let total = 0;
  let unit: "bytes" | "items" = "items";
  let lastPct = -1;
  let started = 0;
  return {
    start(l, t, u = "items") {
      [label, total, unit, lastPct, started] = [l, t, u, -1, Date.now()];
    },
    note(text) {
      stream.write(text.endsWith("\n") ? text : `${text}\n`);
    },
    update(done) {
      const pct = total > 0 ? Math.floor((done / total) * 10) * 10 : 100;
      if (pct === lastPct) return;
      lastPct = pct;
      const secs = (Date.now() - started) / 1000;
      stream.write(`${label}: ${pct}% (${fmt(done, unit)}/${fmt(total, unit)}, ${secs.toFixed(1)} s)\n`);
    },
    stop() {},
  };
}

export function fmt(n: number, unit: "bytes" | "items"): string {
  if (unit === "items") return String(n);
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
