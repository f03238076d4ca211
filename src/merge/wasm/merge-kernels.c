// The merge's hot loops in C, compiled to WebAssembly with 128-bit SIMD (scripts/build-wasm.sh
// → merge-kernels.wasm.ts). The memory is imported and shared: a merge's input slots live in it, so
// every thread's instance works on them in place (wasm-kernels.ts), each on its own range. Nothing
// here uses a stack or static data (the instances of all threads share one memory): results go
// to the caller's scratch through pointers.
//
// Every function computes exactly what its JavaScript reference in block-kernels.ts /
// combine-kernels.ts computes, bit for bit: each tensor op of mergekit is one f32 op (IEEE, round
// to nearest even, subnormals kept: WebAssembly never flushes), then rounded to the working type
// `dt` (0 F32, 1 F16, 2 BF16) on the float bits. Vector loops run 4 lanes at a time and may read
// up to 3 elements past `n` (the caller pads every array by 16 bytes); they never write past it.

#include <stdint.h>
#include <wasm_simd128.h>

typedef uint32_t u32;
typedef int32_t i32;
typedef uint16_t u16;

#define SPLAT(c) wasm_i32x4_splat((i32)(c))
#define EXPORT(name) __attribute__((export_name(#name)))

// ---- rounding to the working type, on f32 bits ----

// bf16, round to nearest even; Inf and NaN unchanged (float.ts roundRange)
static inline v128_t round_bf16(v128_t b) {
  v128_t lsb = wasm_v128_and(wasm_u32x4_shr(b, 16), SPLAT(1));
  v128_t r = wasm_v128_and(wasm_i32x4_add(wasm_i32x4_add(b, SPLAT(0x7fff)), lsb), SPLAT(0xffff0000));
  v128_t special = wasm_i32x4_eq(wasm_v128_and(b, SPLAT(0x7f800000)), SPLAT(0x7f800000));
  return wasm_v128_bitselect(b, r, special);
}

// f16 and back: normal range by the bits, the subnormal range (|x| < 2^-14) by adding and
// removing 0.5 (whose ulp is 2^-24, the f16 subnormal step, so the f32 add rounds as f16 does),
// ≥ 65520 to Inf, NaN to the quiet NaN with the sign kept
static inline v128_t round_f16(v128_t b) {
  v128_t s = wasm_v128_and(b, SPLAT(0x80000000));
  v128_t a = wasm_v128_and(b, SPLAT(0x7fffffff));
  v128_t lsb = wasm_v128_and(wasm_u32x4_shr(a, 13), SPLAT(1));
  v128_t normal = wasm_v128_and(wasm_i32x4_add(wasm_i32x4_add(a, SPLAT(0xfff)), lsb), SPLAT(0xffffe000));
  v128_t half = wasm_f32x4_splat(0.5f);
  v128_t r = wasm_f32x4_sub(wasm_f32x4_add(a, half), half);
  r = wasm_v128_bitselect(normal, r, wasm_i32x4_ge(a, SPLAT(0x38800000)));
  r = wasm_v128_bitselect(SPLAT(0x7f800000), r, wasm_i32x4_ge(a, SPLAT(0x477ff000)));
  r = wasm_v128_bitselect(SPLAT(0x7fc00000), r, wasm_i32x4_gt(a, SPLAT(0x7f800000)));
  return wasm_v128_or(r, s);
}

static inline v128_t round_to(v128_t x, int dt) {
  return dt == 2 ? round_bf16(x) : dt == 1 ? round_f16(x) : x;
}

// stores the first `m` (1…4) lanes of v at p
static inline void store_lanes(float *p, v128_t v, int m) {
  if (m >= 4) { wasm_v128_store(p, v); return; }
  wasm_v128_store32_lane(p, v, 0);
  if (m > 1) wasm_v128_store32_lane(p + 1, v, 1);
  if (m > 2) wasm_v128_store32_lane(p + 2, v, 2);
}

// 4 lanes of f32 from f32 storage, or from bf16 storage (`packed`: u16 bits, widened)
static inline v128_t load4(const void *p, int i, const int packed) {
  return packed ? wasm_i32x4_shl(wasm_u32x4_load16x4((const u16 *)p + i), 16) : wasm_v128_load((const float *)p + i);
}

