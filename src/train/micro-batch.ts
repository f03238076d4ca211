// One micro-batch of packed sequences through the model, token-major ([N = B·S, features]): the
// forward with a tape, the next-token loss, and the backward into the compact gradient buffer of
// the trainable tensors only. Frozen layers pass gradients through (dx) but compute no weight
// gradients, and nothing below the lowest trainable tensor is taped or differentiated.
// Linear layers run as x·Wᵀ with Wᵀ cached per step, so every matmul is the kernel's fast A·B.

import { ropeTables, type EngineConfig, type LayerWeights, type RopeTables } from "../engine/index.js";
import { attentionBackwardBatch, attentionForwardBatch, type AttnDims } from "./batch-attention.js";
import {
  addBiasRows, addInto, fastExp, rmsnormBackwardAdd, rmsnormRecompute, rmsnormRows, ropeRows, sumRowsInto,
  swigluBackwardRows, swigluRows, transposeAddInto, transposeInto,
} from "./fast-ops.js";
import { gradView, layerViews, specView, type GradLayout, type ParamLayout } from "./param-store.js";
import type { ResidentMatrix, TrainKernel } from "./train-kernel.js";

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
}

/** One layer's weights resident in the kernel, as the B operands of its products: Wᵀ for the
 * forward (x·Wᵀ) and W for the backward's dx = dy·W, with q|k|v and gate|up fused. */
interface Resident {
  qkvT: ResidentMatrix; // [D, qkv]
  woT: ResidentMatrix; // [qDim, D]
  guT: ResidentMatrix; // [D, 2F]
  downT: ResidentMatrix; // [F, D]
  qkv: ResidentMatrix; // [qkv, D]
  wo: ResidentMatrix; // [D, qDim]
  gu: ResidentMatrix; // [2F, D]
  down: ResidentMatrix; // [D, F]
}

export class MicroBatchCompute {
  readonly config: EngineConfig;
  private readonly rope: RopeTables;
  private readonly dims: Omit<AttnDims, "B">;
  private readonly t: (Resident | undefined)[];
  private headW: { w: ResidentMatrix; wT: ResidentMatrix } | undefined;

  constructor(
    private readonly kernel: TrainKernel,
    readonly layout: ParamLayout,
    private readonly params: Float32Array,
    readonly seqLen: number,
    queryBlock = seqLen,
  ) {
    this.config = layout.config;
    const c = this.config;
    this.rope = ropeTables(c, seqLen);
    this.dims = { S: seqLen, heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim, queryBlock };
    this.t = new Array<Resident | undefined>(c.numLayers).fill(undefined);
  }

  /** Drops the resident copies of every tensor `changed` marks (after an optimizer step); all when omitted. */
  invalidate(changed?: boolean[]): void {
    const L = this.layout;
    for (let l = 0; l < this.config.numLayers; l++) {
      const r = this.t[l];
      if (r && (!changed || [...L.layers[l]!.values()].some((i) => changed[i]))) {
        for (const m of Object.values(r)) this.kernel.release(m);
        this.t[l] = undefined;
      }
    }
    const head = L.lmHead >= 0 ? L.lmHead : L.embedding;
    if (this.headW && (!changed || changed[head])) {
      this.kernel.release(this.headW.w);
      this.kernel.release(this.headW.wT);
      this.headW = undefined;
    }
  }

  /** Frees everything resident (the compute stays usable: it re-uploads on demand). */
  dispose(): void {
    this.invalidate();
  }

  private resident(l: number): Resident {
    const have = this.t[l];
    if (have) return have;
    const c = this.config;
    const D = c.hiddenSize;
    const qDim = c.numHeads * c.headDim;
    const qkv = qDim + 2 * c.numKvHeads * c.headDim;
    const F = c.intermediateSize;
    const w = layerViews(this.layout, this.params, l);
    const k = this.kernel;
    const wqkv = contiguous(w.wq, qkv * D);
    const wgu = contiguous(w.wGate, 2 * F * D);
    const made: Resident = {
      qkvT: k.resident(transposeInto(wqkv, qkv, D), D, qkv),
      woT: k.resident(transposeInto(w.wo, D, qDim), qDim, D),
      guT: k.resident(transposeInto(wgu, 2 * F, D), D, 2 * F),
      downT: k.resident(transposeInto(w.wDown, D, F), F, D),
      qkv: k.resident(wqkv, qkv, D),
      wo: k.resident(w.wo, D, qDim),
      gu: k.resident(wgu, 2 * F, D),
      down: k.resident(w.wDown, D, F),
    };
    this.t[l] = made;
    return made;
  }

