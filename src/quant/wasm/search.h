// ggml-quants.c's helpers and level searches, as quant-math.ts replays them (included by
// quantizers.c, one translation unit): nearest_int, f16 conversions, make_qx/q3/qkx/qp_quants.
// Every float operation here is the f32 operation ggml performs; no contraction, no fast math.

#pragma once
#include <stdint.h>

typedef uint8_t u8;
typedef int8_t i8;
typedef uint16_t u16;
typedef uint32_t u32;

#define EXPORT(name) __attribute__((export_name(#name)))
#define GROUP_MAX_EPS 1e-15f
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static inline u32 bits_of(float f) {
  union { float f; u32 u; } v = { f };
  return v.u;
}
static inline float float_of(u32 u) {
  union { u32 u; float f; } v = { u };
  return v.f;
}

// ggml's nearest_int: the bits of f + 1.5·2^23 (round half to even in its asserted range)
static inline int nearest_int(float f) {
  return (int)(bits_of(f + 12582912.f) & 0x007fffff) - 0x00400000;
}

// f32 → f16 bits, round to nearest even, overflow → ±Inf, NaN → sign|0x7E00 (dtype-convert.ts)
static u16 f32_to_f16(float x) {
  u32 u = bits_of(x);
  u32 sign = (u >> 16) & 0x8000;
  u32 a = u & 0x7fffffff;
  if (a >= 0x38800000) {
    if (a < 0x477ff000) {
      u32 m = a - 0x38000000;
      return (u16)(sign | ((m + 0xfff + ((m >> 13) & 1)) >> 13));
    }
    return (u16)(sign | (a <= 0x7f800000 ? 0x7c00 : 0x7e00));
  }
  u32 e = a >> 23;
  if (e < 102) return (u16)sign;
  u32 mant = (a & 0x7fffff) | 0x800000;
  u32 shift = 126 - e;
  u32 k = mant >> shift;
  u32 rest = mant & ((1u << shift) - 1);
  u32 half = 1u << (shift - 1);
  if (rest > half || (rest == half && (k & 1))) k++;
  return (u16)(sign | k);
}

// f16 bits → f32 (dtype-convert.ts f16BitsToF32Bits)
static float f16_to_f32(u32 h) {
  u32 sign = (h & 0x8000) << 16;
  u32 exp = (h >> 10) & 0x1f;
  u32 mant = h & 0x3ff;
  if (exp == 0x1f) return float_of(sign | 0x7f800000 | (mant << 13));
  if (exp != 0) return float_of(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0) return float_of(sign);
  u32 e = 113;
  while ((mant & 0x400) == 0) {
    mant <<= 1;
    e--;
  }
  return float_of(sign | (e << 23) | ((mant & 0x3ff) << 13));
}

// stores x as little-endian f16 at y; returns the value read back
static float put_f16(u8 *y, float x) {
  u16 h = f32_to_f16(x);
  y[0] = (u8)h;
  y[1] = (u8)(h >> 8);
  return f16_to_f32(h);
}