// stores the first m lanes to f32 storage, or to bf16 storage as the high halves of values
// already rounded to bf16 (`canonical`: NaN → 0x7fc0, as f32_to_bf16 writes a model's bytes)
static inline void store4(void *p, int i, v128_t v, int m, const int packed, const int canonical) {
  if (!packed) {
    store_lanes((float *)p + i, v, m);
    return;
  }
  v128_t h = wasm_u32x4_shr(v, 16);
  if (canonical) h = wasm_v128_bitselect(SPLAT(0x7fc0), h, wasm_i32x4_gt(wasm_v128_and(v, SPLAT(0x7fffffff)), SPLAT(0x7f800000)));
  v128_t q = wasm_u16x8_narrow_i32x4(h, h); // every lane is in 0…0xffff: exact
  u16 *out = (u16 *)p + i;
  if (m >= 4) { wasm_v128_store64_lane(out, q, 0); return; }
  wasm_v128_store16_lane(out, q, 0);
  if (m > 1) wasm_v128_store16_lane(out + 1, q, 1);
  if (m > 2) wasm_v128_store16_lane(out + 2, q, 2);
}

// ---- conversions ----

EXPORT(bf16_to_f32) void bf16_to_f32(const u16 *src, u32 *dst, int n) {
  for (int i = 0; i < n; i++) dst[i] = (u32)src[i] << 16;
}

// f16 bits → f32 bits (dtype-convert.ts f16BitsToF32Bits): subnormals as mant × 2^-24
EXPORT(f16_to_f32) void f16_to_f32(const u16 *src, u32 *dst, int n) {
  for (int i = 0; i < n; i += 4) {
    v128_t h = wasm_u32x4_load16x4(src + i);
    v128_t s = wasm_i32x4_shl(wasm_v128_and(h, SPLAT(0x8000)), 16);
    v128_t e = wasm_v128_and(h, SPLAT(0x7c00));
    v128_t mant = wasm_v128_and(h, SPLAT(0x3ff));
    v128_t normal = wasm_i32x4_add(wasm_i32x4_shl(wasm_v128_and(h, SPLAT(0x7fff)), 13), SPLAT(0x38000000));
    v128_t special = wasm_v128_or(SPLAT(0x7f800000), wasm_i32x4_shl(mant, 13));
    v128_t tiny = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(mant), wasm_f32x4_splat(0x1p-24f));
    v128_t r = wasm_v128_bitselect(tiny, normal, wasm_i32x4_eq(e, SPLAT(0)));
    r = wasm_v128_bitselect(special, r, wasm_i32x4_eq(e, SPLAT(0x7c00)));
    store_lanes((float *)(dst + i), wasm_v128_or(r, s), n - i);
  }
}

