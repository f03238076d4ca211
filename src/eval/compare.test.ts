import { describe, expect, it } from "vitest";
import { compare, renderMarkdown, renderSvg } from "./compare.js";
import { buildResults, parseResultsFile, type ResultsFile } from "./results.js";
import type { TaskResult } from "./runner.js";

const scorer = { model: "m", backend: "char-bigram", bos: false };

function taskResult(task: string, metrics: Record<string, number>): TaskResult {
  return { task, version: 0, protocol: "v1", seed: 42, shots: 0, metrics, stderr: Object.fromEntries(Object.keys(metrics).map((k) => [k, 0.01])), nSamples: { original: 10, effective: 10 }, truncations: 1, resumed: 0 };
}

function leaderboard(model: string, s: number[], protocol: "v1" | "v0.4" = "v1"): ResultsFile {
  const [arc, hs, mmlu, tqa, wg, gsm] = s.map((x) => x / 100);
  const file = buildResults(
    [
      taskResult("arc_challenge", { acc: 0, acc_norm: arc! }),
      taskResult("hellaswag", { acc: 0, acc_norm: hs! }),
      taskResult("mmlu_anatomy", { acc: mmlu! - 0.01, acc_norm: mmlu! - 0.01 }),
      taskResult("mmlu_virology", { acc: mmlu! + 0.01, acc_norm: mmlu! + 0.01 }),
      taskResult("truthfulqa_mc2", { mc1: 0, mc2: tqa! }),
      taskResult("winogrande", { acc: wg! }),
      taskResult("gsm8k", { acc: gsm!, strict_match: 0, flexible_extract: 0 }),
    ],
    { scorer: { ...scorer, model }, protocol, seed: protocol === "v1" ? 42 : 1234 },
  );
  return parseResultsFile(JSON.stringify(file), `${model}.json`);
}

describe("results files", () => {
  it("are lm-eval shaped, with the MMLU mean over subjects and run settings", () => {
    const r = leaderboard("x", [50, 60, 40, 45, 70, 10]);
    expect(r.results.arc_challenge).toEqual({ acc: 0, acc_stderr: 0.01, acc_norm: 0.5, acc_norm_stderr: 0.01 });
    expect(r.results.mmlu!.acc).toBeCloseTo(0.4, 12);
    expect(r.results.mmlu!.acc_norm).toBeCloseTo(0.4, 12);
    // a file whose subjects lack acc_norm gets no acc_norm in the group row
    expect(buildResults([taskResult("mmlu_anatomy", { acc: 0.5 })], { scorer, protocol: "v1", seed: 42 }).results.mmlu).toEqual({ acc: 0.5 });
    expect(r["n-samples"].mmlu).toEqual({ original: 20, effective: 20 });
    expect(r.truncations.mmlu).toBe(2);
    expect([r.protocol, r.seed, r.bos, r.config.datasetRevision]).toEqual(["v1", 42, false, "unknown"]);
  });
  it("a file without a protocol is refused with its name", () => {
    expect(() => parseResultsFile('{"results":{},"config":{"model":"m"}}', "a.json")).toThrow(/a\.json, protocol/);
  });
});

describe("compare", () => {
  const idus8 = leaderboard("iDUS-8layer", [59.3, 81.34, 63.22, 40.62, 76.24, 29.57]);
  const idus1 = leaderboard("iDUS-1layer", [27.73, 26.65, 24.91, 48.58, 49.17, 0], "v0.4");
  it("renders the leaderboard table, averaging the six, flagging another protocol", () => {
    expect(renderMarkdown(compare([{ results: idus1 }, { results: idus8 }]))).toBe(
      [
        "| Model | ARC | HellaSwag | MMLU | TruthfulQA | Winogrande | GSM8K | Avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        "| iDUS-1layer † | 27.73 | 26.65 | 24.91 | 48.58 | 49.17 | 0.00 | 29.51 |",
        "| iDUS-8layer | 59.30 | 81.34 | 63.22 | 40.62 | 76.24 | 29.57 | 58.38 |",
        "",
        "† scored with protocol v0.4, not v1: not directly comparable.",
        "",
      ].join("\n"),
    );
  });
  it("leaves the average empty when a benchmark is missing", () => {
    const partial = structuredClone(idus8);
    delete partial.results.gsm8k;
    const t = compare([{ results: partial, label: "partial" }]);
    expect(t.rows[0]!.scores[5]).toBeNull();
    expect(t.rows[0]!.average).toBeNull();
  });
  it("draws a deterministic SVG with one bar per model and benchmark", () => {
    const t = compare([{ results: idus1 }, { results: idus8 }]);
    const svg = renderSvg(t);
    expect(svg).toBe(renderSvg(t));
    expect(svg.startsWith("<svg")).toBe(true);
    expect((svg.match(/<rect x=/g) ?? []).length).toBe(2 * 7 + 2); // bars + legend swatches
    expect(svg).toContain("iDUS-8layer ARC: 59.30");
  });
});
