import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openCheckpoint } from "../checkpoint/open-checkpoint.js";
import { writeTinyHfModel } from "../fixtures/tiny-model.js";
import { ExperimentError } from "./experiment-error.js";
import { dusDepth, experimentLayouts, listLayout } from "./layouts.js";
import { buildLayout } from "./stacks.js";
import { continuationPrompt, splitTexts } from "./texts.js";
import { defaultTexts } from "./texts.js";
import { HELD_OUT_START } from "../fixtures/corpus.js";

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe("experiment layouts", () => {
  it("scale REFERENCE.md's table to 16 layers: DUS drops 4, iDUS-4 interlocks quarters", () => {
    const [base, dus, quarter, one] = experimentLayouts(16, "m");
    expect(base!.layers).toEqual(range(0, 16));
    expect(base!.recipe).toBeUndefined();
    expect(dus!.layers).toEqual([...range(0, 12), ...range(4, 16)]);
    expect(dus!.spec).toBe("0-11,4-15");
    expect(quarter!.name).toBe("iDUS-4");
    expect(quarter!.layers).toEqual([...range(0, 4), ...range(4, 8), ...range(4, 8), ...range(8, 12), ...range(8, 12), ...range(12, 16)]);
    expect(one!.layers.slice(0, 6)).toEqual([0, 4, 1, 5, 2, 6]);
    expect(one!.layers).toHaveLength(24);
    expect(dusDepth(16)).toBe(24);
  });

  it("DUS with a blended seam: DUS's depth, the 4 layers around the seam slerped A↔B with t rising", () => {
    const blend = experimentLayouts(16, "m")[4]!;
    expect(blend.name).toBe("DUS-blend");
    expect(blend.layers).toHaveLength(dusDepth(16));
    const [a, window, b] = blend.recipe!.slices;
    expect(a!.sources[0].layerRange).toEqual([0, 10]);
    expect(window!.sources.map((s) => s.layerRange)).toEqual([[10, 14], [2, 6]]);
    expect(window!.parameters).toEqual({ t: [0.2, 0.8] });
    expect(b!.sources[0].layerRange).toEqual([6, 16]);
    expect(blend.recipe!.mergeMethod).toBe("slerp");
  });

  it("at 32 layers they are the published layouts", () => {
    const [, dus, eight, one] = experimentLayouts(32, "m");
    expect(dus!.spec).toBe("0-23,8-31");
    expect(eight!.name).toBe("iDUS-8");
    expect(eight!.analog).toBe("iDUS-8layer");
    expect(eight!.layers).toEqual([...range(0, 16), ...range(8, 24), ...range(16, 32)]);
    expect(one!.layers.slice(-2)).toEqual([23, 31]);
    expect(dusDepth(32)).toBe(48);
  });

  it("a listed layout round-trips through its spec; too shallow a base is refused", () => {
    const l = listLayout("search", "best", "m", 16, [0, 1, 2, 3, 8, 9, 2, 3]);
    expect(l.spec).toBe("0-3,8-9,2-3");
    expect(l.flags).toEqual(["--layers", "0-3,8-9,2-3"]);
    expect(() => experimentLayouts(3, "m")).toThrow(ExperimentError);
  });
});

describe("experiment layouts of a shallow base", () => {
  it("one layout per distinct stack: iDUS-g is iDUS-1 at 4 (and 5) layers, iDUS-2 is DUS at 6; names stay unique", () => {
    const four = experimentLayouts(4, "m");
    expect(four.map((l) => l.name)).toEqual(["base", "DUS", "iDUS-1", "DUS-blend"]);
    const one = four[2]!;
    expect(one.layers).toEqual([0, 1, 1, 2, 2, 3]);
    expect(one.analog).toBe("iDUS-1layer (iDUS-8layer scaled to 4 layers); = iDUS-1layer at 4 layers (the same stack)");
    expect(experimentLayouts(5, "m").map((l) => l.name)).toEqual(["base", "DUS", "iDUS-1", "DUS-blend"]);
    const six = experimentLayouts(6, "m");
    expect(six.map((l) => l.name)).toEqual(["base", "DUS", "iDUS-1", "DUS-blend"]);
    expect(six[1]!.analog).toBe("DUS implementation (SOLAR); = iDUS-2 at 6 layers (the same stack)");
    for (let n = 4; n <= 40; n++) {
      const ls = experimentLayouts(n, "m");
      expect(new Set(ls.map((l) => l.name)).size, `n = ${n}`).toBe(ls.length);
      const stacks = ls.filter((l) => !l.recipe?.mergeMethod).map((l) => l.spec);
      expect(new Set(stacks).size, `n = ${n}`).toBe(stacks.length);
    }
    // the blended DUS has DUS's depth but merges: it is never folded into DUS
    expect(experimentLayouts(6, "m")[3]!.recipe!.mergeMethod).toBe("slerp");
  });

  it("a 4-layer base: every stack builds into models/NAME, as dusk experiment does", async () => {
    const root = await mkdtemp(join(tmpdir(), "dusk-layouts-"));
    try {
      const dir = join(root, "base");
      await writeTinyHfModel(dir, { layers: 4, hidden: 32, heads: 2, kvHeads: 1, vocabSize: 64, seed: 5 });
      const base = await openCheckpoint(dir);
      try {
        const stacks = experimentLayouts(base.numLayers, base.ref).filter((l) => l.recipe);
        for (const l of stacks) await buildLayout(l, base, join(root, "models", l.name));
        expect((await readdir(join(root, "models"))).sort()).toEqual(stacks.map((l) => l.name).sort());
      } finally {
        await base.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("experiment texts", () => {
  it("the default split starts the held-out part where the default model's training stopped", () => {
    const t = defaultTexts();
    expect(t.split[0]).toBe(HELD_OUT_START);
    expect(t.train.length).toBe(HELD_OUT_START);
    expect(t.calibration.startsWith("GREMIO:\n")).toBe(true);
    expect(t.calibration.endsWith("\n")).toBe(true);
    expect(t.train.length + t.calibration.length + t.test.length).toBe(1_115_394);
  });

  it("any text: the last 10% from a line start, calibration then test; too short is refused", () => {
    const lines = Array.from({ length: 4000 }, (_, i) => `line ${i} of the text`);
    const t = splitTexts(lines.join("\n") + "\n", "x.txt");
    expect(t.train.endsWith("\n")).toBe(true);
    expect(t.calibration.startsWith("line ")).toBe(true);
    expect(t.test.startsWith("line ")).toBe(true);
    expect(t.train.length / (t.train.length + t.calibration.length + t.test.length)).toBeCloseTo(0.9, 2);
    expect(() => splitTexts("short text\n", "tiny.txt")).toThrow(/tiny.txt has 11 characters/);
  });

  it("the continuation prompt is a speaker label and two lines of speech", () => {
    expect(continuationPrompt("x\n\nTRANIO:\nIs it?\n\nPETRUCHIO:\nBe patient, gentlemen;\nIf she and I be pleased\nmore\n")).toBe("PETRUCHIO:\nBe patient, gentlemen;\nIf she and I be pleased\n");
    expect(continuationPrompt("a\nb\nc\nd\n")).toBe("a\nb\nc\n");
  });
});
