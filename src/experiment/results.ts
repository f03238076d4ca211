// results.json of `dusk experiment`: everything the report says, as numbers (the report and its
// tests recompute every table cell from this). Paths are relative to the report directory.

import type { LayerMap, StackPosition } from "../analyze/index.js";
import type { LayoutMetrics } from "../plan/types.js";
import type { Measurement } from "./measure.js";

export const RESULTS_VERSION = 1;

export interface SeamSummary {
  count: number;
  /** mean and largest measured seam distance (angular, mean over tokens); 0 without seams */
  mean: number;
  max: number;
  /** mean over every stack position of its input's distance from the base's input: the drift */
  drift: number;
  positions: StackPosition[];
}

export interface HealSummary {
  tokens: number;
  steps: number;
  seconds: number;
  tokens_per_s: number;
  /** held-out loss (the test text) before the first and after the last step */
  initial_loss: number | null;
  final_loss: number;
  /** [step, training loss] */
  curve: Array<[number, number]>;
  /** the healed model, relative to the report */
  model: string;
}

export interface LayoutResult {
  name: string;
  analog: string;
  spec: string;
  depth: number;
  flags: string[];
  static: LayoutMetrics | null;
  seams: SeamSummary | null;
  /** the engine's perplexity of the layout run virtually on the calibration text */
  calibration_ppl: number;
  /** the built model (HF), relative to the report; the base: its own path */
  model: string;
  before: Measurement;
  after?: Measurement;
  heal?: HealSummary;
  /** an exported healing job (real base models), relative to the report */
  job?: string;
  /** the search's best layout coincides with this row */
  also?: string;
}

export interface SearchSummary {
  depth: number;
  ranked: number;
  candidates: number;
  budget_s: number;
  seconds: number;
  /** best first: name, spec, kind, calibration ppl */
  top: Array<{ name: string; spec: string; kind: string; ppl: number; seams: number }>;
  /** the row that holds the best layout */
  best_row: string;
}

export interface ExperimentResults {
  version: number;
  dusk: string;
  mode: "full" | "quick";
  date: string;
  machine: { cpu: string; cores: number; memory_gb: number; platform: string; node: string; device: string };
  base: { path: string; layers: number; params: number; embedded: boolean };
  texts: { source: string; train_chars: number; calibration_chars: number; test_chars: number; held_out_start: number };
  settings: {
    ctx: number;
    stride: number;
    /** characters of the test text's start that perplexity is measured on */
    ppl_chars: number;
    nextword_items: number;
    nextword_seed: number;
    heal: "local" | "export" | "none";
    heal_tokens: number;
    heal_lr: number;
    heal_seq_len: number;
    search_budget_s: number;
    tasks: string[];
    limit: number | null;
    prompt: string;
    continuation_tokens: number;
    /** the server command template when models were measured through one (else llama.cpp here) */
    server?: string;
  };
  base_map: LayerMap;
  layouts: LayoutResult[];
  search: SearchSummary;
  /** wall seconds per phase, and the total */
  timings: Record<"analyze" | "search" | "build" | "measure" | "heal" | "report" | "total", number>;
}
