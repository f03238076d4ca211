// Recomputes a `dusk study` report from its results.json, independently of src/study: mean NLLs
// from the per-window sums, penalties, the window bootstrap (its own resampling and percentiles on
// the engine's mulberry32 stream),
// unigram shares, Spearman ρ; then every table cell of report.md and every decimal number of its
// findings must be one of those recomputed values. Used on docs/study and on a tiny quick run.

import { expect } from "vitest";
import { mulberry32 as rng } from "../../src/engine/random-weights.js";
import type { StudyResults, StudyRun, MeasuredLayout, StudyBase } from "../../src/study/results.js";

interface Iv { value: number; lo: number; hi: number; se: number }

/** The paired window bootstrap of nll(a) − nll(b). */
function boot(a: number[], b: number[], tokens: number[], r: StudyResults): Iv {
  const { samples, seed, confidence } = r.settings.bootstrap;
  const W = tokens.length;
  const mean = (xs: number[], idx: number[]) => idx.reduce((s, i) => s + xs[i]!, 0) / idx.reduce((s, i) => s + tokens[i]!, 0);
  const all = [...Array(W).keys()];
  const rand = rng(seed);
  const reps: number[] = [];
  for (let k = 0; k < samples; k++) {
    const idx = Array.from({ length: W }, () => Math.floor(rand() * W));
    reps.push(mean(a, idx) - mean(b, idx));
  }
  reps.sort((x, y) => x - y);
  const q = (p: number) => {
    const at = p * (reps.length - 1);
    const i = Math.floor(at);
    return i + 1 < reps.length ? reps[i]! + (at - i) * (reps[i + 1]! - reps[i]!) : reps[i]!;
  };
  const m = reps.reduce((s, x) => s + x, 0) / reps.length;
  const se = Math.sqrt(reps.reduce((s, x) => s + (x - m) ** 2, 0) / (reps.length - 1));
  return { value: mean(a, all) - mean(b, all), lo: q((1 - confidence) / 2), hi: q(1 - (1 - confidence) / 2), se };
}

function rho(x: number[], y: number[]): number {
  const rank = (v: number[]) => {
    const idx = v.map((_, i) => i).sort((i, j) => v[i]! - v[j]!);
    const r = new Array<number>(v.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j + 1 < idx.length && v[idx[j + 1]!] === v[idx[i]!]) j++;
      for (let k = i; k <= j; k++) r[idx[k]!] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const [a, b] = [rank(x), rank(y)];
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let n = 0, da = 0, db = 0;
  for (let i = 0; i < a.length; i++) {
    n += (a[i]! - ma) * (b[i]! - mb);
    da += (a[i]! - ma) ** 2;
    db += (b[i]! - mb) ** 2;
  }
  return da === 0 || db === 0 ? 0 : n / Math.sqrt(da * db);
}

const fx = (x: number, d: number) => {
  const s = x.toFixed(d);
  return Number(s) === 0 ? (0).toFixed(d) : s;
};
const ivs = (i: Iv) => `${fx(i.value, 3)} [${fx(i.lo, 3)}, ${fx(i.hi, 3)}]`;
const pc = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Every markdown table after a "### title" or "## title" heading, by that heading. */
function tables(md: string): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  let heading = "";
  const lines = md.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith("#")) heading = l.replace(/^#+\s*/, "");
    if (l.startsWith("|") && !lines[i - 1]?.startsWith("|")) {
      const rows: string[][] = [];
      for (let j = i; j < lines.length && lines[j]!.startsWith("|"); j++) rows.push(lines[j]!.slice(1, -1).split(" | ").map((c) => c.trim()));
      out.set(heading, [rows[0]!, ...rows.slice(2)]);
    }
  }
  return out;
}

