// One micro-batch of packed sequences through the model, token-major ([N = B·S, features]): the
// forward with a tape, the next-token loss, and the backward into the compact gradient buffer of
// the trainable tensors only. Frozen layers pass gradients through (dx) but compute no weight
// gradients, and nothing below the lowest trainable tensor is taped or differentiated. Every
// matmul is the kernel's fast A·B (x·Wᵀ with Wᵀ resident), and buffers are reused (Workspace).
// Family features follow the engine (EngineConfig): q/k norms, (1+w) gains, √D embeddings, GeGLU,
// sandwich norms, softcaps, sliding windows, per-layer RoPE tables, partial rotary.

import { layerRopeTables, type EngineConfig, type LayerWeights, type RopeTables } from "../engine/index.js";
import { attentionBackwardBatch, attentionForwardBatch, type AttnDims } from "./batch-attention.js";
import {
  addBiasRows, addInto, fastExp, fastTanh, gainInto, gegluBackwardRows, gegluRows, headNormBackwardRows, headNormRows, rmsnormBackwardAdd,
  rmsnormRecompute, rmsnormRows, ropeRows, sumRowsInto, swigluBackwardRows, swigluRows, transposeAddInto, transposeInto,
} from "./fast-ops.js";
import { gradView, layerViews, specView, type GradLayout, type ParamLayout } from "./param-store.js";
import { contiguous, ResidentWeights } from "./resident-weights.js";
import type { TrainKernel } from "./train-kernel.js";
import { Workspace } from "./workspace.js";

/** What the backward needs of one layer; the rest (norm outputs, σ(gate), act) is recomputed. */
interface LayerTape {
  x: Float32Array; // [N, D] layer input
  r1: Float32Array; // [N] 1/rms of x
  qkv: Float32Array; // [N, qkv] after bias and RoPE
  att: Float32Array; // [N, qDim] attention output
  lse: Float32Array; // [B, H, S]
  mid: Float32Array; // [N, D] x + o_proj(att)
  r2: Float32Array; // [N]
  gu: Float32Array; // [N, 2F] gate | up
  /** qkNorm: q | k before their norms, and 1/rms per (token, head) */
  qkRaw?: Float32Array; // [N, qDim + kvDim]
  qkInv?: Float32Array; // [N·(H + KV)]
  /** sandwichNorms: o_proj's and down_proj's outputs before their post norms, and those norms' 1/rms */
  ao?: Float32Array; // [N, D]
  ra?: Float32Array; // [N]
  fo?: Float32Array; // [N, D]
  rf?: Float32Array; // [N]
}

type Grads = { buffer: Float32Array; layout: GradLayout };

export class MicroBatchCompute {
  readonly config: EngineConfig;
  private readonly ropes: RopeTables[];
  private readonly dims: Omit<AttnDims, "B">[];
  private readonly weights: ResidentWeights;
  private readonly ws = new Workspace();
  private readonly D: number;
  private readonly F: number;
  private readonly qDim: number;
  private readonly kvDim: number;
  private readonly QKV: number;

  constructor(private readonly kernel: TrainKernel, readonly layout: ParamLayout, private readonly params: Float32Array, readonly seqLen: number, queryBlock = seqLen) {
    const c = (this.config = layout.config);
    this.ropes = layerRopeTables(c, seqLen);
    this.dims = Array.from({ length: c.numLayers }, (_, l) => attnDims(c, l, seqLen, queryBlock));
    this.weights = new ResidentWeights(kernel, layout, params);
    this.D = c.hiddenSize;
    this.F = c.intermediateSize;
    this.qDim = c.numHeads * c.headDim;
    this.kvDim = c.numKvHeads * c.headDim;
    this.QKV = this.qDim + 2 * this.kvDim;
  }

  /** Drops resident copies of the tensors `changed` marks (after an optimizer step); all when omitted. */
  invalidate(changed?: boolean[]): void {
    this.weights.invalidate(changed);
  }

  /** Frees resident weights and buffers (the compute stays usable: it re-creates them on demand). */
  dispose(): void {
    this.weights.invalidate();
    this.ws.clear();
  }

