// numpy's float32 arccos and sin, bit for bit, for slerp (mergekit computes it in float32
// numpy): arccos is Intel SVML's __svml_acosf16 (the "la" build numpy 1.24 links on AVX-512
// machines; its polynomial in x² for |x| < 0.5, a refined 2·sqrt((1−|x|)/2) above), sin is
// numpy's own SIMD kernel (Cody–Waite reduction by π/2, then minimax polynomials). Both lean on
// fused multiply-adds, emulated exactly here. Where the reference's vrsqrt14 estimate enters
// (|x| ≥ 0.5) dusk starts from the correctly rounded 1/sqrt, which the Newton step makes agree.

const f = Math.fround;
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The float32 next to x (an f32 value) in the direction of `toward`. */
function nextF32(x: number, toward: number): number {
  if (x === toward) return x;
  F32[0] = x;
  if (x === 0) U32[0] = 1;
  else if ((toward > x) === (x > 0)) U32[0]! += 1;
  else U32[0]! -= 1;
  if (x === 0 && toward < 0) U32[0] = 0x80000001;
  return F32[0]!;
}

/** fmaf: a·b + c rounded once to float32 (a, b, c float32 values). */
export function fmaF32(a: number, b: number, c: number): number {
  const p = a * b; // exact: 24 + 24 bits
  const s = p + c;
  const r = f(s);
  if (r === s) return r; // s is a float, and p + c lies within half a double ulp of it
  const bb = s - p;
  const err = p - (s - bb) + (c - bb); // s + err = p + c exactly
  if (err === 0) return r;
  if (Math.abs(s) < 2 ** -125) return subnormalFma(r, s, err);
  // rounding s is rounding p + c unless s lies halfway between two floats, that is has exactly
  // 25 significant bits: Veltkamp's split by 2^28 + 1 keeps s's top 25
  const t = s * 268435457;
  if (t - (t - s) !== s) return r;
  const other = r + 2 * (s - r); // the float on s's other side
  return err > 0 === other > r ? other : r;
}

/** fmaF32 where the sum is near or below the subnormal floats (a coarser spacing there). */
function subnormalFma(r: number, s: number, err: number): number {
  const n = nextF32(r, s);
  if ((r + n) / 2 !== s) return r; // s is not a midpoint: rounding s is rounding p + c
  return err > 0 === n > r ? n : r;
}

const ACOS = {
  half: 0.5, tiny: 2.3283064365386963e-10, two: 2, s1: -0.09375002980232239, s2: 0.2500000298023224,
  p4: 0.042690303176641464, p3: 0.0238239374011755, p2: 0.045557692646980286, p1: 0.0749436765909195, p0: 0.16666792333126068,
  pio2: 1.5707963705062866, pi: 3.1415927410125732,
};

/** np.arccos on a float32 value, as SVML's __svml_acosf16 computes it. */
export function acosF32(xIn: number): number {
  const x = f(xIn);
  if (Number.isNaN(x) || x > 1 || x < -1) return NaN;
  const negAbs = -Math.abs(x); // x = −|arg|
  const y = fmaF32(negAbs, ACOS.half, ACOS.half); // Y = 0.5 − 0.5·|x|
  const x2 = f(negAbs * negAbs);
  const large = !(x2 < y); // |x| ≥ 0.5: the sqrt path
  const r = large ? y : x2; // R = min(Y, x²)
  const r2 = f(r * r);
  const a = fmaF32(ACOS.p4, r, ACOS.p3);
  const b = fmaF32(ACOS.p2, r, ACOS.p1);
  const c = fmaF32(r2, a, b);
  const d = fmaF32(r, c, ACOS.p0);
  const e = f(r * d);
  let z: number;
  if (large) {
    const rs = y < ACOS.tiny ? 0 : f(1 / Math.sqrt(y)); // vrsqrt14ps estimate, zeroed for tiny Y
    const twoY = f(y + y);
    const sq = f(rs * twoY); // ≈ 2·sqrt(Y)
    const err = fmaF32(f(rs * rs), twoY, -ACOS.two); // rs²·2Y − 2
    const corr = fmaF32(err, ACOS.s1, ACOS.s2);
    const refined = fmaF32(-f(sq * err), corr, sq);
    z = x < 0 ? -refined : refined;
  } else {
    z = x < 0 ? -negAbs : negAbs; // −x
  }
  const t = fmaF32(z, e, z);
  const offset = large ? (x < r ? ACOS.pi : 0) : ACOS.pio2;
  return f(offset + t);
}

const SIN = {
  twoOverPi: 0.6366197466850281, magic: 12582912, // 0x1.45f306p-1f, 0x1.8p+23f
  c1: -1.570796012878418, c2: -3.1391647326017846e-7, c3: -5.390302529957765e-15, // −π/2 in three parts
  s9: 2.8404097065504175e-6, s7: -1.9856491417158395e-4, s5: 8.333397097885609e-3, s3: -0.1666666716337204,
  c8: 2.4372266125283204e-5, c6: -1.388652017340064e-3, c4: 4.166661947965622e-2, c2c: -0.5, c0: 1,
};

/** np.sin on a float32 value (|x| ≤ 117435.992), as numpy's SIMD kernel computes it. */
export function sinF32(xIn: number): number {
  const x = f(xIn);
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) > 117435.992) return f(Math.sin(x)); // numpy falls back to libm there
  let q = f(x * SIN.twoOverPi);
  q = f(f(q + SIN.magic) - SIN.magic);
  let red = fmaF32(q, SIN.c1, x);
  red = fmaF32(q, SIN.c2, red);
  red = fmaF32(q, SIN.c3, red);
  const x2 = f(red * red);
  let cos = fmaF32(SIN.c8, x2, SIN.c6);
  cos = fmaF32(cos, x2, SIN.c4);
  cos = fmaF32(cos, x2, SIN.c2c);
  cos = fmaF32(cos, x2, SIN.c0);
  let sin = fmaF32(SIN.s9, x2, SIN.s7);
  sin = fmaF32(sin, x2, SIN.s5);
  sin = fmaF32(sin, x2, SIN.s3);
  sin = f(sin * x2);
  sin = fmaF32(sin, red, red);
  const iq = Math.round(q) | 0; // q is already an integer
  let out = (iq & 1) === 0 ? sin : cos;
  if ((iq & 2) === 2) out = f(0 - out);
  return out;
}
