import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { PythonRandom } from "./python-random.js";

const goldenPath = fileURLToPath(new URL("../../test/fixtures/cpython-random-golden.json", import.meta.url));
const golden = JSON.parse(readFileSync(goldenPath, "utf8")) as Record<string, unknown>;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("PythonRandom vs the committed CPython 3.11 goldens", () => {
  it("getrandbits(32) after seed(42)", () => {
    const r = new PythonRandom(42);
    expect(range(10).map(() => r.getrandbits(32))).toEqual(golden.seed42_getrandbits32_first10);
  });
  it("shuffle(range(20))", () => {
    const r = new PythonRandom(42);
    const x = range(20);
    r.shuffle(x);
    expect(x).toEqual(golden.seed42_shuffle_range20);
  });
  it("sample(range(1000), 25) three times after shuffle(range(20)) (set algorithm)", () => {
    // The golden was drawn from the same generator right after the shuffle above.
    const r = new PythonRandom(42);
    r.shuffle(range(20));
    expect([0, 1, 2].map(() => r.sample(range(1000), 25))).toEqual(golden.seed42_then_sample_range1000_k25_x3);
  });
  it("the ARC v1 stream: shuffle 1172 docs, then sample 25 of 1119 train docs", () => {
    const r = new PythonRandom(42);
    const docs = range(1172);
    r.shuffle(docs);
    expect(docs.slice(0, 20)).toEqual(golden.seed42_shuffle_range1172_first20);
    expect([r.sample(range(1119), 25), r.sample(range(1119), 25)]).toEqual(
      golden.seed42_after_shuffle1172_sample_range1119_k25_first2,
    );
  });
  it("Random(1234) samples for Winogrande and GSM8K train sizes", () => {
    const a = new PythonRandom(1234);
    expect([0, 1, 2].map(() => a.sample(range(40398), 5))).toEqual(golden.seed1234_sample_range40398_k5_x3);
    const b = new PythonRandom(1234);
    expect([0, 1].map(() => b.sample(range(7473), 5))).toEqual(golden.seed1234_sample_range7473_k5_x2);
  });
  it("rejects bad arguments", () => {
    const r = new PythonRandom(1);
    expect(() => r.sample([1, 2], 3)).toThrow(RangeError);
    expect(() => r.randbelow(0)).toThrow(RangeError);
    expect(() => r.seed(1.5)).toThrow(RangeError);
  });
});

// Extra goldens from the local python3, when there is one: the pool branch of sample, multi-word
// seeds, getrandbits above 32 bits and random().
function python(script: string): unknown {
  try {
    return JSON.parse(execFileSync("python3", ["-c", script], { encoding: "utf8" }));
  } catch {
    return undefined;
  }
}
const extra = python(`
import random, json
out = {}
r = random.Random(42); out["pool"] = [r.sample(range(30), 10) for _ in range(3)] + [r.sample(range(6), 6), r.sample(range(21), 5)]
r = random.Random(2**70 + 12345); out["bigseed"] = [r.getrandbits(32) for _ in range(5)]
r = random.Random(-7); out["negseed"] = [r.getrandbits(32) for _ in range(3)]
r = random.Random(0); out["zero"] = [r.getrandbits(32) for _ in range(3)]
r = random.Random(5); out["bits"] = [str(r.getrandbits(k)) for k in (1, 7, 33, 64, 95)]
r = random.Random(9); out["random"] = [r.random() for _ in range(5)]
r = random.Random(3); out["mixed"] = [r.randrange(10, 10**9), r.choice("abcdef"), r.sample(list("abcdefghij"), 4)]
print(json.dumps(out))
`) as Record<string, unknown> | undefined;

describe.skipIf(extra === undefined)("PythonRandom vs local python3", () => {
  const e = extra ?? {};
  it("sample's pool branch (n ≤ setsize)", () => {
    const r = new PythonRandom(42);
    const got = [0, 1, 2].map(() => r.sample(range(30), 10));
    got.push(r.sample(range(6), 6), r.sample(range(21), 5));
    expect(got).toEqual(e.pool);
  });
  it("multi-word, negative and zero seeds", () => {
    const a = new PythonRandom(2n ** 70n + 12345n);
    expect(range(5).map(() => a.getrandbits(32))).toEqual(e.bigseed);
    const b = new PythonRandom(-7);
    expect(range(3).map(() => b.getrandbits(32))).toEqual(e.negseed);
    const c = new PythonRandom(0);
    expect(range(3).map(() => c.getrandbits(32))).toEqual(e.zero);
  });
  it("getrandbits of odd widths and random()", () => {
    const r = new PythonRandom(5);
    expect([1, 7, 33, 64, 95].map((k) => r.getrandbitsBig(k).toString())).toEqual(e.bits);
    const f = new PythonRandom(9);
    expect(range(5).map(() => f.random())).toEqual(e.random);
    const m = new PythonRandom(3);
    expect([m.randrange(10, 10 ** 9), m.choice([..."abcdef"]), m.sample([..."abcdefghij"], 4)]).toEqual(e.mixed);
  });
});
