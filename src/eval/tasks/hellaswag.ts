// HellaSwag (Rowan/hellaswag, 10-shot from train, acc_norm on the leaderboard), with lm-eval's
// preprocessing of the WikiHow artefacts. Query: preprocess(activity_label + ": " + ctx).

import { intField, invalidValue, stringField, stringListField, type DatasetRow } from "../dataset.js";
import { pythonCapitalize, pythonStrip } from "../python-strings.js";
import { choiceTaskParts, type EvalTask } from "../task.js";

export interface HellaswagDoc {
  query: string;
  choices: string[];
  gold: number;
}

/**
 * lm-eval's HellaSwag preprocess, in this order: strip; " [title]" → ". "; remove `\[.*?\]`
 * (Python's `.` excludes only "\n"); "  " → " " in one left-to-right pass.
 */
export function hellaswagPreprocess(text: string): string {
  return pythonStrip(text)
    .replaceAll(" [title]", ". ")
    .replace(/\[[^\n]*?\]/g, "")
    .replaceAll("  ", " ");
}

export const hellaswag: EvalTask<HellaswagDoc> = {
  name: "hellaswag",
  version: 0,
  dataset: { repo: "Rowan/hellaswag", config: undefined, dir: "data", evalSplit: "validation", shotSplit: "train" },
  defaultShots: 10,
  shotSelection: "sample",
  metricNames: ["acc", "acc_norm"],
  leaderboardMetric: "acc_norm",
  parseDoc(row: DatasetRow): HellaswagDoc {
    const ctx = stringField(row, "ctx_a") + " " + pythonCapitalize(stringField(row, "ctx_b"));
    const choices = stringListField(row, "endings").map(hellaswagPreprocess);
    const gold = intField(row, "label");
    if (gold < 0 || gold >= choices.length) throw invalidValue(row, "label", `0..${choices.length - 1}`, String(gold));
    return { query: hellaswagPreprocess(stringField(row, "activity_label") + ": " + ctx), choices, gold };
  },
  ...choiceTaskParts<HellaswagDoc>(),
};
