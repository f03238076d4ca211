// Text view of a QuantizePlan for `dusk quantize`: each tensor's type and why, then the totals
// per type, the file size, and what a stack's layer positions changed.

import type { QuantizePlan } from "./plan.js";

function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

export function renderQuantizePlan(plan: QuantizePlan, options: { table?: boolean } = {}): string {
  const lines: string[] = [];
  lines.push(`input    ${plan.input} (${plan.model.arch}, ${plan.model.layers} layers, ${mib(plan.inputBytes)} of tensors)`);
  lines.push(`type     ${plan.ftype}, layer rules by ${plan.mixBy === "source" ? "source (each copy as its base layer)" : "position in this stack (llama.cpp)"}`);
  if (options.table !== false) {
    const w = Math.max(...plan.tensors.map((t) => t.name.length), 6);
    lines.push("");
    lines.push(`${"tensor".padEnd(w)}  ${"shape".padEnd(14)} ${"from".padEnd(6)} → ${"to".padEnd(6)} why`);
    for (const t of plan.tensors) {
      const why = t.fallbackFrom ? `${t.reason}; rows of ${t.shape[t.shape.length - 1]} are not whole ${t.fallbackFrom} blocks → ${t.type}` : t.reason;
      lines.push(`${t.name.padEnd(w)}  ${`[${t.shape.join(", ")}]`.padEnd(14)} ${t.from.padEnd(6)} → ${t.type.padEnd(6)} ${why}${t.imatrix ? " (imatrix)" : ""}`);
    }
  }
  const perType = new Map<string, { n: number; bytes: number }>();
  for (const t of plan.tensors) {
    const e = perType.get(t.type) ?? { n: 0, bytes: 0 };
    perType.set(t.type, { n: e.n + 1, bytes: e.bytes + t.outputBytes });
  }
  lines.push("");
  lines.push(`types    ${[...perType].sort((a, b) => b[1].bytes - a[1].bytes).map(([type, e]) => `${type}×${e.n} (${mib(e.bytes)})`).join(", ")}`);
  const params = plan.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  lines.push(`size     ${mib(plan.outputBytes)} (${((plan.outputBytes * 8) / params).toFixed(2)} bits per weight; input ${mib(plan.inputBytes)})`);
  if (plan.mixDifferences !== undefined) {
    const other = plan.mixBy === "source" ? "stack" : "source";
    lines.push(`stack    --mix-by ${other} would type ${plan.mixDifferences} tensor${plan.mixDifferences === 1 ? "" : "s"} differently`);
  }
  for (const n of plan.notes) lines.push(`note     ${n}`);
  return lines.join("\n") + "\n";
}