static float signed_abs_max(const float *x, int n) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; i++) {
    float ax = __builtin_fabsf(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  return max;
}

// The first pass make_qx_quants and make_q3_quants share: the levels of iscale = −nmax/max,
// clamped to −nmax…nmax−1 and stored as l + offset, with sums[0] = Σ w·x·l and sums[1] = Σ w·l²
// (w = qw, or x² without); returns max, or 0 (every level 0) for a group below GROUP_MAX_EPS.
static float first_levels(int n, int nmax, const float *x, const float *qw, i8 *L, int offset, float *sums) {
  float max = signed_abs_max(x, n);
  if (__builtin_fabsf(max) < GROUP_MAX_EPS) {
    for (int i = 0; i < n; i++) L[i] = 0;
    return 0;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; i++) {
    float xi = x[i];
    int l = nearest_int(iscale * xi);
    l = MAX(-nmax, MIN(nmax - 1, l));
    L[i] = (i8)(l + offset);
    float w = qw ? qw[i] : xi * xi;
    sumlx += w * xi * l;
    suml2 += w * l * l;
  }
  sums[0] = sumlx;
  sums[1] = suml2;
  return max;
}

// make_qx_quants, rmse_type 1 (quant-math.ts makeQxQuants): levels stored as l + nmax
static float make_qx_quants(int n, int nmax, const float *x, i8 *L, const float *qw) {
  float sums[2];
  float max = first_levels(n, nmax, x, qw, L, nmax, sums);
  if (max == 0) return 0;
  float sumlx = sums[0], suml2 = sums[1];
  float scale = suml2 ? sumlx / suml2 : 0;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; is++) {
    if (is == 0) continue;
    float iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; i++) {
      float xi = x[i];
      int l = nearest_int(iscale * xi);
      l = MAX(-nmax, MIN(nmax - 1, l));
      float w = qw ? qw[i] : xi * xi;
      sumlx += w * xi * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * x[i]);
        L[i] = (i8)(nmax + MAX(-nmax, MIN(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// make_qkx2_quants / make_qkx3_quants (quant-math.ts makeQkxQuants); the min (≥ 0) in *the_min
static float make_qkx_quants(int n, int nmax, const float *x, const float *weights, u8 *L, u8 *Laux, float rmin, float rdelta, int nstep, int use_mad, int zero_if_max_le_min, float *the_min) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; i++) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (zero_if_max_le_min ? max <= min : max == min) {
    for (int i = 0; i < n; i++) L[i] = 0;
    *the_min = -min;
    return 0;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; i++) {
    int l = nearest_int(iscale * (x[i] - min));
    L[i] = (u8)MAX(0, MIN(nmax, l));
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? __builtin_fabsf(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; is++) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; i++) {
      int l = nearest_int(iscale * (x[i] - min));
      l = MAX(0, MIN(nmax, l));
      Laux[i] = (u8)l;
      float wl = weights[i] * l;
      sum_l += wl;
      sum_l2 += wl * l;
      sum_xl += wl * x[i];
    }
    float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; i++) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = use_mad ? __builtin_fabsf(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; i++) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// make_qp_quants (quant-math.ts makeQpQuants): L wraps as uint8, as in C
static float make_qp_quants(int n, int nmax, const float *x, u8 *L, const float *qw) {
  float max = 0;
  for (int i = 0; i < n; i++) max = max > x[i] ? max : x[i];
  if (max < GROUP_MAX_EPS) {
    for (int i = 0; i < n; i++) L[i] = 0;
    return 0;
  }
  float iscale = nmax / max;
  for (int i = 0; i < n; i++) L[i] = (u8)nearest_int(iscale * x[i]);
  float scale = 1 / iscale;
  float best_mse = 0;
  for (int i = 0; i < n; i++) {
    float diff = x[i] - scale * L[i];
    best_mse += qw[i] * diff * diff;
  }
  for (int is = -4; is <= 4; is++) {
    if (is == 0) continue;
    float iscale_is = (0.1f * is + nmax) / max;
    float scale_is = 1 / iscale_is;
    float mse = 0;
    for (int i = 0; i < n; i++) {
      int l = MIN(nmax, nearest_int(iscale_is * x[i]));
      float diff = x[i] - scale_is * l;
      mse += qw[i] * diff * diff;
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_is;
    }
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; i++) {
    int l = MIN(nmax, nearest_int(iscale * x[i]));
    L[i] = (u8)l;
    float w = qw[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; itry++) {
    int changed = 0;
    for (int i = 0; i < n; i++) {
      float w = qw[i];
      float xi = x[i];
      int li = L[i];
      float slx = sumlx - w * xi * li;
      float sl2 = suml2 - w * li * li;
      if (slx > 0 && sl2 > 0) {
        int nl = MIN(nmax, nearest_int(xi * sl2 / slx));
        if (nl != li) {
          slx += w * xi * nl;
          sl2 += w * nl * nl;
          if (slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = (u8)nl;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (!changed) break;
  }
  return suml2 > 0 ? sumlx / suml2 : 0;
}

// make_q3_quants with do_rmse (quant-math.ts makeQ3Quants): x²-weighted levels refined by
// coordinate descent, stored as l + nmax
static float make_q3_quants(int n, int nmax, const float *x, i8 *L) {
  float sums[2];
  if (first_levels(n, nmax, x, 0, L, 0, sums) == 0) return 0;
  float sumlx = sums[0], suml2 = sums[1];
  for (int itry = 0; itry < 5; itry++) {
    int changed = 0;
    for (int i = 0; i < n; i++) {
      float xi = x[i];
      float w = xi * xi;
      int li = L[i];
      float slx = sumlx - w * xi * li;
      if (slx > 0) {
        float sl2 = suml2 - w * li * li;
        int nl = nearest_int(xi * sl2 / slx);
        nl = MAX(-nmax, MIN(nmax - 1, nl));
        if (nl != li) {
          slx += w * xi * nl;
          sl2 += w * nl * nl;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = (i8)nl;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; i++) L[i] = (i8)(L[i] + nmax);
  return suml2 > 0 ? sumlx / suml2 : 0;
}

static float sum_squares(const float *x) {
  float s = 0;
  for (int l = 0; l < 256; l++) s += x[l] * x[l];
  return s;
}

// weights[0..n) = qw·sqrt(σ² + x²)
static void importance_weights(float *weights, const float *x, const float *qw, float sigma2, int n) {
  for (int l = 0; l < n; l++) weights[l] = qw[l] * __builtin_sqrtf(sigma2 + x[l] * x[l]);
}
