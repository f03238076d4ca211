// llama.cpp's per-tensor type choice (llama-quant.cpp: tensor_allows_quantization,
// tensor_get_category, llama_tensor_get_type_impl, tensor_type_fallback) for the file types of
// ftypes.ts: which tensors are quantized, and how attn_v, ffn_down, attn_output, output and
// token_embd move off the default type by their layer's position in the stack. Pure: names,
// shapes and hyperparameters in, one choice per tensor out (in llama-quantize's tensor order).

import { tensorType } from "../formats/tensor-types.js";
import type { QuantFtype } from "./ftypes.js";

export interface MixTensor {
  name: string;
  /** outermost first (dusk's order; ggml's ne[0] is the last entry) */
  shape: readonly number[];
  /** the stored type */
  type: string;
}

export interface MixModel {
  /** general.architecture (llama.cpp's arch name: llama, qwen2, falcon, …) */
  arch: string;
  /** block_count */
  layers: number;
  heads: number;
  kvHeads: number;
  /** expert_count (0 for dense models) */
  experts: number;
}

/** Where a layer counts as sitting for the rules: its index among `count` layers. */
export interface LayerPosition {
  index: number;
  count: number;
}

export interface MixOptions {
  ftype: QuantFtype;
  hasImatrix: boolean;
  /** --pure: the default type everywhere (fallbacks still apply) */
  pure?: boolean;
  /** --leave-output-tensor: output.weight keeps its type */
  leaveOutput?: boolean;
  outputType?: string;
  embeddingType?: string;
  /**
   * --mix-by source: the base layer a stack layer copies and the base's layer count, used by the
   * position rules instead of llama.cpp's running counters
   */
  sourcePosition?: (layer: number) => LayerPosition | undefined;
}

export interface TensorChoice {
  name: string;
  shape: readonly number[];
  from: string;
  /** the type written */
  type: string;
  /** whether the mix considers it at all (2-D+ weights, not norms, …) */
  quantizable: boolean;
  /** why it got its type, for the plan listing */
  reason: string;
  /** set when a row length forced a different type than the rules chose */
  fallbackFrom?: string;
  /** layer index in the file, for layer tensors */
  layer?: number;
  /** the position the rules used (attn_v, ffn_down) */
  position?: LayerPosition;
  /** a Q2_K tensor of a Q2_K_S file: llama.cpp refuses it without an imatrix */
  requiresImatrix: boolean;
}

type Category = "token_embd" | "output" | "attn_v" | "attn_k" | "attn_q" | "attn_qkv" | "attn_output" | "ffn_up" | "ffn_gate" | "ffn_down" | "other";

function category(name: string): Category {
  if (name === "output.weight") return "output";
  if (name === "token_embd.weight" || name === "per_layer_token_embd.weight") return "token_embd";
  if (name.includes("attn_qkv.weight")) return "attn_qkv";
  if (name.includes("attn_kv_b.weight")) return "attn_v"; // category_is_attn_v
  if (name.includes("attn_v.weight")) return "attn_v";
  if (name.includes("attn_k.weight")) return "attn_k";
  if (name.includes("attn_q.weight")) return "attn_q";
  if (name.includes("attn_output.weight")) return "attn_output";
  if (name.includes("ffn_up")) return "ffn_up";
  if (name.includes("ffn_gate")) return "ffn_gate";
  if (name.includes("ffn_down")) return "ffn_down";
  return "other";
}

/** Name fragments llama.cpp never quantizes (small, positional or routing tensors). */
const KEEP_FRAGMENTS = [
  "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
  "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
  "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight",
  "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
  "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
  "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_",
  ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
];

/** ggml_n_dims: dimensions up to the last one longer than 1. */
function nDims(shape: readonly number[]): number {
  for (let i = 0; i < shape.length - 1; i++) if (shape[i]! > 1) return shape.length - i;
  return 1;
}

function allowsQuantization(t: MixTensor, o: MixOptions): boolean {
  if (nDims(t.shape) < 2) return false;
  if (!t.name.endsWith("weight")) return false;
  if (o.leaveOutput && t.name === "output.weight") return false;
  if (t.name === "position_embd.weight" || t.name === "token_types.weight") return false;
  return !KEEP_FRAGMENTS.some((f) => t.name.includes(f));
}

/** The layer a tensor name belongs to (`blk.N.`), as llama.cpp's sscanf reads it; −1 for none. */
export function layerOf(name: string): number {
  const m = /^blk\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : -1;
}