  private head(): { w: ResidentMatrix; wT: ResidentMatrix } {
    if (this.headW) return this.headW;
    const L = this.layout;
    const { vocabSize: V, hiddenSize: D } = this.config;
    const w = specView(L, this.params, L.lmHead >= 0 ? L.lmHead : L.embedding);
    this.headW = { w: this.kernel.resident(w, V, D), wT: this.kernel.resident(transposeInto(w, V, D), D, V) };
    return this.headW;
  }

  /** Σ over the N targets of −log p(target | prefix) and, when `grads` is given, its gradient added
   * into the compact buffer (the caller zeroes it and divides by the token count). `losses` [N]
   * receives each position's −log p. */
  run(tokens: Int32Array, targets: Int32Array, grads?: { buffer: Float32Array; layout: GradLayout }, losses?: Float32Array): { loss: number; tokens: number } {
    const c = this.config;
    const N = tokens.length;
    const D = c.hiddenSize;
    const L = this.layout;
    const g = grads?.layout;
    const lowest = !g ? c.numLayers : g.trainable[L.embedding] ? 0 : firstTrainableLayer(L, g.trainable);
    let x: Float32Array = new Float32Array(N * D);
    const emb = specView(L, this.params, L.embedding);
    for (let t = 0; t < N; t++) x.set(emb.subarray(tokens[t]! * D, tokens[t]! * D + D), t * D);
    const tapes: (LayerTape | undefined)[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const r = this.layerForward(l, x, N);
      tapes.push(l >= lowest ? r.tape : undefined);
      x = r.y;
    }
    const head = this.headLoss(x, targets, grads, losses);
    if (!grads || !head.dx) return { loss: head.loss, tokens: N };
    let dx = head.dx;
    for (let l = c.numLayers - 1; l >= lowest; l--) dx = this.layerBackward(l, tapes[l]!, dx, N, grads);
    const gEmb = gradView(L, grads.layout, grads.buffer, L.embedding);
    if (gEmb) {
      for (let t = 0; t < N; t++) {
        const o = tokens[t]! * D;
        for (let i = 0; i < D; i++) gEmb[o + i]! += dx[t * D + i]!;
      }
    }
    return { loss: head.loss, tokens: N };
  }

  private layerForward(l: number, x: Float32Array, N: number): { y: Float32Array; tape: LayerTape } {
    const c = this.config;
    const k = this.kernel;
    const D = c.hiddenSize;
    const F = c.intermediateSize;
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    const QKV = qDim + 2 * kvDim;
    const w = layerViews(this.layout, this.params, l);
    const T = this.resident(l);
    const B = N / this.seqLen;
    const n1 = new Float32Array(N * D);
    const r1 = new Float32Array(N);
    rmsnormRows(x, w.attnNorm, N, D, c.rmsNormEps, n1, r1);
    const qkv = k.matmulResident(n1, T.qkvT, N);
    if (c.attentionBias) {
      addBiasRows(qkv, w.bq!, N, QKV, 0);
      addBiasRows(qkv, w.bk!, N, QKV, qDim);
      addBiasRows(qkv, w.bv!, N, QKV, qDim + kvDim);
    }
    const { half, cos, sin } = this.rope;
    ropeRows(qkv, N, QKV, 0, c.numHeads, this.seqLen, half, cos, sin, 1);
    ropeRows(qkv, N, QKV, qDim, c.numKvHeads, this.seqLen, half, cos, sin, 1);
    const att = new Float32Array(N * qDim);
    const lse = new Float32Array(B * c.numHeads * this.seqLen);
    attentionForwardBatch(k, qkv, { ...this.dims, B }, att, lse);
    const mid = k.matmulResident(att, T.woT, N);
    addInto(mid, x);
    const n2 = n1; // n1 is dead: reuse its buffer
    const r2 = new Float32Array(N);
    rmsnormRows(mid, w.ffnNorm, N, D, c.rmsNormEps, n2, r2);
    const gu = k.matmulResident(n2, T.guT, N);
    const act = new Float32Array(N * F);
    swigluRows(gu, N, F, act);
    const y = k.matmulResident(act, T.downT, N);
    addInto(y, mid);
    return { y, tape: { x, r1, qkv, att, lse, mid, r2, gu } };
  }

