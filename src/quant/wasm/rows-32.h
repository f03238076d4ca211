// Q8_0 and the IQ4 rows (quantize-32.ts, quantize-iq4.ts; included by quantizers.c).

#pragma once
#include "search.h"

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
