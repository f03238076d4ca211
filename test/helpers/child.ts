// `bin/dusk.js` as a real child process for tests that need one: kill -9 mid-write, two writers at
// once, another user's permissions. Compiles dist/ first when it is missing or older than src/
// (bin/dusk.js runs the compiled code; `npm test` compiles before the suite anyway).

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

export const DUSK_BIN = resolve("bin/dusk.js");

/** Compiles src/ into dist/ unless dist/ is at least as new as every source file. */
export async function ensureFreshDist(): Promise<void> {
  const built = await stat(resolve("dist/cli/main.js")).then((s) => s.mtimeMs, () => 0);
  if (built > 0 && (await newestSource(resolve("src"))) <= built) return;
  await promisify(execFile)("npx", ["tsc", "-p", "tsconfig.json"], { cwd: resolve(".") });
}

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, await newestSource(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

export interface DuskChild {
  process: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** resolves once stderr matches (rejects when the process exits first, or after `ms`) */
  waitForStderr(pattern: RegExp, ms?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `dusk ARGS…` with piped output (so progress is plain lines, as under CI). `wrapper`: a
 * command that runs it (e.g. setpriv dropping capabilities); `uid`/`gid`: run as another user.
 */
export function spawnDusk(args: string[], o: { uid?: number; gid?: number; wrapper?: string[] } = {}): DuskChild {
  const { wrapper = [], ...ids } = o;
  const argv = [...wrapper, process.execPath, DUSK_BIN, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], ...ids });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    for (const l of listeners) l();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on("close", (code, signal) => done({ code, signal })));
  return {
    process: child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStderr(pattern, ms = 60_000) {
      return new Promise((res, rej) => {
        const check = () => {
          if (!pattern.test(err)) return;
          cleanup();
          res();
        };
        const timer = setTimeout(() => (cleanup(), rej(new Error(`no ${pattern} on stderr within ${ms} ms; stderr: ${err}`))), ms);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(({ code, signal }) => {
          if (!listeners.has(check)) return;
          cleanup();
          if (pattern.test(err)) res();
          else rej(new Error(`dusk exited (${code ?? signal}) before ${pattern}; stderr: ${err}`));
        });
        check();
      });
    },
  };
}
