// The K-quant row quantizers (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: every K mix llama-quantize offers),
// IQ4_NL, IQ4_XS and Q8_0 in C,
// compiled to WebAssembly (scripts/build-wasm.sh → k-quants.wasm.ts). They compute what
// src/quant/quantize-k.ts and quant-math.ts compute, operation for operation: there every C float
// operation is replayed with Math.fround; here it is the f32 operation itself (WebAssembly's f32
// ops are IEEE with round to nearest even and no fused multiply-add, as ggml's x86-64 build
// without -march). src/quant/wasm-quant.test.ts requires equal bytes on random and edge rows, and
// the llama-quantize goldens run through this path.
//
// Each thread has its own instance and memory: the caller writes rows at `x`, the importance
// vector at `qw` (or 0), and reads the blocks back from `y`.

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

static inline int scale_k4(const u8 *s, int j) {
  return j < 4 ? s[j] & 63 : (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
}
static inline int min_k4(const u8 *s, int j) {
  return j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
}

// the 6-bit scales and mins of 8 groups into a Q4_K/Q5_K block's 12 (zeroed) bytes at s
static void pack_scales_k4(u8 *s, const u8 *ls, const u8 *lm) {
  for (int j = 0; j < 8; j++) {
    int a = ls[j], b = lm[j];
    if (j < 4) {
      s[j] = (u8)a;
      s[j + 4] = (u8)b;
    } else {
      s[j + 4] = (u8)((a & 15) | ((b & 15) << 4));
      s[j - 4] |= (u8)((a >> 4) << 6);
      s[j] |= (u8)((b >> 4) << 6);
    }
  }
}

// Q4_K (nmax 15) and Q5_K (nmax 31) super-block of 256 (quantize-k.ts quantizeSuperBlockK4):
// d, dmin and the scales at y; the final levels in L
static void super_block_k4(const float *x, u8 *y, int nmax, const float *qw, u8 *L) {
  float weights[32], scales[8], mins[8], sw[8];
  u8 Laux[32], Ls[8], Lm[8];
  for (int k = 4; k < 16; k++) y[k] = 0;
  if (qw) {
    float sigma2 = 2 * sum_squares(x) / 256;
    for (int j = 0; j < 8; j++) {
      importance_weights(weights, x + 32 * j, qw + 32 * j, sigma2, 32);
      float s = 0;
      for (int l = 0; l < 32; l++) s += weights[l];
      sw[j] = s;
      scales[j] = make_qkx_quants(32, nmax, x + 32 * j, weights, L + 32 * j, Laux, -0.9f, 0.05f, 36, 0, 1, &mins[j]);
    }
    float d_block = make_qp_quants(8, 63, scales, Ls, sw);
    float m_block = make_qp_quants(8, 63, mins, Lm, sw);
    if (nmax == 31) {
      for (int j = 0; j < 8; j++) {
        Ls[j] = MIN(63, Ls[j]);
        Lm[j] = MIN(63, Lm[j]);
      }
    }
    pack_scales_k4(y + 4, Ls, Lm);
    put_f16(y, d_block);
    put_f16(y + 2, m_block);
  } else {
    float rmin = nmax == 15 ? -1.f : -0.5f;
    int nstep = nmax == 15 ? 20 : 15;
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
      float sum_x2 = 0;
      for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
      float av_x = __builtin_sqrtf(sum_x2 / 32);
      for (int l = 0; l < 32; l++) weights[l] = av_x + __builtin_fabsf(x[32 * j + l]);
      scales[j] = make_qkx_quants(32, nmax, x + 32 * j, weights, L + 32 * j, Laux, rmin, 0.1f, nstep, 0, 0, &mins[j]);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63 / max_scale : 0;
    float inv_min = max_min > 0 ? 63 / max_min : 0;
    for (int j = 0; j < 8; j++) {
      Ls[j] = (u8)MIN(63, nearest_int(inv_scale * scales[j]) & 0xff);
      Lm[j] = (u8)MIN(63, nearest_int(inv_min * mins[j]) & 0xff);
    }
    pack_scales_k4(y + 4, Ls, Lm);
    put_f16(y, max_scale / 63);
    put_f16(y + 2, max_min / 63);
  }
  float d = f16_to_f32(y[0] | (y[1] << 8));
  float dmin = f16_to_f32(y[2] | (y[3] << 8));
  for (int j = 0; j < 8; j++) {
    float dl = d * scale_k4(y + 4, j);
    if (!dl) continue;
    float dm = dmin * min_k4(y + 4, j);
    for (int ii = 0; ii < 32; ii++) L[32 * j + ii] = (u8)MAX(0, MIN(nmax, nearest_int((x[32 * j + ii] + dm) / dl)));
  }
}

static void row_q4_k(const float *x, int n, u8 *y, const float *qw) {
  u8 L[256];
  for (int i = 0; i < n / 256; i++, x += 256, y += 144) {
    super_block_k4(x, y, 15, qw ? qw + 256 * i : 0, L);
    u8 *q = y + 16;
    for (int j = 0; j < 256; j += 64, q += 32) {
      for (int l = 0; l < 32; l++) q[l] = (u8)(L[j + l] | (L[j + l + 32] << 4));
    }
  }
}

static void row_q5_k(const float *x, int n, u8 *y, const float *qw) {
  u8 L[256];
  for (int i = 0; i < n / 256; i++, x += 256, y += 176) {
    super_block_k4(x, y, 31, qw ? qw + 256 * i : 0, L);
    u8 *qh = y + 16;
    for (int j = 0; j < 32; j++) qh[j] = 0;
    int m1 = 1, m2 = 2;
    u8 *ql = y + 48;
    for (int nn = 0; nn < 256; nn += 64, ql += 32) {
      for (int j = 0; j < 32; j++) {
        int l1 = L[nn + j];
        if (l1 > 15) {
          l1 -= 16;
          qh[j] |= (u8)m1;
        }
        int l2 = L[nn + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          qh[j] |= (u8)m2;
        }
        ql[j] = (u8)(l1 | (l2 << 4));
      }
      m1 <<= 2;
      m2 <<= 2;
    }
  }
}

static void row_q6_k(const float *x, int n, u8 *y, const float *qw) {
  i8 L[256];
  float scales[16];
  for (int i = 0; i < n / 256; i++, x += 256, y += 210) {
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ib++) {
      float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, qw ? qw + 256 * i + 16 * ib : 0);
      scales[ib] = scale;
      float a = __builtin_fabsf(scale);
      if (a > max_abs_scale) {
        max_abs_scale = a;
        max_scale = scale;
      }
    }
    if (max_abs_scale < GROUP_MAX_EPS) {
      for (int k = 0; k < 210; k++) y[k] = 0;
      continue;
    }
    float iscale = -128 / max_scale;
    float d = put_f16(y + 208, 1 / iscale);
    for (int ib = 0; ib < 16; ib++) y[192 + ib] = (u8)MIN(127, nearest_int(iscale * scales[ib]));
    for (int j = 0; j < 16; j++) {
      float dl = d * (i8)y[192 + j];
      if (!dl) continue;
      for (int ii = 0; ii < 16; ii++) L[16 * j + ii] = (i8)(MAX(-32, MIN(31, nearest_int(x[16 * j + ii] / dl))) + 32);
    }
    u8 *ql = y, *qh = y + 128;
    for (int j = 0; j < 256; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; l++) {
        int a = L[j + l], b = L[j + l + 32], c = L[j + l + 64], e = L[j + l + 96];
        ql[l] = (u8)((a & 15) | ((c & 15) << 4));
        ql[l + 32] = (u8)((b & 15) | ((e & 15) << 4));
        qh[l] = (u8)((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
      }
    }
  }
}