// f32 → bf16 bits, round to nearest even, NaN → 0x7fc0 (dtype-convert.ts f32BitsToBf16Bits)
EXPORT(f32_to_bf16) void f32_to_bf16(const u32 *src, u16 *dst, int n) {
  for (int i = 0; i < n; i++) {
    u32 u = src[i];
    dst[i] = (u & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : (u16)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
  }
}

// f32 → f16 bits (dtype-convert.ts f32BitsToF16Bits): the value rounded to f16, then encoded
EXPORT(f32_to_f16) void f32_to_f16(const float *src, u16 *dst, int n) {
  for (int i = 0; i < n; i++) {
    v128_t x = wasm_v128_load32_splat(src + i);
    u32 b = (u32)wasm_i32x4_extract_lane(x, 0);
    u32 a = (u32)wasm_i32x4_extract_lane(round_f16(x), 0) & 0x7fffffff;
    u32 s = (b >> 16) & 0x8000;
    u32 h;
    if ((b & 0x7fffffff) > 0x7f800000) h = 0x7e00;
    else if (a >= 0x7f800000) h = 0x7c00;
    else if (a >= 0x38800000) h = (a - 0x38000000) >> 13;
    else h = (u32)(wasm_f32x4_extract_lane(wasm_i32x4_splat((i32)a), 0) * 0x1p24f);
    dst[i] = (u16)(s | h);
  }
}

// ---- elementwise ----

// x ← x rounded to the working type
EXPORT(round_range) void round_range(float *x, int n, int dt) {
  if (dt == 0) return;
  for (int i = 0; i < n; i += 4) store_lanes(x + i, round_to(wasm_v128_load(x + i), dt), n - i);
}

// x ← x − base, rounded
EXPORT(subtract) void subtract(float *x, const float *base, int n, int dt) {
  for (int i = 0; i < n; i += 4) {
    v128_t d = wasm_f32x4_sub(wasm_v128_load(x + i), wasm_v128_load(base + i));
    store_lanes(x + i, round_to(d, dt), n - i);
  }
}

// x ← x · ratio, rounded
EXPORT(scale) void scale(float *x, int n, float ratio, int dt) {
  v128_t r = wasm_f32x4_splat(ratio);
  for (int i = 0; i < n; i += 4) store_lanes(x + i, round_to(wasm_f32x4_mul(wasm_v128_load(x + i), r), dt), n - i);
}

// bf16 storage (packed slots, wasm-kernels.ts): x ← bf16(x − base), and with `counts` the
// histogram of the result's top 16 key bits, which for bf16 are its bits without the sign
EXPORT(subtract_bf16) void subtract_bf16(u16 *x, const u16 *base, int n, u32 *counts) {
  for (int i = 0; i < n; i += 4) store4(x, i, round_bf16(wasm_f32x4_sub(load4(x, i, 1), load4(base, i, 1))), n - i, 1, 0);
  if (counts) for (int i = 0; i < n; i++) counts[x[i] & 0x7fff]++;
}

// bf16 storage: out[0] += keys equal to `a` (an f32 key: its top 16 bits)
EXPORT(cut_counts_bf16) void cut_counts_bf16(const u16 *x, int n, i32 a, i32 *out) {
  u32 a16 = (u32)a >> 16;
  i32 equal = 0;
  if ((a & 0xffff) == 0 && a >= 0) for (int i = 0; i < n; i++) equal += (u32)(x[i] & 0x7fff) == a16;
  out[0] += equal;
}

// ---- order statistics (select.ts) ----

// counts[top 15 bits of |x|'s key] += 1; returns the OR of the keys' low 16 bits
EXPORT(histogram) u32 histogram(const u32 *x, int n, u32 *counts) {
  u32 low = 0;
  for (int i = 0; i < n; i++) {
    u32 key = x[i];
    counts[(key >> 16) & 0x7fff]++;
    low |= key;
  }
  return low & 0xffff;
}

// counts[low 16 bits] += 1 for the keys whose top 16 bits are `high`
EXPORT(low_histogram) void low_histogram(const u32 *x, int n, u32 high, u32 *counts) {
  for (int i = 0; i < n; i++) {
    u32 key = x[i] & 0x7fffffff;
    if ((key >> 16) == high) counts[key & 0xffff]++;
  }
}

// out[0] += keys equal to a, out[1] += keys equal to b
EXPORT(cut_counts) void cut_counts(const u32 *x, int n, i32 a, i32 b, i32 *out) {
  v128_t ca = wasm_i32x4_splat(0), cb = wasm_i32x4_splat(0), va = SPLAT(a), vb = SPLAT(b);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t key = wasm_v128_and(wasm_v128_load(x + i), SPLAT(0x7fffffff));
    ca = wasm_i32x4_sub(ca, wasm_i32x4_eq(key, va));
    cb = wasm_i32x4_sub(cb, wasm_i32x4_eq(key, vb));
  }
  i32 ea = wasm_i32x4_extract_lane(ca, 0) + wasm_i32x4_extract_lane(ca, 1) + wasm_i32x4_extract_lane(ca, 2) + wasm_i32x4_extract_lane(ca, 3);
  i32 eb = wasm_i32x4_extract_lane(cb, 0) + wasm_i32x4_extract_lane(cb, 1) + wasm_i32x4_extract_lane(cb, 2) + wasm_i32x4_extract_lane(cb, 3);
  for (; i < n; i++) {
    i32 key = (i32)(x[i] & 0x7fffffff);
    ea += key == a;
    eb += key == b;
  }
  out[0] += ea;
  out[1] += eb;
}

