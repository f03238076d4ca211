// Rejects command-line flags a command does not declare. citty parses with node:util parseArgs in
// non-strict mode, so `--jsn` or `--grop 8` were silently ignored (and `8` became a positional).
// This checks argv against the command's citty `args` before citty runs; it does not parse values.

import { DuskError } from "../errors.js";

/** A command line dusk cannot act on (unknown flag, …); the CLI exits 2 for it. */
export class UsageError extends DuskError {}

// citty's CommandDef, reduced to what is read here (args/subCommands may be values, functions or promises).
interface CommandLike {
  args?: unknown;
  subCommands?: unknown;
}

interface ArgDefLike {
  type?: string;
  alias?: string | string[];
}

type FlagKind = "value" | "switch";

const resolve = async <T>(v: unknown): Promise<T> => (typeof v === "function" ? await (v as () => T | Promise<T>)() : await (v as T | Promise<T>));

const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/_/g, "-").toLowerCase();
const camel = (s: string) => s.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** flag name (without dashes) → whether it takes a value; every spelling citty accepts. */
async function knownFlags(cmd: CommandLike): Promise<Map<string, FlagKind>> {
  const defs = (await resolve<Record<string, ArgDefLike> | undefined>(cmd.args)) ?? {};
  const known = new Map<string, FlagKind>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    const kind: FlagKind = def.type === "string" || def.type === "enum" ? "value" : "switch";
    const aliases = def.alias === undefined ? [] : Array.isArray(def.alias) ? def.alias : [def.alias];
    for (const n of [name, kebab(name), camel(name), ...aliases]) {
      known.set(n, kind);
      if (kind === "switch") known.set(`no-${n}`, "switch");
    }
  }
  return known;
}

/**
 * Throws a UsageError for the first flag in `argv` (the arguments after `commandPath`) that the
 * command does not declare, with the nearest declared one as a hint. Values of value-taking flags
 * (`--scale -0.5`), negative numbers, `-` (stdin) and everything after `--` are not flags.
 * A command with subcommands is checked at the subcommand the first positional names.
 */
export async function rejectUnknownFlags(cmd: CommandLike, argv: readonly string[], commandPath: string): Promise<void> {
  const subs = await resolve<Record<string, unknown> | undefined>(cmd.subCommands);
  const known = await knownFlags(cmd);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return;
    if (!arg.startsWith("-") || arg === "-" || /^-\.?\d/.test(arg)) {
      if (subs && Object.hasOwn(subs, arg)) {
        return rejectUnknownFlags(await resolve<CommandLike>(subs[arg]), argv.slice(i + 1), `${commandPath} ${arg}`);
      }
      continue;
    }
    const long = arg.startsWith("--");
    const name = long ? arg.slice(2).split("=", 1)[0]! : arg.slice(1, 2);
    const kind = known.get(name);
    if (kind === undefined) {
      const shown = long ? `--${name}` : `-${name}`;
      const near = nearest(name, [...known.keys()].filter((k) => k.length > 1 && !k.startsWith("no-") && k === k.toLowerCase()));
      throw new UsageError("usage.unknown-flag", `dusk ${commandPath} has no option ${shown}`, {
        hint: `${near.length > 0 ? `did you mean ${near.map((n) => `--${n}`).join(" or ")}? ` : ""}see dusk ${commandPath} --help`,
      });
    }
    // `--name value` / `-o value`: skip the value; `--name=value` / `-ovalue` carry it.
    const attached = long ? arg.includes("=") : arg.length > 2;
    if (kind === "value" && !attached) i++;
  }
}

/** The candidates nearest to `name` within edit distance 2 (or starting with it), if any. */
function nearest(name: string, candidates: string[]): string[] {
  let best: string[] = [];
  let bestDistance = 3;
  for (const c of new Set(candidates)) {
    const d = c.startsWith(name) && name.length >= 3 ? 1 : editDistance(name, c);
    if (d < bestDistance) [best, bestDistance] = [[c], d];
    else if (d === bestDistance) best.push(c);
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
