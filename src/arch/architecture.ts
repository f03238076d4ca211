// Model families as data: how a Llama-like checkpoint names its tensors in HF and GGUF, where its
// layer count lives, and what is tied. Adding a family means adding a table (families.ts), not
// code paths. This module knows nothing about files; it maps names and reads config values.

/** One tensor of a decoder layer (or of the pre/post-layer parts), in both namings. */
export interface TensorRole {
  /** stable role name, e.g. `q_proj` */
  role: string;
  /** HF template; `{L}` is the layer index: `model.layers.{L}.self_attn.q_proj.weight` */
  hf: string;
  /** GGUF template: `blk.{L}.attn_q.weight` */
  gguf: string;
  /** absent in some checkpoints of the family (biases, tied heads) */
  optional?: boolean;
  /** rows permuted by llama.cpp's converter for its rotary layout: by heads or by kv heads */
  qkPermute?: "heads" | "kvHeads";
  /** a residual-branch output projection: what LLaMA-Pro expansion zeroes */
  residualOutput?: boolean;
  /** 1-D tensors stay f32 in GGUF, as llama.cpp's converter keeps them */
  keepF32?: boolean;
  /** an RMSNorm gain: families with `normWeightOffset` store it as w − 1 (the converter adds 1) */
  norm?: boolean;
}

/** How a family's HF configs say which layers use a sliding window, and what llama.cpp does. */
export interface SlidingWindowScheme {
  /**
   * HF rule when config.json has no `layer_types`: `period` — layer i slides unless
   * (i + 1) % p == 0 (Gemma 2: p = 2 fixed, Gemma 3: `sliding_window_pattern`, default 6);
   * `maxWindowLayers` — with `use_sliding_window`, layers i ≥ `max_window_layers` slide (Qwen2/3);
   * `all` — every layer slides when `sliding_window` is set (Phi-3).
   */
  hf: "period" | "maxWindowLayers" | "all";
  /** the period when `hf` is `period`: fixed (Gemma 2) or the default of `periodKey` */
  period?: number;
  /** config key holding the period (Gemma 3: `sliding_window_pattern`) */
  periodKey?: string;
  /**
   * llama.cpp decides by POSITION: layer il slides iff il % p < p − 1 (p from
   * `<arch>.attention.sliding_window_pattern`, default this). Undefined: llama.cpp computes every
   * layer with full attention for this arch (Qwen2/3: no SWA; Phi-3: SWA disabled at load).
   */
  ggufPeriod?: number;
  /** llama.cpp needs `<arch>.attention.sliding_window` > 0 to slide at all (Gemma 3) */
  ggufNeedsWindowKey?: boolean;
}

/**
 * The model keys a converter class writes, in its order (src/convert/gguf-keys.ts writes each from
 * HParams; a key whose value is absent is skipped). `general` is general.type + general.name.
 */
export type GgufKeyName =
  | "general" | "block_count" | "context_length" | "embedding_length" | "feed_forward_length" | "attention.head_count"
  | "attention.head_count_kv" | "rope.scaling" | "rope.freq_base" | "rope.freq_base_swa" | "attention.layer_norm_rms_epsilon"
  | "attention.key_value_length" | "file_type" | "vocab_size" | "rope.dimension_count" | "attn_logit_softcapping"
  | "final_logit_softcapping" | "attention.sliding_window" | "attention.sliding_window_or_0"
  | "rope.scaling.original_context_length" | "rope.scaling.attn_factor";

export interface ConverterFacts {
  /** model keys in the order the converter class writes them */
  keys: readonly GgufKeyName[];
  /** llama3 rope scaling becomes the `rope_freqs.weight` tensor (Llama); without it, it is refused */
  ropeFreqsTensor: boolean;
  /** its Llama class's set_vocab steps: add_prefix_space → add_space_prefix, and vocab-size quirks */
  llamaVocab: boolean;
  /** set_vocab steps of its own */
  vocab?: {
    /** writes tokenizer.ggml.add_space_prefix = false after the special vocabulary (Gemma's SentencePiece path) */
    noSpacePrefix?: boolean;
    /** special ids set when the tokenizer files leave them unset (Gemma: eot 107) */
    fixedSpecialIds?: Readonly<Record<string, number>>;
    /** Phi-3's own SentencePiece reading; tokenizer_class GPT2Tokenizer selects byte-level BPE (Phi-4) */
    phi3?: boolean;
    /**
     * a SentencePiece-style tokenizer.json without tokenizer.model read as the SentencePiece
     * vocabulary (Gemma 3; the reference would try byte-level BPE and fail on its unknown hash)
     */
    sentencePieceFromJson?: boolean;
  };
  /** HF tensors the converter leaves out (Gemma: a stored lm_head, tied in llama.cpp) */
  skipTensors?: readonly string[];
  /** Gemma 3: embedding rows past the tokenizer's vocabulary are dropped */
  trimEmbeddingToVocab?: boolean;
}

