// Test helpers for the end-to-end CLI tests: run `main(argv)` in-process with stdout/stderr
// captured, make and remove temporary directories, and read a built model's tensors back as
// bytes. Not a fixture generator (src/fixtures/tiny-model.ts is) and not a CLI wrapper for users.

import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { openCheckpoint } from "../../src/checkpoint/open-checkpoint.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `dusk ARGV…` in this process: the exit code and everything written to stdout and stderr. */
export async function runCli(argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const capture = (sink: "out" | "err") => (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    if (sink === "out") stdout += text;
    else stderr += text;
    // write(chunk, cb) or write(chunk, encoding, cb): call the callback as the stream would.
    const cb = rest.find((r) => typeof r === "function") as (() => void) | undefined;
    cb?.();
    return true;
  };
  const outSpy = vi.spyOn(process.stdout, "write").mockImplementation(capture("out") as typeof process.stdout.write);
  const errSpy = vi.spyOn(process.stderr, "write").mockImplementation(capture("err") as typeof process.stderr.write);
  const previousExitCode = process.exitCode;
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    outSpy.mockRestore();
    errSpy.mockRestore();
    process.exitCode = previousExitCode;
  }
}

/** A fresh directory under the OS temp dir; `cleanup()` removes every one made so far. */
export function tempDirs(prefix = "dusk-e2e-") {
  const made: string[] = [];
  return {
    async make(): Promise<string> {
      const d = await mkdtemp(join(tmpdir(), prefix));
      made.push(d);
      return d;
    },
    async cleanup(): Promise<void> {
      await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

/** name → bytes of every tensor of an HF model directory (read through the real opener). */
export async function readTensorBytes(dir: string): Promise<Map<string, Uint8Array>> {
  const c = await openCheckpoint(dir);
  try {
    const out = new Map<string, Uint8Array>();
    for (const [name, t] of c.tensors) out.set(name, await t.source.read(t.offset, t.byteLength));
    return out;
  } finally {
    await c.close();
  }
}

export const exists = (p: string) => stat(p).then(() => true, () => false);

/** Entries beside `output` that look like its temporary build directory (`.NAME.dusk-tmp-*`). */
export async function leftoverTemps(output: string): Promise<string[]> {
  const names = await readdir(dirname(output)).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(`.${basename(output)}.dusk-tmp-`));
}

/** Layer tensor names of layer `i` mapped to their template (`self_attn.q_proj.weight`). */
export function layerTensors(tensors: Map<string, Uint8Array>, i: number): Map<string, Uint8Array> {
  const prefix = `model.layers.${i}.`;
  const out = new Map<string, Uint8Array>();
  for (const [name, bytes] of tensors) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), bytes);
  return out;
}