// 2-bit (Q2_K) or the low 2 bits of 3-bit (Q3_K) levels, four groups of 32 to a byte
static void pack_q2_q3(u8 *qs, const u8 *L) {
  for (int j = 0; j < 256; j += 128) {
    for (int l = 0; l < 32; l++) qs[j / 4 + l] = (u8)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
  }
}

// Q2_K, 84 bytes: 16 groups of 16, 2-bit levels with a 4-bit scale and min per group
static void row_q2_k(const float *x, int n, u8 *y, const float *qw) {
  u8 L[256], Laux[16], Ls[16], Lm[16];
  float weights[16], scales[16], mins[16], sw[16];
  for (int i = 0; i < n / 256; i++, x += 256, y += 84) {
    float d, dmin;
    if (qw) {
      float sigma2 = sum_squares(x) / 256;
      for (int j = 0; j < 16; j++) {
        importance_weights(weights, x + 16 * j, qw + 256 * i + 16 * j, sigma2, 16);
        float s = 0;
        for (int l = 0; l < 16; l++) s += weights[l];
        sw[j] = s;
        scales[j] = make_qkx_quants(16, 3, x + 16 * j, weights, L + 16 * j, Laux, -0.9f, 0.05f, 36, 0, 1, &mins[j]);
      }
      float dm = make_qp_quants(16, 15, scales, Ls, sw);
      float mm = make_qp_quants(16, 15, mins, Lm, sw);
      d = put_f16(y + 80, dm);
      dmin = put_f16(y + 82, mm);
      for (int j = 0; j < 16; j++) y[j] = (u8)(Ls[j] | (Lm[j] << 4));
    } else {
      float max_scale = 0, max_min = 0;
      for (int j = 0; j < 16; j++) {
        for (int l = 0; l < 16; l++) weights[l] = __builtin_fabsf(x[16 * j + l]);
        scales[j] = make_qkx_quants(16, 3, x + 16 * j, weights, L + 16 * j, Laux, -0.5f, 0.1f, 15, 1, 0, &mins[j]);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
      }
      if (max_scale > 0) {
        float iscale = 15 / max_scale;
        for (int j = 0; j < 16; j++) y[j] = (u8)nearest_int(iscale * scales[j]);
        d = put_f16(y + 80, max_scale / 15);
      } else {
        for (int j = 0; j < 16; j++) y[j] = 0;
        d = put_f16(y + 80, 0);
      }
      if (max_min > 0) {
        float iscale = 15 / max_min;
        for (int j = 0; j < 16; j++) y[j] = (u8)(y[j] | ((unsigned)nearest_int(iscale * mins[j]) << 4));
        dmin = put_f16(y + 82, max_min / 15);
      } else {
        dmin = put_f16(y + 82, 0);
      }
    }
    for (int j = 0; j < 16; j++) {
      float dl = d * (y[j] & 15);
      if (!dl) continue;
      float ml = dmin * (y[j] >> 4);
      for (int ii = 0; ii < 16; ii++) L[16 * j + ii] = (u8)MAX(0, MIN(3, nearest_int((x[16 * j + ii] + ml) / dl)));
    }
    pack_q2_q3(y + 16, L);
  }
}

