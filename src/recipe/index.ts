// The recipe folder's public surface: the Recipe type, presets, the `layers` list syntax,
// mergekit passthrough YAML import/export, scale resolution and the output layer stack.
// Everything here is pure: text and numbers in, values out.

export { sliceOf, type Recipe, type RecipeSlice, type RecipeSource, type ScaleParam, type ScaleValue } from "./recipe.js";
export {
  checkLayerCount,
  defaultDrop,
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
export { describeLayout, recipeLayers, type StackLayer } from "./layout.js";
export { MERGEKIT_DTYPES, validateRecipe } from "./validate.js";
