// What the study's numbers say, as sentences whose every number comes from results.json and whose
// verdicts follow stated rules: does iDUS-1 collapse at the seed's scale, is it worse than DUS, and
// how the penalties move with training, depth and overlap. Pure; nothing is claimed without a number
// and an interval behind it.

import { spearman } from "../experiment/findings.js";
import type { Interval } from "./bootstrap.js";
import type { MeasuredLayout, StudyBase, StudyResults, StudyRun } from "./results.js";

export interface StudyFinding {
  /** collapse, ordering, training, depth, overlap, predictor */
  topic: string;
  text: string;
}

/** iDUS-1 "collapses" when it loses at least this share of its base's gain over the unigram level. */
export const COLLAPSE_SHARE = 0.5;
/** a trend over a factor is "monotone" when |Spearman ρ| reaches this */
export const TREND_RHO = 0.8;
/** the predictor's goal (issue 18) */
export const PREDICTOR_GOAL = 0.9;

/** fixed decimals without a "-0.000": a value that rounds to zero prints as zero */
const fixed = (x: number, d: number): string => {
  const s = x.toFixed(d);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
};
export const f3 = (x: number): string => fixed(x, 3);
export const f2 = (x: number): string => fixed(x, 2);
export const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
/** "0.123 [0.101, 0.140]" */
export const iv = (i: Interval): string => `${f3(i.value)} [${f3(i.lo)}, ${f3(i.hi)}]`;
/** "step 25", "step 489 (final)", "final" */
export const stepLabel = (r: StudyRun): string => (r.step === null ? "final" : `step ${r.step}${r.final ? " (final)" : ""}`);

/** The run's layout of a kind at the base's default overlap. */
export function layoutOf(r: StudyRun, kind: MeasuredLayout["kind"], base: StudyBase): MeasuredLayout | undefined {
  return r.layouts.find((l) => l.kind === kind && l.m === base.m);
}

/** Runs of a base, earliest first (the final model last). */
export function runsOf(res: StudyResults, base: string): StudyRun[] {
  return res.runs.filter((r) => r.base === base);
}

/** Whether an interval lies wholly above (1), below (−1) or across (0) zero. */
const sign = (i: Interval): number => (i.lo > 0 ? 1 : i.hi < 0 ? -1 : 0);

function collapse(res: StudyResults, b: StudyBase): StudyFinding | undefined {
  const r = runsOf(res, b.name).find((x) => x.final);
  const one = r && layoutOf(r, "idus-1", b);
  const dus = r && layoutOf(r, "dus", b);
  const grp = r && layoutOf(r, "idus-g", b);
  if (!r || !one || !dus || !grp) return undefined;
  const collapsed = one.lost !== null && one.lost >= COLLAPSE_SHARE;
  const vsDus = Math.exp(r.idus1_minus_dus.value);
  const lostText = one.lost === null ? "its base is not above the unigram level, so no share can be stated" : `it loses ${pct(one.lost)} of the base's gain over the unigram level (DUS ${pct(dus.lost ?? 0)}, ${grp.name} ${pct(grp.lost ?? 0)})`;
  return {
    topic: "collapse",
    text: `${b.name} (${b.layers} layers, final model, m = ${b.m}): iDUS-1's perplexity is ${f2(one.ppl_ratio)}× the base's (penalty ${iv(one.penalty)} nats/token) and ${f2(vsDus)}× DUS's; ${lostText}.` +
      (one.lost === null ? "" : collapsed
        ? ` By the study's rule (a collapse loses at least ${pct(COLLAPSE_SHARE)} of that gain) iDUS-1 collapses here, as the published iDUS-1layer did.`
        : ` By the study's rule (a collapse loses at least ${pct(COLLAPSE_SHARE)} of that gain) iDUS-1 does not collapse here: the published iDUS-1layer's fall to chance is not reproduced at this scale.`),
  };
}