  /** Σ over the N targets of −log p(target | prefix) and, when `grads` is given, its gradient added
   * into the compact buffer (the caller zeroes it and divides by the token count). `losses` [N]
   * receives each position's −log p. */
  run(tokens: Int32Array, targets: Int32Array, grads?: Grads, losses?: Float32Array): { loss: number; tokens: number } {
    const c = this.config;
    const N = tokens.length;
    const D = this.D;
    const L = this.layout;
    const g = grads?.layout;
    const lowest = !g ? c.numLayers : g.trainable[L.embedding] ? 0 : firstTrainableLayer(L, g.trainable);
    let x = this.ws.get("emb", N * D);
    const emb = specView(L, this.params, L.embedding);
    for (let t = 0; t < N; t++) x.set(emb.subarray(tokens[t]! * D, tokens[t]! * D + D), t * D);
    if (c.embedScale !== undefined) for (let i = 0; i < N * D; i++) x[i]! *= c.embedScale;
    const tapes: (LayerTape | undefined)[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      // taped layers keep their own buffers; the others alternate between two sets
      const tape = this.layerForward(l, x, N, l >= lowest ? `L${l}` : `F${l % 2}`);
      tapes.push(l >= lowest ? tape : undefined);
      x = tape.y;
    }
    const head = this.headLoss(x, targets, grads, losses);
    if (!grads || !head.dx) return { loss: head.loss, tokens: N };
    let dx = head.dx;
    for (let l = c.numLayers - 1; l >= lowest; l--) dx = this.layerBackward(l, tapes[l]!, dx, N, grads, l % 2 === 0 ? "d0" : "d1");
    const gEmb = gradView(L, grads.layout, grads.buffer, L.embedding);
    if (gEmb) {
      const es = c.embedScale ?? 1;
      for (let t = 0; t < N; t++) {
        const o = tokens[t]! * D;
        for (let i = 0; i < D; i++) gEmb[o + i]! += dx[t * D + i]! * es;
      }
    }
    return { loss: head.loss, tokens: N };
  }

  /** The gain of norm weight `w` ((1 + w) for Gemma's stored gains), in buffer `key` if computed. */
  private gain(key: string, w: Float32Array): Float32Array {
    return gainInto(w, this.config.normWeightOffset, this.ws.get(`gain.${key}`, w.length));
  }

  private layerForward(l: number, x: Float32Array, N: number, tag: string): LayerTape & { y: Float32Array } {
    const c = this.config;
    const k = this.kernel;
    const { D, F, qDim, kvDim, QKV } = this;
    const ws = this.ws;
    const eps = c.rmsNormEps;
    const w = layerViews(this.layout, this.params, l);
    const R = this.weights.layer(l);
    const B = N / this.seqLen;
    const tape: Partial<LayerTape> = { x };
    const n = ws.get("n", N * D); // normed input, not taped (recomputed from x and r)
    const r1 = (tape.r1 = ws.get(`${tag}.r1`, N));
    rmsnormRows(x, this.gain("attn", w.attnNorm), N, D, eps, n, r1);
    const qkv = (tape.qkv = k.matmulResident(n, R.qkvT, N, ws.get(`${tag}.qkv`, N * QKV)));
    if (c.attentionBias) {
      addBiasRows(qkv, w.bq!, N, QKV, 0);
      addBiasRows(qkv, w.bk!, N, QKV, qDim);
      addBiasRows(qkv, w.bv!, N, QKV, qDim + kvDim);
    }
    if (c.qkNorm) {
      const raw = (tape.qkRaw = ws.get(`${tag}.qkRaw`, N * (qDim + kvDim)));
      const inv = (tape.qkInv = ws.get(`${tag}.qkInv`, N * (c.numHeads + c.numKvHeads)));
      headNormRows(qkv, N, QKV, 0, c.numHeads, c.headDim, this.gain("q", w.qNorm!), eps, raw, inv);
      headNormRows(qkv, N, QKV, qDim, c.numKvHeads, c.headDim, this.gain("k", w.kNorm!), eps, raw.subarray(N * qDim), inv.subarray(N * c.numHeads));
    }
    this.rope(l, qkv, N, 1);
    const att = (tape.att = ws.get(`${tag}.att`, N * qDim));
    const lse = (tape.lse = ws.get(`${tag}.lse`, B * c.numHeads * this.seqLen));
    attentionForwardBatch(k, ws, qkv, { ...this.dims[l]!, B }, att, lse);
    const mid = (tape.mid = ws.get(`${tag}.mid`, N * D));
    if (c.sandwichNorms) {
      const ao = (tape.ao = k.matmulResident(att, R.woT, N, ws.get(`${tag}.ao`, N * D)));
      rmsnormRows(ao, this.gain("pa", w.postAttnNorm!), N, D, eps, mid, (tape.ra = ws.get(`${tag}.ra`, N)));
    } else k.matmulResident(att, R.woT, N, mid);
    addInto(mid, x);
    const r2 = (tape.r2 = ws.get(`${tag}.r2`, N));
    rmsnormRows(mid, this.gain("ffn", w.ffnNorm), N, D, eps, n, r2);
    const gu = (tape.gu = k.matmulResident(n, R.guT, N, ws.get(`${tag}.gu`, N * 2 * F)));
    const act = ws.get("act", N * F);
    if (c.activation === "gelu_tanh") gegluRows(gu, N, F, act);
    else swigluRows(gu, N, F, act);
    const y = ws.get(`${tag}.y`, N * D);
    if (c.sandwichNorms) {
      const fo = (tape.fo = k.matmulResident(act, R.downT, N, ws.get(`${tag}.fo`, N * D)));
      rmsnormRows(fo, this.gain("pf", w.postFfnNorm!), N, D, eps, y, (tape.rf = ws.get(`${tag}.rf`, N)));
    } else k.matmulResident(act, R.downT, N, y);
    addInto(y, mid);
    return { ...(tape as LayerTape), y };
  }

