// The training path's matmul kernel: the engine's tfjs-wasm kernel plus matrices kept resident in
// wasm memory. XNNPACK packs the B operand of every product; tfjs caches that packing per tensor,
// so weights used as B by every micro-batch of a step are uploaded and packed once, not per call
// (measured: a fresh [2048, 768] B costs several times the product itself). Single-threaded.

import * as tf from "@tensorflow/tfjs-core";
import { getMatmulKernel, type MatmulKernel } from "../engine/index.js";

/** A [k, n] matrix held by the kernel; release() it when its values change. */
export interface ResidentMatrix {
  readonly k: number;
  readonly n: number;
  /** @internal the backend handle */
  readonly tensor: tf.Tensor2D;
}

export interface TrainKernel extends MatmulKernel {
  /** Uploads b [k, n] once for use as the B operand of many products. */
  resident(b: Float32Array, k: number, n: number): ResidentMatrix;
  /** C [m, n] = A [m, k] · B [k, n] with B resident. */
  matmulResident(a: Float32Array, b: ResidentMatrix, m: number): Float32Array;
  release(b: ResidentMatrix): void;
}

let ready: Promise<TrainKernel> | undefined;

/** The shared kernel (same tfjs backend as the engine's). */
export function getTrainKernel(): Promise<TrainKernel> {
  ready ??= getMatmulKernel().then(
    (base): TrainKernel => ({
      name: `${base.name}+resident`,
      matmul: (a, b, m, k, n) => base.matmul(a, b, m, k, n),
      resident(b, k, n) {
        return { k, n, tensor: tf.tensor2d(b, [k, n]) };
      },
      matmulResident(a, b, m) {
        const ta = tf.tensor2d(a, [m, b.k]);
        const tc = tf.matMul(ta, b.tensor);
        try {
          return tc.dataSync() as Float32Array;
        } finally {
          ta.dispose();
          tc.dispose();
        }
      },
      release(b) {
        b.tensor.dispose();
      },
    }),
  );
  return ready;
}
