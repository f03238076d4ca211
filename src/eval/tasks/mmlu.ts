// MMLU (cais/mmlu, one task per subject, 5-shot from the first 5 dev rows, acc; the leaderboard
// reports the unweighted mean over the 57 subjects). Item text and choices " A".." D". Like every
// lm-eval MultipleChoiceTask it also reports acc_norm, which equals acc here: each choice is one letter.

import { intField, invalidValue, stringField, stringListField, type DatasetRow } from "../dataset.js";
import { accuracy, argmax, normalizedAccuracy } from "../metrics.js";
import { pythonStrip } from "../python-strings.js";
import { choiceRequests, logprobsOf, type EvalTask } from "../task.js";

export const MMLU_SUBJECTS = [
  "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge", "college_biology",
  "college_chemistry", "college_computer_science", "college_mathematics", "college_medicine", "college_physics",
  "computer_security", "conceptual_physics", "econometrics", "electrical_engineering", "elementary_mathematics",
  "formal_logic", "global_facts", "high_school_biology", "high_school_chemistry", "high_school_computer_science",
  "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
  "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
  "high_school_psychology", "high_school_statistics", "high_school_us_history", "high_school_world_history",
  "human_aging", "human_sexuality", "international_law", "jurisprudence", "logical_fallacies", "machine_learning",
  "management", "marketing", "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition",
  "philosophy", "prehistory", "professional_accounting", "professional_law", "professional_medicine",
  "professional_psychology", "public_relations", "security_studies", "sociology", "us_foreign_policy", "virology",
  "world_religions",
] as const;

export type MmluSubject = (typeof MMLU_SUBJECTS)[number];

const LETTERS = ["A", "B", "C", "D"] as const;

export interface MmluDoc {
  query: string;
  gold: number;
}

/** The MMLU task for one subject, named `mmlu_<subject>`. */
export function mmluSubjectTask(subject: MmluSubject): EvalTask<MmluDoc> {
  const description = `The following are multiple choice questions (with answers) about ${subject.replaceAll("_", " ")}.`;
  return {
    name: `mmlu_${subject}`,
    group: "mmlu",
    version: 1,
    dataset: { repo: "cais/mmlu", config: subject, dir: subject, evalSplit: "test", shotSplit: "dev" },
    defaultShots: 5,
    shotSelection: "first-n",
    metricNames: ["acc", "acc_norm"],
    leaderboardMetric: "acc",
    parseDoc(row: DatasetRow): MmluDoc {
      const question = pythonStrip(stringField(row, "question"));
      const choices = stringListField(row, "choices");
      if (choices.length !== 4) throw invalidValue(row, "choices", "4 choices", `${choices.length}`);
      const gold = intField(row, "answer");
      if (gold < 0 || gold > 3) throw invalidValue(row, "answer", "0..3", String(gold));
      const lines = choices.map((c, i) => `${LETTERS[i]!}. ${c}\n`).join("");
      return { query: `${question}\n${lines}Answer:`, gold };
    },
    description: () => description,
    docToText: (doc) => doc.query,
    docToTarget: (doc) => " " + LETTERS[doc.gold]!,
    buildRequests: (_doc, context) => choiceRequests(context, LETTERS),
    choices: () => [...LETTERS],
    score(doc, responses) {
      const lls = logprobsOf(responses);
      return { metrics: { acc: accuracy(lls, doc.gold), acc_norm: normalizedAccuracy(lls, LETTERS, doc.gold) }, prediction: argmax(lls), gold: doc.gold };
    },
  };
}

export const mmluTasks: readonly EvalTask<MmluDoc>[] = MMLU_SUBJECTS.map(mmluSubjectTask);