/** llama-quantize's tensor order (llama_model_loader's weight_name_comparer): by layer, then name. */
export function llamaTensorOrder<T extends { name: string }>(tensors: readonly T[]): T[] {
  return [...tensors].sort((a, b) => layerOf(a.name) - layerOf(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between. */
export function useMoreBits(i: number, n: number): boolean {
  const e = Math.trunc(n / 8);
  return i < e || i >= Math.trunc((7 * n) / 8) || (i - e) % 3 === 2;
}

function blockElems(type: string): number {
  return tensorType(type)!.blockElems;
}

const isQuantized = (type: string) => blockElems(type) > 1;

/** tensor_type_fallback: a type whose blocks do not tile the row falls back (F16 when none does). */
function fallback(type: string, cols: number): string {
  if (cols % blockElems(type) === 0) return type;
  const next: Record<string, string> = { IQ4_XS: "IQ4_NL", Q2_K: "Q4_0", Q3_K: "Q4_0", Q4_K: "Q5_0", Q5_K: "Q5_1", Q6_K: "Q8_0" };
  const t = next[type] ?? type;
  return cols % blockElems(t) === 0 ? t : "F16";
}

interface Counters {
  nAttnV: number;
  iAttnV: number;
  iFfnDown: number;
}

/** Chooses every tensor's type, in llama-quantize's order (which the output file also uses). */
export function chooseTensorTypes(tensors: readonly MixTensor[], model: MixModel, o: MixOptions): TensorChoice[] {
  const ordered = llamaTensorOrder(tensors);
  const tied = !ordered.some((t) => t.name === "output.weight");
  const c: Counters = { nAttnV: ordered.filter((t) => category(t.name) === "attn_v").length, iAttnV: 0, iFfnDown: 0 };
  const defaultType = o.ftype.defaultType;
  return ordered.map((t) => {
    const layer = layerOf(t.name);
    const base = { name: t.name, shape: t.shape, from: t.type, ...(layer >= 0 ? { layer } : {}) };
    if (!allowsQuantization(t, o)) return { ...base, type: t.type, quantizable: false, reason: "kept (not a quantizable weight)", requiresImatrix: false };
    const cat = category(t.name);
    let type = defaultType;
    let reason = "default";
    let position: LayerPosition | undefined;
    if (o.embeddingType !== undefined && cat === "token_embd") {
      type = o.embeddingType;
      reason = "--token-embedding-type";
    } else if (o.outputType !== undefined && cat === "output") {
      type = o.outputType;
      reason = "--output-tensor-type";
    } else if (isQuantized(defaultType)) {
      if (!o.pure) {
        const r = mixRule(t, cat, tied, model, o, c, layer);
        if (r) {
          type = r.type;
          reason = r.reason;
          position = r.position;
        }
      } else reason = "default (--pure)";
    }
    const cols = t.shape[t.shape.length - 1]!;
    // the explicit --*-type choices are taken as given; only the mix's types fall back
    const chosen = isQuantized(defaultType) && !reason.startsWith("--") ? fallback(type, cols) : type;
    const choice: TensorChoice = {
      ...base, type: chosen, quantizable: true, reason,
      requiresImatrix: chosen === "Q2_K" && o.ftype.name === "Q2_K_S" && cat !== "token_embd" && cat !== "output",
    };
    if (chosen !== type) choice.fallbackFrom = type;
    if (position) choice.position = position;
    return choice;
  });
}

const QUANTS_70B = new Set(["Q3_K", "Q4_K"]);

/** llama_tensor_get_type_impl for dusk's file types; undefined keeps the default type. */
function mixRule(t: MixTensor, cat: Category, tied: boolean, m: MixModel, o: MixOptions, c: Counters, layer: number): { type: string; reason: string; position?: LayerPosition } | undefined {
  const f = o.ftype.name;
  const falcon = m.arch === "falcon";
  const gqa = m.kvHeads > 0 ? Math.trunc(m.heads / m.kvHeads) : 0;
  const cols = t.shape[t.shape.length - 1]!;
  if (cat === "output" || (tied && cat === "token_embd")) {
    const what = cat === "output" ? "output" : "token_embd (tied to the output)";
    if (falcon || cols % blockElems(o.ftype.defaultType) !== 0) return { type: "Q8_0", reason: `${what}: rows of ${cols} are not whole ${o.ftype.defaultType} blocks` };
    if (o.ftype.defaultType !== "Q8_0") return { type: "Q6_K", reason: `${what} gets Q6_K` };
    return undefined;
  }
  if (cat === "token_embd") return undefined;
  const pos = (counter: number, count: number): LayerPosition => (o.sourcePosition && layer >= 0 ? o.sourcePosition(layer) : undefined) ?? { index: counter, count };
  if (cat === "attn_v") {
    const p = pos(c.iAttnV, c.nAttnV);
    c.iAttnV++;
    const at = `attn_v ${p.index} of ${p.count}`;
    let r: { type: string; reason: string } | undefined;
    if (f === "Q2_K") r = { type: gqa >= 4 ? "Q4_K" : "Q3_K", reason: `${at}: Q2_K mix (GQA ${gqa})` };
    else if (f === "Q2_K_S" && gqa >= 4) r = { type: "Q4_K", reason: `${at}: GQA ${gqa} ≥ 4` };
    else if (f === "Q3_K_M") r = { type: p.index < 2 ? "Q5_K" : "Q4_K", reason: p.index < 2 ? `${at}: one of the first two` : `${at}: Q3_K_M mix` };
    else if (f === "Q3_K_L") r = { type: "Q5_K", reason: `${at}: Q3_K_L mix` };
    else if ((f === "IQ4_NL" || f === "IQ4_XS") && gqa >= 4) r = { type: "Q5_K", reason: `${at}: GQA ${gqa} ≥ 4` };
    else if ((f === "Q4_K_M" || f === "Q5_K_M") && useMoreBits(p.index, p.count)) r = { type: "Q6_K", reason: `${at}: use_more_bits` };
    else if (f === "Q4_K_S" && p.index < 4) r = { type: "Q5_K", reason: `${at}: one of the first four` };
    if (m.arch === "llama" && m.layers === 80 && m.heads !== m.kvHeads && QUANTS_70B.has(r?.type ?? o.ftype.defaultType)) r = { type: "Q5_K", reason: `${at}: 70B GQA model` };
    if (m.experts === 8) r = { type: "Q8_0", reason: `${at}: 8 experts` };
    return r && { ...r, position: p };
  }
  if (cat === "attn_k") return m.experts === 8 ? { type: "Q8_0", reason: "attn_k: 8 experts" } : undefined;
  if (cat === "ffn_down") {
    const p = m.experts > 1 ? pos(layer, m.layers) : pos(c.iFfnDown, m.layers);
    c.iFfnDown++;
    const { index: i, count: n } = p;
    const at = `ffn_down ${i} of ${n}`;
    const umb = useMoreBits(i, n);
    let r: { type: string; reason: string } | undefined;
    if (f === "Q2_K") r = { type: "Q3_K", reason: `${at}: Q2_K mix` };
    else if (f === "Q2_K_S") r = i < Math.trunc(n / 8) ? { type: "Q4_K", reason: `${at}: first eighth` } : undefined;
    else if (f === "Q3_K_M") {
      r = i < Math.trunc(n / 16) ? { type: "Q5_K", reason: `${at}: first sixteenth` }
        : !falcon || umb ? { type: "Q4_K", reason: `${at}: Q3_K_M mix` } : { type: "Q3_K", reason: `${at}: falcon` };
    } else if (f === "Q3_K_L") r = { type: falcon ? "Q4_K" : "Q5_K", reason: `${at}: Q3_K_L mix` };
    else if (f === "Q4_K_M") {
      if (falcon) r = { type: i < Math.trunc(n / 16) ? "Q6_K" : umb ? "Q5_K" : "Q4_K", reason: `${at}: falcon Q4_K_M mix` };
      else if (umb) r = { type: "Q6_K", reason: `${at}: use_more_bits` };
    } else if (i < Math.trunc(n / 8) && (f === "IQ4_NL" || f === "IQ4_XS") && !o.hasImatrix) r = { type: "Q5_K", reason: `${at}: first eighth, no imatrix` };
    else if (f === "Q5_K_M" && umb) r = { type: "Q6_K", reason: `${at}: use_more_bits` };
    else if (f === "Q4_K_S" && !falcon && i < Math.trunc(n / 8)) r = { type: "Q5_K", reason: `${at}: first eighth` };
    else if ((f === "Q4_0" || f === "Q5_0") && o.hasImatrix && i < Math.trunc(n / 8)) r = { type: f === "Q4_0" ? "Q4_1" : "Q5_1", reason: `${at}: first eighth, with an imatrix` };
    return r && { ...r, position: p };
  }
  if (cat === "attn_output") {
    if (!falcon) {
      if (m.experts === 8) {
        return ["Q2_K", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S", "Q4_K_M", "IQ4_XS"].includes(f) ? { type: "Q5_K", reason: "attn_output: 8 experts" } : undefined;
      }
      const to: Record<string, string> = { Q2_K: "Q3_K", Q3_K_M: "Q4_K", Q3_K_L: "Q5_K" };
      return to[f] ? { type: to[f]!, reason: `attn_output: ${f} mix` } : undefined;
    }
    return f === "Q3_K_L" ? { type: "Q4_K", reason: "attn_output: falcon" } : undefined;
  }
  if (cat === "attn_qkv") {
    const to: Record<string, string> = { Q3_K_M: "Q4_K", Q3_K_L: "Q4_K", Q4_K_M: "Q5_K", Q5_K_M: "Q6_K" };
    return to[f] ? { type: to[f]!, reason: `attn_qkv: ${f} mix` } : undefined;
  }
  return undefined;
}
