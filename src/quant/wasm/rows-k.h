// The K-quant rows (quantize-k.ts): Q4_K and Q5_K super-blocks of 8 × 32 with 6-bit scales and
// mins, Q6_K, Q2_K and Q3_K of 16 × 16 (included by quantizers.c).

#pragma once
#include "search.h"

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
