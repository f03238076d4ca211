// Reads mergekit's `tokenizer_source:` and `tokenizer:` (mergekit/tokenizer/config.py): the output
// vocabulary (base, union, or one model's) and per-token embedding rules. Shapes and types only;
// whether a token exists is known when the tokenizers are read (src/merge/vocabulary.ts).

import { isMap, isScalar, type Node } from "yaml";
import { LIMITS } from "../limits.js";
import type { TokenEmbedding, TokenEmbeddingSource, TokenizerConfig, TokenizerSource } from "./recipe.js";
import { optional } from "./mergekit-params.js";
import type { YamlRecipeReader } from "./yaml-reader.js";

const TOKENIZER_KEYS = ["source", "tokens", "pad_to_multiple_of"] as const;
const TOKEN_KEYS = ["source", "force"] as const;
const MODEL_TOKEN_KEYS = ["kind", "model", "token_id", "token"] as const;

export function readTokenizerSource(r: YamlRecipeReader, node: Node, path: string, readModel: (n: Node | null, p: string) => string): TokenizerSource {
  const value = isScalar(node) && typeof node.value === "string" ? node.value : undefined;
  if (value === "base" || value === "union") return value;
  return { model: readModel(node, path) };
}

export function readTokenizerConfig(r: YamlRecipeReader, node: Node, path: string, readModel: (n: Node | null, p: string) => string): TokenizerConfig {
  const keys = r.mapping(node, path, TOKENIZER_KEYS);
  const source = optional(r, keys.get("source"));
  // mergekit's default for `tokenizer:` is a union vocabulary
  const config: TokenizerConfig = { source: source === undefined ? "union" : readTokenizerSource(r, source, `${path}.source`, readModel) };
  const pad = optional(r, keys.get("pad_to_multiple_of"));
  if (pad !== undefined) {
    const v = isScalar(pad) ? pad.value : undefined;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1 || v > 1 << 20) {
      r.fail("RECIPE_TOKENIZER", `${path}.pad_to_multiple_of must be a whole number from 1 to ${1 << 20}, found ${r.describe(pad)}`, `${path}.pad_to_multiple_of`, pad, "e.g. 64: the vocabulary is padded to a multiple of 64 rows");
    }
    config.padToMultipleOf = v;
  }
  const tokens = optional(r, keys.get("tokens"));
  if (tokens !== undefined) {
    if (!isMap(tokens)) r.fail("RECIPE_TYPE", `${path}.tokens must be a mapping of token → {source, force}, found ${r.describe(tokens)}`, `${path}.tokens`, tokens);
    const out: TokenEmbedding[] = [];
    for (const pair of tokens.items) {
      const keyNode = r.resolve(pair.key, `${path}.tokens`);
      const token = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof token !== "string" || token.length === 0 || token.length > LIMITS.recipeBytes) {
        r.fail("RECIPE_TYPE", `token keys must be non-empty strings, found ${r.describe(keyNode)}`, `${path}.tokens`, keyNode ?? tokens, "quote tokens such as \"<|im_start|>\"");
      }
      out.push(readTokenEmbedding(r, r.resolve(pair.value, `${path}.tokens.${token}`), `${path}.tokens.${token}`, token, readModel));
    }
    if (out.length > 0) config.tokens = out;
  }
  return config;
}

function readTokenEmbedding(r: YamlRecipeReader, node: Node | null, path: string, token: string, readModel: (n: Node | null, p: string) => string): TokenEmbedding {
  const out: TokenEmbedding = { token };
  if (r.isNull(node)) return out;
  const keys = r.mapping(node, path, TOKEN_KEYS);
  const force = optional(r, keys.get("force"));
  if (force !== undefined) {
    const v = isScalar(force) ? force.value : undefined;
    if (typeof v !== "boolean") r.fail("RECIPE_TYPE", `${path}.force must be true or false, found ${r.describe(force)}`, `${path}.force`, force);
    if (v) out.force = true;
  }
  const source = optional(r, keys.get("source"));
  if (source !== undefined) out.source = readEmbeddingSource(r, source, `${path}.source`, readModel);
  return out;
}

function readEmbeddingSource(r: YamlRecipeReader, node: Node, path: string, readModel: (n: Node | null, p: string) => string): TokenEmbeddingSource {
  if (!isMap(node)) return { kind: "model", model: readModel(node, path) };
  const keys = r.mapping(node, path, MODEL_TOKEN_KEYS);
  const kindNode = optional(r, keys.get("kind"));
  const kind = kindNode === undefined ? undefined : r.string(kindNode, `${path}.kind`);
  if (kind === "zero") {
    if (keys.size > 1) r.fail("RECIPE_TOKENIZER", "a `kind: zero` source takes no other keys", path, node, "write `source: {kind: zero}`");
    return { kind: "zero" };
  }
  if (kind !== "model_token") {
    r.fail("RECIPE_TOKENIZER", `unknown embedding source kind ${kind === undefined ? "(none)" : `"${kind}"`}`, `${path}.kind`, kindNode ?? node, "use `{kind: zero}`, `{kind: model_token, model: …, token: …}` (or token_id), or a model name");
  }
  const model = keys.get("model");
  if (model === undefined) r.fail("RECIPE_MISSING_KEY", "missing `model`", `${path}.model`, node, "name the model whose embedding row is used");
  const out: TokenEmbeddingSource = { kind: "model_token", model: readModel(model.value, `${path}.model`) };
  const id = optional(r, keys.get("token_id"));
  const text = optional(r, keys.get("token"));
  if ((id === undefined) === (text === undefined)) {
    r.fail("RECIPE_TOKENIZER", "give exactly one of token_id and token", path, node, "e.g. `token: <|im_end|>` or `token_id: 2`");
  }
  if (id !== undefined) {
    const v = isScalar(id) ? id.value : undefined;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) r.fail("RECIPE_TOKENIZER", `${path}.token_id must be a non-negative whole number, found ${r.describe(id)}`, `${path}.token_id`, id);
    out.tokenId = v;
  }
  if (text !== undefined) out.token = r.string(text, `${path}.token`);
  return out;
}
