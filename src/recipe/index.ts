// The recipe folder's public surface: the Recipe type, presets, the `layers` list syntax,
// mergekit YAML import/export, the merge methods' parameter table, parameter evaluation and the
// output layer stack. Everything here is pure: text and numbers in, values out.

export {
  mergeMethodOf, recipeModels, sliceOf,
  type ParamCondition, type ParameterSetting, type Parameters, type ParamScalar, type ParamValue, type Recipe, type RecipeModel,
  type RecipeSlice, type RecipeSource, type ScaleParam, type ScaleValue, type TokenEmbedding, type TokenEmbeddingSource, type TokenizerConfig, type TokenizerSource,
} from "./recipe.js";
export {
  checkLayerCount,
  defaultDrop,
  dusBlendRecipe,
  dusRecipe,
  expandRecipe,
  idusRecipe,
  OUTPUT_PROJECTION_FILTERS,
  parseDropRange,
  pruneRecipe,
  type ExpandOptions,
  type TwoCopyOptions,
} from "./presets.js";
export { layersRecipe, parseLayerSpec, type LayerSpecItem } from "./layer-spec.js";
export { MERGEKIT_KEYS, parseMergekitYaml } from "./mergekit-import.js";
export { recipeToMergekitYaml } from "./mergekit-export.js";
export { evaluateScaleSetting, gradientPosition, resolveNonLayerScale, resolveScale, resolveScaleAt } from "./scale.js";
export { evaluateSetting, lookupParameter, type ParameterScope } from "./parameters.js";
export {
  MERGE_METHOD_NAMES, MERGE_METHODS, mergeMethodInfo, methodParam, TASK_ARITHMETIC_VARIANTS,
  type MethodInfo, type MethodParam, type ParamKind, type TaskArithmeticVariant,
} from "./merge-methods.js";
export { describeLayout, recipeLayers, type StackLayer } from "./layout.js";
export { MERGEKIT_DTYPES, validateRecipe } from "./validate.js";
