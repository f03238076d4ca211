// The forward pass: embedding → decoder layers streamed one at a time (load layer i, run all T
// tokens through it, drop it) → final RMSNorm → LM head on only the requested rows. Optionally
// records every layer's activations on a tape, the buffers a backward pass will consume. Family
// features (q/k norms, sandwich norms, GeGLU, softcaps, sliding windows) follow EngineConfig.
// Not for generation with a KV cache, batching several sequences, or tokenization.

import { RuntimeError } from "../errors.js";
import { attentionForward, type AttentionShape } from "./attention.js";
import { getMatmulKernel, type MatmulKernel } from "./matmul-kernel.js";
import { addInPlace, embeddingForward, gatedActivation, linearForward, linearForwardTransposedInput, logSumExp, rmsnormForward, softcapInPlace, transpose } from "./ops.js";
import { applyRope, layerRopeTables, type RopeTables } from "./rope.js";
import type { EngineConfig, EngineWeights, LayerWeights } from "./types.js";
import { bufferElements, checkTensor, validateConfig, validateLayerWeights } from "./validate.js";

/** What one decoder layer computed; all row-major with one row per token. */
export interface LayerActivations {
  input: Float32Array; // [T, D] residual stream entering the layer
  attnNormed: Float32Array; // [T, D]
  attnInvRms: Float32Array; // [T]
  q: Float32Array; // [T, H·d] after bias, q norm and RoPE
  k: Float32Array; // [T, KV·d] after bias, k norm and RoPE
  v: Float32Array; // [T, KV·d]
  /** qkNorm: q and k before their norms, and the norms' 1/rms per (token, head) */
  qRaw?: Float32Array; // [T, H·d]
  kRaw?: Float32Array; // [T, KV·d]
  qInvRms?: Float32Array; // [T·H]
  kInvRms?: Float32Array; // [T·KV]
  attnMixed: Float32Array; // [T, H·d] attention output before o_proj
  /** sandwichNorms: o_proj's output before the post-attention norm, and that norm's 1/rms */
  attnOut?: Float32Array; // [T, D]
  attnOutInvRms?: Float32Array; // [T]
  residualMid: Float32Array; // [T, D] input + (normed) o_proj(attnMixed)
  ffnNormed: Float32Array; // [T, D]
  ffnInvRms: Float32Array; // [T]
  gate: Float32Array; // [T, F]
  up: Float32Array; // [T, F]
  act: Float32Array; // [T, F] act(gate)·up
  /** sandwichNorms: down_proj's output before the post-FFN norm, and that norm's 1/rms */
  ffnOut?: Float32Array; // [T, D]
  ffnOutInvRms?: Float32Array; // [T]
}

export interface ForwardTape {
  tokens: Int32Array;
  /** the RoPE table of each layer (Gemma 3's sliding layers have their own) */
  ropes: RopeTables[];
  layers: LayerActivations[];
  finalInput: Float32Array; // [T, D] before the final norm
  finalNormed: Float32Array; // [T, D]
  finalInvRms: Float32Array; // [T]
}

export interface ForwardOptions {
  /** also return the residual stream at numLayers+1 boundaries (after the embedding, after each
   * layer; the last is before the final norm, unlike HF's output_hidden_states). */
  hiddenStates?: boolean;
  /** which positions get logits rows: all (default), the last, listed positions, or none. */
  logitsFor?: "all" | "last" | "none" | readonly number[];
  signal?: AbortSignal;
  /** record every layer's activations (memory: ~(6D + 3F + 3·H·d)·T floats per layer, more with
   * q/k or sandwich norms). */
  tape?: boolean;
  /** defaults to the shared tfjs-wasm kernel. */
  kernel?: MatmulKernel;
  /** called with the residual stream [T, D] at each boundary b (0: after the embedding; b: after
   * layer b−1; numLayers: before the final norm). The engine never modifies it afterwards, so the
   * callee may keep it without copying (layer-distance analysis does). */
  onBoundary?: (boundary: number, x: Float32Array) => void;
  /** called after each decoder layer with what it computed (the inputs of its matmuls: importance
   * matrices sum their squares); valid only during the call unless `tape` keeps them. */
  onLayer?: (layer: number, acts: LayerActivations) => void;
  /** start at boundary `boundary` with this residual stream [T, D] instead of the embedding,
   * skipping the layers before it: a prefix already run (a stack's leading base layers) is not
   * recomputed. `hidden` is not modified; hiddenStates then start at that boundary. No tape. */
  resume?: { boundary: number; hidden: Float32Array };
}