function ordering(res: StudyResults, b: StudyBase): StudyFinding | undefined {
  const r = runsOf(res, b.name).find((x) => x.final);
  const grp = r && layoutOf(r, "idus-g", b);
  if (!r || !grp) return undefined;
  const word = (i: Interval) => (sign(i) > 0 ? "worse than" : sign(i) < 0 ? "better than" : "not distinguishable from");
  return {
    topic: "ordering",
    text: `${b.name}, final model: iDUS-1 is ${word(r.idus1_minus_dus)} DUS (penalty difference ${iv(r.idus1_minus_dus)}) and ${grp.name} is ${word(r.idusg_minus_dus)} DUS (${iv(r.idusg_minus_dus)}); ` +
      `the published order was iDUS-8layer slightly above DUS and iDUS-1layer far below.`,
  };
}

/** A trend's verdict: Spearman ρ over the points, and whether the ends' intervals separate. */
function trend(xs: number[], ys: Interval[]): { rho: number; word: string } {
  const rho = spearman(xs, ys.map((y) => y.value));
  const first = ys[0]!;
  const last = ys[ys.length - 1]!;
  const word = rho >= TREND_RHO && last.lo > first.hi ? "grows" : rho <= -TREND_RHO && last.hi < first.lo ? "shrinks" : "shows no monotone trend that the intervals support";
  return { rho, word };
}

function training(res: StudyResults, b: StudyBase): StudyFinding | undefined {
  const runs = runsOf(res, b.name).filter((r) => r.step !== null);
  if (runs.length < 3) return undefined;
  const steps = runs.map((r) => r.step!);
  const dus = runs.map((r) => layoutOf(r, "dus", b)!.penalty);
  const one = runs.map((r) => layoutOf(r, "idus-1", b)!.penalty);
  const diff = runs.map((r) => r.idus1_minus_dus);
  const [tDus, tOne, tDiff] = [trend(steps, dus), trend(steps, one), trend(steps, diff)];
  const ends = (xs: Interval[]) => `${iv(xs[0]!)} at ${stepLabel(runs[0]!)} → ${iv(xs[xs.length - 1]!)} at ${stepLabel(runs[runs.length - 1]!)}`;
  // the earliest checkpoint from which iDUS-1 stays worse than DUS beyond the interval
  let from = diff.length;
  while (from > 0 && sign(diff[from - 1]!) > 0) from--;
  const above = diff.filter((d) => sign(d) > 0).length;
  const when = from < diff.length
    ? `iDUS-1 − DUS is above 0 with its whole interval from ${stepLabel(runs[from]!)} on (${above} of ${runs.length} checkpoints)`
    : `iDUS-1 − DUS is above 0 with its whole interval at ${above} of ${runs.length} checkpoints, not at the last`;
  return {
    topic: "training",
    text: `Training length, ${b.name} (${runs.length} checkpoints): DUS's own penalty ${tDus.word} with training (${ends(dus)}; Spearman ρ = ${f2(tDus.rho)}), iDUS-1's ${tOne.word} (${ends(one)}; ρ = ${f2(tOne.rho)}), ` +
      `and iDUS-1 − DUS ${tDiff.word} (${ends(diff)}; ρ = ${f2(tDiff.rho)}); ${when}.`,
  };
}

