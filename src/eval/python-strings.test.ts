// dusk's Python string functions against CPython's own output (test/fixtures/python-capitalize-golden.json,
// written by the .py beside it; the file states the Python and Unicode versions).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { pythonCapitalize, pythonRstrip, pythonStrip } from "./python-strings.js";

interface Golden {
  python: string;
  unicode: string;
  assigned: [number, number][];
  title: Record<string, string>;
  rest: Record<string, string>;
  cases: [string, string][];
}
const golden = JSON.parse(readFileSync(fileURLToPath(new URL("../../test/fixtures/python-capitalize-golden.json", import.meta.url)), "utf8")) as Golden;

// Case pairs Unicode added after the golden's version (16.0: ƛ→U+A7DC, ɤ→U+A7CB, ꟓ→U+A7D2,
// ꟕ→U+A7D4). Python before 3.14 leaves these small letters alone; a Node whose ICU knows Unicode 16
// upper-cases them, as Python 3.14 does. The port takes its case data from the JS engine.
const LATER_UNICODE_UPPER: ReadonlyMap<number, string> = new Map([[0x019b, "\ua7dc"], [0x0264, "\ua7cb"], [0xa7d3, "\ua7d2"], [0xa7d5, "\ua7d4"]]);

const hex = (s: string) => [...s].map((c) => c.codePointAt(0)!.toString(16).padStart(4, "0")).join(" ");

describe(`pythonCapitalize vs CPython ${golden.python} (Unicode ${golden.unicode})`, () => {
  it("the hand-picked strings: final sigma, Georgian, iota subscript, ŉ, digraphs, ligatures", () => {
    const wrong = golden.cases.filter(([s, want]) => pythonCapitalize(s) !== want).map(([s, want]) => `${s}: ${hex(pythonCapitalize(s))} ≠ ${hex(want)}`);
    expect(wrong).toEqual([]);
    expect(golden.cases.length).toBeGreaterThan(50);
  });

  it("every code point the golden's Unicode assigns, first (title-cased) and after a letter (lower-cased)", () => {
    const wrong: string[] = [];
    for (const [from, to] of golden.assigned) {
      for (let cp = from; cp <= to; cp++) {
        const c = String.fromCodePoint(cp);
        const key = cp.toString(16).toUpperCase().padStart(4, "0");
        const title = pythonCapitalize(c);
        const later = LATER_UNICODE_UPPER.get(cp);
        if (title !== (golden.title[key] ?? c) && title !== later) wrong.push(`title ${key}: ${hex(title)}`);
        const rest = pythonCapitalize("A" + c).slice(1);
        if (rest !== (golden.rest[key] ?? c)) wrong.push(`rest ${key}: ${hex(rest)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("the cases the old port got wrong, spelled out", () => {
    expect(pythonCapitalize("ŉa")).toBe("ʼNa"); // title case of ŉ is ʼN: the N stays capital
    expect(pythonCapitalize("ΑΣ")).toBe("Ας"); // the first letter is context for the final sigma
    expect(pythonCapitalize("ΑΣ\u0301")).toBe("Ας\u0301"); // case-ignorable marks are skipped
    expect(pythonCapitalize("ΑΣΑ")).toBe("Ασα");
    expect(pythonCapitalize("აბგ")).toBe("აბგ"); // Georgian title-cases to itself, not to Mtavruli
    expect(pythonCapitalize("ᾳ")).toBe("ᾼ"); // keeps the iota subscript instead of spelling out "ΑΙ"
    expect(pythonCapitalize("ǆemal")).toBe("ǅemal");
    expect(pythonCapitalize("ßa")).toBe("Ssa");
  });
});

describe("pythonStrip / pythonRstrip", () => {
  it("use Python's isspace set, not JS's", () => {
    expect(pythonStrip("\ufeff x \x1c")).toBe("\ufeff x");
    expect(pythonRstrip(" a\n\t\u3000\x1f")).toBe(" a");
    expect(pythonRstrip("a\u200b")).toBe("a\u200b"); // zero-width space is not whitespace to Python
  });
});