  /** dy [N, D] → dx [N, D]; weight gradients added when layer `l` trains. */
  private layerBackward(l: number, a: LayerTape, dy: Float32Array, N: number, grads: { buffer: Float32Array; layout: GradLayout }): Float32Array {
    const c = this.config;
    const k = this.kernel;
    const D = c.hiddenSize;
    const F = c.intermediateSize;
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    const QKV = qDim + 2 * kvDim;
    const B = N / this.seqLen;
    const w = layerViews(this.layout, this.params, l);
    const W = this.resident(l);
    const gw = layerGrads(this.layout, grads.layout, grads.buffer, l);
    // Weight gradients: the wider operand is transposed in JS and goes first (A); the narrower
    // is the kernel's B, which XNNPACK packs per call (packing costs more than a JS transpose).
    // MLP: y = mid + down(silu(gate(n2))·up(n2))
    const dAct = k.matmulResident(dy, W.down, N);
    const dgu = new Float32Array(N * 2 * F);
    const act = gw ? new Float32Array(N * F) : undefined;
    swigluBackwardRows(a.gu, dAct, N, F, dgu, act);
    if (gw && act) transposeAddInto(k.matmul(transposeInto(act, N, F), dy, F, N, D), F, D, gw.wDown);
    const dn2 = k.matmulResident(dgu, W.gu, N);
    const scratch = new Float32Array(N * D);
    if (gw) {
      rmsnormRecompute(a.mid, w.ffnNorm, a.r2, N, D, scratch); // n2
      addInto(contiguous(gw.wGate, 2 * F * D), k.matmul(transposeInto(dgu, N, 2 * F), scratch, 2 * F, N, D));
    }
    const dMid = dy.slice();
    rmsnormBackwardAdd(a.mid, w.ffnNorm, a.r2, dn2, N, D, dMid, gw?.ffnNorm);
    // attention: mid = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1)))
    const dAtt = k.matmulResident(dMid, W.wo, N);
    if (gw) addInto(gw.wo, k.matmul(transposeInto(dMid, N, D), a.att, D, N, qDim));
    const dqkv = new Float32Array(N * QKV);
    attentionBackwardBatch(k, a.qkv, a.att, a.lse, dAtt, { ...this.dims, B }, dqkv);
    const { half, cos, sin } = this.rope;
    ropeRows(dqkv, N, QKV, 0, c.numHeads, this.seqLen, half, cos, sin, -1);
    ropeRows(dqkv, N, QKV, qDim, c.numKvHeads, this.seqLen, half, cos, sin, -1);
    if (gw && c.attentionBias) {
      sumRowsInto(dqkv, N, QKV, 0, gw.bq!);
      sumRowsInto(dqkv, N, QKV, qDim, gw.bk!);
      sumRowsInto(dqkv, N, QKV, qDim + kvDim, gw.bv!);
    }
    const dn1 = k.matmulResident(dqkv, W.qkv, N);
    if (gw) {
      rmsnormRecompute(a.x, w.attnNorm, a.r1, N, D, scratch); // n1
      addInto(contiguous(gw.wq, QKV * D), k.matmul(transposeInto(dqkv, N, QKV), scratch, QKV, N, D));
    }
    rmsnormBackwardAdd(a.x, w.attnNorm, a.r1, dn1, N, D, dMid, gw?.attnNorm);
    return dMid;
  }

  /** Final norm, head, softmax cross-entropy; with grads: the head's gradients and dx [N, D]. */
  private headLoss(x: Float32Array, targets: Int32Array, grads?: { buffer: Float32Array; layout: GradLayout }, losses?: Float32Array): { loss: number; dx?: Float32Array } {
    const c = this.config;
    const k = this.kernel;
    const L = this.layout;
    const N = targets.length;
    const D = c.hiddenSize;
    const V = c.vocabSize;
    const fn = specView(L, this.params, L.finalNorm);
    const hn = new Float32Array(N * D);
    const r = new Float32Array(N);
    rmsnormRows(x, fn, N, D, c.rmsNormEps, hn, r);
    const head = this.head();
    const gHead = grads && gradView(L, grads.layout, grads.buffer, L.lmHead >= 0 ? L.lmHead : L.embedding);
    const dhn = grads ? new Float32Array(N * D) : undefined;
    let loss = 0;
    const rows = Math.max(1, Math.min(N, Math.floor((1 << 22) / V))); // [rows, V] logits stay ≤ 16 MB
    for (let p0 = 0; p0 < N; p0 += rows) {
      const R = Math.min(rows, N - p0);
      const h = hn.subarray(p0 * D, (p0 + R) * D);
      const logits = k.matmulResident(h, head.wT, R);
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
      }
      if (!dhn) continue;
      dhn.set(k.matmulResident(logits, head.w, R), p0 * D);
      if (gHead) addInto(gHead, k.matmul(transposeInto(logits, R, V), h, V, R, D));
    }
    if (!grads || !dhn) return { loss };
    const needDx = firstTrainableLayer(L, grads.layout.trainable) < c.numLayers || grads.layout.trainable[L.embedding] === true;
    const dx = new Float32Array(N * D);
    rmsnormBackwardAdd(x, fn, r, dhn, N, D, dx, gradView(L, grads.layout, grads.buffer, L.finalNorm));
    return needDx ? { loss, dx } : { loss };
  }
}

/** The view `first` extended to `n` elements of the same buffer: fused q|k|v or gate|up rows. */
function contiguous(first: Float32Array, n: number): Float32Array {
  return new Float32Array(first.buffer, first.byteOffset, n);
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
