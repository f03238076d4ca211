// The two sizes of the experiment on the embedded default: full (≤ 10 minutes on 2 cores, what
// `npm run demo` runs) and quick (≤ 2 minutes, what CI runs): how much text, how many items, how
// many healing tokens and how long a search. Measured budgets: see bench/experiment.mjs.

export type ExperimentMode = "full" | "quick";

export interface ModeSettings {
  /** characters of the test text the next-line items are drawn from */
  testChars: number;
  /** characters of the test text perplexity is measured on (its start) */
  pplChars: number;
  nextlineItems: number;
  /** tokens of continued pretraining per model */
  healTokens: number;
  searchBudgetMs: number;
}

export const EXPERIMENT_MODES: Record<ExperimentMode, ModeSettings> = {
  full: { testChars: Number.POSITIVE_INFINITY, pplChars: 24_000, nextlineItems: 200, healTokens: 40_960, searchBudgetMs: 30_000 },
  quick: { testChars: 20_000, pplChars: 8_000, nextlineItems: 60, healTokens: 6_144, searchBudgetMs: 8_000 },
};
