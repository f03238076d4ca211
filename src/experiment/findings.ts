// What the experiment's own numbers say, as plain sentences with the rule each one applies: does
// the toy reproduce the published ordering, what healing changed, and whether the measured seam
// distance orders the layouts as their losses do. Pure; nothing here is claimed without a number.

import type { ExperimentResults, LayoutResult } from "./results.js";

export interface Finding {
  /** reproduced, healing, control, seams */
  topic: string;
  text: string;
  /** whether the rule in `text` holds (null: the data cannot decide) */
  holds: boolean | null;
}

/** "close to DUS": perplexity within this factor of DUS's. */
export const CLOSE_FACTOR = 1.25;
/** "far worse": perplexity at least this factor above DUS's. */
export const FAR_FACTOR = 2;

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const f2 = (x: number): string => x.toFixed(2);

/** acc_norm of the next-word task (or the mean of the tasks' acc_norm/acc), as a fraction. */
export function headlineAccuracy(m: LayoutResult["before"]): number | null {
  if (m.nextword) return m.nextword.metrics.acc_norm ?? m.nextword.metrics.acc ?? null;
  const scores = Object.values(m.tasks).map((t) => t.metrics.acc_norm ?? t.metrics.acc ?? t.metrics.mc2 ?? t.metrics.exact_match ?? null).filter((x): x is number => x !== null);
  return scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null;
}

/** Spearman's rank correlation of two equally long lists (average ranks for ties). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const rank = (xs: readonly number[]): number[] => {
    const order = xs.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(xs.length);
    for (let i = 0; i < order.length; ) {
      let j = i;
      while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
      for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}

/** The next-word scores (before and after) as [value, standard error] pairs. */
function nextwordScores(layouts: readonly LayoutResult[]): Array<[number, number]> {
  return layouts.flatMap((l) => [l.before.nextword, l.after?.nextword]).flatMap((s) => {
    const v = s?.metrics.acc_norm;
    const se = s?.stderr.acc_norm;
    return v !== undefined && typeof se === "number" ? [[v, se] as [number, number]] : [];
  });
}

/** Whether every model's next-word acc_norm (before and after) is within 2 standard errors of 1/4. */
export function nearChance(layouts: readonly LayoutResult[]): boolean {
  const scores = nextwordScores(layouts);
  return scores.length > 0 && scores.every(([v, se]) => Math.abs(v - 0.25) <= 2 * se);
}

/** Whether all next-word scores lie within two of their largest standard errors of each other. */
export function indistinguishable(layouts: readonly LayoutResult[]): boolean {
  const scores = nextwordScores(layouts);
  if (scores.length < 2) return false;
  const values = scores.map(([v]) => v);
  return Math.max(...values) - Math.min(...values) <= 2 * Math.max(...scores.map(([, se]) => se));
}

function accuracyCaveat(layouts: readonly LayoutResult[]): string {
  if (nearChance(layouts)) return "; every model is within two standard errors of chance, so at this size the task does not separate them";
  if (!indistinguishable(layouts)) return "";
  const values = nextwordScores(layouts).map(([v]) => v);
  return `; every model, before and after healing, is within two standard errors of the others (${pct(Math.min(...values))}–${pct(Math.max(...values))}), so the task does not separate them: the perplexity differences are the measured effect`;
}

