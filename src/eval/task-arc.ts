// ARC-Challenge (allenai/ai2_arc, 25-shot from train, acc_norm on the leaderboard).
// Prompt: "Question: {question}\nAnswer:", each choice scored as " " + choice text.

import { invalidValue, stringField, stringListField, type DatasetRow } from "./dataset.js";
import { choiceTaskParts, type EvalTask } from "./task.js";


export interface ArcDoc {
  id: string;
  query: string;
  choices: string[];
  gold: number;
}

// lm-eval maps numeric answer keys to letters before looking them up in A–E.
const NUMBER_TO_LETTER: Readonly<Record<string, string>> = { "1": "A", "2": "B", "3": "C", "4": "D", "5": "E" };

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
    const labels = stringListField(row, "choices.label");
    const answerKey = stringField(row, "answerKey");
    let gold = labels.indexOf(answerKey);
    if (gold === -1) gold = "ABCDE".indexOf(Object.hasOwn(NUMBER_TO_LETTER, answerKey) ? NUMBER_TO_LETTER[answerKey]! : answerKey);
    if (answerKey.length !== 1 || gold < 0 || gold >= choices.length || labels.length !== choices.length) {
      throw invalidValue(row, "answerKey", `one of choices.label (${labels.join(", ")})`, JSON.stringify(answerKey));
    }
    const id = typeof row.value.id === "string" ? row.value.id : String(row.index);
    return { id, query: "Question: " + question + "\nAnswer:", choices, gold };
  },
  ...choiceTaskParts<ArcDoc>(),
};