// Q3_K scale j (a 6-bit level 0…63) into the block's 12 (zeroed) scale bytes at s
static void put_scale_q3_k(u8 *s, int j, int l) {
  if (j < 8) s[j] = (u8)(l & 15);
  else s[j - 8] |= (u8)((l & 15) << 4);
  s[8 + (j & 3)] |= (u8)((l >> 4) << (2 * (j >> 2)));
}

static inline int scale_q3_k(const u8 *s, int j) {
  int low = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
  return (low | (((s[8 + (j & 3)] >> (2 * (j >> 2))) & 3) << 4)) - 32;
}

// Q3_K, 110 bytes: 16 groups of 16, 3-bit signed levels (high bit in hmask), 6-bit signed scales
static void row_q3_k(const float *x, int n, u8 *y, const float *qw) {
  i8 Li[256], Lsi[16];
  u8 L[256];
  float weights[16], scales[16], sw[16];
  for (int i = 0; i < n / 256; i++, x += 256, y += 110) {
    for (int k = 96; k < 108; k++) y[k] = 0;
    if (qw) {
      float sigma2 = 2 * sum_squares(x) / 256;
      for (int j = 0; j < 16; j++) {
        importance_weights(weights, x + 16 * j, qw + 256 * i + 16 * j, sigma2, 16);
        float s = 0;
        for (int l = 0; l < 16; l++) s += weights[l];
        sw[j] = s;
        scales[j] = make_qx_quants(16, 4, x + 16 * j, Li + 16 * j, weights);
      }
      float d_block = make_qx_quants(16, 32, scales, Lsi, sw);
      for (int j = 0; j < 16; j++) put_scale_q3_k(y + 96, j, Lsi[j]);
      put_f16(y + 108, d_block);
    } else {
      float max_scale = 0, amax = 0;
      for (int j = 0; j < 16; j++) {
        scales[j] = make_q3_quants(16, 4, x + 16 * j, Li + 16 * j);
        float a = __builtin_fabsf(scales[j]);
        if (a > amax) {
          amax = a;
          max_scale = scales[j];
        }
      }
      if (max_scale) {
        float iscale = -32 / max_scale;
        for (int j = 0; j < 16; j++) {
          int l = (i8)nearest_int(iscale * scales[j]);
          put_scale_q3_k(y + 96, j, MAX(-32, MIN(31, l)) + 32);
        }
        put_f16(y + 108, 1 / iscale);
      } else {
        put_f16(y + 108, 0);
      }
    }
    float d_all = f16_to_f32(y[108] | (y[109] << 8));
    for (int j = 0; j < 16; j++) {
      float d = d_all * scale_q3_k(y + 96, j);
      if (!d) continue;
      for (int ii = 0; ii < 16; ii++) Li[16 * j + ii] = (i8)(MAX(-4, MIN(3, nearest_int(x[16 * j + ii] / d))) + 4);
    }
    for (int k = 0; k < 32; k++) y[k] = 0;
    int m = 0, hm = 1;
    for (int j = 0; j < 256; j++) {
      int l = Li[j];
      if (l > 3) {
        y[m] |= (u8)hm;
        l -= 4;
      }
      L[j] = (u8)l;
      if (++m == 32) {
        m = 0;
        hm <<= 1;
      }
    }
    pack_q2_q3(y + 32, L);
  }
}