export interface ForwardResult {
  /** [positions.length, vocab], row r is the next-token logits after tokens[positions[r]]. */
  logits: Float32Array;
  positions: number[];
  hidden?: Float32Array[];
  tape?: ForwardTape;
}

function checkTokens(c: EngineConfig, tokens: ArrayLike<number>): Int32Array {
  const T = tokens.length;
  if (T < 1) throw new RuntimeError("ENGINE_NO_TOKENS", "forward needs at least one token", { hint: "pass a non-empty token list" });
  // Dynamic NTK exists to run past the trained length, so it is the one scaling without this cap.
  const cap = c.ropeScaling?.type === "dynamic" ? Math.floor(c.maxPositions * c.ropeScaling.factor) : c.maxPositions;
  if (T > cap) {
    throw new RuntimeError("ENGINE_TOO_MANY_TOKENS", `${T} tokens exceed the model's ${cap} positions`, {
      hint: "split the text into windows of at most maxPositions tokens",
    });
  }
  bufferElements("activations", T, Math.max(c.hiddenSize, c.intermediateSize, c.numHeads * c.headDim));
  const ids = new Int32Array(T);
  for (let t = 0; t < T; t++) {
    const id = tokens[t]!;
    if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
      throw new RuntimeError("ENGINE_BAD_TOKEN", `token ${t} is ${id}, expected an integer in [0, ${c.vocabSize})`, {
        hint: "the tokenizer and the model's vocabulary do not match",
      });
    }
    ids[t] = id;
  }
  return ids;
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new RuntimeError("ENGINE_ABORTED", "forward pass aborted", { hint: "the caller cancelled it", cause: signal.reason });
  }
}

function checkResume(c: EngineConfig, r: { boundary: number; hidden: Float32Array }, T: number, tape: boolean | undefined): number {
  if (!Number.isInteger(r.boundary) || r.boundary < 0 || r.boundary > c.numLayers || r.hidden.length !== T * c.hiddenSize || tape) {
    throw new RuntimeError("ENGINE_BAD_RESUME", `resume at boundary ${r.boundary} with ${r.hidden.length} values, expected a boundary in [0, ${c.numLayers}] and ${T}×${c.hiddenSize} values${tape ? ", and no tape" : ""}`, {
      hint: "resume with a residual stream this model produced for the same tokens",
    });
  }
  return r.boundary;
}

/** Layer `layer`'s attention: scale, softcap and (for a sliding layer) its window. */
export function layerAttentionShape(c: EngineConfig, layer: number, T: number): AttentionShape {
  const s: AttentionShape = { tokens: T, heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim };
  if (c.queryPreAttnScalar !== undefined) s.scale = 1 / Math.sqrt(c.queryPreAttnScalar);
  if (c.attnLogitSoftcap !== undefined) s.softcap = c.attnLogitSoftcap;
  if (c.slidingWindow !== undefined && c.layerTypes?.[layer] === "sliding_attention" && c.slidingWindow < T) s.window = c.slidingWindow;
  return s;
}

/** One decoder layer (index `layer`, for its attention kind) on x [T, D] → new residual stream
 * [T, D] (x itself is not modified). `rope` is the layer's table (layerRopeTables). */
