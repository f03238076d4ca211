// Static layer-distance metrics of a stack: computed from the layer list alone, before any
// weights are read. A "jump" is the step in base-layer index between adjacent layers.

import type { LayerJump, LayoutMetrics, PlannedLayer } from "./types.js";

/**
 * `sameModel(a, b)` says whether two source indices are copies of one base model (DUS's A and B
 * are the same checkpoint): a +1 step across them is not a seam.
 */
export function layoutMetrics(
  layers: readonly PlannedLayer[],
  sameModel: (a: number, b: number) => boolean,
  counts: { parameterCount: number; baseParameterCount: number; outputBytes: number },
): LayoutMetrics {
  const jumps: LayerJump[] = [];
  for (let i = 1; i < layers.length; i++) {
    const a = layers[i - 1]!;
    const b = layers[i]!;
    jumps.push({ at: i, from: { source: a.source, layer: a.layer }, to: { source: b.source, layer: b.layer }, jump: b.layer - a.layer });
  }
  const isSeam = (j: LayerJump) => j.jump !== 1 || !sameModel(j.from.source, j.to.source);
  const uses = new Map<string, { source: number; layer: number; count: number }>();
  for (const l of layers) {
    const key = `${l.source}:${l.layer}`;
    const u = uses.get(key) ?? { source: l.source, layer: l.layer, count: 0 };
    u.count++;
    uses.set(key, u);
  }
  // Reuse counts across copies of the same model: A8 and B8 are the same weights.
  const merged = new Map<string, { source: number; layer: number; count: number }>();
  for (const u of uses.values()) {
    let owner = u.source;
    for (let s = 0; s < u.source; s++) if (sameModel(s, u.source)) { owner = s; break; }
    const key = `${owner}:${u.layer}`;
    const m = merged.get(key) ?? { source: owner, layer: u.layer, count: 0 };
    m.count += u.count;
    merged.set(key, m);
  }
  return {
    numLayers: layers.length,
    jumps,
    seams: jumps.filter(isSeam).length,
    largestBackwardJump: Math.max(0, ...jumps.map((j) => -j.jump)),
    largestForwardJump: Math.max(0, ...jumps.map((j) => j.jump)),
    meanAbsJump: jumps.length === 0 ? 0 : jumps.reduce((s, j) => s + Math.abs(j.jump), 0) / jumps.length,
    reusedLayers: [...merged.values()].filter((u) => u.count > 1).sort((x, y) => x.source - y.source || x.layer - y.layer),
    ...counts,
  };
}
