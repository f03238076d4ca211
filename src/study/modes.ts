// The two sizes of `dusk study`: full (≤ 30 minutes on 2 cores: the committed docs/study) and quick
// (≤ 5 minutes: the same factors and layouts on a shorter test text, fewer bootstrap resamples).
// Measured on the shared 2-core machine: quick with 1,600 characters took 118 s at load ~5 but 380 s
// beside a full test suite (183 s CPU), hence 1,200; the full run's time is in docs/study/report.md.

export type StudyMode = "full" | "quick";

export interface StudyModeSettings {
  /** characters of the held-out test text the penalties are measured on (its start, to a line start) */
  testChars: number;
  bootstrapSamples: number;
}

export const STUDY_MODES: Record<StudyMode, StudyModeSettings> = {
  full: { testChars: 8_000, bootstrapSamples: 2_000 },
  quick: { testChars: 1_200, bootstrapSamples: 500 },
};

/** Window of every measurement, in tokens (the shipped bases were trained on 128-token sequences). */
export const STUDY_CTX = 128;
export const BOOTSTRAP_SEED = 1234;
export const BOOTSTRAP_CONFIDENCE = 0.95;
