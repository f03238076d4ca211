// The merge methods mergekit registers (mergekit/merge_methods/registry.py and the @merge_method
// modules, pinned commit in docs/merge.md) as data: their names, parameters with types and
// defaults, and what they need of the base model and the input count. The recipe reader and the
// planner check recipes against it; the math lives in src/merge/methods/.

export type ParamKind = "number" | "boolean" | "integer";

export interface MethodParam {
  name: string;
  kind: ParamKind;
  /** mergekit `required=True`: no default (a tensor parameter is not required of the base) */
  required?: boolean;
  default?: number | boolean;
  /** allowed numeric range, checked on every evaluated value */
  range?: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; why: string };
}

export interface MethodInfo {
  name: string;
  pretty: string;
  /** parameters read once per tensor (filters match the OUTPUT tensor name) */
  global: MethodParam[];
  /** parameters read per input model (filters match that input's tensor name) */
  tensor: MethodParam[];
  /** base model: required, optional (used when given), or ignored (just another input) */
  base: "required" | "optional" | "input";
  /** inputs besides the base that the method accepts; undefined = any number ≥ 1 */
  models?: { min: number; max?: number };
  /** draws random numbers (DARE, DELLA; arcee_fusion when it samples) */
  random?: boolean;
  /**
   * One input alone (a one-source slice, a head of fewer models): `copy` returns it as it is,
   * `base` returns it only when it is the base model's (mergekit fails otherwise), `compute`
   * still runs the math (linear's w·x/w, passthrough's scale).
   */
  alone: "copy" | "base" | "compute";
}

const num = (name: string, def?: number, range?: MethodParam["range"]): MethodParam => ({
  name, kind: "number", ...(def === undefined ? { required: true } : { default: def }), ...(range ? { range } : {}),
});
const bool = (name: string, def: boolean): MethodParam => ({ name, kind: "boolean", default: def });

const DENSITY = { min: 0, max: 1, minExclusive: true, why: "density is the fraction of each task vector kept: 0 < density ≤ 1" };
const WEIGHT = num("weight");

/** The generalized task arithmetic family (mergekit GeneralizedTaskArithmeticMerge). */
export interface TaskArithmeticVariant {
  consensus: "sum" | null;
  sparsify: "magnitude" | "random" | "magnitude_outliers" | "della_magprune" | null;
  normalize: boolean;
  rescale: boolean;
}

export const TASK_ARITHMETIC_VARIANTS: Readonly<Record<string, TaskArithmeticVariant>> = {
  task_arithmetic: { consensus: null, sparsify: null, normalize: false, rescale: false },
  ties: { consensus: "sum", sparsify: "magnitude", normalize: true, rescale: false },
  dare_ties: { consensus: "sum", sparsify: "random", normalize: false, rescale: true },
  dare_linear: { consensus: null, sparsify: "random", normalize: false, rescale: true },
  breadcrumbs: { consensus: null, sparsify: "magnitude_outliers", normalize: false, rescale: false },
  breadcrumbs_ties: { consensus: "sum", sparsify: "magnitude_outliers", normalize: false, rescale: false },
  della: { consensus: "sum", sparsify: "della_magprune", normalize: true, rescale: true },
  della_linear: { consensus: null, sparsify: "della_magprune", normalize: false, rescale: true },
};

const PRETTY: Record<string, string> = {
  task_arithmetic: "Task Arithmetic", ties: "TIES", dare_ties: "DARE TIES", dare_linear: "Linear DARE",
  breadcrumbs: "Model Breadcrumbs", breadcrumbs_ties: "Model Breadcrumbs with TIES", della: "DELLA", della_linear: "Linear DELLA",
};