  /** RoPE of layer `l` on the q and k parts of fused rows (sign −1: its backward). */
  private rope(l: number, qkv: Float32Array, N: number, sign: 1 | -1): void {
    const c = this.config;
    const { half, cos, sin } = this.ropes[l]!;
    ropeRows(qkv, N, this.QKV, 0, c.numHeads, this.seqLen, half, cos, sin, sign, c.headDim);
    ropeRows(qkv, N, this.QKV, this.qDim, c.numKvHeads, this.seqLen, half, cos, sin, sign, c.headDim);
  }

  /** dy [N, D] → dx [N, D] (into buffer `out`); weight gradients added when layer `l` trains.
   * Weight gradients put the wider operand first, transposed in JS (A), and the narrower as B,
   * which XNNPACK packs per call (packing costs more than a JS transpose). */
  private layerBackward(l: number, a: LayerTape, dy: Float32Array, N: number, grads: Grads, out: string): Float32Array {
    const c = this.config;
    const k = this.kernel;
    const { D, F, qDim, kvDim, QKV } = this;
    const ws = this.ws;
    const B = N / this.seqLen;
    const w = layerViews(this.layout, this.params, l);
    const R = this.weights.layer(l);
    const gw = layerGrads(this.layout, grads.layout, grads.buffer, l);
    // MLP: y = mid + post(down(act(gate(n2))·up(n2)))
    const dFo = c.sandwichNorms ? this.postNormBackward(a.fo!, w.postFfnNorm!, "pf", a.rf!, dy, N, gw?.postFfnNorm) : dy;
    const dAct = k.matmulResident(dFo, R.down, N, ws.get("dAct", N * F));
    const dgu = ws.get("dgu", N * 2 * F);
    const act = gw ? ws.get("act", N * F) : undefined;
    if (c.activation === "gelu_tanh") gegluBackwardRows(a.gu, dAct, N, F, dgu, act);
    else swigluBackwardRows(a.gu, dAct, N, F, dgu, act);
    if (gw && act) transposeAddInto(k.matmulInto(transposeInto(act, N, F, ws.get("actT", F * N)), dFo, F, N, D, ws.get("dW", F * D)), F, D, gw.wDown);
    const dn = k.matmulResident(dgu, R.gu, N, ws.get("dn", N * D));
    const n = ws.get("n", N * D);
    const nT = ws.get("nT", D * N);
    const gFfn = this.gain("ffn", w.ffnNorm);
    if (gw) {
      rmsnormRecompute(a.mid, gFfn, a.r2, N, D, n); // n2
      addInto(contiguous(gw.wGate, 2 * F * D), k.matmulInto(transposeInto(dgu, N, 2 * F, ws.get("dguT", 2 * F * N)), n, 2 * F, N, D, ws.get("dW", 2 * F * D)));
    }
    const dx = ws.get(out, N * D);
    dx.set(dy);
    rmsnormBackwardAdd(a.mid, gFfn, a.r2, dn, N, D, dx, gw?.ffnNorm);
    // attention: mid = x + post(o(attn(rope(qn(q(n1))), rope(kn(k(n1))), v(n1))))
    const dAo = c.sandwichNorms ? this.postNormBackward(a.ao!, w.postAttnNorm!, "pa", a.ra!, dx, N, gw?.postAttnNorm) : dx;
    const dAtt = k.matmulResident(dAo, R.wo, N, ws.get("dAtt", N * qDim));
    if (gw) addInto(gw.wo, k.matmulInto(transposeInto(dAo, N, D, nT), a.att, D, N, qDim, ws.get("dW", D * qDim)));
    const dqkv = ws.get("dqkv", N * QKV);
    attentionBackwardBatch(k, ws, a.qkv, a.att, a.lse, dAtt, { ...this.dims[l]!, B }, dqkv);
    this.rope(l, dqkv, N, -1);
    if (c.qkNorm) {
      headNormBackwardRows(dqkv, a.qkRaw!, N, QKV, 0, c.numHeads, c.headDim, this.gain("q", w.qNorm!), a.qkInv!, gw?.qNorm);
      headNormBackwardRows(dqkv, a.qkRaw!.subarray(N * qDim), N, QKV, qDim, c.numKvHeads, c.headDim, this.gain("k", w.kNorm!), a.qkInv!.subarray(N * c.numHeads), gw?.kNorm);
    }
    if (gw && c.attentionBias) {
      sumRowsInto(dqkv, N, QKV, 0, gw.bq!);
      sumRowsInto(dqkv, N, QKV, qDim, gw.bk!);
      sumRowsInto(dqkv, N, QKV, qDim + kvDim, gw.bv!);
    }
    k.matmulResident(dqkv, R.qkv, N, dn);
    const gAttn = this.gain("attn", w.attnNorm);
    if (gw) {
      rmsnormRecompute(a.x, gAttn, a.r1, N, D, n); // n1
      addInto(contiguous(gw.wq, QKV * D), k.matmulInto(transposeInto(dqkv, N, QKV, ws.get("dqkvT", QKV * N)), n, QKV, N, D, ws.get("dW", QKV * D)));
    }
    rmsnormBackwardAdd(a.x, gAttn, a.r1, dn, N, D, dx, gw?.attnNorm);
    return dx;
  }

