// "Which line comes next" (nextline) and "which word comes next" (nextword): multiple-choice tasks
// built from a held-out text, for models too small for the leaderboard tasks (the iDUS
// experiment's toys). A nextline item is a few lines of the text, then the true next line among
// three distractor lines from elsewhere in the same text; a nextword item also gives the true line
// up to its middle, and the choices are the word that follows and three words that follow the
// middles of other lines. Scored by the same runner and metrics as ARC (one loglikelihood per
// choice, acc and acc_norm; chance is 25%).
// Not here: reading the text from a file (the CLI), running (runner.ts).

import { createHash } from "node:crypto";
import { EvalError } from "../../errors.js";
import { PythonRandom } from "../python-random.js";
import { pythonRstrip, pythonStrip } from "../python-strings.js";
import { choiceTaskParts, type ChoiceDoc, type EvalTask } from "../task.js";

export const NEXTLINE_DEFAULT_SEED = 1234;
export const NEXTLINE_DEFAULT_CONTEXT_LINES = 4;
const DISTRACTORS = 3;
// Draws per distractor before giving up: a text whose other lines are nearly all copies of the
// true one would otherwise loop for ever.
const MAX_DRAWS_PER_DISTRACTOR = 1000;

export interface NextLineOptions {
  /** the held-out text; lines end at "\n" (a "\r" before it is dropped) */
  text: string;
  /** items to build; default (and at most) every eligible line */
  items?: number;
  /** seed of the CPython-compatible generator that picks the items and distractors */
  seed?: number;
  /** lines of context before the true line, verbatim (blank lines and speaker labels included) */
  contextLines?: number;
  /**
   * "line" (nextline): which whole line comes next. "word" (nextword): the true line up to its
   * middle is given too, and the choices are words: which one comes next.
   */
  unit?: "line" | "word";
}

export interface NextLineDoc extends ChoiceDoc {
  /** 0-based index of the true line in the text */
  line: number;
}

/**
 * A line may be the answer or a distractor when it has text and does not end in ":" — in a play
 * script those are speaker labels ("First Citizen:"), which would give themselves away.
 */
function isChoiceLine(line: string): boolean {
  return pythonStrip(line) !== "" && !pythonRstrip(line).endsWith(":");
}

/** Words (separated by spaces) a line needs to be cut into a head and the next word. */
const CUT_MIN_WORDS = 4;

/**
 * A line cut at the run of spaces nearest its middle (in UTF-16 units; the earlier on a tie): the
 * head, and the next word with the spaces before it (" word"). Undefined for lines of fewer than
 * 4 space-separated words.
 */
export function cutLine(line: string): { head: string; word: string } | undefined {
  const trimmed = pythonRstrip(line);
  if (trimmed.split(" ").filter((w) => w !== "").length < CUT_MIN_WORDS) return undefined;
  let best = -1;
  for (let i = trimmed.indexOf(" ", 1); i !== -1; i = trimmed.indexOf(" ", i + 1)) {
    if (trimmed[i - 1] === " ") continue; // the first space of a run
    if (best === -1 || Math.abs(2 * i - trimmed.length) < Math.abs(2 * best - trimmed.length)) best = i;
  }
  return best <= 0 ? undefined : { head: line.slice(0, best), word: /^ +[^ ]+/.exec(line.slice(best))![0] };
}

/**
 * Builds the documents, reproducibly in CPython with `random.Random(seed)`:
 * 1. targets = indices t ≥ contextLines with isChoiceLine(lines[t]) (and, for unit "word", a
 *    cutLine); pool = all such indices; a line's answer is the line, or its cut's word;
 * 2. when items < len(targets): targets = sorted(rnd.sample(targets, items));
 * 3. per target, in text order: draw j = pool[rnd.randrange(len(pool))] until three distractors
 *    are found, skipping j inside the item's window [t − contextLines, t] and answers equal to the
 *    true one or to a distractor already drawn; then gold = rnd.randrange(4), and the true line
 *    is inserted at index gold among the distractors (in draw order).
 * The query is the window's lines, each followed by "\n"; the runner's split moves that newline
 * onto each choice, so a choice is scored as "\n" + line, the way the text continues. For
 * nextword the query goes on with the true line's head, and a choice is " word".
 */
