// `--train` as axolotl's `unfrozen_parameters`: regex patterns over transformers' parameter names;
// every parameter no pattern matches is frozen (requires_grad=False). How axolotl v0.18.0 matches
// them (src/axolotl/utils/freeze.py, LayerNamePattern): every `.` not followed by `+` is made a
// literal dot, the pattern is anchored at the start of the name only (Python's re.match), and a
// trailing `[a:b]` is an index slice, not regex. So the patterns below use plain dots (never `\.`,
// which would become `\\.`), end layer prefixes with a dot so `layers.6.` cannot match layer 60,
// end whole names with `$`, and never end in `]`.

import { DuskError } from "../../errors.js";
import type { StackInfo } from "./stack-info.js";

/** `--train` resolved to stack positions (the CLI resolves seams/new/LIST against the recipe). */
export interface TrainSelection {
  /** every decoder layer, or these stack positions */
  layers: "all" | readonly number[];
  includeEmbed: boolean;
  /** the final norm and the LM head */
  includeHead: boolean;
}

export interface UnfrozenPlan {
  /** undefined when everything trains (axolotl's default: no key emitted) */
  patterns: string[] | undefined;
  /** stack positions that train, ascending */
  layers: number[];
  trainableParams: number;
  /** for the README: what the selection means on this stack (tied head, …) */
  notes: string[];
}

export function unfrozenPlan(stack: StackInfo, train: TrainSelection): UnfrozenPlan {
  const n = stack.params.layers.length;
  const layers = train.layers === "all" ? Array.from({ length: n }, (_, i) => i) : [...new Set(train.layers)].sort((a, b) => a - b);
  for (const l of layers) {
    if (!Number.isSafeInteger(l) || l < 0 || l >= n) {
      throw new DuskError("AXOLOTL_BAD_LAYER", `--train names stack position ${l}, but ${stack.path} has ${n} layers (0–${n - 1})`, {
        hint: `choose positions from 0 to ${n - 1}, e.g. --train ${Math.max(0, n - 2)},${n - 1}`,
      });
    }
  }
  const notes: string[] = [];
  const tied = stack.params.head === 0;
  // A tied head is the embedding matrix itself: training either trains both.
  const embed = train.includeEmbed || (tied && train.includeHead);
  if (tied && train.includeHead !== train.includeEmbed) {
    notes.push(`the head is tied to the embedding (one matrix), so ${train.includeHead ? "training the head trains the embedding" : "training the embedding trains the head"} too`);
  }
  const p = stack.params;
  const trainableParams = layers.reduce((s, l) => s + p.layers[l]!, 0) + (embed ? p.embed : 0) + (train.includeHead ? p.norm + p.head : 0);
  if (layers.length === n && embed && train.includeHead) return { patterns: undefined, layers, trainableParams, notes };
  if (trainableParams === 0) {
    throw new DuskError("AXOLOTL_NOTHING_TRAINS", "the --train selection names no parameters", { hint: "name layers (e.g. --train seams, or 20-27), or embed/head" });
  }
  const patterns: string[] = [];
  if (layers.length > 0) patterns.push(`^${stack.names.layerPrefix}.(${layers.join("|")}).`);
  if (embed) patterns.push(`^${stack.names.embed}$`);
  if (train.includeHead) {
    patterns.push(`^${stack.names.norm}$`);
    if (!tied) patterns.push(`^${stack.names.head}$`);
  }
  return { patterns, layers, trainableParams, notes };
}

/** Compact positions for prose: `6, 7, 20–27`. */
export function describePositions(layers: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < layers.length; ) {
    let j = i;
    while (j + 1 < layers.length && layers[j + 1] === layers[j]! + 1) j++;
    runs.push(j === i ? `${layers[i]}` : `${layers[i]}–${layers[j]}`);
    i = j + 1;
  }
  return runs.join(", ");
}
