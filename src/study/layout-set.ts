// The layouts the predictor is fitted and validated on, for a base of n layers, split in two sets
// that share no layout:
// - "held-out" (validation only, ≥ 40 for n ≥ 16): DUS at m ≈ n/8, n/4, 5n/16, 3n/8; every iDUS-g at
//   m = n/4 (g = 1 … n − m − 1); LLaMA-Pro expansions with n/8, n/4, n/2 blocks, identity copies
//   (scale 0) and attenuated ones (scale 0.5); pruned stacks (k = 1, n/8, n/4 layers dropped at three
//   places); and random two-copy layouts (seed stream 1) up to 48 in all;
// - "fit" (the predictor's coefficients come from these only): random two-copy layouts of random
//   depths (seed stream 2), random prunes, attenuated expansions of other sizes and scales, DUS at
//   two other m.
// Pure and deterministic: (n, model, seed) in, the same list out.

import { layerSpec, randomTwoCopy, type PredictLayout } from "../analyze/index.js";
import { mulberry32 } from "../engine/index.js";
import { dusRecipe, expandRecipe, idusRecipe, pruneRecipe, recipeLayers, type Recipe } from "../recipe/index.js";

export type StudyLayoutKind = "dus" | "idus" | "expand" | "prune" | "random";

export interface StudyLayout extends PredictLayout {
  name: string;
  kind: StudyLayoutKind;
  layers: number[];
  /** `--layers` syntax (scaled copies not shown: see scales) */
  spec: string;
  /** the recipe that builds it, for layouts a layer list cannot say (scaled copies) */
  recipe?: Recipe;
  set: "fit" | "held-out";
}

/** Held-out layouts: at least this many (random two-copy layouts fill up to it). */
export const HELD_OUT_TARGET = 48;
const FIT_RANDOM = 12;

export function predictorLayoutSet(n: number, model: string, seed = 0): StudyLayout[] {
  if (!Number.isSafeInteger(n) || n < 4) throw new RangeError(`predictorLayoutSet needs at least 4 layers, got ${n}`);
  const out: StudyLayout[] = [];
  const seen = new Set<string>();
  const key = (l: PredictLayout) => `${layerSpec(l.layers)}|${(l.scales ?? []).join(",")}`;
  const add = (set: StudyLayout["set"], kind: StudyLayoutKind, name: string, layers: number[], recipe?: Recipe, scales?: number[]) => {
    const layout: StudyLayout = { name, kind, layers, spec: layerSpec(layers), set, ...(recipe ? { recipe } : {}), ...(scales ? { scales } : {}) };
    if (seen.has(key(layout)) || layers.length === 0) return;
    seen.add(key(layout));
    out.push(layout);
  };
  const layersOf = (r: Recipe) => recipeLayers(r).map((l) => l.layer);
  const dus = (set: StudyLayout["set"], m: number) => add(set, "dus", `DUS m=${m}`, layersOf(dusRecipe({ model, layers: n, drop: m })));
  const expand = (set: StudyLayout["set"], blocks: number, scale: number) => {
    const r = expandRecipe({ model, layers: n, blocks, scale });
    const scales = recipeLayers(r).map((l) => (r.slices[l.slice]!.parameters === undefined ? 1 : scale));
    add(set, "expand", `LLaMA-Pro ${blocks} blocks scale ${scale}`, layersOf(r), r, scales);
  };
  const prune = (set: StudyLayout["set"], a: number, k: number) => {
    if (k < 1 || a < 1 || a + k > n - 1) return;
    add(set, "prune", `prune ${a}:${a + k}`, layersOf(pruneRecipe({ model, layers: n, dropRange: [a, a + k] })));
  };
  const q = (x: number) => Math.max(1, Math.round(x));

  // held-out
  for (const m of [q(n / 8), q(n / 4), q((5 * n) / 16), q((3 * n) / 8)]) dus("held-out", m);
  const m4 = q(n / 4);
  for (let g = 1; g < n - m4; g++) add("held-out", "idus", `iDUS-${g} m=${m4}`, layersOf(idusRecipe({ model, layers: n, drop: m4, group: g })));
  for (const p of [q(n / 8), q(n / 4), q(n / 2)]) for (const s of [0, 0.5]) expand("held-out", p, s);
  for (const k of [1, q(n / 8), q(n / 4)]) for (const a of [q(n / 4), q(n / 2), n - k - 1]) prune("held-out", a, k);
  const heldRand = mulberry32((seed * 2 + 1) >>> 0);
  for (let i = 0, misses = 0; out.length < HELD_OUT_TARGET && misses < 1000; i++) {
    const before = out.length;
    const depth = 2 * (n - q(n / 8) - Math.floor(heldRand() * q(n / 4)));
    add("held-out", "random", `random two-copy #${i}`, randomTwoCopy(n, depth, heldRand));
    misses = out.length === before ? misses + 1 : 0;
  }

  // fit
  const fitRand = mulberry32((seed * 2 + 2) >>> 0);
  for (let i = 0; i < FIT_RANDOM; i++) {
    const depth = n + 1 + Math.floor(fitRand() * n);
    add("fit", "random", `fit random two-copy #${i}`, randomTwoCopy(n, depth, fitRand));
  }
  for (let i = 0; i < 4; i++) {
    const k = 1 + Math.floor(fitRand() * q(n / 4));
    prune("fit", 1 + Math.floor(fitRand() * (n - k - 2)), k);
  }
  expand("fit", q(n / 6), 0.25);
  expand("fit", q(n / 3), 0.75);
  expand("fit", q(n / 5), 1);
  dus("fit", q(n / 8) + 1);
  dus("fit", Math.floor(n / 2) - 1);
  return out;
}
