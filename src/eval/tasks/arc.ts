// ARC-Challenge (allenai/ai2_arc, 25-shot from train, acc_norm on the leaderboard).
// Prompt: "Question: {question}\nAnswer:", each choice scored as " " + choice text.

import { invalidValue, stringField, stringListField, type DatasetRow } from "../dataset.js";
import { choiceTaskParts, type EvalTask } from "../task.js";

export interface ArcDoc {
  id: string;
  query: string;
  choices: string[];
  gold: number;
}

// lm-eval maps numeric answer keys to letters, then takes the letter's position in A–E. The
// order of choices.label is never read: a row labelled ["B", "A", …] with key "A" has gold 0.
const NUMBER_TO_LETTER: Readonly<Record<string, string>> = { "1": "A", "2": "B", "3": "C", "4": "D", "5": "E" };
const LETTERS = ["A", "B", "C", "D", "E"];

export const arcChallenge: EvalTask<ArcDoc> = {
  name: "arc_challenge",
  version: 0,
  dataset: { repo: "allenai/ai2_arc", config: "ARC-Challenge", dir: "ARC-Challenge", evalSplit: "test", shotSplit: "train" },
  defaultShots: 25,
  shotSelection: "sample",
  metricNames: ["acc", "acc_norm"],
  leaderboardMetric: "acc_norm",
  parseDoc(row: DatasetRow): ArcDoc {
    const question = stringField(row, "question");
    const choices = stringListField(row, "choices.text");
    const answerKey = stringField(row, "answerKey");
    const gold = LETTERS.indexOf(Object.hasOwn(NUMBER_TO_LETTER, answerKey) ? NUMBER_TO_LETTER[answerKey]! : answerKey);
    // lm-eval raises on a key outside A–E; one past the choices would crash it as a shot and
    // score 0 as an item, so both are refused here, naming the row.
    if (gold < 0 || gold >= choices.length) {
      throw invalidValue(row, "answerKey", `A–E or 1–5, within the ${choices.length} choices`, JSON.stringify(answerKey));
    }
    const id = typeof row.value.id === "string" ? row.value.id : String(row.index);
    return { id, query: "Question: " + question + "\nAnswer:", choices, gold };
  },
  ...choiceTaskParts<ArcDoc>(),
};
