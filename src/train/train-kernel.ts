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
  /** out [m, n] = A [m, k] · B [k, n] with B resident; out is allocated when not given. */
  matmulResident(a: Float32Array, b: ResidentMatrix, m: number, out?: Float32Array): Float32Array;
  /** out [m, n] = A [m, k] · B [k, n], written into the caller's buffer (no allocation). */
  matmulInto(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out: Float32Array): Float32Array;
  release(b: ResidentMatrix): void;
}

/** The wasm backend's view of a tensor's bytes (tfjs-backend-wasm 4.22: dataIdMap entries carry
 * memoryOffset into the module's heap). Copying out of it spares readSync's allocation. */
interface WasmBackendLike {
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
}

function copyOut(t: tf.Tensor, out: Float32Array | undefined): Float32Array {
  const b = tf.backend() as unknown as Partial<WasmBackendLike>;
  const entry = b.dataIdMap?.get(t.dataId);
  const n = t.size;
  if (!entry || !b.wasm) return out ? (out.set(t.dataSync() as Float32Array), out) : (t.dataSync() as Float32Array);
  const view = new Float32Array(b.wasm.HEAPU8.buffer, entry.memoryOffset, n);
  if (!out) return view.slice();
  out.set(view);
  return out;
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
      matmulResident(a, b, m, out) {
        const ta = tf.tensor2d(a, [m, b.k]);
        const tc = tf.matMul(ta, b.tensor);
        try {
          return copyOut(tc, out);
        } finally {
          ta.dispose();
          tc.dispose();
        }
      },
      matmulInto(a, b, m, k, n, out) {
        const ta = tf.tensor2d(a, [m, k]);
        const tb = tf.tensor2d(b, [k, n]);
        const tc = tf.matMul(ta, tb);
        try {
          return copyOut(tc, out);
        } finally {
          ta.dispose();
          tb.dispose();
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
