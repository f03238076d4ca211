// Progress is data: builds, conversions and verifications are async generators of these events;
// the CLI renders them (a bar on a TTY, plain lines under CI or a pipe).

import type { StaleOutput } from "./stale-output.js";

export type BuildEvent =
  /** before "start": a temporary that a dead writer left beside the output was removed (or restored) */
  | { type: "stale"; note: StaleOutput }
  | { type: "start"; output: string; tensors: number; totalBytes: number }
  | { type: "file"; name: string }
  | { type: "progress"; tensor: string; index: number; bytes: number; totalBytes: number }
  | { type: "done"; output: string; files: string[]; bytes: number; seconds: number };

export type VerifyEvent =
  | { type: "start"; tensors: number; totalBytes: number }
  | { type: "progress"; tensor: string; index: number; bytes: number; totalBytes: number }
  | { type: "done"; tensors: number; bytes: number; mismatches: VerifyMismatch[] };

export interface VerifyMismatch {
  tensor: string;
  problem: string;
}