function taskArithmetic(name: string, v: TaskArithmeticVariant): MethodInfo {
  const tensor = [WEIGHT, num("density", 1, DENSITY)];
  if (v.sparsify === "magnitude_outliers") tensor.push(num("gamma", 0.01, { min: 0, max: 1, why: "gamma is the fraction of largest-magnitude entries removed: 0 ≤ gamma ≤ 1" }));
  if (v.sparsify === "della_magprune") tensor.push(num("epsilon", 0.15, { min: 0, why: "epsilon is the spread of DELLA's keep probabilities around density" }));
  return {
    name,
    pretty: PRETTY[name]!,
    global: [bool("int8_mask", false), bool("normalize", v.normalize), bool("rescale", v.rescale), num("lambda", 1)],
    tensor,
    base: "required",
    alone: "base",
    ...(v.sparsify === "random" || v.sparsify === "della_magprune" ? { random: true } : {}),
  };
}

export const MERGE_METHODS: readonly MethodInfo[] = [
  { name: "linear", pretty: "Linear", global: [bool("normalize", true)], tensor: [WEIGHT], base: "input", alone: "compute" },
  { name: "slerp", pretty: "SLERP", global: [num("t")], tensor: [], base: "required", models: { min: 1, max: 1 }, alone: "copy" },
  { name: "nuslerp", pretty: "NuSLERP", global: [bool("nuslerp_row_wise", false), bool("nuslerp_flatten", true)], tensor: [WEIGHT], base: "optional", models: { min: 2, max: 2 }, alone: "copy" },
  { name: "multislerp", pretty: "Multi-SLERP", global: [bool("normalize_weights", true), num("eps", 1e-8)], tensor: [WEIGHT], base: "optional", alone: "copy" },
  { name: "karcher", pretty: "Karcher Mean", global: [{ name: "max_iter", kind: "integer", default: 10, range: { min: 0, max: 10_000, why: "max_iter is the iteration count of the Karcher mean" } }, num("tol", 1e-5)], tensor: [], base: "input", alone: "copy" },
  ...Object.entries(TASK_ARITHMETIC_VARIANTS).map(([name, v]) => taskArithmetic(name, v)),
  { name: "sce", pretty: "SCE", global: [bool("int8_mask", false), num("select_topk", 1)], tensor: [], base: "required", alone: "base" },
  { name: "model_stock", pretty: "Model Stock", global: [bool("filter_wise", false)], tensor: [], base: "required", models: { min: 2 }, alone: "base" },
  { name: "nearswap", pretty: "NearSwap", global: [num("t")], tensor: [], base: "required", models: { min: 1, max: 1 }, alone: "base" },
  { name: "arcee_fusion", pretty: "Arcee Fusion", global: [], tensor: [], base: "required", models: { min: 1, max: 1 }, random: true, alone: "copy" },
  { name: "ram", pretty: "Reinforced Agent Merging", global: [num("epsilon", 1e-5)], tensor: [], base: "required", alone: "base" },
  { name: "ramplus_tl", pretty: "Reinforced Agent Merging Plus (Tensor-Local)", global: [num("r", 0.1), num("alpha", 0.2), num("epsilon", 1e-5)], tensor: [], base: "required", alone: "base" },
  { name: "passthrough", pretty: "Passthrough", global: [], tensor: [{ name: "scale", kind: "number" }], base: "input", models: { min: 1, max: 1 }, alone: "compute" },
];

const BY_NAME = new Map(MERGE_METHODS.map((m) => [m.name, m]));

export function mergeMethodInfo(name: string): MethodInfo | undefined {
  return BY_NAME.get(name);
}

export const MERGE_METHOD_NAMES: readonly string[] = MERGE_METHODS.map((m) => m.name);

/** Every parameter name the method reads, global and per model. */
export function methodParamNames(m: MethodInfo): string[] {
  return [...m.global, ...m.tensor].map((p) => p.name);
}

export function methodParam(m: MethodInfo, name: string): MethodParam | undefined {
  return m.global.find((p) => p.name === name) ?? m.tensor.find((p) => p.name === name);
}
