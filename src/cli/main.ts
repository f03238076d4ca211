// The dusk command line: one file per command; this one dispatches, prints errors with their
// hints, and turns them into exit codes. The only place (with its siblings) that prints or exits.

import { defineCommand, renderUsage, runCommand, type CommandDef } from "citty";
import { isDuskError } from "../errors.js";
import { rejectUnknownFlags, UsageError } from "./flag-check.js";
import { interruptAll } from "./interrupt.js";
import { VERSION } from "./version.js";

export { VERSION } from "./version.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCommand = CommandDef<any>;

/**
 * The commands, each loaded when it runs: importing all of them (llama.cpp bindings, the server,
 * parquet) cost every `dusk` invocation ~1.4 s before it did anything.
 */
export const commands: Record<string, () => Promise<AnyCommand>> = {
  inspect: () => import("./inspect.js").then((m) => m.inspectCommand),
  plan: () => import("./plan.js").then((m) => m.planCommand),
  build: () => import("./build.js").then((m) => m.buildCommand),
  verify: () => import("./verify.js").then((m) => m.verifyCommand),
  run: () => import("./run.js").then((m) => m.runModelCommand),
  chat: () => import("./chat.js").then((m) => m.chatCommand),
  presets: () => import("./presets.js").then((m) => m.presetsCommand),
  convert: () => import("./convert.js").then((m) => m.convertCommand),
  quantize: () => import("./quantize.js").then((m) => m.quantizeCommand),
  imatrix: () => import("./imatrix.js").then((m) => m.imatrixCommand),
  eval: () => import("./eval.js").then((m) => m.evalCommand),
  ppl: () => import("./ppl.js").then((m) => m.pplCommand),
  compare: () => import("./compare.js").then((m) => m.compareCommand),
  analyze: () => import("./analyze.js").then((m) => m.analyzeCommand),
  search: () => import("./search.js").then((m) => m.searchCommand),
  data: () => import("./data.js").then((m) => m.dataCommand),
  serve: () => import("./serve.js").then((m) => m.serveCommand),
  train: () => import("./train.js").then((m) => m.trainCommand),
  heal: () => import("./heal.js").then((m) => m.healCommand),
  experiment: () => import("./experiment.js").then((m) => m.experimentCommand),
  study: () => import("./study.js").then((m) => m.studyCommand),
};

export const mainCommand = defineCommand({
  meta: { name: "dusk", version: VERSION, description: "Depth Up-Scaling Kit: build, convert, run, evaluate, analyse and heal deeper models made of existing layers" },
  args: { verbose: { type: "boolean", description: "show stack traces on errors" } },
  subCommands: commands,
});

/** Runs the CLI in-process and returns the exit code (tests call this directly). */
export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnBrokenPipe();
  const verbose = argv.includes("--verbose");
  const rawArgs = argv.filter((a) => a !== "--verbose");
  try {
    if (rawArgs[0] === "help" && rawArgs[1] !== undefined && Object.hasOwn(commands, rawArgs[1])) {
      return main([rawArgs[1], "--help"]); // `dusk help build` = `dusk build --help`
    }
    if (rawArgs.length === 0 || rawArgs[0] === "--help" || rawArgs[0] === "-h" || rawArgs[0] === "help") {
      process.stdout.write((await usage(mainCommand)) + "\n");
      return rawArgs.length === 0 ? 1 : 0;
    }
    if (rawArgs[0] === "--version" || rawArgs[0] === "-v") {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    const load = Object.hasOwn(commands, rawArgs[0]!) ? commands[rawArgs[0]!] : undefined;
    if (!load) {
      process.stderr.write(`error: unknown command ${JSON.stringify(rawArgs[0])}\nhint: commands are ${Object.keys(commands).join(", ")}; see dusk --help\n`);
      return 2;
    }
    const sub = await load();
    if (rawArgs.includes("--help") || rawArgs.includes("-h")) {
      // `dusk data pull --help`: the subcommand's own usage, titled with its full name.
      const nested = sub.subCommands as Record<string, AnyCommand> | undefined;
      const name = rawArgs.slice(1).find((a) => !a.startsWith("-"));
      const help = nested && name !== undefined && Object.hasOwn(nested, name)
        ? await usage(nested[name]!, defineCommand({ meta: { name: `dusk ${rawArgs[0]}` } }))
        : await usage(sub, mainCommand);
      process.stdout.write(help + "\n");
      return 0;
    }
    await rejectUnknownFlags(sub, rawArgs.slice(1), rawArgs[0]!);
    await runCommand(sub, { rawArgs: rawArgs.slice(1) });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    return reportError(e, verbose);
  }
}

/**
 * citty's usage text, without its colours when stdout is not a terminal or NO_COLOR is set (citty
 * only checks NO_COLOR=1 and CI), and without the spaces it pads every line's end with.
 */
async function usage(cmd: AnyCommand, parent?: AnyCommand): Promise<string> {
  const text = (await renderUsage(cmd, parent)).replace(/[ \t]+$/gm, "");
  // eslint-disable-next-line no-control-regex
  return process.stdout.isTTY && !process.env.NO_COLOR ? text : text.replace(/\x1b\[[0-9;]*m/g, "");
}

let pipeGuarded = false;
/** the exit code of an error already reported (its message may be what hit the closed pipe) */
let reportedExitCode: number | undefined;

/**
 * `dusk inspect --tensors m | head`: when the reader closes the pipe, stop as other Unix tools do
 * (exit 0, no "Unhandled 'error' event" stack). A build or convert in progress is interrupted
 * instead, so it removes its temporary and exits non-zero (`dusk build … 2>&1 | head` must not
 * look like a success); later writes to the closed pipe are ignored. Other stream errors stay fatal.
 */
function exitQuietlyOnBrokenPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  let broken = false;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE" || (broken && e.code === "ERR_STREAM_DESTROYED")) {
        if (broken) return;
        broken = true;
        if (!interruptAll("the output pipe was closed")) process.exit(reportedExitCode ?? 0);
        return;
      }
      throw e;
    });
  }
}

export function reportError(e: unknown, verbose: boolean): number {
  // A failed write to a closed pipe is reported by an 'error' event after write() returns.
  return (reportedExitCode = writeError(e, verbose));
}

function writeError(e: unknown, verbose: boolean): number {
  if (isDuskError(e)) {
    process.stderr.write(`error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    if (verbose && e.stack) process.stderr.write(`${e.stack}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === "object" && typeof err.code === "string" && typeof err.message === "string" && (err.code.startsWith("E") || err.name === "CLIError")) {
    // Filesystem errors (ENOENT, EACCES, …) and citty's argument errors: their message names the path or flag.
    process.stderr.write(`error: ${err.message}\n`);
    if (err.name === "CLIError") process.stderr.write("hint: see --help for the arguments\n");
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.name === "CLIError" ? 2 : 1;
  }
  process.stderr.write(`internal error: ${(e as Error)?.stack ?? String(e)}\n`);
  return 70;
}