export function layerForward(
  kernel: MatmulKernel,
  c: EngineConfig,
  w: LayerWeights,
  x: Float32Array,
  T: number,
  rope: RopeTables,
  layer: number,
): { y: Float32Array; acts: LayerActivations } {
  const D = c.hiddenSize;
  const d = c.headDim;
  const qDim = c.numHeads * d;
  const kvDim = c.numKvHeads * d;
  const F = c.intermediateSize;
  const eps = c.rmsNormEps;
  const off = c.normWeightOffset ?? 0;
  const n1 = rmsnormForward(x, w.attnNorm, T, D, eps, off);
  const n1T = transpose(n1.y, T, D); // [D, T], shared by the q/k/v projections
  let q = linearForwardTransposedInput(kernel, n1T, w.wq, T, D, qDim, c.attentionBias ? w.bq : undefined);
  let k = linearForwardTransposedInput(kernel, n1T, w.wk, T, D, kvDim, c.attentionBias ? w.bk : undefined);
  const v = linearForwardTransposedInput(kernel, n1T, w.wv, T, D, kvDim, c.attentionBias ? w.bv : undefined);
  const acts: Partial<LayerActivations> = { input: x, attnNormed: n1.y, attnInvRms: n1.invRms, v };
  if (c.qkNorm) {
    // per-head RMSNorm over headDim: T·H rows of d
    const qn = rmsnormForward(q, w.qNorm!, T * c.numHeads, d, eps, off);
    const kn = rmsnormForward(k, w.kNorm!, T * c.numKvHeads, d, eps, off);
    Object.assign(acts, { qRaw: q, kRaw: k, qInvRms: qn.invRms, kInvRms: kn.invRms });
    q = qn.y;
    k = kn.y;
  }
  applyRope(q, T, c.numHeads, rope);
  applyRope(k, T, c.numKvHeads, rope);
  const attnMixed = attentionForward(kernel, q, k, v, layerAttentionShape(c, layer, T));
  let residualMid = linearForward(kernel, attnMixed, w.wo, T, qDim, D);
  if (c.sandwichNorms) {
    const pn = rmsnormForward(residualMid, w.postAttnNorm!, T, D, eps, off);
    Object.assign(acts, { attnOut: residualMid, attnOutInvRms: pn.invRms });
    residualMid = pn.y;
  }
  addInPlace(residualMid, x);
  const n2 = rmsnormForward(residualMid, w.ffnNorm, T, D, eps, off);
  const n2T = transpose(n2.y, T, D); // [D, T], shared by gate and up
  const gate = linearForwardTransposedInput(kernel, n2T, w.wGate, T, D, F);
  const up = linearForwardTransposedInput(kernel, n2T, w.wUp, T, D, F);
  const act = gatedActivation(c, gate, up);
  let y = linearForward(kernel, act, w.wDown, T, F, D);
  if (c.sandwichNorms) {
    const pn = rmsnormForward(y, w.postFfnNorm!, T, D, eps, off);
    Object.assign(acts, { ffnOut: y, ffnOutInvRms: pn.invRms });
    y = pn.y;
  }
  addInPlace(y, residualMid);
  Object.assign(acts, { q, k, attnMixed, residualMid, ffnNormed: n2.y, ffnInvRms: n2.invRms, gate, up, act });
  return { y, acts: acts as LayerActivations };
}

interface TrunkResult {
  normed: Float32Array; // [T, D] after the final norm
  hidden?: Float32Array[];
  tape?: ForwardTape;
}

/** Embedding and all layers, streamed; everything before the LM head. */
async function runTrunk(weights: EngineWeights, tokens: ArrayLike<number>, opts: ForwardOptions, kernel: MatmulKernel): Promise<TrunkResult> {
  const c = weights.config;
  validateConfig(c);
  const ids = checkTokens(c, tokens);
  const T = ids.length;
  const D = c.hiddenSize;
  checkAbort(opts.signal);
  const first = opts.resume ? checkResume(c, opts.resume, T, opts.tape) : 0;
  let x = opts.resume ? opts.resume.hidden : embeddingForward(checkTensor("embedding", await weights.embedding(), c.vocabSize * D), ids, D, c.embedScale);
  const hidden: Float32Array[] | undefined = opts.hiddenStates ? [x.slice()] : undefined;
  opts.onBoundary?.(first, x);
  const ropes = layerRopeTables(c, T);
  const layers: LayerActivations[] = [];
  for (let i = first; i < c.numLayers; i++) {
    checkAbort(opts.signal);
    const w = await weights.layer(i);
    validateLayerWeights(c, i, w);
    const { y, acts } = layerForward(kernel, c, w, x, T, ropes[i]!, i);
    if (opts.tape) layers.push(acts);
    opts.onLayer?.(i, acts);
    x = y;
    hidden?.push(x.slice());
    opts.onBoundary?.(i + 1, x);
  }
  checkAbort(opts.signal);
  const norm = checkTensor("finalNorm", await weights.finalNorm(), D);
  const fin = rmsnormForward(x, norm, T, D, c.rmsNormEps, c.normWeightOffset ?? 0);
  const result: TrunkResult = { normed: fin.y };
  if (hidden) result.hidden = hidden;
  if (opts.tape) {
    result.tape = { tokens: ids, ropes, layers, finalInput: x, finalNormed: fin.y, finalInvRms: fin.invRms };
  }
  return result;
}

/** Logits [rows, V] for the given positions of normed [T, D]: logitsᵀ = W_head·hᵀ on the kernel,
 * then cap·tanh(z/cap) when `softcap` is given (Gemma 2's final_logit_softcapping). */