/** Checks report.md against results.json; returns how many numbers were compared. */
export function checkStudyReport(r: StudyResults, md: string): number {
  let compared = 0;
  const known = new Set<string>(); // every formatted value a finding may cite
  const keep = (s: string) => (known.add(s), s);
  const pen = new Map<MeasuredLayout, Iv>();
  const diffs = new Map<StudyRun, { one: Iv; g: Iv }>();
  const tokensFinal = new Set<number>();
  for (const run of r.runs) {
    const tokens = run.window_tokens;
    const nll = (w: number[]) => w.reduce((s, x) => s + x, 0) / tokens.reduce((s, x) => s + x, 0);
    expect(nll(run.window_nll)).toBeCloseTo(run.nll, 10);
    const b = r.bases.find((x) => x.name === run.base)!;
    for (const l of run.layouts) {
      expect(nll(l.window_nll)).toBeCloseTo(l.nll, 10);
      const p = boot(l.window_nll, run.window_nll, tokens, r);
      expect(l.penalty.value).toBeCloseTo(p.value, 12);
      expect(l.penalty.lo).toBeCloseTo(p.lo, 12);
      expect(l.penalty.hi).toBeCloseTo(p.hi, 12);
      expect(l.penalty.se).toBeCloseTo(p.se, 12);
      compared += 4;
      pen.set(l, p);
      keep(ivs(p));
      keep(fx(p.value, 3));
      keep(fx(Math.exp(p.value), 2));
      const gain = b.unigram.nll - run.nll;
      if (gain > 0) keep(pc(p.value / gain));
    }
    const at = (kind: string) => run.layouts.find((l) => l.kind === kind && l.m === b.m)!;
    const one = boot(at("idus-1").window_nll, at("dus").window_nll, tokens, r);
    const g = boot(at("idus-g").window_nll, at("dus").window_nll, tokens, r);
    diffs.set(run, { one, g });
    keep(ivs(one));
    keep(ivs(g));
    keep(fx(Math.exp(one.value), 2));
    if (run.final && run.tokens !== null) tokensFinal.add(run.tokens);
  }
  const runsOf = (b: StudyBase) => r.runs.filter((x) => x.base === b.name);
  const share = (run: StudyRun, b: StudyBase, l: MeasuredLayout) => {
    const u = b.unigram.window_nll.reduce((s, x) => s + x, 0) / run.window_tokens.reduce((s, x) => s + x, 0);
    expect(u).toBeCloseTo(b.unigram.nll, 10);
    return u - run.nll > 0 ? pc(pen.get(l)!.value / (u - run.nll)) : "—";
  };
  const layoutAt = (run: StudyRun, kind: string, m: number) => run.layouts.find((l) => l.kind === kind && l.m === m)!;
  const t = tables(md);
  const expectTable = (heading: string, rows: string[][]) => {
    const got = t.get(heading);
    expect(got, `table under "${heading}"`).toBeDefined();
    expect(got!.slice(1)).toEqual(rows);
    compared += rows.flat().length;
  };
  const label = (run: StudyRun) => (run.step === null ? "final" : `step ${run.step}${run.final ? " (final)" : ""}`);
  for (const b of r.bases) {
    expectTable(`${b.name} (${b.layers} layers)`, runsOf(b).map((run) => [
      label(run), run.tokens === null ? "—" : run.tokens.toLocaleString("en-US"), run.dtype, fx(run.ppl, 2),
      ivs(pen.get(layoutAt(run, "dus", b.m))!), ivs(pen.get(layoutAt(run, "idus-g", b.m))!), ivs(pen.get(layoutAt(run, "idus-1", b.m))!),
      ivs(diffs.get(run)!.one), share(run, b, layoutAt(run, "idus-1", b.m)),
    ]));
    const fin = runsOf(b).find((x) => x.final)!;
    expectTable(`${b.name} (${b.layers} layers, final model)`, b.overlaps.map((m) => [
      String(m), String(expandSpec(layoutAt(fin, "dus", m).spec).length), ivs(pen.get(layoutAt(fin, "dus", m))!), ivs(pen.get(layoutAt(fin, "idus-g", m))!),
      ivs(pen.get(layoutAt(fin, "idus-1", m))!), share(fin, b, layoutAt(fin, "idus-1", m)),
    ]));
    // the spec is the layer list it claims, and the depth its length
    for (const run of runsOf(b)) for (const l of run.layouts) expect(expandSpec(l.spec)).toHaveLength(l.depth);
    keep(fx(fin.ppl, 2));
    keep(fx(b.unigram.ppl, 2));
  }
  expectTable("Depth", [...r.bases].sort((x, y) => x.layers - y.layers).map((b) => {
    const fin = runsOf(b).find((x) => x.final)!;
    const one = layoutAt(fin, "idus-1", b.m);
    return [b.name, String(b.layers), b.params.toLocaleString("en-US"), fx(fin.ppl, 2), fx(b.unigram.ppl, 2),
      ivs(pen.get(layoutAt(fin, "dus", b.m))!), `${ivs(pen.get(layoutAt(fin, "idus-g", b.m))!)} (g = ${b.g})`, ivs(pen.get(one)!),
      ivs(diffs.get(fin)!.one), fx(Math.exp(diffs.get(fin)!.one.value), 2), share(fin, b, one)];
  }));
  // trends over steps and m, as the findings cite them
  for (const b of r.bases) {
    const stepped = runsOf(b).filter((x) => x.step !== null);
    const steps = stepped.map((x) => x.step!);
    for (const kind of ["dus", "idus-1"]) keep(fx(rho(steps, stepped.map((x) => pen.get(layoutAt(x, kind, b.m))!.value)), 2));
    keep(fx(rho(steps, stepped.map((x) => diffs.get(x)!.one.value)), 2));
    const fin = runsOf(b).find((x) => x.final)!;
    for (const kind of ["dus", "idus-1"]) {
      const ms = b.overlaps.filter((m) => kind !== "dus" || m !== b.layers / 2); // DUS at n/2 is the base: left out of its trend
      keep(fx(rho(ms, ms.map((m) => pen.get(layoutAt(fin, kind, m))!.value)), 2));
    }
  }
  if (r.predictor.length > 0) {
    expectTable("The layout predictor", r.predictor.map((p) => {
      const held = p.layouts.filter((l) => l.set === "held-out");
      expect(held).toHaveLength(p.held_out_layouts);
      expect(p.layouts.length - held.length).toBe(p.fit_layouts);
      expect(p.rho).toBeCloseTo(rho(held.map((l) => l.predicted), held.map((l) => l.measured)), 10);
      expect(p.baseline_rho).toBeCloseTo(rho(held.map((l) => l.baseline), held.map((l) => l.measured)), 10);
      const lowest = (key: "measured" | "predicted" | "baseline") => held.map((l, i) => i).sort((i, j) => held[i]![key] - held[j]![key] || i - j).slice(0, 5);
      const top = (key: "predicted" | "baseline") => lowest(key).filter((i) => lowest("measured").includes(i)).length;
      expect(p.top5).toBe(top("predicted"));
      expect(p.baseline_top5).toBe(top("baseline"));
      keep(fx(p.rho, 2));
      keep(fx(p.baseline_rho, 2));
      return [p.base, String(p.fit_layouts), String(p.held_out_layouts), fx(p.rho, 2), fx(p.baseline_rho, 2), `${p.top5}/5`, `${p.baseline_top5}/5`];
    }));
  }
  // every decimal in the findings is one recomputed above (or a stated rule's constant)
  const findings = md.split("## Findings")[1]!.split("\n## ")[0]!;
  const rules = new Set(["0.90", "50.0%"]);
  for (const m of findings.matchAll(/-?\d+\.\d+%?(?: \[-?\d+\.\d+, -?\d+\.\d+\])?/g)) {
    compared++;
    expect(known.has(m[0]) || rules.has(m[0]), `finding number ${m[0]}`).toBe(true);
  }
  for (const x of tokensFinal) keep(x.toLocaleString("en-US"));
  return compared;
}

/** "0-23,8-31" → [0…23, 8…31] */
function expandSpec(spec: string): number[] {
  return spec.split(",").flatMap((part) => {
    const [a, b] = part.split("-").map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}