  /** Through a branch's post norm: dy [N, D] → d(branch output) in a reused buffer; dw += when given. */
  private postNormBackward(x: Float32Array, w: Float32Array, key: string, invRms: Float32Array, dy: Float32Array, N: number, dw: Float32Array | undefined): Float32Array {
    const dOut = this.ws.zeros("dPost", N * this.D);
    rmsnormBackwardAdd(x, this.gain(key, w), invRms, dy, N, this.D, dOut, dw);
    return dOut;
  }

  /** Final norm, head, softmax cross-entropy; with grads: the head's gradients and dx [N, D]. */
  private headLoss(x: Float32Array, targets: Int32Array, grads: Grads | undefined, losses: Float32Array | undefined): { loss: number; dx?: Float32Array } {
    const c = this.config;
    const k = this.kernel;
    const L = this.layout;
    const ws = this.ws;
    const N = targets.length;
    const D = this.D;
    const V = c.vocabSize;
    const fn = specView(L, this.params, L.finalNorm);
    const hn = ws.get("h.hn", N * D);
    const r = ws.get("h.r", N);
    const gain = this.gain("final", fn);
    rmsnormRows(x, gain, N, D, c.rmsNormEps, hn, r);
    const head = this.weights.head();
    const gHead = grads && gradView(L, grads.layout, grads.buffer, L.lmHead >= 0 ? L.lmHead : L.embedding);
    const dhn = grads ? ws.get("h.dhn", N * D) : undefined;
    let loss = 0;
    const rows = Math.max(1, Math.min(N, Math.floor((1 << 22) / V))); // [rows, V] logits stay ≤ 16 MB
    for (let p0 = 0; p0 < N; p0 += rows) {
      const R = Math.min(rows, N - p0);
      const h = hn.subarray(p0 * D, (p0 + R) * D);
      const logits = k.matmulResident(h, head.wT, R, ws.get("h.logits", R * V));
      // Gemma 2's final softcap z' = cap·tanh(z/cap); slope = dz'/dz = 1 − tanh² for the backward
      const cap = c.finalLogitSoftcap;
      const slope = cap !== undefined && dhn ? ws.get("h.slope", R * V) : undefined;
      if (cap !== undefined) {
        for (let i = 0; i < R * V; i++) {
          const t = fastTanh(logits[i]! / cap);
          logits[i] = cap * t;
          if (slope) slope[i] = 1 - t * t;
        }
      }
      for (let i = 0; i < R; i++) {
        const o = i * V;
        let max = -Infinity;
        for (let v = 0; v < V; v++) if (logits[o + v]! > max) max = logits[o + v]!;
        const target = targets[p0 + i]!;
        const zt = logits[o + target]!;
        let sum = 0;
        for (let v = 0; v < V; v++) {
          const e = fastExp(logits[o + v]! - max);
          if (dhn) logits[o + v] = e;
          sum += e;
        }
        const nll = max + Math.log(sum) - zt;
        loss += nll;
        if (losses) losses[p0 + i] = nll;
        if (!dhn) continue;
        const inv = 1 / sum;
        for (let v = 0; v < V; v++) logits[o + v]! *= inv;
        logits[o + target]! -= 1;
        if (slope) for (let v = 0; v < V; v++) logits[o + v]! *= slope[o + v]!;
      }
      if (!dhn) continue;
      k.matmulResident(logits, head.w, R, dhn.subarray(p0 * D, (p0 + R) * D));
      if (gHead) addInto(gHead, k.matmulInto(transposeInto(logits, R, V, ws.get("h.logitsT", V * R)), h, V, R, D, ws.get("h.dW", V * D)));
    }
    if (!grads || !dhn) return { loss };
    const needDx = firstTrainableLayer(L, grads.layout.trainable) < c.numLayers || grads.layout.trainable[L.embedding] === true;
    const dx = ws.zeros("h.dx", N * D);
    rmsnormBackwardAdd(x, gain, r, dhn, N, D, dx, gradView(L, grads.layout, grads.buffer, L.finalNorm));
    return needDx ? { loss, dx } : { loss };
  }
}

