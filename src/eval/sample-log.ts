// Per-sample JSONL logs: one header line naming the run's settings, then one line per scored
// document (prompt, choices, log-likelihoods or generation, prediction, gold, metrics), so anyone
// can audit a single item and an interrupted run can resume without scoring anything twice.
// Not here: deciding what to skip (runner.ts).

import { open, readFile, stat, truncate } from "node:fs/promises";
import { outputError } from "../build/output-errors.js";
import { EvalError, FormatError } from "../errors.js";
import { EVAL_LIMITS } from "../limits.js";
import type { ProtocolName } from "./task.js";

export interface SampleLogHeader {
  type: "header";
  task: string;
  version: number;
  protocol: ProtocolName;
  seed: number;
  shots: number;
  limit: number | null;
  /** a built task's documents (text hash, seed, item count): a log resumes only into the same ones */
  built?: string;
}

export interface SampleRecord {
  type: "sample";
  task: string;
  docId: number;
  datasetIndex: number;
  /** the assembled few-shot context */
  prompt: string;
  /** per-request contexts, only when they differ from `prompt` (Winogrande's partial scoring) */
  contexts?: string[];
  continuations: string[];
  choices: string[];
  loglikelihoods?: number[];
  greedy?: boolean[];
  generation?: string;
  prediction: number | string;
  gold: number | string;
  metrics: Record<string, number>;
  /** requests of this doc whose prompt was cut from the left */
  truncated: number;
}

export interface ExistingSampleLog {
  header: SampleLogHeader | undefined;
  /** first record per docId; later duplicates are ignored */
  samples: Map<number, SampleRecord>;
  /** bytes of complete, valid lines; a torn last line (crash mid-write) lies beyond */
  validBytes: number;
}

/** Reads a log for resuming. A torn final line is tolerated; a bad line elsewhere is an error. */
export async function readSampleLog(path: string): Promise<ExistingSampleLog> {
  const text = await readFile(path, "utf8");
  const lines = text.split("\n");
  const samples = new Map<number, SampleRecord>();
  let header: SampleLogHeader | undefined;
  let offset = 0;
  let validBytes = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const isLast = i === lines.length - 1;
    const lineBytes = Buffer.byteLength(line, "utf8");
    if (line.trim() !== "") {
      let parsed: unknown;
      try {
        if (lineBytes > EVAL_LIMITS.sampleLogLineBytes) throw new Error(`line longer than ${EVAL_LIMITS.sampleLogLineBytes} bytes`);
        parsed = JSON.parse(line);
      } catch (e) {
        if (isLast) break; // torn by an interrupted write: drop it
        throw new FormatError("EVAL_SAMPLE_LOG", "a line is not valid JSON", {
          file: path,
          offset,
          actual: e instanceof Error ? e.message : String(e),
          hint: "Delete the sample log (or this line) to start the task again.",
        });
      }
      const rec = parsed as Partial<Omit<SampleRecord, "type">> & { type?: unknown };
      if (rec.type === "header") header = parsed as SampleLogHeader;
      else if (rec.type === "sample" && Number.isSafeInteger(rec.docId) && typeof rec.metrics === "object" && rec.metrics !== null) {
        if (!samples.has(rec.docId!)) samples.set(rec.docId!, parsed as SampleRecord);
      } else if (!isLast || text.endsWith("\n")) {
        throw new FormatError("EVAL_SAMPLE_LOG", "a line is neither a header nor a sample", { file: path, offset, field: "type" });
      }
      if (!isLast || text.endsWith("\n")) validBytes = offset + lineBytes + 1;
    } else if (!isLast) {
      validBytes = offset + lineBytes + 1;
    }
    offset += lineBytes + 1;
  }
  return { header, samples, validBytes: Math.min(validBytes, Buffer.byteLength(text, "utf8")) };
}

/** Appends JSON lines, one write per line, so a crash leaves at most one torn line. */
export class SampleLogWriter {
  private constructor(
    private readonly handle: Awaited<ReturnType<typeof open>>,
    private readonly path: string,
  ) {}

  /** Starts a fresh log (replacing any old one) with `header`, or resumes after `validBytes`. */
  static async open(path: string, header: SampleLogHeader, resumeAt: number | undefined): Promise<SampleLogWriter> {
    if (resumeAt !== undefined) {
      const st = await stat(path);
      if (st.size > resumeAt) await truncate(path, resumeAt);
      const w = new SampleLogWriter(await open(path, "a"), path);
      if (resumeAt === 0) await w.append(header);
      return w;
    }
    const w = new SampleLogWriter(await open(path, "w"), path);
    await w.append(header);
    return w;
  }

  async append(record: SampleLogHeader | SampleRecord): Promise<void> {
    try {
      await this.handle.write(JSON.stringify(record) + "\n");
    } catch (e) {
      // A full disk is a typed error naming the log; what was written so far stays resumable.
      throw outputError(e, this.path, false);
    }
  }

  /** fsync, then close: a log that says a document was scored has it on disk. */
  async close(): Promise<void> {
    try {
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }
}

/** A resumed log must come from the same settings, or its samples would mix two runs. */
export function checkResumable(path: string, found: SampleLogHeader | undefined, wanted: SampleLogHeader): void {
  if (found === undefined) return;
  // `limit` may change: the first N docs and their prompts do not depend on it. A built task's
  // docs may (nextline builds --limit items), and `built` tells.
  const keys = ["task", "version", "protocol", "seed", "shots", "built"] as const;
  for (const key of keys) {
    if (found[key] !== wanted[key]) {
      throw new EvalError("EVAL_RESUME_MISMATCH", `${path}: cannot resume, ${key} was ${JSON.stringify(found[key])} and is now ${JSON.stringify(wanted[key])}`, {
        hint: "Use the same settings as the interrupted run, or write the samples to a new file.",
      });
    }
  }
}