export function headForward(kernel: MatmulKernel, head: Float32Array, normed: Float32Array, D: number, V: number, positions: readonly number[], softcap?: number): Float32Array {
  const R = positions.length;
  bufferElements("logits", R, V);
  const hT = new Float32Array(D * R); // [D, R]
  positions.forEach((p, r) => {
    for (let i = 0; i < D; i++) hT[i * R + r] = normed[p * D + i]!;
  });
  const logits = transpose(kernel.matmul(head, hT, V, D, R), V, R);
  if (softcap !== undefined) softcapInPlace(logits, softcap);
  return logits;
}

function resolvePositions(spec: ForwardOptions["logitsFor"], T: number): number[] {
  if (spec === undefined || spec === "all") return Array.from({ length: T }, (_, t) => t);
  if (spec === "last") return [T - 1];
  if (spec === "none") return [];
  return spec.map((p, i) => {
    if (!Number.isInteger(p) || p < 0 || p >= T) {
      throw new RuntimeError("ENGINE_BAD_POSITION", `logitsFor[${i}] is ${p}, expected an integer in [0, ${T})`, {
        hint: "positions index the token list passed to forward",
      });
    }
    return p;
  });
}

async function loadHead(weights: EngineWeights): Promise<Float32Array> {
  const c = weights.config;
  const head = c.tiedEmbeddings ? await weights.embedding() : await weights.lmHead();
  return checkTensor(c.tiedEmbeddings ? "embedding (tied head)" : "lmHead", head, c.vocabSize * c.hiddenSize);
}

export async function forward(weights: EngineWeights, tokens: ArrayLike<number>, opts: ForwardOptions = {}): Promise<ForwardResult> {
  const kernel = opts.kernel ?? (await getMatmulKernel());
  const trunk = await runTrunk(weights, tokens, opts, kernel);
  const c = weights.config;
  const positions = resolvePositions(opts.logitsFor, tokens.length);
  let logits: Float32Array = new Float32Array(0);
  if (positions.length > 0) {
    checkAbort(opts.signal);
    logits = headForward(kernel, await loadHead(weights), trunk.normed, c.hiddenSize, c.vocabSize, positions, c.finalLogitSoftcap);
  }
  const result: ForwardResult = { logits, positions };
  if (trunk.hidden) result.hidden = trunk.hidden;
  if (trunk.tape) result.tape = trunk.tape;
  return result;
}

export interface TokenLogprobOptions {
  /** first token index to score (≥ 1, default 1): scores tokens[from..T-1], e.g. only a continuation. */
  from?: number;
  signal?: AbortSignal;
  kernel?: MatmulKernel;
}

/** log p(tokens[t] | tokens[..t-1]) for t = from..T-1 → Float32Array [T - from]. Only the head rows
 * for positions from-1..T-2 are computed, in chunks so [rows, vocab] logits stay bounded. */
export async function tokenLogprobs(weights: EngineWeights, tokens: ArrayLike<number>, opts: TokenLogprobOptions = {}): Promise<Float32Array> {
  const from = opts.from ?? 1;
  const T = tokens.length;
  if (!Number.isInteger(from) || from < 1 || from > T) {
    throw new RuntimeError("ENGINE_BAD_POSITION", `tokenLogprobs from=${from}, expected an integer in [1, ${T}]`, {
      hint: "the first token has no prediction to score; pass at least two tokens",
    });
  }
  const kernel = opts.kernel ?? (await getMatmulKernel());
  const fwdOpts: ForwardOptions = opts.signal ? { signal: opts.signal } : {};
  const trunk = await runTrunk(weights, tokens, fwdOpts, kernel);
  const c = weights.config;
  const head = await loadHead(weights);
  const out = new Float32Array(T - from);
  const chunk = Math.max(1, Math.floor((1 << 24) / c.vocabSize));
  for (let p0 = from - 1; p0 < T - 1; p0 += chunk) {
    checkAbort(opts.signal);
    const positions: number[] = [];
    for (let p = p0; p < Math.min(T - 1, p0 + chunk); p++) positions.push(p);
    const logits = headForward(kernel, head, trunk.normed, c.hiddenSize, c.vocabSize, positions, c.finalLogitSoftcap);
    positions.forEach((p, r) => {
      const row = logits.subarray(r * c.vocabSize, (r + 1) * c.vocabSize);
      out[p + 1 - from] = row[tokens[p + 1]!]! - logSumExp(row);
    });
  }
  return out;
}
