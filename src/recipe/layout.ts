// The output layer stack of a Recipe, in order, and a compact text form of it for humans
// ("0..23, 8..31"). Not a plan: no tensors, no checkpoint headers.

import type { Recipe } from "./recipe.js";

export interface StackLayer {
  /** the source model reference, as written in the recipe */
  model: string;
  /** layer index in the source model */
  layer: number;
  /** which slice of the recipe it comes from */
  slice: number;
  /** its position within that slice (0-based), which drives scale gradients */
  indexInSlice: number;
}

/** Every output layer, in output order; zero-length slices contribute nothing. */
export function recipeLayers(recipe: Recipe): StackLayer[] {
  const layers: StackLayer[] = [];
  recipe.slices.forEach((slice, sliceIndex) => {
    const { model, layerRange } = slice.sources[0]; // a merged slice is listed by its first source
    for (let layer = layerRange[0]; layer < layerRange[1]; layer++) {
      layers.push({ model, layer, slice: sliceIndex, indexInSlice: layer - layerRange[0] });
    }
  });
  return layers;
}

/**
 * Runs of consecutive source layers, "0..23, 8..31"; a run breaks at a slice boundary, so
 * iDUS-8 reads "0..7, 8..15, 8..15, …" like the paper. With more than one model each run is
 * prefixed by a letter in order of first appearance ("a:0..23, b:8..31", the `layers` preset
 * syntax), and the letters are listed at the end ("a=org/one, b=org/two").
 */
export function describeLayout(layers: readonly StackLayer[]): string {
  const letters = new Map<string, string>();
  for (const l of layers) if (!letters.has(l.model)) letters.set(l.model, modelLabel(letters.size));
  const prefixed = letters.size > 1;
  const runs: string[] = [];
  let runStart: StackLayer | undefined;
  let previous: StackLayer | undefined;
  const close = (): void => {
    if (runStart === undefined || previous === undefined) return;
    const prefix = prefixed ? `${letters.get(runStart.model)}:` : "";
    runs.push(runStart.layer === previous.layer ? `${prefix}${runStart.layer}` : `${prefix}${runStart.layer}..${previous.layer}`);
  };
  for (const l of layers) {
    const continues = previous !== undefined && l.slice === previous.slice && l.model === previous.model && l.layer === previous.layer + 1;
    if (!continues) {
      close();
      runStart = l;
    }
    previous = l;
  }
  close();
  const text = runs.join(", ");
  return prefixed ? `${text} (${[...letters].map(([model, letter]) => `${letter}=${model}`).join(", ")})` : text;
}

/** a, b, …, z, then m27, m28, … (1-based) so labels stay unique. */
function modelLabel(index: number): string {
  return index < 26 ? String.fromCharCode(97 + index) : `m${index + 1}`;
}
