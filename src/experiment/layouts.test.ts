import { describe, expect, it } from "vitest";
import { ExperimentError } from "./experiment-error.js";
import { dusDepth, experimentLayouts, listLayout } from "./layouts.js";
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
