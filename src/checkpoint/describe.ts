// A summary of a checkpoint for `dusk inspect`: family, layers, dimensions, dtypes, size.

import { hfTextConfig } from "../arch/index.js";
import { ggufGetNumber, ggufGetString } from "../formats/gguf-value.js";
import type { Checkpoint } from "./open-checkpoint.js";

export interface CheckpointSummary {
  path: string;
  format: string;
  family: string;
  architecture: string;
  layers: number;
  hiddenSize?: number;
  intermediateSize?: number;
  heads?: number;
  kvHeads?: number;
  vocabSize?: number;
  contextLength?: number;
  tiedEmbeddings: boolean;
  tensorCount: number;
  parameterCount: number;
  bytes: number;
  /** type name → tensor count */
  types: Record<string, number>;
  files: string[];
  gguf?: { version: number; alignment: number; name?: string; fileType?: number; metadataKeys: number };
}

export function describeCheckpoint(c: Checkpoint): CheckpointSummary {
  const types: Record<string, number> = {};
  let params = 0;
  let bytes = 0;
  for (const t of c.tensors.values()) {
    types[t.type.name] = (types[t.type.name] ?? 0) + 1;
    params += t.shape.reduce((a, b) => a * b, 1);
    bytes += t.byteLength;
  }
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  const s: CheckpointSummary = {
    path: c.path,
    format: c.format,
    family: c.arch.name,
    architecture: c.arch.name,
    layers: c.numLayers,
    tiedEmbeddings: ![...c.tensors.keys()].some((n) => n === "lm_head.weight" || n === "output.weight"),
    tensorCount: c.tensors.size,
    parameterCount: params,
    bytes,
    types,
    files: c.files,
  };
  if (c.config) {
    // the language model's keys (multimodal Gemma 3 nests them under text_config)
    const cfg = hfTextConfig(c.arch, c.config);
    s.architecture = Array.isArray(c.config.architectures) ? String(c.config.architectures[0]) : String(c.config.model_type);
    Object.assign(s, dropUndefined({
      hiddenSize: num(cfg.hidden_size), intermediateSize: num(cfg.intermediate_size), heads: num(cfg.num_attention_heads),
      kvHeads: num(cfg.num_key_value_heads) ?? num(cfg.num_attention_heads), vocabSize: num(cfg.vocab_size), contextLength: num(cfg.max_position_embeddings),
    }));
  }
  if (c.gguf) {
    const kv = c.gguf.kv;
    const a = ggufGetString(kv, "general.architecture") ?? c.arch.name;
    s.architecture = a;
    const g = (k: string) => { try { return ggufGetNumber(kv, `${a}.${k}`); } catch { return undefined; } };
    const vocab = kv.get("tokenizer.ggml.tokens");
    Object.assign(s, dropUndefined({
      hiddenSize: g("embedding_length"), intermediateSize: g("feed_forward_length"), heads: g("attention.head_count"),
      kvHeads: g("attention.head_count_kv"), contextLength: g("context_length"),
      vocabSize: g("vocab_size") ?? (vocab?.type === 9 ? vocab.items.length : undefined),
    }));
    const name = ggufGetString(kv, "general.name");
    const fileType = (() => { try { return ggufGetNumber(kv, "general.file_type"); } catch { return undefined; } })();
    s.gguf = { version: c.gguf.version, alignment: c.gguf.alignment, metadataKeys: kv.size, ...dropUndefined({ name, fileType }) };
  }
  return s;
}

function dropUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
