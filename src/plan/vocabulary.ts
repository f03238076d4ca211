// The output vocabulary of a merge with `tokenizer_source` / `tokenizer:` and where each
// embedding row comes from, as mergekit's BuildTokenizer and PermutedEmbeddings decide it:
// base (the base's tokens), a model's, or the union (the base's, then every model's other
// tokens, then their added tokens); rows by token, and for tokens a model lacks: the configured
// source, the only model that has it, the base's, the average of those that have it, or zero.
// Pure: vocabularies in, a plan out (src/merge/vocabulary.ts reads them, the executor applies it).

import { PlanError } from "../errors.js";
import type { Recipe, TokenEmbeddingSource, TokenizerSource } from "../recipe/index.js";

/** One model's vocabulary: token of each id (ids < rows, its embedding rows), and its added tokens. */
export interface SourceVocabulary {
  ref: string;
  /** id → token text; "" for an id without one */
  tokens: string[];
  /** the embedding's rows (config vocab_size): ids at or past it are not the model's */
  rows: number;
  /** tokenizer.json added_tokens (HF), for the union's added tokens */
  added: { id: number; content: string; special: boolean; normalized: boolean }[];
}

export type VocabDefault =
  | { id: number; kind: "row"; source: number; row: number; force: boolean }
  | { id: number; kind: "zero"; force: boolean }
  | { id: number; kind: "average" };

export interface VocabularyPlan {
  source: TokenizerSource;
  /** tokens of the output vocabulary; `rows` pads them to pad_to_multiple_of */
  tokens: number;
  rows: number;
  /** per plan source index: the row of each output token in that model, −1 where it lacks it */
  rowsOf: Record<number, number[]>;
  /** output tokens whose row is not the model's own (it lacks the token, or a rule forces one) */
  defaults: VocabDefault[];
  /** tokens the output's tokenizer adds to the files it copies (union, tokenizer.tokens) */
  added: { id: number; content: string; special: boolean; normalized: boolean }[];
  /** plan source index whose tokenizer files the output starts from */
  filesFrom: number;
}

/**
 * Plans the vocabulary, or returns undefined when it changes nothing: the recipe names no
 * tokenizer source, or every model has the output vocabulary's tokens at the same ids.
 */
export function planVocabulary(recipe: Recipe, refs: readonly string[], vocabularies: readonly SourceVocabulary[] | undefined, warnings: string[]): VocabularyPlan | undefined {
  const config = recipe.tokenizer ?? (recipe.tokenizerSource === undefined ? undefined : { source: recipe.tokenizerSource });
  if (config === undefined) return undefined;
  if (vocabularies === undefined) throw new PlanError("plan.vocabulary-missing", "the recipe sets a tokenizer source, and the planner was given no vocabularies", { hint: "read them with readVocabularies() (the CLI does)" });
  const vocabOf = (ref: string): SourceVocabulary => {
    const v = vocabularies.find((x) => x.ref === ref);
    if (!v) throw new PlanError("plan.vocabulary-missing", `no vocabulary was read for ${ref}`);
    return v;
  };
  const baseRef = recipe.baseModel ?? refs[0]!;
  // the models with weights in the merge (a tokenizer-only source has none)
  const merged = refs.filter((r) => r === baseRef || recipe.models?.some((m) => m.model === r) || recipe.slices.some((s) => s.sources.some((x) => x.model === r)));
  const base = vocabOf(baseRef);
  const out: string[] = [];
  const index = new Map<string, number>();
  const push = (t: string): void => {
    if (t === "" || index.has(t)) return;
    index.set(t, out.length);
    out.push(t);
  };
  let filesFrom = refs.indexOf(baseRef);
  const added: VocabularyPlan["added"] = [];
  const source = config.source;
  if (typeof source === "object") {
    const v = vocabOf(source.model);
    v.tokens.forEach(push);
    filesFrom = refs.indexOf(source.model);
  } else {
    base.tokens.slice(0, base.rows).forEach(push);
    if (source === "union") {
      // mergekit: every model's plain tokens (base first), then their added tokens, first setting wins
      const addedByText = new Map<string, SourceVocabulary["added"][number]>();
      for (const ref of [baseRef, ...merged.filter((r) => r !== baseRef)]) {
        const v = vocabOf(ref);
        const addedIds = new Set(v.added.map((a) => a.id));
        v.tokens.slice(0, v.rows).forEach((t, id) => {
          if (addedIds.has(id) || index.has(t) || t === "") return;
          push(t);
          added.push({ id: out.length - 1, content: t, special: false, normalized: true });
        });
        for (const a of v.added) if (a.id < v.rows && !addedByText.has(a.content)) addedByText.set(a.content, a);
      }
      for (const a of addedByText.values()) {
        if (index.has(a.content)) continue;
        push(a.content);
        added.push({ ...a, id: out.length - 1 });
      }
    }
  }
  for (const e of recipe.tokenizer?.tokens ?? []) {
    if (index.has(e.token)) continue;
    push(e.token);
    added.push({ id: out.length - 1, content: e.token, special: false, normalized: true });
  }
  const tokens = out.length;
  const pad = recipe.tokenizer?.padToMultipleOf;
  const rows = pad !== undefined && tokens % pad !== 0 ? (Math.floor(tokens / pad) + 1) * pad : tokens;

  const rowsOf: Record<number, number[]> = {};
  for (const ref of merged) {
    const v = vocabOf(ref);
    const own = new Map<string, number>();
    v.tokens.forEach((t, id) => void (t !== "" && id < v.rows && !own.has(t) ? own.set(t, id) : undefined));
    rowsOf[refs.indexOf(ref)] = out.map((t) => own.get(t) ?? -1);
  }
  const idOf = (ref: string, token: string): number => vocabOf(ref).tokens.indexOf(token);
  const defaults = assignDefaults(out, rowsOf, recipe, refs, refs.indexOf(baseRef), recipe.baseModel !== undefined, warnings, idOf);
  const identity = rows === tokens && defaults.length === 0 && Object.values(rowsOf).every((r) => r.every((row, id) => row === id)) && merged.every((ref) => vocabOf(ref).rows === tokens);
  if (identity && added.length === 0 && filesFrom === refs.indexOf(baseRef)) return undefined;
  return { source, tokens, rows, rowsOf: identity ? {} : rowsOf, defaults, added, filesFrom };
}

