// Recipe → mergekit YAML that mergekit accepts as-is (and parseMergekitYaml reads back to an
// equal Recipe, origin aside): method, base, dtypes, tokenizer section, chat template, name,
// parameters at every level, and the `slices:` or `models:` stack. Text only: the caller decides
// where it is written (mergekit_config.yml beside a build, stdout for `dusk plan --emit mergekit`).

import { Document, isSeq, visit } from "yaml";
import { mergeMethodOf, type ParameterSetting, type Parameters, type Recipe, type RecipeSlice, type TokenizerConfig, type TokenizerSource } from "./recipe.js";
import { validateRecipe } from "./validate.js";

export function recipeToMergekitYaml(recipe: Recipe): string {
  validateRecipe(recipe);
  // Key order as people write them: method first, the stack last.
  const out: Record<string, unknown> = { merge_method: mergeMethodOf(recipe) };
  if (recipe.baseModel !== undefined) out.base_model = recipe.baseModel;
  if (recipe.dtype !== undefined) out.dtype = recipe.dtype;
  if (recipe.outDtype !== undefined) out.out_dtype = recipe.outDtype;
  if (recipe.tokenizerSource !== undefined) out.tokenizer_source = plainSource(recipe.tokenizerSource);
  if (recipe.tokenizer !== undefined) out.tokenizer = plainTokenizer(recipe.tokenizer);
  if (recipe.chatTemplate !== undefined) out.chat_template = recipe.chatTemplate;
  if (recipe.name !== undefined) out.name = recipe.name;
  if (recipe.parameters !== undefined) out.parameters = plainParameters(recipe.parameters);
  if (recipe.models !== undefined) {
    out.models = recipe.models.map((m) => (m.parameters === undefined ? { model: m.model } : { model: m.model, parameters: plainParameters(m.parameters) }));
  } else {
    out.slices = recipe.slices.map(sliceToPlain);
  }

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
  const plain: Record<string, unknown> = {
    sources: slice.sources.map((src) => {
      const source: Record<string, unknown> = { model: src.model, layer_range: [src.layerRange[0], src.layerRange[1]] };
      if (src.parameters !== undefined) source.parameters = plainParameters(src.parameters);
      return source;
    }),
  };
  if (slice.baseModel !== undefined) plain.base_model = slice.baseModel;
  if (slice.parameters !== undefined) plain.parameters = plainParameters(slice.parameters);
  return plain;
}

function plainParameters(parameters: Parameters): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(parameters)) out[name] = plainSetting(setting);
  return out;
}

/** A copy with `filter` before `value`, the way mergekit configs are written. */
function plainSetting(setting: ParameterSetting): unknown {
  if (!Array.isArray(setting)) return setting;
  return setting.map((entry) => {
    if (typeof entry === "number") return entry;
    const plain: Record<string, unknown> = {};
    if (entry.filter !== undefined) plain.filter = entry.filter;
    plain.value = Array.isArray(entry.value) ? [...entry.value] : entry.value;
    return plain;
  });
}

function plainSource(source: TokenizerSource): string {
  return typeof source === "string" ? source : source.model;
}

function plainTokenizer(t: TokenizerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { source: plainSource(t.source) };
  if (t.tokens !== undefined) {
    const tokens: Record<string, unknown> = {};
    for (const e of t.tokens) {
      const entry: Record<string, unknown> = {};
      if (e.source !== undefined) {
        const s = e.source;
        entry.source = s.kind === "model" ? s.model : s.kind === "zero" ? { kind: "zero" } : { kind: "model_token", model: s.model, ...(s.tokenId !== undefined ? { token_id: s.tokenId } : { token: s.token }) };
      }
      if (e.force) entry.force = true;
      tokens[e.token] = entry;
    }
    out.tokens = tokens;
  }
  if (t.padToMultipleOf !== undefined) out.pad_to_multiple_of = t.padToMultipleOf;
  return out;
}

function originComment(recipe: Recipe): string {
  const o = recipe.origin;
  if (o.kind === "preset") {
    const options = Object.entries(o.options).map(([k, v]) => `${k}=${v}`).join(", ");
    return `written by dusk from preset ${o.preset} (${options})`;
  }
  if (o.kind === "layers") return `written by dusk from a layer list${o.spec === undefined ? "" : ` "${o.spec}"`}`;
  if (o.kind === "experiment") return `written by dusk experiment (${o.layout})`;
  return `written by dusk from a mergekit config${o.file === undefined ? "" : ` (${o.file})`}`;
}