/** Layer `l`'s attention: scale, softcap and (a sliding layer's) window, as the engine's. */
function attnDims(c: EngineConfig, l: number, S: number, queryBlock: number): Omit<AttnDims, "B"> {
  const a: Omit<AttnDims, "B"> = { S, heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim, queryBlock };
  if (c.queryPreAttnScalar !== undefined) a.scale = 1 / Math.sqrt(c.queryPreAttnScalar);
  if (c.attnLogitSoftcap !== undefined) a.softcap = c.attnLogitSoftcap;
  if (c.slidingWindow !== undefined && c.layerTypes?.[l] === "sliding_attention" && c.slidingWindow < S) a.window = c.slidingWindow;
  return a;
}

function firstTrainableLayer(L: ParamLayout, trainable: boolean[]): number {
  for (let l = 0; l < L.layers.length; l++) if ([...L.layers[l]!.values()].some((i) => trainable[i])) return l;
  return L.layers.length;
}

function layerGrads(L: ParamLayout, g: GradLayout, buffer: Float32Array, l: number): LayerWeights | undefined {
  const m = L.layers[l]!;
  if (!g.trainable[m.get("wq")!]) return undefined;
  const w: Partial<Record<keyof LayerWeights, Float32Array>> = {};
  for (const [field, i] of m) w[field] = gradView(L, g, buffer, i)!;
  return w as LayerWeights;
}
