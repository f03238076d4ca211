// The task registry: names a user can ask for → tasks. "mmlu" expands to its 57 subjects;
// "leaderboard" to all six benchmarks; "nextline" is built from a text the caller passes.
// Not here: running them (runner.ts).

import { EvalError } from "../errors.js";
import { arcChallenge } from "./tasks/arc.js";
import { gsm8k } from "./tasks/gsm8k.js";
import { hellaswag } from "./tasks/hellaswag.js";
import { mmluTasks } from "./tasks/mmlu.js";
import { nextLineTask, type NextLineOptions } from "./tasks/nextline.js";
import { truthfulqaMc2 } from "./tasks/truthfulqa.js";
import { winogrande } from "./tasks/winogrande.js";
import type { EvalTask } from "./task.js";

/** Leaderboard order: ARC, HellaSwag, MMLU, TruthfulQA, Winogrande, GSM8K. */
export const LEADERBOARD_TASK_NAMES = ["arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc2", "winogrande", "gsm8k"] as const;

const SINGLE_TASKS: ReadonlyMap<string, EvalTask<any>> = new Map<string, EvalTask<any>>(
  [arcChallenge, hellaswag, truthfulqaMc2, winogrande, gsm8k, ...mmluTasks].map((t) => [t.name, t]),
);

/** Every task by its own name (MMLU subjects as `mmlu_<subject>`). */
export function allTasks(): EvalTask<any>[] {
  return [...SINGLE_TASKS.values()];
}

/** What the tasks built in memory are built from; `nextline` and `nextword` need `text`. */
export type BuiltTaskInputs = Partial<NextLineOptions>;

/**
 * Resolves names ("arc_challenge", "mmlu", "mmlu_anatomy", "leaderboard", "nextline", "nextword")
 * to tasks, without duplicates. "nextline" and "nextword" are built here from `built.text`.
 */
export function resolveTasks(names: readonly string[], built: BuiltTaskInputs = {}): EvalTask<any>[] {
  const out = new Map<string, EvalTask<any>>();
  const add = (name: string): void => {
    if (name === "leaderboard") return LEADERBOARD_TASK_NAMES.forEach(add);
    if (name === "mmlu") return mmluTasks.forEach((t) => void out.set(t.name, t));
    if (name === "nextline" || name === "nextword") {
      if (out.has(name)) return;
      if (built.text === undefined) {
        throw new EvalError("EVAL_NEXTLINE_NO_TEXT", `${name} builds its items from a text, and none was given`, {
          hint: "Pass the held-out text: --text held-out.txt",
        });
      }
      return void out.set(name, nextLineTask({ ...built, text: built.text, unit: name === "nextword" ? "word" : "line" }));
    }
    const task = SINGLE_TASKS.get(name);
    if (task === undefined) {
      throw new EvalError("EVAL_UNKNOWN_TASK", `unknown task "${name}"`, {
        hint: `Known: leaderboard, ${LEADERBOARD_TASK_NAMES.join(", ")}, mmlu_<subject>, or nextline / nextword (with --text).`,
      });
    }
    out.set(task.name, task);
  };
  names.forEach(add);
  return [...out.values()];
}
