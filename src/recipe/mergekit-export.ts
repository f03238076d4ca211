// Recipe → mergekit passthrough YAML that mergekit accepts as-is (and parseMergekitYaml reads
// back to an equal Recipe, origin aside). Text only: the caller decides where it is written
// (mergekit_config.yml beside a build, stdout for `dusk plan --yaml`).

import { Document, isSeq, visit } from "yaml";
import type { Recipe, RecipeSlice, ScaleParam } from "./recipe.js";
import { validateRecipe } from "./validate.js";

export function recipeToMergekitYaml(recipe: Recipe): string {
  validateRecipe(recipe);
  // Key order as people write them: method first, the stack last.
  const out: Record<string, unknown> = { merge_method: "passthrough" };
  if (recipe.baseModel !== undefined) out.base_model = recipe.baseModel;
  if (recipe.dtype !== undefined) out.dtype = recipe.dtype;
  if (recipe.outDtype !== undefined) out.out_dtype = recipe.outDtype;
  if (recipe.tokenizerSource !== undefined) out.tokenizer_source = recipe.tokenizerSource;
  if (recipe.parameters?.scale !== undefined) out.parameters = { scale: plainScale(recipe.parameters.scale) };
  out.slices = recipe.slices.map(sliceToPlain);

  const doc = new Document(out);
  // Number lists ([start, end], gradients) in flow style, like mergekit's own dumper.
  visit(doc, {
    Seq(_key, node) {
      if (node.items.length > 0 && node.items.every((item) => !isSeq(item) && typeof (item as { value?: unknown }).value === "number")) node.flow = true;
    },
  });
  doc.commentBefore = ` ${originComment(recipe)}`;
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function sliceToPlain(slice: RecipeSlice): Record<string, unknown> {
  const src = slice.sources[0];
  const source: Record<string, unknown> = { model: src.model, layer_range: [src.layerRange[0], src.layerRange[1]] };
  if (src.parameters?.scale !== undefined) source.parameters = { scale: plainScale(src.parameters.scale) };
  const plain: Record<string, unknown> = { sources: [source] };
  if (slice.parameters?.scale !== undefined) plain.parameters = { scale: plainScale(slice.parameters.scale) };
  return plain;
}

/** A copy with `filter` before `value`, the way mergekit configs are written. */
function plainScale(scale: ScaleParam): unknown {
  if (typeof scale === "number") return scale;
  return scale.map((entry) => {
    if (typeof entry === "number") return entry;
    const plain: Record<string, unknown> = {};
    if (entry.filter !== undefined) plain.filter = entry.filter;
    plain.value = typeof entry.value === "number" ? entry.value : [...entry.value];
    return plain;
  });
}

function originComment(recipe: Recipe): string {
  const o = recipe.origin;
  if (o.kind === "preset") {
    const options = Object.entries(o.options).map(([k, v]) => `${k}=${v}`).join(", ");
    return `written by dusk from preset ${o.preset} (${options})`;
  }
  if (o.kind === "layers") return `written by dusk from a layer list${o.spec === undefined ? "" : ` "${o.spec}"`}`;
  return `written by dusk from a mergekit config${o.file === undefined ? "" : ` (${o.file})`}`;
}
