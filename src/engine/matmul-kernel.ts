// The one heavy kernel of the engine: C[M,N] = A[M,K]·B[K,N] on f32, row-major, through
// @tensorflow/tfjs-backend-wasm (XNNPACK, WASM SIMD). Everything else the engine does is elementwise
// JS. Not a general tensor library: callers lay out operands so that B is never transposed.
//
// Measured on the 2-core dev machine (Node 20, tfjs 4.22, single thread, GFLOP/s = 2MKN/s):
//   matMul(A, B)              [128,768]·[768,2048]: 20–25   [2048,768]·[768,128]: 19.5
//                             [32000,768]·[768,128]: 24.5   [512,768]·[768,2048]: 28
//   matMul(A, B, false, true) (B transposed, e.g. x·Wᵀ directly): 1.8–2.2 — a slow non-XNNPACK
//                             path, so linear layers compute yᵀ = W·xᵀ instead (see linear.ts).
//   Threads: WASM_HAS_MULTITHREAD_SUPPORT is false under Node and forcing it fails backend init,
//   so setThreadsCount has no effect; the engine runs on one core. Plain JS loops: ~1 GFLOP/s.

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import { RuntimeError } from "../errors.js";

export interface MatmulKernel {
  readonly name: string;
  /** C[m,n] = A[m,k] · B[k,n]; returns a new array owned by the caller. */
  matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array;
}

let ready: Promise<MatmulKernel> | undefined;

/** The shared kernel; the first call initializes tfjs's wasm backend (global tfjs state). */
export function getMatmulKernel(): Promise<MatmulKernel> {
  ready ??= initWasmKernel().catch((cause: unknown) => {
    ready = undefined;
    throw new RuntimeError("ENGINE_KERNEL_INIT", "could not initialize the tfjs wasm backend for the engine", {
      hint: "check that @tensorflow/tfjs-backend-wasm is installed and its .wasm files are next to its dist/",
      cause,
    });
  });
  return ready;
}

async function initWasmKernel(): Promise<MatmulKernel> {
  const ok = await tf.setBackend("wasm");
  if (!ok) throw new Error("tf.setBackend('wasm') returned false");
  await tf.ready();
  return {
    name: "tfjs-wasm-xnnpack",
    matmul(a, b, m, k, n) {
      if (a.length !== m * k || b.length !== k * n) {
        throw new RuntimeError("ENGINE_MATMUL_SHAPE", `matmul operands ${a.length}, ${b.length} do not match [${m},${k}]·[${k},${n}]`, {
          hint: "internal engine error: please report it",
        });
      }
      const ta = tf.tensor2d(a, [m, k]);
      const tb = tf.tensor2d(b, [k, n]);
      const tc = tf.matMul(ta, tb);
      try {
        return tc.dataSync() as Float32Array;
      } finally {
        ta.dispose();
        tb.dispose();
        tc.dispose();
      }
    },
  };
}

export interface MatmulPeak {
  kernel: string;
  m: number;
  k: number;
  n: number;
  /** best of `repeats` runs, including the operand copies into wasm memory, as the engine pays them. */
  gflops: number;
}

/** Measures the kernel's throughput at one shape, e.g. a model's MLP [intermediate,hidden]·[hidden,T]. */
export async function measureMatmulPeak(shape: { m: number; k: number; n: number; repeats?: number }): Promise<MatmulPeak> {
  const kernel = await getMatmulKernel();
  const { m, k, n } = shape;
  const a = new Float32Array(m * k).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = new Float32Array(k * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  kernel.matmul(a, b, m, k, n); // warm-up: XNNPACK packs and caches on first use
  let best = Infinity;
  for (let r = 0; r < (shape.repeats ?? 5); r++) {
    const t0 = performance.now();
    kernel.matmul(a, b, m, k, n);
    best = Math.min(best, performance.now() - t0);
  }
  return { kernel: kernel.name, m, k, n, gflops: (2 * m * k * n) / (best / 1000) / 1e9 };
}
