// Data packing (inputs and targets overlap by one; the held-out tail is never in a training
// sequence), the seeded epoch order, and --train selections on DUS, iDUS and LLaMA-Pro layouts.

import { describe, expect, it } from "vitest";
import { dusRecipe, expandRecipe, idusRecipe, recipeLayers } from "../recipe/index.js";
import { epochOrder, gatherBatch, packData, SequenceOrder } from "./data.js";
import { describeSelection, newPositions, parseTrainSpec, seamPositions, type StackRecipe } from "./selection.js";

describe("data", () => {
  it("packs S+1-token windows, holds out the tail, and gathers shifted targets", () => {
    const stream = Int32Array.from({ length: 101 }, (_, i) => i);
    const d = packData(stream, 10, { holdout: 0.2, what: "t" });
    expect(d.trainSequences + d.heldOutSequences).toBe(10);
    expect(d.heldOutSequences).toBe(2);
    expect(d.train[d.train.length - 1]).toBe(d.heldOut[0]); // the boundary token is a target on one side, an input on the other
    expect(Math.max(...d.train)).toBeLessThan(Math.min(...d.heldOut.slice(1)));
    const b = gatherBatch(d.train, 10, [2, 0]);
    expect(Array.from(b.tokens.slice(0, 3))).toEqual([20, 21, 22]);
    expect(Array.from(b.targets.slice(0, 3))).toEqual([21, 22, 23]);
    expect(Array.from(b.targets.slice(10, 13))).toEqual([1, 2, 3]);
  });

  it("shuffles each epoch from the seed alone", () => {
    const a = epochOrder(50, 7, 0);
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
    expect(Array.from(epochOrder(50, 7, 0))).toEqual(Array.from(a));
    expect(Array.from(epochOrder(50, 7, 1))).not.toEqual(Array.from(a));
    expect(Array.from(epochOrder(50, 8, 0))).not.toEqual(Array.from(a));
    const o = new SequenceOrder(50, 7);
    expect(o.at(53)).toBe(epochOrder(50, 7, 1)[3]);
  });
});

describe("--train selections", () => {
  const stack = (recipe: ReturnType<typeof dusRecipe>): StackRecipe => ({ layers: recipeLayers(recipe), file: "mergekit_config.yml", yaml: "" });
  const dus = stack(dusRecipe({ model: "m", layers: 32, drop: 8 })); // A0..23 + B8..31
  it("DUS: one seam (positions 23|24), the new layers are 24..39", () => {
    expect(seamPositions(dus.layers)).toEqual([24]);
    expect(newPositions(dus.layers)).toEqual([...Array(16).keys()].map((i) => 24 + i));
    expect(describeSelection(parseTrainSpec("seams", 48, dus))).toBe("23-24");
    expect(describeSelection(parseTrainSpec("seams:2,head", 48, dus))).toBe("22-25, head");
    expect(describeSelection(parseTrainSpec("new", 48, dus))).toBe("24-39");
    expect(describeSelection(parseTrainSpec("all", 48, dus))).toBe("0-47, embed, head");
    expect(describeSelection(parseTrainSpec("6,7,20-27,embed", 48, undefined))).toBe("6-7, 20-27, embed");
  });
  it("iDUS-8 and LLaMA-Pro expansion", () => {
    const idus = stack(idusRecipe({ model: "m", layers: 32, drop: 8, group: 8 })); // A0-7 B8-15 A8-15 B16-23 A16-23 B24-31
    expect(seamPositions(idus.layers)).toEqual([16, 32]); // A7→B8 and A15→B16 continue the base: not seams
    expect(describeSelection(parseTrainSpec("new", 48, idus))).toBe("16-23, 32-39");
    const pro = stack(expandRecipe({ model: "m", layers: 8, every: 4 }));
    expect(describeSelection(parseTrainSpec("new", pro.layers.length, pro))).toBe("4, 9");
  });
  it("refuses layers past the end, bad items and a recipe of another size", () => {
    expect(() => parseTrainSpec("48", 48, dus)).toThrow(/--train 48 names layer 48, but the model has 48 layers \(0–47\)/);
    expect(() => parseTrainSpec("seems", 48, dus)).toThrow(/found "seems"/);
    expect(() => parseTrainSpec("7-3", 48, dus)).toThrow(/a range runs low-high/);
    expect(() => parseTrainSpec("seams", 40, dus)).toThrow(/describes 48 layers, but the model has 40/);
  });
});
