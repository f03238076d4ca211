// Text views of a plan: the layer table with each jump, and the layout's metrics.

import { describeLayout, recipeLayers } from "../recipe/index.js";
import type { Plan } from "../plan/types.js";
import { fmt } from "./progress.js";

export function planLayout(plan: Plan): string {
  return describeLayout(recipeLayers(plan.recipe));
}

export function renderPlan(plan: Plan, options: { table?: boolean } = {}): string {
  const m = plan.metrics;
  const multi = new Set(plan.sources.map((s) => s.ref)).size > 1;
  const lines: string[] = [];
  lines.push(`layout   ${planLayout(plan)}`);
  lines.push(`sources  ${plan.sources.map((s, i) => `[${i}] ${s.ref} (${s.format}, ${s.numLayers} layers)`).join("; ")}`);
  const att = plan.attention;
  const kind = (k: string | undefined) => (k === "sliding_attention" ? "sliding" : k === "full_attention" ? "full" : "");
  if (options.table !== false) {
    // with sliding layers: the kind each layer was trained with, and llama.cpp's at its position
    const head = att ? ` | trained${att.gguf ? " | llama.cpp" : ""}` : "";
    lines.push("");
    lines.push(` out | src | base | jump${head}`);
    lines.push(`-----+-----+------+------${att ? "+---------" + (att.gguf ? "+-----------" : "") : ""}`);
    plan.layers.forEach((l, i) => {
      const j = i === 0 ? "" : m.jumps[i - 1]!.jump;
      const seam = i > 0 && (m.jumps[i - 1]!.jump !== 1 || (multi && plan.sources[m.jumps[i - 1]!.from.source]!.ref !== plan.sources[l.source]!.ref));
      const kinds = att ? ` | ${kind(att.trained[i]).padEnd(7)}${att.gguf ? ` | ${kind(att.gguf[i]).padEnd(9)}` : ""}` : "";
      const broken = att?.gguf && att.gguf[i] !== att.trained[i];
      const marks = [seam ? "← seam" : "", broken ? "✗ position rule" : ""].filter(Boolean).join("  ");
      lines.push(`${String(i).padStart(4)} | ${String(l.source).padStart(3)} | ${String(l.layer).padStart(4)} | ${String(j === "" ? "" : j > 0 ? `+${j}` : j).padStart(4)}${kinds}${marks ? `  ${marks}` : ""}`.trimEnd());
    });
  }
  lines.push("");
  lines.push(`layers               ${m.numLayers}`);
  lines.push(`seams                ${m.seams}`);
  lines.push(`largest backward     ${m.largestBackwardJump}`);
  lines.push(`largest forward      ${m.largestForwardJump}`);
  lines.push(`mean |jump|          ${m.meanAbsJump.toFixed(2)}`);
  lines.push(`layers used twice    ${m.reusedLayers.length}${m.reusedLayers.length ? ` (${m.reusedLayers.slice(0, 12).map((u) => u.layer).join(", ")}${m.reusedLayers.length > 12 ? ", …" : ""})` : ""}`);
  lines.push(`parameters           ${m.parameterCount.toLocaleString("en-US")} (${(m.parameterCount / m.baseParameterCount).toFixed(3)}× base)`);
  lines.push(`output size          ${fmt(m.outputBytes, "bytes")} in ${plan.tensors.length} tensors (${plan.format})`);
  const transforms = plan.tensors.reduce<Record<string, number>>((acc, t) => ((acc[t.transform.kind] = (acc[t.transform.kind] ?? 0) + 1), acc), {});
  lines.push(`operations           ${Object.entries(transforms).map(([k, n]) => `${k}×${n}`).join(", ")}`);
  if (att?.gguf) {
    const broken = att.gguf.filter((k, i) => k !== att.trained[i]).length;
    lines.push(`position rule        ${broken === 0 ? `kept (llama.cpp period ${att.period})` : `${broken} layer(s) change attention kind in llama.cpp (period ${att.period})`}`);
  }
  for (const w of plan.warnings ?? []) {
    lines.push(`warning: ${w.message}`);
    if (w.hint) lines.push(`  hint: ${w.hint}`);
  }
  return lines.join("\n") + "\n";
}