export function buildNextLineDocs(opts: NextLineOptions): NextLineDoc[] {
  const seed = opts.seed ?? NEXTLINE_DEFAULT_SEED;
  const k = opts.contextLines ?? NEXTLINE_DEFAULT_CONTEXT_LINES;
  if (!Number.isSafeInteger(k) || k < 1) throw new EvalError("EVAL_BAD_ARG", `nextline: contextLines must be a positive integer, got ${k}`);
  if (opts.items !== undefined && (!Number.isSafeInteger(opts.items) || opts.items < 1)) {
    throw new EvalError("EVAL_BAD_ARG", `nextline: items must be a positive integer, got ${opts.items}`);
  }
  const name = taskName(opts);
  const lines = opts.text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  const cuts = opts.unit === "word" ? lines.map(cutLine) : undefined;
  // what a choice is: the whole line, or the word after the middle of the line
  const answer = (i: number): string => (cuts ? cuts[i]!.word : lines[i]!);
  const pool: number[] = [];
  lines.forEach((l, i) => void (isChoiceLine(l) && (!cuts || cuts[i]) && pool.push(i)));
  let targets = pool.filter((i) => i >= k);
  if (new Set(pool.map(answer)).size < DISTRACTORS + 1 || targets.length === 0) {
    throw new EvalError("EVAL_NEXTLINE_TEXT", `${name}: the text has ${targets.length} eligible line(s) after the first ${k} and too few distinct lines to draw ${DISTRACTORS} distractors`, {
      hint: "Pass a longer held-out text (hundreds of lines or more).",
    });
  }
  const rnd = new PythonRandom(seed);
  if (opts.items !== undefined && opts.items < targets.length) targets = rnd.sample(targets, opts.items).sort((a, b) => a - b);
  return targets.map((t) => {
    const truth = answer(t);
    const distractors: string[] = [];
    for (let draws = 0; distractors.length < DISTRACTORS; draws++) {
      if (draws === MAX_DRAWS_PER_DISTRACTOR * DISTRACTORS) {
        throw new EvalError("EVAL_NEXTLINE_TEXT", `${name}: could not find ${DISTRACTORS} distinct distractors for line ${t + 1} ("${truth}")`, {
          hint: "The text repeats this line almost everywhere; pass a more varied text.",
        });
      }
      const j = pool[rnd.randbelow(pool.length)]!;
      if (j >= t - k && j <= t) continue;
      const choice = answer(j);
      if (choice !== truth && !distractors.includes(choice)) distractors.push(choice);
    }
    const gold = rnd.randbelow(DISTRACTORS + 1);
    const choices = [...distractors];
    choices.splice(gold, 0, truth);
    const query = lines.slice(t - k, t).map((l) => l + "\n").join("") + (cuts ? cuts[t]!.head : "");
    return { line: t, query, choices, gold };
  });
}

const taskName = (opts: NextLineOptions): "nextline" | "nextword" => (opts.unit === "word" ? "nextword" : "nextline");

/**
 * The nextline (or, with unit "word", nextword) task over `text` (see buildNextLineDocs).
 * Zero-shot; acc and acc_norm, acc_norm the headline (it does not favour short choices). Usable
 * with runTask and any Scorer, no data dir.
 */
export function nextLineTask(opts: NextLineOptions): EvalTask<NextLineDoc> {
  const docs = buildNextLineDocs(opts);
  const sha = createHash("sha256").update(opts.text).digest("hex");
  const description =
    `${docs.length} items from a text of ${opts.text.split("\n").length} lines (sha256 ${sha.slice(0, 16)}), ` +
    `seed ${opts.seed ?? NEXTLINE_DEFAULT_SEED}, ${opts.contextLines ?? NEXTLINE_DEFAULT_CONTEXT_LINES} context lines` +
    (opts.unit === "word" ? ", the next word after the middle of a line" : "");
  return {
    name: taskName(opts),
    version: 0,
    dataset: { kind: "built", docs, description },
    defaultShots: 0,
    shotSelection: "none",
    metricNames: ["acc", "acc_norm"],
    leaderboardMetric: "acc_norm",
    parseDoc(): NextLineDoc {
      throw new EvalError("EVAL_BUILT_TASK", `${taskName(opts)} builds its documents from a text; it reads no dataset rows`);
    },
    // "": the query ends in "\n" and each choice is the next line itself, or the query ends in the
    // line's head and each choice is a word with the space before it
    ...choiceTaskParts<NextLineDoc>(""),
  };
}
