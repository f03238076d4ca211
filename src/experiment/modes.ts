// The two sizes of the experiment on the embedded default: full (≤ 10 minutes on 2 cores, what
// `npm run demo` runs) and quick (≤ 2 minutes, what CI runs): how much text, how many items, how
// many healing tokens and how long a search. Measured budgets: see bench/experiment.mjs.

export type ExperimentMode = "full" | "quick";

export interface ModeSettings {
  /** characters of the calibration text (layer analysis, search) */
  calibrationChars: number;
  /** characters of the test text the next-word items are drawn from */
  testChars: number;
  /** characters of the test text perplexity is measured on (its start) */
  pplChars: number;
  nextwordItems: number;
  /** tokens of continued pretraining per model */
  healTokens: number;
  searchBudgetMs: number;
}

export const EXPERIMENT_MODES: Record<ExperimentMode, ModeSettings> = {
  full: { calibrationChars: Number.POSITIVE_INFINITY, testChars: Number.POSITIVE_INFINITY, pplChars: 16_000, nextwordItems: 300, healTokens: 32_768, searchBudgetMs: 30_000 },
  quick: { calibrationChars: 3_000, testChars: 20_000, pplChars: 4_000, nextwordItems: 80, healTokens: 4_096, searchBudgetMs: 8_000 },
};