// Q8_0, 34 bytes per 32 (quantize-32.ts quantizeRowQ8_0): d = amax/127, q = roundf(x·(1/d));
// roundf (half away from zero) as trunc(x ± 0.5) in double, where the addition is exact
static void row_q8_0(const float *x, int n, u8 *y) {
  for (int b = 0; b < n / 32; b++, x += 32, y += 34) {
    float amax = 0;
    for (int j = 0; j < 32; j++) {
      float a = __builtin_fabsf(x[j]);
      amax = amax > a ? amax : a;
    }
    float d = amax / 127;
    float id = d ? 1 / d : 0;
    put_f16(y, d);
    for (int j = 0; j < 32; j++) {
      float v = x[j] * id;
      y[2 + j] = (u8)(int)__builtin_trunc((double)v + (v < 0 ? -0.5 : 0.5));
    }
  }
}

// ---- IQ4_NL and IQ4_XS (quantize-iq4.ts): ggml's non-linear code book, quantize_row_iq4_nl_impl ----

static const i8 IQ4_VALUES[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// best_index_int8: the code book entry nearest x (both distances in f32, as ggml computes them)
static int best_index_iq4(float x) {
  if (x <= IQ4_VALUES[0]) return 0;
  if (x >= IQ4_VALUES[15]) return 15;
  int ml = 0, mu = 15;
  while (mu - ml > 1) {
    int mav = (ml + mu) / 2;
    if (x < IQ4_VALUES[mav]) mu = mav;
    else ml = mav;
  }
  return x - IQ4_VALUES[mu - 1] < IQ4_VALUES[mu] - x ? mu - 1 : mu;
}

// σ² term of a super-block: Σx² · (2/n)
static float super_sigma2(const float *x, int n) {
  float s = 0;
  for (int j = 0; j < n; j++) s += x[j] * x[j];
  return s * (2.0f / n);
}

// the per-block search over nb blocks of 32 (ntry 7): each block's scale into scales, its indices
// into L; returns the scale of largest magnitude
static float iq4_search(const float *x, int nb, const float *qw, float sigma2, float *scales, u8 *L) {
  float weight[32];
  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < nb; ib++) {
    const float *xb = x + 32 * ib;
    if (qw) {
      for (int j = 0; j < 32; j++) weight[j] = qw[32 * ib + j] * __builtin_sqrtf(sigma2 + xb[j] * xb[j]);
    } else {
      for (int j = 0; j < 32; j++) weight[j] = xb[j] * xb[j];
    }
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++) {
      float ax = __builtin_fabsf(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax < GROUP_MAX_EPS) {
      scales[ib] = 0;
      continue;
    }
    float d = -max / IQ4_VALUES[0];
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; j++) {
      int l = best_index_iq4(id * xb[j]);
      L[32 * ib + j] = (u8)l;
      float q = IQ4_VALUES[l];
      float wq = weight[j] * q;
      sumqx += wq * xb[j];
      sumq2 += wq * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0;
    float best = d * sumqx;
    for (int itry = -7; itry <= 7; itry++) {
      id = (itry + IQ4_VALUES[0]) / max;
      sumqx = sumq2 = 0;
      for (int j = 0; j < 32; j++) {
        float q = IQ4_VALUES[best_index_iq4(id * xb[j])];
        float wq = weight[j] * q;
        sumqx += wq * xb[j];
        sumq2 += wq * q;
      }
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    scales[ib] = d;
    float ad = __builtin_fabsf(d);
    if (ad > amax_scale) {
      amax_scale = ad;
      max_scale = d;
    }
  }
  return max_scale;
}

// code book indices, two to a byte (block i: its first 16 in the low nibbles)
static void pack_nibbles(u8 *q, const u8 *L, int n) {
  for (int i = 0; i < n / 32; i++) {
    for (int j = 0; j < 16; j++) q[16 * i + j] = (u8)(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
  }
}

// IQ4_NL, 18 bytes per 32: f16 d, 16 nibble bytes
static void row_iq4_nl(const float *x, int n, u8 *y, const float *qw) {
  u8 L[32];
  float scales[1];
  for (int b = 0; b < n / 32; b++, x += 32, y += 18) {
    iq4_search(x, 1, qw ? qw + 32 * b : 0, super_sigma2(x, 32), scales, L);
    float d = scales[0];
    put_f16(y, d);
    float id = d ? 1 / d : 0;
    for (int j = 0; j < 32; j++) L[j] = (u8)best_index_iq4(id * x[j]);
    pack_nibbles(y + 2, L, 32);
  }
}

// IQ4_XS, 136 bytes per 256: f16 d, u16 high scale bits, 4 low scale bytes, 128 nibble bytes
static void row_iq4_xs(const float *x, int n, u8 *y, const float *qw) {
  u8 L[256];
  float scales[8];
  for (int i = 0; i < n / 256; i++, x += 256, y += 136) {
    float max_scale = iq4_search(x, 8, qw ? qw + 256 * i : 0, super_sigma2(x, 256), scales, L);
    float d = -max_scale / 32;
    put_f16(y, d);
    float id = d ? 1 / d : 0;
    int scales_h = 0;
    for (int ib = 0; ib < 8; ib++) {
      int l = MAX(-32, MIN(31, nearest_int(id * scales[ib])));
      float dl = d * l;
      float idl = dl ? 1 / dl : 0;
      for (int j = 0; j < 32; j++) L[32 * ib + j] = (u8)best_index_iq4(idl * x[32 * ib + j]);
      l += 32;
      if (ib % 2 == 0) y[4 + (ib >> 1)] = (u8)(l & 15);
      else y[4 + (ib >> 1)] |= (u8)((l & 15) << 4);
      scales_h |= (l >> 4) << (2 * ib);
    }
    y[2] = (u8)(scales_h & 0xff);
    y[3] = (u8)(scales_h >> 8);
    pack_nibbles(y + 8, L, 256);
  }
}

// `nrows` rows of `n` f32 values at x → blocks at y (rows back to back); qw: n importance
// weights (one per column, the same for every row) or 0. type: 0 Q4_K, 1 Q5_K, 2 Q6_K, 3 Q2_K,
// 4 Q3_K, 5 Q8_0 (which takes no weights), 6 IQ4_NL, 7 IQ4_XS.
EXPORT(quantize_rows) void quantize_rows(int type, const float *x, int nrows, int n, u8 *y, const float *qw) {
  static const int block_bytes[8] = {144, 176, 210, 84, 110, 34, 18, 136};
  int row_bytes = (type == 5 || type == 6 ? n / 32 : n / 256) * block_bytes[type];
  for (int r = 0; r < nrows; r++, x += n, y += row_bytes) {
    if (type == 7) row_iq4_xs(x, n, y, qw);
    else if (type == 6) row_iq4_nl(x, n, y, qw);
    else if (type == 5) row_q8_0(x, n, y);
    else if (type == 0) row_q4_k(x, n, y, qw);
    else if (type == 1) row_q5_k(x, n, y, qw);
    else if (type == 2) row_q6_k(x, n, y, qw);
    else if (type == 3) row_q2_k(x, n, y, qw);
    else row_q3_k(x, n, y, qw);
  }
}
