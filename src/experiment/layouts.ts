// The layouts the iDUS experiment compares, for a base of n layers, as REFERENCE.md's table names
// them: the base, DUS (m = n/4 dropped: SOLAR's 32 → 48), iDUS with groups of n/4 (iDUS-8layer at
// n = 32; iDUS-4 at the default's 16) and iDUS-1. The search's best layout joins them at run time;
// constructions that give the same stack at a shallow base are one layout.

import { layerSpec } from "../analyze/index.js";
import { dusBlendRecipe, dusRecipe, idusRecipe, layersRecipe, recipeLayers, type Recipe } from "../recipe/index.js";
import { ExperimentError } from "./experiment-error.js";

export interface ExperimentLayout {
  /** short name: base, DUS, iDUS-4, iDUS-1, search */
  name: string;
  /** the row of the published table it scales down ("iDUS-8layer"), or how it was found */
  analog: string;
  /** undefined for the base itself */
  recipe?: Recipe;
  /** base layer per stack position */
  layers: number[];
  /** `--layers` syntax, e.g. "0-11,4-15" */
  spec: string;
  /** `dusk build` flags that make it */
  flags: string[];
}

export function experimentLayouts(n: number, model: string): ExperimentLayout[] {
  if (!Number.isSafeInteger(n) || n < 4) {
    throw new ExperimentError("EXPERIMENT_TOO_SHALLOW", `the base has ${n} layers; the experiment drops n/4 and interlocks groups of n/4, which needs at least 4`, { hint: "use a base model with 4 or more layers (the embedded default has 16)" });
  }
  const m = Math.round(n / 4);
  const g = Math.max(1, Math.round(n / 4));
  const base = Array.from({ length: n }, (_, i) => i);
  const of = (name: string, analog: string, recipe: Recipe | undefined, flags: string[]): ExperimentLayout => {
    const layers = recipe ? recipeLayers(recipe).map((l) => l.layer) : base;
    return { name, analog, ...(recipe ? { recipe } : {}), layers, spec: layerSpec(layers), flags };
  };
  return distinctStacks(n, [
    of("base", "base", undefined, []),
    of("DUS", "DUS implementation (SOLAR)", dusRecipe({ model, layers: n, drop: m }), ["--preset", "dus", "--drop", String(m)]),
    of(`iDUS-${g}`, `iDUS-${n === 32 ? 8 : g}layer${n === 32 ? "" : ` (iDUS-8layer scaled to ${n} layers)`}`, idusRecipe({ model, layers: n, drop: m, group: g }), ["--preset", "idus", "--group", String(g), "--drop", String(m)]),
    of("iDUS-1", "iDUS-1layer", idusRecipe({ model, layers: n, drop: m, group: 1 }), ["--preset", "idus", "--group", "1", "--drop", String(m)]),
    // DUS whose seam is SLERPed over the layers on either side (mergekit's gradient examples)
    of("DUS-blend", "DUS with blended seam", dusBlendRecipe({ model, layers: n, drop: m }), ["--preset", "dus-blend", "--drop", String(m)]),
  ]);
}

/** Whether `l` builds the stack `layers`: the same base layers in order, nothing merged. */
export function isStack(l: ExperimentLayout, layers: readonly number[]): boolean {
  return !l.recipe?.mergeMethod && l.layers.length === layers.length && l.layers.every((x, i) => x === layers[i]);
}

/**
 * One layout per distinct stack: at a shallow base two constructions can give the same layers
 * (n = 4: iDUS-g with g = round(n/4) = 1 is iDUS-1; n = 6: iDUS-2 is DUS), and one model is built
 * and measured once. The first keeps its name; its analog says which others it also is.
 */
function distinctStacks(n: number, layouts: ExperimentLayout[]): ExperimentLayout[] {
  const kept: ExperimentLayout[] = [];
  for (const l of layouts) {
    const same = l.recipe?.mergeMethod ? undefined : kept.find((k) => isStack(k, l.layers));
    if (same) same.analog += `; = ${l.name === same.name ? l.analog : l.name} at ${n} layers (the same stack)`;
    else kept.push(l);
  }
  return kept;
}

/** A layout from a layer list (the search's best). */
export function listLayout(name: string, analog: string, model: string, n: number, layers: readonly number[]): ExperimentLayout {
  const spec = layerSpec(layers);
  return { name, analog, recipe: layersRecipe({ model, layers: n, spec }), layers: [...layers], spec, flags: ["--layers", spec] };
}

/** DUS's depth for n layers: 2(n − round(n/4)). */
export function dusDepth(n: number): number {
  return 2 * (n - Math.round(n / 4));
}
