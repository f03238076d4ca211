// An OpenAI-compatible server (vLLM, llama.cpp's llama-server, `dusk serve`) started for one model
// from a command template, waited for until it answers GET /v1/models, and stopped. What the
// experiment uses to evaluate each stack it builds on hardware or software dusk does not drive.
// Template: `vllm serve {model} --port {port}`; placeholders are replaced by shell-quoted values
// and the line runs under /bin/sh in a process group of its own (stopped as a whole).

import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { EvalError } from "../errors.js";

export interface ServerLaunchOptions {
  /** the command template; must contain {port} */
  template: string;
  /** values for the other placeholders, e.g. { model: "/x/idus-1", gguf: "/x/idus-1.gguf", name: "idus-1" } */
  vars: Record<string, string>;
  /** the model name to send; default: the first id in /v1/models */
  model?: string;
  apiKey?: string;
  /** how long the server may take to answer /v1/models; default 10 minutes */
  readyTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface LaunchedServer {
  /** http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  model: string;
  /** the command line as run */
  command: string;
  /** SIGTERM to the process group, SIGKILL after a grace period; resolves once it has exited */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;
const OUTPUT_TAIL = 2_000;

/** A port the OS says is free now (bound to 0 on loopback, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The template with every {name} replaced by its shell-quoted value; unknown names are an error. */
export function fillTemplate(template: string, vars: Record<string, string>): string {
  if (!template.includes("{port}")) {
    throw new EvalError("EVAL_SERVER_TEMPLATE", `the server command ${JSON.stringify(template)} has no {port}`, { hint: "e.g. --server 'vllm serve {model} --port {port}' or 'dusk serve {gguf} --port {port}'" });
  }
  return template.replace(/\{([a-z_]+)\}/g, (all, key: string) => {
    const v = vars[key];
    if (v === undefined) {
      throw new EvalError("EVAL_SERVER_TEMPLATE", `the server command uses ${all}, which is not one of ${Object.keys(vars).map((k) => `{${k}}`).join(", ")}`, { hint: "{model} is the HF directory, {gguf} its GGUF, {name} the layout's name, {port} the port" });
    }
    return shellQuote(v);
  });
}

export async function launchServer(o: ServerLaunchOptions): Promise<LaunchedServer> {
  const port = await freePort();
  const command = fillTemplate(o.template, { ...o.vars, port: String(port) });
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  const child = spawn("/bin/sh", ["-c", command], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  const keep = (b: Buffer) => void (tail = (tail + b.toString("utf8")).slice(-OUTPUT_TAIL));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  const stop = () => stopGroup(child, exited, () => running);
  try {
    const model = await waitReady(baseUrl, o, () => running, () => tail, command);
    return { baseUrl, model, command, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function waitReady(baseUrl: string, o: ServerLaunchOptions, running: () => boolean, tail: () => string, command: string): Promise<string> {
  const deadline = Date.now() + (o.readyTimeoutMs ?? 600_000);
  const lastLines = () => (tail().trim() ? `; its last output:\n${tail().trim()}` : "");
  for (;;) {
    if (o.signal?.aborted) throw new EvalError("EVAL_INTERRUPTED", "interrupted while the model server was starting");
    if (!running()) throw new EvalError("EVAL_SERVER_EXITED", `the model server exited before it answered: ${command}${lastLines()}`, { hint: "run the command by hand to see why" });
    try {
      const res = await fetch(`${baseUrl}/models`, { headers: o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}, signal: AbortSignal.timeout(5_000) });
      if (res.ok) {
        const body = (await res.json()) as { data?: { id?: unknown }[] };
        const id = o.model ?? body.data?.[0]?.id;
        if (typeof id !== "string") throw new EvalError("EVAL_SERVER_MODELS", `${baseUrl}/models lists no model id`, { hint: "pass --server-model NAME" });
        return id;
      }
      if (res.status === 401 || res.status === 403) throw new EvalError("EVAL_HTTP", `${baseUrl}/models answered ${res.status}`, { hint: "pass --api-key (the key the server command was given)" });
    } catch (e) {
      if (e instanceof EvalError) throw e;
      // not listening yet
    }
    if (Date.now() > deadline) throw new EvalError("EVAL_SERVER_TIMEOUT", `the model server did not answer ${baseUrl}/models within ${((o.readyTimeoutMs ?? 600_000) / 1000).toFixed(0)} s: ${command}${lastLines()}`, { hint: "a large model may need a longer --server-timeout" });
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopGroup(child: ChildProcess, exited: Promise<unknown>, running: () => boolean): Promise<void> {
  if (!running() || child.pid === undefined) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      /* already gone */
    }
  };
  signal("SIGTERM");
  const killed = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), STOP_GRACE_MS).unref())]);
  if (killed) {
    signal("SIGKILL");
    await exited;
  }
}
