// What the study varies and which layouts it measures at each point: the three two-copy layouts of
// the seed (DUS, iDUS with groups of n/4, iDUS-1) at an overlap m, for every checkpoint of a base
// (training length), on bases of different depth, and at several m on each base's final model.
// Pure: numbers in, layer lists out (the same lists `dusk build --preset dus|idus` makes).

import { layerSpec } from "../analyze/index.js";
import { defaultDrop, dusRecipe, idusRecipe, recipeLayers } from "../recipe/index.js";

/** dus: A[0,n−m) + B[m,n); idus-g: groups of n/4 interlocked; idus-1: single layers interlocked. */
export type StudyLayoutKind = "dus" | "idus-g" | "idus-1";

export const STUDY_KINDS: readonly StudyLayoutKind[] = ["dus", "idus-g", "idus-1"];

export interface StudyLayout {
  /** "DUS", "iDUS-8", "iDUS-1" (with " m=12" when m is not the base's default n/4) */
  name: string;
  kind: StudyLayoutKind;
  /** layers dropped from the end of A and the start of B */
  m: number;
  /** group size (n − m for DUS) */
  g: number;
  /** base layer per stack position */
  layers: number[];
  spec: string;
}

/** The interlocking group of iDUS-g on n layers: n/4 (iDUS-8layer at n = 32), at least 1. */
export function studyGroup(n: number): number {
  return Math.max(1, Math.round(n / 4));
}

/**
 * The overlaps of the m factor on n layers: n/8, n/4 (SOLAR's), 3n/8 and n/2 rounded, distinct,
 * within 1 … n−1. At m = n/2, DUS is the base itself (A[0,n/2) + B[n/2,n)) and its penalty is 0.
 */
export function overlapValues(n: number): number[] {
  const ms = [n / 8, n / 4, (3 * n) / 8, n / 2].map((x) => Math.min(n - 1, Math.max(1, Math.round(x))));
  return [...new Set(ms)].sort((a, b) => a - b);
}

/** DUS, iDUS-g and iDUS-1 over a base of n layers at overlap m (default n/4). */
export function studyLayouts(n: number, m = defaultDrop(n)): StudyLayout[] {
  const model = "base";
  const g = Math.min(studyGroup(n), n - m);
  const suffix = m === defaultDrop(n) ? "" : ` m=${m}`;
  const of = (name: string, kind: StudyLayoutKind, group: number, recipe: ReturnType<typeof dusRecipe>): StudyLayout => {
    const layers = recipeLayers(recipe).map((l) => l.layer);
    return { name: name + suffix, kind, m, g: group, layers, spec: layerSpec(layers) };
  };
  return [
    of("DUS", "dus", n - m, dusRecipe({ model, layers: n, drop: m })),
    of(`iDUS-${g}`, "idus-g", g, idusRecipe({ model, layers: n, drop: m, group: g })),
    of("iDUS-1", "idus-1", 1, idusRecipe({ model, layers: n, drop: m, group: 1 })),
  ];
}

/** Layer-passes per token of a list of layouts (the base pass included): the unit of the study's progress and ETA. */
export function layerPasses(n: number, layouts: readonly { layers: readonly number[] }[]): number {
  return n + layouts.reduce((s, l) => s + l.layers.length, 0);
}
