// Public surface of the evaluation core: tasks, protocols, datasets, metrics, the Scorer
// contract, the runner, results and comparison. Backends implement `Scorer` elsewhere.

export { PythonRandom } from "./python-random.js";
export { pythonCapitalize, pythonRstrip, pythonStrip } from "./python-strings.js";
export type { EvalRequest, GenerateRequest, GenerateResult, LoglikelihoodRequest, LoglikelihoodResult, Scorer, ScorerDescription } from "./scorer.js";
export { cutAtStopStrings, splitTrailingSpaces } from "./scorer.js";
export type { BuiltDataset, ChoiceDoc, DocScore, EvalTask, ProtocolName, ScorerResponse, ShotSelection, TaskDataset } from "./task.js";
export { assembleContext } from "./task.js";
export { arcChallenge } from "./tasks/arc.js";
export { hellaswag, hellaswagPreprocess } from "./tasks/hellaswag.js";
export { MMLU_SUBJECTS, mmluSubjectTask, mmluTasks, type MmluSubject } from "./tasks/mmlu.js";
export { TRUTHFULQA_QA_PROMPT, truthfulqaMc2 } from "./tasks/truthfulqa.js";
export { winogrande } from "./tasks/winogrande.js";
export { GSM8K_MAX_TOKENS, GSM8K_STOP_STRINGS, gsm8k } from "./tasks/gsm8k.js";
export { buildNextLineDocs, NEXTLINE_DEFAULT_CONTEXT_LINES, NEXTLINE_DEFAULT_SEED, nextLineTask, type NextLineDoc, type NextLineOptions } from "./tasks/nextline.js";
export { allTasks, LEADERBOARD_TASK_NAMES, resolveTasks, type BuiltTaskInputs } from "./registry.js";
export { loadSplit, taskDataFiles, type DatasetRow, type TaskDataFile } from "./dataset.js";
export * from "./metrics.js";
export { PROTOCOL_SEEDS, prepareDocs, type PreparedDoc, type PrepareOptions } from "./protocol.js";
export { runTask, type EvalEvent, type RunTaskOptions, type TaskResult } from "./runner.js";
export { readSampleLog, type SampleLogHeader, type SampleRecord } from "./sample-log.js";
export { buildResults, parseResultsFile, type ResultsFile, type ResultsMeta } from "./results.js";
export { compare, LEADERBOARD_COLUMNS, renderMarkdown, renderSvg, type ComparisonRow, type ComparisonTable, type CompareInput } from "./compare.js";
export { CharBigramScorer, CharNgramScorer, type CharNgramOptions } from "./char-ngram-scorer.js";
export { manifestPath, readDatasetManifest, recordDatasetPull, taskDatasetSource, type TaskDatasetSource } from "./dataset-manifest.js";
export { summarizeDatasetRevisions } from "./results.js";
