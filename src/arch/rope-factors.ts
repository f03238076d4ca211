// Llama 3.x RoPE frequency factors: the per-dimension divisors llama.cpp's converter stores as the
// F32 tensor `rope_freqs.weight` ([headDim/2]) for `rope_scaling.rope_type == "llama3"`, and that
// llama.cpp (and dusk's engine) divide each rotary frequency by. Computed with float32 steps in the
// order the converter's torch code takes them, so the tensor is bit-identical. Not the rotation.

/** The llama3 scaling parameters, with the converter's defaults already applied. */
export interface Llama3RopeParams {
  factor: number; // default 8
  lowFreqFactor: number; // default 1
  highFreqFactor: number; // default 4
  originalContext: number; // original_max_position_embeddings, default 8192
}

const f = Math.fround;

/**
 * factors[i] for i < headDim/2: 1 for short wavelengths (< origCtx/high), `factor` for long ones
 * (> origCtx/low), and 1 / ((1 − s)/factor + s) in between, s = (origCtx/λ − low)/(high − low).
 * Frequencies are θ^(−2i/d) as float32; λ = 2π/freq is float32 too, as in the converter, where
 * torch evaluates `c / tensor` as reciprocal(tensor)·c.
 */
export function llama3RopeFactors(headDim: number, theta: number, p: Llama3RopeParams): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(half);
  const twoPi = f(2 * Math.PI);
  // Python floats (double), compared with a float32 tensor: torch casts them to float32 first
  const highWavelen = f(p.originalContext / p.highFreqFactor);
  const lowWavelen = f(p.originalContext / p.lowFreqFactor);
  const span = f(p.highFreqFactor - p.lowFreqFactor);
  for (let i = 0; i < half; i++) {
    const exponent = f(f(2 * i) / f(headDim));
    const freq = f(f(1) / f(Math.pow(f(theta), exponent)));
    const wavelen = f(f(1 / freq) * twoPi);
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = p.factor;
    else {
      const ratio = f(f(1 / wavelen) * f(p.originalContext));
      const smooth = f(f(ratio - f(p.lowFreqFactor)) / span);
      const denom = f(f(f(1 - smooth) / f(p.factor)) + smooth);
      out[i] = f(1 / denom);
    }
  }
  return out;
}