static inline float as_float(u32 bits) {
  union { u32 u; float f; } v = { bits };
  return v.f;
}

// block-kernels.ts keepRange: keeps keys strictly between a and b (a ≥ −1, b ≤ 2^31 passed as
// bBelow = b − 1 so that signed compares hold), and of the keys equal to a (to b) those whose
// ordinal is in [aFrom, aTo) ([bFrom, bTo)); state[0], state[1] are the running ordinals. With
// `sums`, also adds Σ|x| before and after to sumsOut[0], sumsOut[1] in float64, in index order.
// Vectors without a tied key are masked 4 lanes at a time; the others element by element.
EXPORT(keep_range) void keep_range(u32 *x, int n, i32 a, i32 bBelow, i32 aFrom, i32 aTo, i32 bFrom, i32 bTo, i32 *state, int sums, double *sumsOut) {
  i32 b = (i32)((u32)bBelow + 1);
  i32 ordA = state[0], ordB = state[1];
  v128_t va = SPLAT(a), vb = SPLAT(b), vbBelow = SPLAT(bBelow);
  double before = 0, after = 0;
  for (int i = 0; i < n; i += 4) {
    int m = n - i < 4 ? n - i : 4;
    if (!sums && m == 4) {
      v128_t bits = wasm_v128_load(x + i);
      v128_t key = wasm_v128_and(bits, SPLAT(0x7fffffff));
      if (!wasm_v128_any_true(wasm_v128_or(wasm_i32x4_eq(key, va), wasm_i32x4_eq(key, vb)))) {
        wasm_v128_store(x + i, wasm_v128_and(bits, wasm_v128_and(wasm_i32x4_gt(key, va), wasm_i32x4_le(key, vbBelow))));
        continue;
      }
    }
    for (int j = i; j < i + m; j++) {
      u32 bits = x[j];
      i32 key = (i32)(bits & 0x7fffffff);
      int keep;
      if (key == a) { keep = ordA >= aFrom && ordA < aTo; ordA++; }
      else if (key == b) { keep = ordB >= bFrom && ordB < bTo; ordB++; }
      else keep = key > a && key <= bBelow;
      x[j] = keep ? bits : 0;
      if (sums) {
        before += (double)__builtin_fabsf(as_float(bits));
        after += (double)__builtin_fabsf(as_float(keep ? bits : 0));
      }
    }
  }
  state[0] = ordA;
  state[1] = ordB;
  if (sums) {
    sumsOut[0] += before;
    sumsOut[1] += after;
  }
}

// ---- combining (combine-kernels.ts) ----

// TIES / task arithmetic on K task vectors at the addresses deltas[0…K−1]:
// base ← base + λ·(Σ kept w_k·δ_k)/(Σ kept w_k), each op rounded to the working type as torch
// rounds it: the products, the float32 sums over the models in model order, the division, λ,
// the addition. consensus: keep w_k·δ_k whose sign is the elected one (that of the sum, +0 and
// −0 never kept, NaN never kept), the divisor then the kept weights' sum (0 → 1).
// TIES' top-k applied on the fly (the specialized copies only): keys above the cut a stay, and of
// the keys equal to it those whose ordinal, counted in index order, is below `take`. Lanes past
// the end (m < 4) never count. Returns the lane mask.
static inline v128_t cut_mask(v128_t x, v128_t a, i32 cut, i32 take, i32 *ordinal, int m) {
  v128_t key = wasm_v128_and(x, SPLAT(0x7fffffff));
  v128_t keep = wasm_i32x4_gt(key, a);
  v128_t tied = wasm_i32x4_eq(key, a);
  if (!wasm_v128_any_true(tied)) return keep;
  i32 o = *ordinal;
  i32 k0 = 0, k1 = 0, k2 = 0, k3 = 0;
  if (wasm_i32x4_extract_lane(key, 0) == cut) k0 = -(o++ < take);
  if (m > 1 && wasm_i32x4_extract_lane(key, 1) == cut) k1 = -(o++ < take);
  if (m > 2 && wasm_i32x4_extract_lane(key, 2) == cut) k2 = -(o++ < take);
  if (m > 3 && wasm_i32x4_extract_lane(key, 3) == cut) k3 = -(o++ < take);
  *ordinal = o;
  return wasm_v128_or(keep, wasm_i32x4_make(k0, k1, k2, k3));
}