export interface Architecture {
  /** dusk's family name */
  name: string;
  /** HF `config.architectures[0]` values this table handles */
  hfArchitectures: string[];
  /** HF `config.model_type` values */
  hfModelTypes: string[];
  /** GGUF `general.architecture` values (first is what dusk writes) */
  ggufArchitectures: string[];
  /** HF config key holding the layer count */
  hfLayerCountKey: string;
  /** HF prefix of the decoder layers' tensors (`model.layers`); other `….layers.N.…` tensors (a vision tower's) are not decoder layers */
  hfLayerPrefix: string;
  /** multimodal checkpoints nest the language model's config under this key (`text_config`) */
  hfTextConfigKey?: string;
  /**
   * tensor-name prefixes of other modalities (a vision tower, its projector): carried through HF
   * builds unchanged, left out of GGUF conversions (llama.cpp keeps them in a separate mmproj file)
   */
  hfOtherModalities?: string[];
  /**
   * transformers' config-class defaults for text-config keys real checkpoints leave out (Gemma 3's
   * multimodal config.json names 6 of them); dusk reads a missing key as transformers would.
   */
  hfConfigDefaults?: Readonly<Record<string, unknown>>;
  /** tensors before the first layer (embeddings) */
  preLayer: TensorRole[];
  /** tensors of every decoder layer */
  layer: TensorRole[];
  /** tensors after the last layer (final norm, head) */
  postLayer: TensorRole[];
  /** the head role that may be tied to the embedding, and the HF config flag that says so */
  tied?: { head: string; embedding: string; hfConfigKey: string; defaultTied: boolean };
  /**
   * HF config keys holding one entry per layer (`layer_types`, …): resized with the stack, each
   * output layer taking its base layer's entry.
   */
  perLayerConfigKeys: string[];
  /** which layers slide (absent: the family has no sliding-window layers dusk tracks) */
  slidingWindow?: SlidingWindowScheme;
  /**
   * llama.cpp picks the attention scale from the layer count: at exactly this many layers it uses
   * 1/√(hidden/heads) (the 27B's query_pre_attn_scalar), otherwise 1/√head_dim, and it reads no key
   * that could say otherwise (src/models/gemma2.cpp, gemma3.cpp).
   */
  llamaCppScaleLayerCount?: number;
  /** `rope_scaling` of type longrope/su: LongRoPE factor tensors and an attention factor (Phi-3) */
  longRope?: boolean;
  /** what llama.cpp's converter class for this family does (src/convert follows it) */
  converter: ConverterFacts;
  /** forward-pass facts the engine and converter need */
  forward: {
    activation: "silu" | "gelu_tanh";
    /** Gemma stores RMSNorm weights as w − 1 (the norm multiplies by 1 + w) */
    normWeightOffset: 0 | 1;
    /** Gemma multiplies embeddings by sqrt(hidden) */
    scaleEmbeddings: boolean;
    /** per-head RMSNorm of q and k before RoPE (Qwen3, Gemma 3: roles q_norm, k_norm) */
    qkNorm: boolean;
    /** Gemma 2/3: a norm after attention and after the MLP too (roles post_attention_norm, post_feedforward_norm) */
    sandwichNorms: boolean;
  };
}

export type NameScheme = "hf" | "gguf";

/** Fills `{L}` in a template. */
export function tensorName(role: TensorRole, scheme: NameScheme, layer?: number): string {
  const template = scheme === "hf" ? role.hf : role.gguf;
  return layer === undefined ? template : template.replace("{L}", String(layer));
}

const LAYER_PATTERNS: Record<NameScheme, RegExp> = {
  // HF: `model.layers.12.mlp.down_proj.weight`; some families add a prefix before `layers`.
  hf: /^(.*?\blayers)\.(\d+)\.(.+)$/,
  gguf: /^(blk)\.(\d+)\.(.+)$/,
};

export interface LayerTensorName {
  layer: number;
  /** the name with the index replaced by `{L}` */
  template: string;
}

/**
 * `model.layers.7.mlp.up_proj.weight` → {layer: 7, template: `model.layers.{L}.mlp.up_proj.weight`}.
 * With `arch`, an HF name is a decoder-layer tensor only under the family's layer prefix: a vision
 * tower's `vision_tower.….layers.3.…` is not layer 3 of the language model.
 */
export function parseLayerTensorName(name: string, scheme: NameScheme, arch?: Architecture): LayerTensorName | undefined {
  if (scheme === "hf" && arch !== undefined && !name.startsWith(`${arch.hfLayerPrefix}.`)) return undefined;
  const m = LAYER_PATTERNS[scheme].exec(name);
  if (!m) return undefined;
  const digits = m[2]!;
  // "007" is not a layer index anyone writes; treating it as 7 would merge two tensors' names.
  if (digits.length > 1 && digits.startsWith("0")) return undefined;
  return { layer: Number(digits), template: `${m[1]}.{L}.${m[3]}` };
}

export function layerTensorName(template: string, layer: number): string {
  return template.replace("{L}", String(layer));
}

/** HF name → GGUF name for this family, or undefined when the role is unknown. */
export function hfToGgufName(arch: Architecture, hfName: string): string | undefined {
  const parsed = parseLayerTensorName(hfName, "hf", arch);
  if (parsed) {
    const role = arch.layer.find((r) => r.hf === parsed.template);
    return role ? tensorName(role, "gguf", parsed.layer) : undefined;
  }
  const role = [...arch.preLayer, ...arch.postLayer].find((r) => r.hf === hfName);
  return role ? role.gguf : undefined;
}

/** GGUF name → HF name (used to apply mergekit filters, which are written against HF names). */
export function ggufToHfName(arch: Architecture, ggufName: string): string | undefined {
  const parsed = parseLayerTensorName(ggufName, "gguf", arch);
  if (parsed) {
    const role = arch.layer.find((r) => r.gguf === parsed.template);
    return role ? tensorName(role, "hf", parsed.layer) : undefined;
  }
  const role = [...arch.preLayer, ...arch.postLayer].find((r) => r.gguf === ggufName);
  return role ? role.hf : undefined;
}

export function findRole(arch: Architecture, name: string, scheme: NameScheme): TensorRole | undefined {
  const parsed = parseLayerTensorName(name, scheme, arch);
  if (parsed) return arch.layer.find((r) => (scheme === "hf" ? r.hf : r.gguf) === parsed.template);
  return [...arch.preLayer, ...arch.postLayer].find((r) => (scheme === "hf" ? r.hf : r.gguf) === name);
}
