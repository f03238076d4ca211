// Reads mergekit `parameters:` mappings (source, slice, model or global level) against the merge
// method's table: unknown names, wrong types, out-of-range numbers and parameters at a level
// mergekit never reads them from are refused with file:line:col, path and hint.

import { isMap, isScalar, isSeq, type Node } from "yaml";
import type { ParamCondition, ParameterSetting, Parameters, ParamValue } from "./recipe.js";
import { methodParam, methodParamNames, type MethodInfo, type MethodParam } from "./merge-methods.js";
import type { YamlRecipeReader } from "./yaml-reader.js";

const CONDITION_KEYS = ["filter", "value"] as const;

/** Where a parameters mapping sits: per-model levels cannot hold a per-tensor (global) parameter. */
export type ParamLevel = "source" | "model" | "slice" | "global";

/** An optional key whose value may be null (mergekit treats `key:` with no value as absent). */
export function optional(r: YamlRecipeReader, entry: { value: Node | null } | undefined): Node | undefined {
  if (entry === undefined || r.isNull(entry.value)) return undefined;
  return entry.value ?? undefined;
}

export function readParameters(
  r: YamlRecipeReader,
  entry: { value: Node | null } | undefined,
  path: string,
  method: MethodInfo,
  level: ParamLevel,
): Parameters | undefined {
  const node = optional(r, entry);
  if (node === undefined) return undefined;
  const names = methodParamNames(method);
  const unknownHint = names.length === 0
    ? `${method.name} takes no parameters; remove this entry`
    : `${method.name} reads ${names.map((n) => `\`${n}\``).join(", ")}; dusk never ignores a key`;
  const keys = r.mapping(node, path, names, {}, unknownHint);
  if (keys.size === 0) return undefined;
  const out: Parameters = Object.create(null) as Parameters;
  for (const [name, { keyNode, value }] of keys) {
    const param = methodParam(method, name)!;
    const perModel = level === "source" || level === "model";
    if (perModel && method.global.includes(param)) {
      r.fail(
        "RECIPE_PARAMETER_LEVEL",
        `\`${name}\` is read once per tensor, not per model: mergekit never looks for it here`,
        `${path}.${name}`,
        keyNode,
        "move it to the slice's `parameters:` or the top-level `parameters:`",
      );
    }
    out[name] = readSetting(r, value ?? keyNode, `${path}.${name}`, param);
  }
  return { ...out };
}

function typeHint(p: MethodParam): string {
  if (p.kind === "boolean") return `${p.name} is true or false (or a list of {filter, value} entries)`;
  return `${p.name} is a number, a list of numbers (a gradient across the slice's layers), or a list of \`- filter: self_attn\` / \`value: …\` entries`;
}

/** A scalar, a gradient, or a list of {filter?, value}. */
function readSetting(r: YamlRecipeReader, node: Node | null, path: string, p: MethodParam): ParameterSetting {
  const hint = typeHint(p);
  if (isScalar(node)) return readScalar(r, node, path, p, hint);
  if (isMap(node)) {
    r.fail("RECIPE_PARAMETER", "a single {filter, value} mapping must be a list item", path, node, "put a `- ` before `filter:` (mergekit accepts the mapping here but fails on it at merge time)");
  }
  const items = r.sequence(node, path, "numbers or {filter, value} entries");
  if (items.length === 0) r.fail("RECIPE_PARAMETER", `${p.name} is an empty list`, path, node, hint);
  if (items.every((item) => isScalar(item))) return readGradient(r, items, path, p, hint);
  if (!items.every((item) => isMap(item))) r.fail("RECIPE_PARAMETER", `${p.name} mixes values and {filter, value} entries`, path, node, hint);
  return items.map((item, k): ParamCondition => {
    const entryPath = `${path}[${k}]`;
    const keys = r.mapping(item, entryPath, CONDITION_KEYS);
    const value = keys.get("value");
    if (value === undefined) r.fail("RECIPE_MISSING_KEY", "missing `value`", `${entryPath}.value`, item, "each entry is `- filter: self_attn` then `value: …`");
    const valueNode = value.value ?? value.keyNode;
    const condition: ParamCondition = {
      value: isSeq(valueNode) ? readGradient(r, r.sequence(valueNode, `${entryPath}.value`, "numbers"), `${entryPath}.value`, p, hint, valueNode) : readScalar(r, valueNode, `${entryPath}.value`, p, hint),
    };
    const filter = optional(r, keys.get("filter"));
    if (filter !== undefined) condition.filter = r.string(filter, `${entryPath}.filter`, "a substring of the tensor name, e.g. self_attn, mlp or mlp.down_proj");
    return condition;
  });
}

function readGradient(r: YamlRecipeReader, items: (Node | null)[], path: string, p: MethodParam, hint: string, listNode?: Node | null): ParamValue {
  if (items.length === 0) r.fail("RECIPE_PARAMETER", "a gradient needs at least one number", path, listNode ?? null, hint);
  if (p.kind === "boolean") {
    r.fail("RECIPE_PARAMETER", `${p.name} is a switch; a list of values (a gradient) makes no sense for it`, path, listNode ?? items[0] ?? null, hint);
  }
  return items.map((item, k) => readScalar(r, item, `${path}[${k}]`, p, hint) as number);
}

function readScalar(r: YamlRecipeReader, node: Node | null, path: string, p: MethodParam, hint: string): ParamValue {
  const v = isScalar(node) ? node.value : undefined;
  if (p.kind === "boolean") {
    if (typeof v !== "boolean") r.fail("RECIPE_PARAMETER", `${path} must be true or false, found ${r.describe(node)}`, path, node, hint);
    return v;
  }
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) {
    r.fail("RECIPE_PARAMETER", `${path} must be a number, found ${r.describe(node)}`, path, node, `write it without quotes: ${v.trim()}`);
  }
  if (typeof v !== "number" || !Number.isFinite(v)) r.fail("RECIPE_PARAMETER", `${path} must be a finite number, found ${r.describe(node)}`, path, node, hint);
  if (p.kind === "integer" && !Number.isSafeInteger(v)) r.fail("RECIPE_PARAMETER", `${path} must be a whole number, found ${v}`, path, node, hint);
  const problem = outOfRange(p, v);
  if (problem !== undefined) r.fail("RECIPE_PARAMETER_RANGE", `${path} is ${v}: ${problem}`, path, node, p.range!.why);
  return v;
}

/** Why `v` is outside the parameter's range, or undefined when it is inside. */
export function outOfRange(p: MethodParam, v: number): string | undefined {
  const range = p.range;
  if (range === undefined) return undefined;
  if (range.min !== undefined && (range.minExclusive ? v <= range.min : v < range.min)) return `it must be ${range.minExclusive ? "greater than" : "at least"} ${range.min}`;
  if (range.max !== undefined && (range.maxExclusive ? v >= range.max : v > range.max)) return `it must be ${range.maxExclusive ? "less than" : "at most"} ${range.max}`;
  return undefined;
}