export function findings(r: ExperimentResults): Finding[] {
  const by = (name: string) => r.layouts.find((l) => l.name === name);
  const dus = by("DUS");
  const one = by("iDUS-1");
  const quarter = r.layouts.find((l) => /^iDUS-\d+$/.test(l.name) && l.name !== "iDUS-1");
  const base = by("base");
  const out: Finding[] = [];
  if (!dus || !one || !quarter || !base) return out;

  // 1. The published ordering, before healing.
  const far = one.before.ppl / dus.before.ppl;
  const close = quarter.before.ppl / dus.before.ppl;
  const reproduced = far >= FAR_FACTOR && close <= CLOSE_FACTOR && close >= 1 / CLOSE_FACTOR;
  const acc = (l: LayoutResult) => headlineAccuracy(l.before);
  const accText = acc(dus) !== null && acc(one) !== null && acc(quarter) !== null
    ? dus.before.nextword
      ? ` Next-word acc_norm: DUS ${pct(acc(dus)!)}, ${quarter.name} ${pct(acc(quarter)!)}, iDUS-1 ${pct(acc(one)!)} (standard error ${pct(dus.before.nextword.stderr.acc_norm ?? 0)}; chance 25.0%)${accuracyCaveat(r.layouts)}.`
      : ` Mean task score: DUS ${pct(acc(dus)!)}, ${quarter.name} ${pct(acc(quarter)!)}, iDUS-1 ${pct(acc(one)!)}.`
    : "";
  out.push({
    topic: "reproduced",
    holds: reproduced,
    text:
      `${reproduced ? "The toy reproduces" : "The toy does not reproduce"} the published ordering before healing ` +
      `(rule: iDUS-1's held-out perplexity at least ${FAR_FACTOR}× DUS's, and ${quarter.name}'s within ${CLOSE_FACTOR}× of it): ` +
      `iDUS-1 is ${f2(far)}× DUS (${f2(one.before.ppl)} vs ${f2(dus.before.ppl)}), ${quarter.name} is ${f2(close)}× (${f2(quarter.before.ppl)}); the base is at ${f2(base.before.ppl)}.${accText}`,
  });

  // 2. Healing: the same budget for every model, the base as the control.
  const healed = r.layouts.filter((l) => l.after);
  if (healed.length === r.layouts.length && base.after && dus.after && one.after) {
    const gapBefore = Math.log(one.before.ppl / dus.before.ppl);
    const gapAfter = Math.log(one.after.ppl / dus.after.ppl);
    const closed = gapBefore > 0 ? 1 - gapAfter / gapBefore : null;
    const changes = healed.map((l) => `${l.name} ${f2(l.before.ppl)} → ${f2(l.after!.ppl)}`).join(", ");
    out.push({
      topic: "healing",
      holds: closed === null ? null : closed > 0,
      text:
        `Healing (${r.settings.heal_tokens.toLocaleString("en-US")} tokens each) changed held-out perplexity: ${changes}. ` +
        (closed === null
          ? "iDUS-1 was not worse than DUS before healing, so there was no gap to close."
          : `It closed ${pct(closed)} of iDUS-1's gap to DUS in log-perplexity (from ${f2(Math.exp(gapBefore))}× to ${f2(Math.exp(gapAfter))}×).`),
    });
    const baseGain = 1 - base.after.ppl / base.before.ppl;
    const stacksBelowBase = healed.filter((l) => l.name !== "base" && l.after!.ppl < base.after!.ppl).map((l) => l.name);
    out.push({
      topic: "control",
      holds: stacksBelowBase.length > 0,
      text:
        `The control: the base itself, trained on for the same budget, ${baseGain >= 0 ? `improved by ${pct(baseGain)}` : `got ${pct(-baseGain)} worse`} (${f2(base.before.ppl)} → ${f2(base.after.ppl)}). ` +
        (stacksBelowBase.length > 0
          ? `After healing, ${stacksBelowBase.join(", ")} ${stacksBelowBase.length > 1 ? "are" : "is"} below the healed base: the extra depth paid off at this budget.`
          : "No healed stack is below the healed base: at this budget the extra depth has not paid off over simply training the base more."),
    });
  }

  // 3. Does the measured seam distance explain the gap? Rank agreement over the stacks.
  const stacks = r.layouts.filter((l) => l.seams && l.name !== "base" && !l.also);
  if (stacks.length >= 3) {
    const loss = stacks.map((l) => Math.log(l.before.ppl / base.before.ppl));
    const drift = stacks.map((l) => l.seams!.drift);
    const total = stacks.map((l) => l.seams!.count * l.seams!.mean);
    const rhoDrift = spearman(drift, loss);
    const rhoTotal = spearman(total, loss);
    const per = stacks.map((l) => `${l.name}: ${l.seams!.count} seam${l.seams!.count === 1 ? "" : "s"}, mean ${l.seams!.mean.toFixed(3)}, largest ${l.seams!.max.toFixed(3)}, drift ${l.seams!.drift.toFixed(3)}`).join("; ");
    const largestDus = dus.seams!.max;
    const meanOne = one.seams!.mean;
    out.push({
      topic: "seams",
      holds: rhoDrift >= 0.8 ? true : rhoDrift <= 0 ? false : null,
      text:
        `Measured seam distance (angular, calibration text): ${per}. ` +
        `${largestDus >= meanOne ? `A single iDUS-1 seam is no larger than DUS's one seam (${meanOne.toFixed(3)} mean vs ${largestDus.toFixed(3)}), so the size of a seam alone does not explain the gap; ` : `iDUS-1's seams are larger on average than DUS's (${meanOne.toFixed(3)} vs ${largestDus.toFixed(3)}); `}` +
        `what differs is how many there are and how far the stack's inputs drift from what each layer saw in the base. ` +
        `Across the ${stacks.length} stacks, the rank correlation of drift with the perplexity gap to the base is ρ = ${rhoDrift.toFixed(2)}` +
        ` (of seams × mean seam distance: ρ = ${rhoTotal.toFixed(2)}). ` +
        (rhoDrift >= 0.8
          ? "The measured drift orders the layouts as their losses do, which is consistent with it explaining the gap; with this few layouts it is agreement, not proof."
          : "The measured drift does not order the layouts as their losses do, so it does not explain the gap on its own here."),
    });
  }
  return out;
}
