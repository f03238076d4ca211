// The weights of one optimizer step held in the kernel as the B operands of the training path's
// products: Wᵀ of each fused projection for the forward (x·Wᵀ), W for the backward's dx = dy·W,
// and the head both ways. Uploaded (and packed by XNNPACK) once per step; frozen tensors stay
// resident for the whole run. Invalidate what the optimizer changed.

import { transposeInto } from "./fast-ops.js";
import { layerViews, specView, type ParamLayout } from "./param-store.js";
import type { ResidentMatrix, TrainKernel } from "./train-kernel.js";

export interface LayerResident {
  qkvT: ResidentMatrix; // [D, qkv]
  woT: ResidentMatrix; // [qDim, D]
  guT: ResidentMatrix; // [D, 2F]
  downT: ResidentMatrix; // [F, D]
  qkv: ResidentMatrix; // [qkv, D]
  wo: ResidentMatrix; // [D, qDim]
  gu: ResidentMatrix; // [2F, D]
  down: ResidentMatrix; // [D, F]
}

/** The view `first` extended to `n` elements of the same buffer: fused q|k|v or gate|up rows. */
export function contiguous(first: Float32Array, n: number): Float32Array {
  return new Float32Array(first.buffer, first.byteOffset, n);
}

export class ResidentWeights {
  private readonly layers: (LayerResident | undefined)[];
  private headW: { w: ResidentMatrix; wT: ResidentMatrix } | undefined;

  constructor(private readonly kernel: TrainKernel, private readonly layout: ParamLayout, private readonly params: Float32Array) {
    this.layers = new Array<LayerResident | undefined>(layout.config.numLayers).fill(undefined);
  }

  layer(l: number): LayerResident {
    const have = this.layers[l];
    if (have) return have;
    const c = this.layout.config;
    const D = c.hiddenSize;
    const qDim = c.numHeads * c.headDim;
    const qkv = qDim + 2 * c.numKvHeads * c.headDim;
    const F = c.intermediateSize;
    const w = layerViews(this.layout, this.params, l);
    const k = this.kernel;
    const wqkv = contiguous(w.wq, qkv * D);
    const wgu = contiguous(w.wGate, 2 * F * D);
    const made: LayerResident = {
      qkvT: k.resident(transposeInto(wqkv, qkv, D), D, qkv),
      woT: k.resident(transposeInto(w.wo, D, qDim), qDim, D),
      guT: k.resident(transposeInto(wgu, 2 * F, D), D, 2 * F),
      downT: k.resident(transposeInto(w.wDown, D, F), F, D),
      qkv: k.resident(wqkv, qkv, D),
      wo: k.resident(w.wo, D, qDim),
      gu: k.resident(wgu, 2 * F, D),
      down: k.resident(w.wDown, D, F),
    };
    this.layers[l] = made;
    return made;
  }

  head(): { w: ResidentMatrix; wT: ResidentMatrix } {
    if (this.headW) return this.headW;
    const L = this.layout;
    const { vocabSize: V, hiddenSize: D } = L.config;
    const w = specView(L, this.params, L.lmHead >= 0 ? L.lmHead : L.embedding);
    this.headW = { w: this.kernel.resident(w, V, D), wT: this.kernel.resident(transposeInto(w, V, D), D, V) };
    return this.headW;
  }

  /** Drops what `changed` marks (spec indices; all when omitted). */
  invalidate(changed?: boolean[]): void {
    const L = this.layout;
    this.layers.forEach((r, l) => {
      if (r && (!changed || [...L.layers[l]!.values()].some((i) => changed[i]))) {
        for (const m of Object.values(r)) this.kernel.release(m);
        this.layers[l] = undefined;
      }
    });
    const head = L.lmHead >= 0 ? L.lmHead : L.embedding;
    if (this.headW && (!changed || changed[head])) {
      this.kernel.release(this.headW.w);
      this.kernel.release(this.headW.wT);
      this.headW = undefined;
    }
  }
}