function depth(res: StudyResults): StudyFinding | undefined {
  const finals = res.bases.flatMap((b) => {
    const r = runsOf(res, b.name).find((x) => x.final);
    const one = r && layoutOf(r, "idus-1", b);
    return r && one ? [{ b, r, one }] : [];
  }).sort((x, y) => x.b.layers - y.b.layers);
  if (finals.length < 2) return undefined;
  const lo = finals[0]!;
  const hi = finals[finals.length - 1]!;
  // "larger at 32 layers" when the deeper base's interval lies wholly above the shallower one's
  const compare = (a: Interval, b: Interval) => (a.lo > b.hi ? `larger at ${hi.b.layers} layers` : a.hi < b.lo ? `smaller at ${hi.b.layers} layers` : "not separable between the depths (the intervals overlap)");
  const share = (x: typeof lo) => (x.one.lost === null ? "—" : pct(x.one.lost));
  return {
    topic: "depth",
    text: `Depth (final models): iDUS-1's penalty is ${compare(hi.one.penalty, lo.one.penalty)}: ${iv(hi.one.penalty)} nats/token at ${hi.b.layers} layers vs ${iv(lo.one.penalty)} at ${lo.b.layers} ` +
      `(share of the base's gain lost: ${share(hi)} vs ${share(lo)}); iDUS-1's excess over DUS is ${compare(hi.r.idus1_minus_dus, lo.r.idus1_minus_dus)}: ${iv(hi.r.idus1_minus_dus)} vs ${iv(lo.r.idus1_minus_dus)}. ` +
      `Two depths are one comparison, and the deeper base also has more parameters: this orders two points, it does not give a law.`,
  };
}

function overlap(res: StudyResults, b: StudyBase): StudyFinding | undefined {
  const r = runsOf(res, b.name).find((x) => x.final);
  if (!r || b.overlaps.length < 3) return undefined;
  // DUS at m = n/2 is the base itself (penalty 0 by construction): its trend is read below n/2
  const half = b.layers / 2;
  const parts = (["dus", "idus-1"] as const).map((kind) => {
    const ms = b.overlaps.filter((m) => kind !== "dus" || m !== half);
    const ls = ms.map((m) => r.layouts.find((l) => l.kind === kind && l.m === m)!);
    const t = trend(ms, ls.map((l) => l.penalty));
    return `${kind === "dus" ? "DUS" : "iDUS-1"}'s penalty ${t.word} as m grows${kind === "dus" && ms.length < b.overlaps.length ? ` below n/2` : ""} (${ls.map((l) => `m = ${l.m}: ${f3(l.penalty.value)}`).join(", ")}; ρ = ${f2(t.rho)})`;
  });
  const note = b.overlaps.includes(half) ? ` At m = ${half} DUS is the base itself (A[0,${half}) + B[${half},${b.layers})), so its penalty is 0 by construction; iDUS at that m still reorders the base's layers.` : "";
  return { topic: "overlap", text: `Overlap, ${b.name} final model: ${parts.join("; ")}.${note}` };
}

function predictor(res: StudyResults): StudyFinding | undefined {
  if (res.predictor.length === 0) return undefined;
  const per = res.predictor.map((p) => `${p.base}: ρ = ${f2(p.rho)} on ${p.held_out_layouts} held-out layouts (seam-cost baseline ${f2(p.baseline_rho)}), top-5 overlap ${p.top5}/5 (baseline ${p.baseline_top5}/5)`);
  const met = res.predictor.filter((p) => p.rho >= PREDICTOR_GOAL).map((p) => p.base);
  return {
    topic: "predictor",
    text: `The layout predictor, from one base pass on the calibration text: ${per.join("; ")}. ` +
      (met.length === res.predictor.length ? `It reaches the goal of ρ ≥ ${f2(PREDICTOR_GOAL)} on every base.` : met.length === 0 ? `It does not reach the goal of ρ ≥ ${f2(PREDICTOR_GOAL)} on any base.` : `It reaches ρ ≥ ${f2(PREDICTOR_GOAL)} on ${met.join(", ")} only.`),
  };
}

export function studyFindings(res: StudyResults): StudyFinding[] {
  const out: Array<StudyFinding | undefined> = [];
  const deepest = [...res.bases].sort((a, b) => b.layers - a.layers);
  for (const b of deepest) out.push(collapse(res, b), ordering(res, b));
  for (const b of deepest) out.push(training(res, b));
  out.push(depth(res));
  for (const b of deepest) out.push(overlap(res, b));
  out.push(predictor(res));
  return out.filter((f): f is StudyFinding => f !== undefined);
}