// `K` is a constant in the specialized copies below (1–4 inputs): the products then stay in
// registers between the sign election and the sum, and `cuts` (K × {a, take, ordinal}, or 0)
// mask the deltas as they are read; the generic copy recomputes the products and takes no cuts.
static inline __attribute__((always_inline)) void combine_body(void *base, const u32 *deltas, const float *w, const int K, const int cached, const int packed, int n, const int dt, int consensus, int normalize, float lambda, int scaled, float divisor, i32 *cuts) {
  v128_t lam = wasm_f32x4_splat(lambda), div = wasm_f32x4_splat(divisor), zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  // the inputs' addresses, weights and cuts in locals: loaded once, not after every store to base
  const void *d[4] = {0, 0, 0, 0};
  v128_t wv[4] = {zero, zero, zero, zero}, av[4] = {zero, zero, zero, zero};
  i32 ca[4] = {0, 0, 0, 0}, ct[4] = {0, 0, 0, 0}, co[4] = {0, 0, 0, 0};
  if (cached) for (int k = 0; k < K; k++) {
    d[k] = (const void *)deltas[k];
    wv[k] = wasm_f32x4_splat(w[k]);
    if (cuts) { ca[k] = cuts[3 * k]; ct[k] = cuts[3 * k + 1]; co[k] = cuts[3 * k + 2]; av[k] = wasm_i32x4_splat(ca[k]); }
  }
  for (int i = 0; i < n; i += 4) {
    v128_t p[4];
    if (cached) for (int k = 0; k < K; k++) {
      v128_t dk = load4(d[k], i, packed);
      if (cuts) dk = wasm_v128_and(dk, cut_mask(dk, av[k], ca[k], ct[k], &co[k], n - i));
      p[k] = round_to(wasm_f32x4_mul(dk, wv[k]), dt);
    }
    v128_t total = zero;
    v128_t negative = wasm_i32x4_splat(0);
    if (consensus) {
      for (int k = 0; k < K; k++) total = wasm_f32x4_add(total, cached ? p[k] : round_to(wasm_f32x4_mul(wasm_v128_load((const float *)deltas[k] + i), wasm_f32x4_splat(w[k])), dt));
      // the elected sign is − when the total is not ≥ 0 (NaN too) and does not round to ±0
      v128_t roundsToZero = wasm_f32x4_eq(round_to(total, dt), zero);
      negative = wasm_v128_andnot(wasm_v128_not(wasm_f32x4_ge(total, zero)), roundsToZero);
    }
    v128_t sum = zero, kept = zero;
    for (int k = 0; k < K; k++) {
      v128_t wk = cached ? wv[k] : wasm_f32x4_splat(w[k]);
      v128_t pk = cached ? p[k] : round_to(wasm_f32x4_mul(wasm_v128_load((const float *)deltas[k] + i), wk), dt);
      if (consensus) {
        v128_t mag = wasm_v128_and(pk, SPLAT(0x7fffffff));
        v128_t isNegative = wasm_i32x4_shr(pk, 31);
        v128_t keep = wasm_v128_and(wasm_v128_and(wasm_v128_not(wasm_i32x4_eq(mag, SPLAT(0))), wasm_i32x4_le(mag, SPLAT(0x7f800000))), wasm_i32x4_eq(isNegative, negative));
        pk = wasm_v128_and(pk, keep);
        kept = wasm_f32x4_add(kept, wasm_v128_and(wk, keep));
      }
      sum = wasm_f32x4_add(sum, pk);
    }
    v128_t mixed = round_to(sum, dt);
    if (normalize) {
      v128_t d = div;
      if (consensus) {
        kept = round_to(kept, dt);
        d = wasm_v128_bitselect(one, kept, wasm_f32x4_eq(kept, zero));
      }
      mixed = round_to(wasm_f32x4_div(mixed, d), dt);
    }
    if (scaled) mixed = round_to(wasm_f32x4_mul(mixed, lam), dt);
    store4(base, i, round_to(wasm_f32x4_add(load4(base, i, packed), mixed), dt), n - i, packed, packed);
  }
  if (cuts && cached) for (int k = 0; k < K; k++) cuts[3 * k + 2] = co[k]; // the next chunk's ordinals
}