/** mergekit PermutedEmbeddings.assign_embedding_sources and the configured token rules. */
function assignDefaults(out: string[], rowsOf: Record<number, number[]>, recipe: Recipe, refs: readonly string[], base: number, hasBase: boolean, warnings: string[], idOf: (ref: string, token: string) => number): VocabDefault[] {
  const sources = Object.keys(rowsOf).map(Number);
  const configured = new Map((recipe.tokenizer?.tokens ?? []).map((e) => [e.token, e]));
  const defaults: VocabDefault[] = [];
  out.forEach((token, id) => {
    const rule = configured.get(token);
    const having = sources.filter((s) => rowsOf[s]![id]! >= 0);
    if (rule?.source !== undefined) {
      defaults.push(configuredDefault(id, token, rule.source, rule.force === true, rowsOf, refs, idOf));
      return;
    }
    if (having.length === sources.length) return; // every model has its own row
    if (having.length === 1) defaults.push({ id, kind: "row", source: having[0]!, row: rowsOf[having[0]!]![id]!, force: false });
    else if (having.length === 0) {
      defaults.push({ id, kind: "zero", force: false });
      warnings.push(`token ${JSON.stringify(token)} is in no merged model: its embedding rows are zero (mergekit does the same)`);
    } else if (hasBase && rowsOf[base]?.[id] !== undefined && rowsOf[base]![id]! >= 0) {
      defaults.push({ id, kind: "row", source: base, row: rowsOf[base]![id]!, force: false });
    } else defaults.push({ id, kind: "average" });
  });
  return defaults;
}

function configuredDefault(id: number, token: string, source: TokenEmbeddingSource, force: boolean, rowsOf: Record<number, number[]>, refs: readonly string[], idOf: (ref: string, token: string) => number): VocabDefault {
  if (source.kind === "zero") return { id, kind: "zero", force };
  const s = refs.indexOf(source.model);
  if (rowsOf[s] === undefined) {
    throw new PlanError("plan.token-source", `tokenizer.tokens.${token} takes its embedding from ${source.model}, which the merge does not include`, { hint: "name one of the merged models (mergekit asserts the same)" });
  }
  if (source.kind === "model") {
    const row = rowsOf[s]![id]!;
    if (row < 0) throw new PlanError("plan.token-source", `tokenizer.tokens.${token}: ${source.model} has no token ${JSON.stringify(token)}`, { hint: "use {kind: model_token, model, token: …} to take another token's row" });
    return { id, kind: "row", source: s, row, force };
  }
  // model_token: a row of that model by id, or by the id of a token of its own vocabulary
  const row = source.tokenId ?? idOf(source.model, source.token!);
  if (row < 0) throw new PlanError("plan.token-source", `tokenizer.tokens.${token}: ${source.model} has no token ${JSON.stringify(source.token)}`, { hint: "name a token of that model's vocabulary, or give token_id" });
  return { id, kind: "row", source: s, row, force };
}
