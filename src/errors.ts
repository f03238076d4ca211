// Typed errors with hints: every failure a user can cause is a DuskError with a stable `code`,
// a message that names the file/field/offset, what was expected and what was found, and a hint.
// The CLI prints message + hint and exits non-zero; nothing below src/cli prints or exits.

export class DuskError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

export interface FormatErrorDetails {
  file: string;
  offset?: number;
  field?: string;
  expected?: string;
  actual?: string;
  hint?: string;
  cause?: unknown;
}

/** A checkpoint, index or dataset file that is not what it claims to be. */
export class FormatError extends DuskError {
  readonly file: string;
  readonly offset: number | undefined;
  readonly field: string | undefined;
  readonly expected: string | undefined;
  readonly actual: string | undefined;
  constructor(code: string, what: string, d: FormatErrorDetails) {
    const where = [d.file, d.field, d.offset === undefined ? undefined : `offset ${d.offset}`]
      .filter((x) => x !== undefined)
      .join(", ");
    const detail = [
      d.expected === undefined ? undefined : `expected ${d.expected}`,
      d.actual === undefined ? undefined : `found ${d.actual}`,
    ]
      .filter((x) => x !== undefined)
      .join(", ");
    super(code, `${where}: ${what}${detail ? ` (${detail})` : ""}`, { hint: d.hint, cause: d.cause });
    this.file = d.file;
    this.offset = d.offset;
    this.field = d.field;
    this.expected = d.expected;
    this.actual = d.actual;
  }
}

export interface RecipeErrorDetails {
  /** e.g. `slices[3].sources[0].layer_range` */
  path?: string;
  file?: string;
  line?: number;
  col?: number;
  hint?: string;
  cause?: unknown;
}

/** A recipe (preset options or mergekit YAML) that cannot be planned. */
export class RecipeError extends DuskError {
  readonly path: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly col: number | undefined;
  constructor(code: string, what: string, d: RecipeErrorDetails = {}) {
    const pos = d.line === undefined ? "" : `:${d.line}:${d.col ?? 1}`;
    // A message that already starts with its path (`--drop must be …`) is not prefixed twice.
    const path = d.path !== undefined && what.startsWith(d.path) ? undefined : d.path;
    const where = [d.file === undefined ? undefined : `${d.file}${pos}`, path].filter(Boolean).join(" ");
    super(code, where ? `${where}: ${what}` : what, { hint: d.hint, cause: d.cause });
    this.path = d.path;
    this.file = d.file;
    this.line = d.line;
    this.col = d.col;
  }
}

/** A plan that is well-formed but cannot be executed against these sources. */
export class PlanError extends DuskError {}

/** Build/verify/IO failures: output paths, interrupted writes, mismatched bytes. */
export class BuildError extends DuskError {}

/** Model/runtime failures: llama.cpp, the engine, sampling options, prompts. */
export class RuntimeError extends DuskError {}

/** Hub and HTTP failures (404, 401, network, rate limits). */
export class HubError extends DuskError {
  readonly status: number | undefined;
  constructor(code: string, message: string, options: { hint?: string; cause?: unknown; status?: number } = {}) {
    super(code, message, options);
    this.status = options.status;
  }
}

/** Evaluation failures: unknown tasks, bad datasets, server errors. */
export class EvalError extends DuskError {}

/** Layer analysis and layout search: calibration text, budgets, candidate depths. */
export class AnalyzeError extends DuskError {}

export function isDuskError(e: unknown): e is DuskError {
  return e instanceof DuskError;
}