#define COMBINE_DT(K, cached) \
  if (dt == 2) combine_body(base, deltas, w, K, cached, 0, n, 2, consensus, normalize, lambda, scaled, divisor, cuts); \
  else if (dt == 1) combine_body(base, deltas, w, K, cached, 0, n, 1, consensus, normalize, lambda, scaled, divisor, cuts); \
  else combine_body(base, deltas, w, K, cached, 0, n, 0, consensus, normalize, lambda, scaled, divisor, cuts)

EXPORT(combine) void combine(float *base, const u32 *deltas, const float *w, int K, int n, int dt, int consensus, int normalize, float lambda, int scaled, float divisor, i32 *cuts) {
  // one copy of the loop per working type and for 1–4 inputs, the rounding inlined without a branch per op
  switch (K) {
    case 1: COMBINE_DT(1, 1); break;
    case 2: COMBINE_DT(2, 1); break;
    case 3: COMBINE_DT(3, 1); break;
    case 4: COMBINE_DT(4, 1); break;
    default: if (!cuts) { COMBINE_DT(K, 0); } break; // cuts come with at most 4 inputs (wasm-kernels.ts)
  }
}

// combine on bf16 storage (working type BF16, 1–4 inputs): the same math, the result written as
// the output's bf16 bytes
EXPORT(combine_bf16) void combine_bf16(u16 *base, const u32 *deltas, const float *w, int K, int n, int consensus, int normalize, float lambda, int scaled, float divisor, i32 *cuts) {
  switch (K) {
    case 1: combine_body(base, deltas, w, 1, 1, 1, n, 2, consensus, normalize, lambda, scaled, divisor, cuts); break;
    case 2: combine_body(base, deltas, w, 2, 1, 1, n, 2, consensus, normalize, lambda, scaled, divisor, cuts); break;
    case 3: combine_body(base, deltas, w, 3, 1, 1, n, 2, consensus, normalize, lambda, scaled, divisor, cuts); break;
    case 4: combine_body(base, deltas, w, 4, 1, 1, n, 2, consensus, normalize, lambda, scaled, divisor, cuts); break;
    default: break; // at most 4 inputs (wasm-kernels.ts)
  }
}

// linear: out ← Σ w_k·x_k (/ divisor), the inputs at the addresses xs[0…K−1]
static inline void linear_body(float *out, const u32 *xs, const float *w, int K, int n, int dt, int normalize, float divisor) {
  v128_t div = wasm_f32x4_splat(divisor);
  for (int i = 0; i < n; i += 4) {
    v128_t sum = wasm_f32x4_splat(0.0f);
    for (int k = 0; k < K; k++) sum = wasm_f32x4_add(sum, round_to(wasm_f32x4_mul(wasm_v128_load((const float *)xs[k] + i), wasm_f32x4_splat(w[k])), dt));
    v128_t acc = round_to(sum, dt);
    if (normalize) acc = round_to(wasm_f32x4_div(acc, div), dt);
    store_lanes(out + i, acc, n - i);
  }
}

EXPORT(linear) void linear(float *out, const u32 *xs, const float *w, int K, int n, int dt, int normalize, float divisor) {
  if (dt == 2) linear_body(out, xs, w, K, n, 2, normalize, divisor);
  else if (dt == 1) linear_body(out, xs, w, K, n, 1, normalize, divisor);
  else linear_body(out, xs, w, K, n, 0, normalize, divisor);
}
