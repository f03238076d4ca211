// Text views of a plan: the layer table with each jump, the layout's metrics, and for merges one
// line per merged tensor with its inputs, method and evaluated parameters.

import { describeLayout, type StackLayer } from "../recipe/index.js";
import type { Plan, TensorOp } from "../plan/types.js";
import { fmt } from "./progress.js";

export function planLayout(plan: Plan): string {
  const layers: StackLayer[] = plan.layers.map((l) => ({ model: plan.sources[l.source]!.ref, layer: l.layer, slice: l.slice, indexInSlice: 0 }));
  const merged = plan.tensors.some((t) => t.merge);
  return describeLayout(layers) + (merged ? ` (${plan.recipe.mergeMethod ?? "passthrough"} of ${mergedSources(plan)})` : "");
}

function mergedSources(plan: Plan): string {
  const refs = new Set<string>();
  for (const t of plan.tensors) for (const i of t.merge?.inputs ?? []) refs.add(plan.sources[i.source]!.ref);
  return [...refs].join(", ");
}

export function renderPlan(plan: Plan, options: { table?: boolean; tensors?: boolean } = {}): string {
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
  const merges = plan.tensors.filter((t) => t.merge);
  if (merges.length > 0 && options.tensors !== false) {
    lines.push("");
    lines.push(`merged tensors (${merges.length}): name ← method(params) of [source] tensor {params}`);
    for (const t of merges) lines.push(`  ${mergeLine(t)}`);
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

/** `model.layers.3.mlp.up_proj.weight (BF16) ← ties(normalize=true, …) of [0] … {…}*, [1] … {weight=0.5}` (* = base) */
export function mergeLine(t: TensorOp): string {
  const s = t.merge!;
  const params = (p: Record<string, number | boolean>) => Object.entries(p).map(([k, v]) => `${k}=${typeof v === "number" ? +v.toPrecision(6) : v}`).join(", ");
  const inputs = s.inputs.map((i, k) => `[${i.source}] ${i.from}${Object.keys(i.params).length ? ` {${params(i.params)}}` : ""}${k === s.base ? "*" : ""}`).join(", ");
  return `${t.name} (${t.type}${s.dtype !== t.type ? `, math in ${s.dtype}` : ""}) ← ${s.method}(${params(s.params)}) of ${inputs}`;
}
