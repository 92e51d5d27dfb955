// aarch64 Advanced SIMD micro-kernels, written once for both NEON kernel sets and instantiated in
// each set's translation unit: arm_neon.cc (plain ARMv8-A NEON, e.g. Cortex-A53) and
// arm_neon_dotprod.cc (compiled with the dot-product extension, for SDOT). The only difference
// between the two is the `Dot` policy: how 16 rows x 4 bytes of weights meet one 4-byte group of
// activations. Internal linkage only, like driver.h: nothing compiled for dotprod can be merged into
// the plain set.
//
// A `Dot` provides: using Acc; zero(); template <int LA, int LB> step2(Acc&, wa, xa, wb, xb) adding,
// for each of the 4 rows r of wa and wb (4 consecutive bytes each),
// sum_e wa[4r+e] * xa[4LA+e] + wb[4r+e] * xb[4LB+e]; and finish(Acc) -> int32x4_t, the 4 row sums.
// Steps come in pairs so the plain set can add two products in int16 before widening: activations
// are within [-127, 127] (both quantizers clamp or scale to that) and weights within [-128, 127],
// so two products stay within 2 * 16256 < 2^15.
#pragma once
#include <arm_neon.h>

#include <cstring>

#include "kernels/driver.h"

namespace gb {
namespace {

// ---- activation conversion -----------------------------------------------------------------

inline uint16_t neon_f16_bits(float v) {
  return vget_lane_u16(vreinterpret_u16_f16(vcvt_f16_f32(vdupq_n_f32(v))), 0);
}
inline float neon_f16_round(float v) { return vgetq_lane_f32(vcvt_f32_f16(vcvt_f16_f32(vdupq_n_f32(v))), 0); }

// Same bytes as ref_quantize_q8_0: scale amax/127 rounded to f16, quants round(x * 127/amax) with
// ties to even (vcvtnq), low byte kept (the reference's int8_t cast), sums of the rounded ints.
void quantize_q8_0_row(const float* x, int64_t K, int8_t* qs, float* d, int32_t* s) {
  for (int64_t b = 0; b < K / 32; b++) {
    float32x4_t v[8];
    float32x4_t mx = vdupq_n_f32(0);
    for (int i = 0; i < 8; i++) {
      v[i] = vld1q_f32(x + b * 32 + i * 4);
      mx = vmaxnmq_f32(mx, vabsq_f32(v[i]));  // fmax semantics: a NaN never wins
    }
    const float amax = vmaxvq_f32(mx);
    d[b] = neon_f16_round(amax / 127.f);
    const float32x4_t id = vdupq_n_f32(amax != 0.f ? 127.f / amax : 0.f);
    int32x4_t sum = vdupq_n_s32(0);
    for (int i = 0; i < 8; i += 2) {
      const int32x4_t q0 = vcvtnq_s32_f32(vmulq_f32(v[i], id));
      const int32x4_t q1 = vcvtnq_s32_f32(vmulq_f32(v[i + 1], id));
      sum = vaddq_s32(sum, vaddq_s32(q0, q1));
      const int16x8_t h = vcombine_s16(vmovn_s32(q0), vmovn_s32(q1));
      vst1_s8(qs + b * 32 + i * 4, vmovn_s16(h));
    }
    s[b] = vaddvq_s32(sum);
  }
}

// Bit-identical to ref_quantize_q8_K: the first element of largest magnitude sets the scale's
// sign, quants are round-to-nearest-even of x * iscale (a separate multiply, never fused), clamped
// at 127, then truncated to their low byte. AArch64 float->int conversions saturate where the
// reference's magic-number rounding wraps, which only matters when iscale is not finite (every
// |x| so tiny that -127/max overflows): such blocks take the reference's own scalar formula.
void quantize_q8_K_row(const float* x, int64_t K, BlockQ8_K* out) {
  for (int64_t i = 0; i < K / QK_K; i++) {
    const float* xb = x + i * QK_K;
    BlockQ8_K& y = out[i];
    float32x4_t mx = vdupq_n_f32(0);
    for (int v = 0; v < 64; v++) mx = vmaxnmq_f32(mx, vabsq_f32(vld1q_f32(xb + v * 4)));
    const float amax = vmaxvq_f32(mx);
    if (amax == 0) {
      std::memset(&y, 0, sizeof(y));
      continue;
    }
    float max = 0;
    for (int j = 0; j < QK_K; j++)
      if (__builtin_fabsf(xb[j]) == amax) {
        max = xb[j];
        break;
      }
    const float iscale = -127.f / max;
    if (!__builtin_isfinite(iscale)) {
      for (int j = 0; j < QK_K; j++) {
        volatile float p = iscale * xb[j];  // as the reference: product, then the magic-number add
        float val = p + 12582912.f;
        int32_t bits;
        std::memcpy(&bits, &val, 4);
        const int q = (bits & 0x007fffff) - 0x00400000;
        y.qs[j] = static_cast<int8_t>(q < 127 ? q : 127);
      }
    } else {
      const float32x4_t is = vdupq_n_f32(iscale);
      const int32x4_t top = vdupq_n_s32(127);
      for (int v = 0; v < 64; v += 4) {
        int32x4_t q[4];
        for (int u = 0; u < 4; u++) q[u] = vminq_s32(vcvtnq_s32_f32(vmulq_f32(vld1q_f32(xb + (v + u) * 4), is)), top);
        const int16x8_t a = vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1]));
        const int16x8_t b = vcombine_s16(vmovn_s32(q[2]), vmovn_s32(q[3]));
        vst1q_s8(y.qs + v * 4, vcombine_s8(vmovn_s16(a), vmovn_s16(b)));
      }
    }
    for (int j = 0; j < QK_K / 16; j++) y.bsums[j] = vaddlvq_s8(vld1q_s8(y.qs + j * 16));
    y.d = 1 / iscale;
  }
}

void f16_row(const float* x, int64_t K, uint16_t* h) {
  for (int64_t k = 0; k < K; k += 4) vst1_u16(h + k, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + k))));
}

// ---- row formats (K % 16 == 0): four independent FMA chains ----------------------------------

inline float32x4_t ld_f16(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
inline float32x4_t ld_bf16(const uint16_t* p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }

template <float32x4_t (*LD)(const uint16_t*)>
float dot_halves(const uint16_t* w, const uint16_t* x, int64_t K) {
  float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t k = 0; k < K; k += 16) {
    a0 = vfmaq_f32(a0, LD(w + k), LD(x + k));
    a1 = vfmaq_f32(a1, LD(w + k + 4), LD(x + k + 4));
    a2 = vfmaq_f32(a2, LD(w + k + 8), LD(x + k + 8));
    a3 = vfmaq_f32(a3, LD(w + k + 12), LD(x + k + 12));
  }
  return vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
}

float dot_f32(const float* w, const float* x, int64_t K) {
  float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t k = 0; k < K; k += 16) {
    a0 = vfmaq_f32(a0, vld1q_f32(w + k), vld1q_f32(x + k));
    a1 = vfmaq_f32(a1, vld1q_f32(w + k + 4), vld1q_f32(x + k + 4));
    a2 = vfmaq_f32(a2, vld1q_f32(w + k + 8), vld1q_f32(x + k + 8));
    a3 = vfmaq_f32(a3, vld1q_f32(w + k + 12), vld1q_f32(x + k + 12));
  }
  return vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
}

// ---- x16 tiles (Q8_0x16, Q4_0x16) -----------------------------------------------------------
//
// A 64-byte tile vector (16 rows x 4 K bytes) is 4 q registers, rows 0-3, 4-7, 8-11, 12-15. One
// 16-byte load of activations holds 4 groups of 4; the Dot policy picks the group by lane, so no
// broadcast is stored per group. Q4_0 nibbles (0..15) are used as they are and the -8 offset is
// folded in once per block as -8 * sum(x) (the activations carry the block sums). Integer sums per
// block, then one FMA per 4 rows with d_w * d_x.

inline int8x16_t ld_s8(const uint8_t* p) { return vreinterpretq_s8_u8(vld1q_u8(p)); }

template <class Dot, int MR, int NC, bool Q4>
void tile_x16(const uint8_t* w0, int64_t group_stride, int64_t nb, const int8_t* xq, const float* xd,
              const int32_t* xs, int64_t K, float* y, int64_t ldy, const int32_t* /*wsum: none here*/,
              const WeightPrefetch& pf) {
  constexpr int64_t TB = Q4 ? kQ4x16TileBytes : kQ8x16TileBytes;
  int64_t pf_next = pf.first;
  float32x4_t facc[MR][NC][4];
  for (int r = 0; r < MR; r++)
    for (int c = 0; c < NC; c++)
      for (int q = 0; q < 4; q++) facc[r][c][q] = vdupq_n_f32(0);
  const uint8x16_t low4 = vdupq_n_u8(0x0F);
  for (int64_t b = 0; b < nb; b++) {
    // Only the prefill prefetch of the next column of groups (WeightPrefetch): the x86 decode
    // prefetch was tuned on x86 cores, and ARM cores' own prefetchers follow one stream.
    if (pf.due(b, pf_next) && pf.next_column)
      for (int c = 0; c < NC; c++)
        for (int64_t off = 0; off < TB; off += 64) prefetch_weights(w0 + c * group_stride + b * TB + off, pf.ahead);
    int8x16_t x0[MR], x1[MR];
    for (int r = 0; r < MR; r++) {
      x0[r] = vld1q_s8(xq + r * K + b * 32);
      x1[r] = vld1q_s8(xq + r * K + b * 32 + 16);
    }
    // Several activation rows (prefill): one 4-row quarter of the groups at a time (QN = 1), so
    // only MR x NC accumulators are live; with all four quarters at once GCC spilled them to the
    // stack in every step of the 3- and 4-row tiles. One row (decode, streaming the weights): all
    // four quarters in one pass (QN = 4), as before, which spilled little and makes the plain
    // set's lane broadcasts once per step instead of once per quarter.
    constexpr int QN = MR == 1 ? 4 : 1;
#pragma GCC unroll 1
    for (int q0 = 0; q0 < 4; q0 += QN)
      for (int c = 0; c < NC; c++) {
        typename Dot::Acc acc[MR][QN];
        for (int r = 0; r < MR; r++)
          for (int q = 0; q < QN; q++) acc[r][q] = Dot::zero();
        const uint8_t* t = w0 + c * group_stride + b * TB + 32 + q0 * 16;
        if constexpr (Q4) {
          // Vector p: low nibbles are group 2p, high nibbles group 2p + 1.
#define GB_Q4_STEP(P, X, LA, LB)                                                              \
  for (int q = 0; q < QN; q++) {                                                              \
    const uint8x16_t v = vld1q_u8(t + (P) * 64 + q * 16);                                     \
    const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(v, low4));                              \
    const int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));                               \
    for (int r = 0; r < MR; r++) Dot::template step2<LA, LB>(acc[r][q], lo, X[r], hi, X[r]); \
  }
          GB_Q4_STEP(0, x0, 0, 1)
          GB_Q4_STEP(1, x0, 2, 3)
          GB_Q4_STEP(2, x1, 0, 1)
          GB_Q4_STEP(3, x1, 2, 3)
#undef GB_Q4_STEP
        } else {
          // Vectors KG and KG + 1: groups L and L + 1 of X.
#define GB_Q8_STEP(KG, X, L)                                                                      \
  for (int q = 0; q < QN; q++) {                                                                  \
    const int8x16_t va = ld_s8(t + (KG) * 64 + q * 16), vb = ld_s8(t + (KG) * 64 + 64 + q * 16); \
    for (int r = 0; r < MR; r++) Dot::template step2<L, L + 1>(acc[r][q], va, X[r], vb, X[r]);   \
  }
          GB_Q8_STEP(0, x0, 0)
          GB_Q8_STEP(2, x0, 2)
          GB_Q8_STEP(4, x1, 0)
          GB_Q8_STEP(6, x1, 2)
#undef GB_Q8_STEP
        }
        const uint16_t* sc = reinterpret_cast<const uint16_t*>(w0 + c * group_stride + b * TB);
        float32x4_t wd[QN];
        for (int q = 0; q < QN; q++) wd[q] = ld_f16(sc + 4 * (q0 + q));
        for (int r = 0; r < MR; r++) {
          const float xdr = xd[r * nb + b];
          const int32x4_t start = vdupq_n_s32(Q4 ? -8 * xs[r * nb + b] : 0);
          for (int q = 0; q < QN; q++) {
            const int32x4_t isum = vaddq_s32(Dot::finish(acc[r][q]), start);
            facc[r][c][q0 + q] = vfmaq_f32(facc[r][c][q0 + q], vcvtq_f32_s32(isum), vmulq_n_f32(wd[q], xdr));
          }
        }
      }
  }
  for (int r = 0; r < MR; r++)
    for (int c = 0; c < NC; c++)
      for (int q = 0; q < 4; q++) vst1q_f32(y + r * ldy + c * 16 + q * 4, facc[r][c][q]);
}

// ---- K-quant x16 tiles (Q4_Kx16, Q6_Kx16) -----------------------------------------------------
//
// The same 16-row interleave per 256-element super-block (pack.h). Per 32-element slice the 4
// weight vectors meet the slice's 32 activations (two 16-byte loads, 4 groups each), integer sums
// per sub-block are scaled by the row scales (widened once per slice) and summed in int32 for the
// super-block, then one float FMA per 4 rows. Q4_K mins go through the activations' bsums; Q6_K
// quants are stored as q + 32 (0..63), corrected by 32 * bsum per 16-element sub-block.

inline void widen_u8(uint8x16_t v, int32x4_t out[4]) {
  const uint16x8_t lo = vmovl_u8(vget_low_u8(v)), hi = vmovl_high_u8(v);
  out[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo)));
  out[1] = vreinterpretq_s32_u32(vmovl_high_u16(lo));
  out[2] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(hi)));
  out[3] = vreinterpretq_s32_u32(vmovl_high_u16(hi));
}

inline void widen_s8(int8x16_t v, int32x4_t out[4]) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_high_s8(v);
  out[0] = vmovl_s16(vget_low_s16(lo));
  out[1] = vmovl_high_s16(lo);
  out[2] = vmovl_s16(vget_low_s16(hi));
  out[3] = vmovl_high_s16(hi);
}

template <class Dot, int MR>
void tile_q4_Kx16(const uint8_t* wg, int64_t nb, const BlockQ8_K* x, float* out, int64_t ldo, bool /*pf: no decode prefetch here*/) {
  float32x4_t facc[MR][4];
  for (int r = 0; r < MR; r++)
    for (int q = 0; q < 4; q++) facc[r][q] = vdupq_n_f32(0);
  const uint8x16_t low4 = vdupq_n_u8(0x0F);
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* t = wg + b * kQ4Kx16TileBytes;
    int32x4_t iacc[MR][4], mn[MR][4];
    for (int r = 0; r < MR; r++)
      for (int q = 0; q < 4; q++) iacc[r][q] = mn[r][q] = vdupq_n_s32(0);
    for (int j = 0; j < 8; j++) {
      const uint8_t* slice = t + 64 + j * kQ4KxSlice;
      typename Dot::Acc acc[MR][4];
      for (int r = 0; r < MR; r++)
        for (int q = 0; q < 4; q++) acc[r][q] = Dot::zero();
      int8x16_t xa[MR], xc[MR];
      for (int r = 0; r < MR; r++) {
        xa[r] = vld1q_s8(x[r * nb + b].qs + 32 * j);
        xc[r] = vld1q_s8(x[r * nb + b].qs + 32 * j + 16);
      }
      // Vector k: low nibbles are elements 4k.. (group k of xa), high nibbles 16 + 4k.. (of xc).
#define GB_Q4K_STEP(K)                                                           \
  for (int q = 0; q < 4; q++) {                                                  \
    const uint8x16_t v = vld1q_u8(slice + 32 + (K) * 64 + q * 16);               \
    const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(v, low4));                 \
    const int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));                  \
    for (int r = 0; r < MR; r++) Dot::template step2<K, K>(acc[r][q], lo, xa[r], hi, xc[r]); \
  }
      GB_Q4K_STEP(0)
      GB_Q4K_STEP(1)
      GB_Q4K_STEP(2)
      GB_Q4K_STEP(3)
#undef GB_Q4K_STEP
      int32x4_t sc[4], mi[4];
      widen_u8(vld1q_u8(slice), sc);
      widen_u8(vld1q_u8(slice + 16), mi);
      for (int r = 0; r < MR; r++) {
        const int32_t bs = x[r * nb + b].bsums[2 * j] + x[r * nb + b].bsums[2 * j + 1];
        for (int q = 0; q < 4; q++) {
          iacc[r][q] = vmlaq_s32(iacc[r][q], Dot::finish(acc[r][q]), sc[q]);
          mn[r][q] = vmlaq_n_s32(mn[r][q], mi[q], bs);
        }
      }
    }
    const uint16_t* dh = reinterpret_cast<const uint16_t*>(t);
    for (int q = 0; q < 4; q++) {
      const float32x4_t d = ld_f16(dh + 4 * q), dmin = ld_f16(dh + 16 + 4 * q);
      for (int r = 0; r < MR; r++) {
        const float xdr = x[r * nb + b].d;
        facc[r][q] = vfmaq_f32(facc[r][q], vcvtq_f32_s32(iacc[r][q]), vmulq_n_f32(d, xdr));
        facc[r][q] = vfmsq_f32(facc[r][q], vcvtq_f32_s32(mn[r][q]), vmulq_n_f32(dmin, xdr));
      }
    }
  }
  for (int r = 0; r < MR; r++)
    for (int q = 0; q < 4; q++) vst1q_f32(out + r * ldo + q * 4, facc[r][q]);
}

template <class Dot, int MR>
void tile_q6_Kx16(const uint8_t* wg, int64_t nb, const BlockQ8_K* x, float* out, int64_t ldo, bool /*pf: no decode prefetch here*/) {
  float32x4_t facc[MR][4];
  for (int r = 0; r < MR; r++)
    for (int q = 0; q < 4; q++) facc[r][q] = vdupq_n_f32(0);
  const uint8x16_t low4 = vdupq_n_u8(0x0F), hi2 = vdupq_n_u8(0x30);
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* t = wg + b * kQ6Kx16TileBytes;
    int32x4_t iacc[MR][4];
    for (int r = 0; r < MR; r++)
      for (int q = 0; q < 4; q++) iacc[r][q] = vdupq_n_s32(0);
    for (int i = 0; i < 8; i++) {
      const uint8_t* slice = t + 32 + i * kQ6KxSlice;
      const uint8_t* ql = slice + 32;
      const uint8_t* qh = slice + 288;
      typename Dot::Acc sa[MR][4], sb[MR][4];  // sub-blocks 2i (elements 0..15) and 2i+1 (16..31)
      for (int r = 0; r < MR; r++)
        for (int q = 0; q < 4; q++) sa[r][q] = sb[r][q] = Dot::zero();
      int8x16_t xa[MR], xc[MR];
      for (int r = 0; r < MR; r++) {
        xa[r] = vld1q_s8(x[r * nb + b].qs + 32 * i);
        xc[r] = vld1q_s8(x[r * nb + b].qs + 32 * i + 16);
      }
      // Vector k: low nibble | high bits of element 4k+e (sub-block a), high nibble | high bits of
      // element 16+4k+e (sub-block b); the high bits sit in qh vector k % 2, at bits 0/4 (k < 2) or
      // 2/6 (k >= 2). Vectors k and k + 1 are taken together.
#define GB_Q6K_W(K, q, wa, wb)                                                                  \
  const uint8x16_t l##K = vld1q_u8(ql + (K) * 64 + q * 16);                                     \
  const uint8x16_t h##K = vld1q_u8(qh + ((K) % 2) * 64 + q * 16);                               \
  const int8x16_t wa = vreinterpretq_s8_u8(                                                     \
      vorrq_u8(vandq_u8(l##K, low4), vandq_u8((K) < 2 ? vshlq_n_u8(h##K, 4) : vshlq_n_u8(h##K, 2), hi2))); \
  const int8x16_t wb = vreinterpretq_s8_u8(                                                     \
      vorrq_u8(vshrq_n_u8(l##K, 4), vandq_u8((K) < 2 ? h##K : vshrq_n_u8(h##K, 2), hi2)));
#define GB_Q6K_STEP(K0, K1)                                                                     \
  for (int q = 0; q < 4; q++) {                                                                 \
    GB_Q6K_W(K0, q, wa0, wb0)                                                                   \
    GB_Q6K_W(K1, q, wa1, wb1)                                                                   \
    for (int r = 0; r < MR; r++) {                                                              \
      Dot::template step2<K0, K1>(sa[r][q], wa0, xa[r], wa1, xa[r]);                            \
      Dot::template step2<K0, K1>(sb[r][q], wb0, xc[r], wb1, xc[r]);                            \
    }                                                                                           \
  }
      GB_Q6K_STEP(0, 1)
      GB_Q6K_STEP(2, 3)
#undef GB_Q6K_STEP
#undef GB_Q6K_W
      const int8x16x2_t scp = vld2q_s8(reinterpret_cast<const int8_t*>(slice));  // (a, b) per row
      int32x4_t sca[4], scb[4];
      widen_s8(scp.val[0], sca);
      widen_s8(scp.val[1], scb);
      for (int r = 0; r < MR; r++) {
        const int32x4_t ca = vdupq_n_s32(32 * x[r * nb + b].bsums[2 * i]);
        const int32x4_t cb = vdupq_n_s32(32 * x[r * nb + b].bsums[2 * i + 1]);
        for (int q = 0; q < 4; q++) {
          iacc[r][q] = vmlaq_s32(iacc[r][q], vsubq_s32(Dot::finish(sa[r][q]), ca), sca[q]);
          iacc[r][q] = vmlaq_s32(iacc[r][q], vsubq_s32(Dot::finish(sb[r][q]), cb), scb[q]);
        }
      }
    }
    const uint16_t* dh = reinterpret_cast<const uint16_t*>(t);
    for (int q = 0; q < 4; q++) {
      const float32x4_t d = ld_f16(dh + 4 * q);
      for (int r = 0; r < MR; r++)
        facc[r][q] = vfmaq_f32(facc[r][q], vcvtq_f32_s32(iacc[r][q]), vmulq_n_f32(d, x[r * nb + b].d));
    }
  }
  for (int r = 0; r < MR; r++)
    for (int q = 0; q < 4; q++) vst1q_f32(out + r * ldo + q * 4, facc[r][q]);
}

// ---- tables -----------------------------------------------------------------------------------

// The tile shapes a NEON set offers: MR activation rows x NC 16-row groups with MR * NC <= 4, so
// the integer accumulators of one block (4 per row and group) and the float accumulators (4 more)
// fill the 32 q registers; at the largest shapes a few float accumulators, touched once per block,
// may spill to L1.
template <class Dot>
struct NeonTables {
  static int max_nc(int mr) { return mr <= 1 ? 4 : (mr == 2 ? 2 : 1); }

  template <bool Q4>
  static X16Tile pick(int mr, int nc) {
    nc = nc > max_nc(mr) ? max_nc(mr) : nc;
    switch (mr) {
      case 1: {
        static constexpr X16Tile f[] = {nullptr, &tile_x16<Dot, 1, 1, Q4>, &tile_x16<Dot, 1, 2, Q4>,
                                        &tile_x16<Dot, 1, 3, Q4>, &tile_x16<Dot, 1, 4, Q4>};
        return f[nc < 1 ? 1 : nc];
      }
      case 2: return nc >= 2 ? &tile_x16<Dot, 2, 2, Q4> : &tile_x16<Dot, 2, 1, Q4>;
      case 3: return &tile_x16<Dot, 3, 1, Q4>;
      default: return &tile_x16<Dot, 4, 1, Q4>;
    }
  }
  static X16Tile x16_tile(bool q4, int mr, int nc) { return q4 ? pick<true>(mr, nc) : pick<false>(mr, nc); }

  static KqTile kq_tile(bool q6, int mr) {
    switch (mr) {
      case 1: return q6 ? &tile_q6_Kx16<Dot, 1> : &tile_q4_Kx16<Dot, 1>;
      case 2: return q6 ? &tile_q6_Kx16<Dot, 2> : &tile_q4_Kx16<Dot, 2>;
      case 3: return q6 ? &tile_q6_Kx16<Dot, 3> : &tile_q4_Kx16<Dot, 3>;
      default: return q6 ? &tile_q6_Kx16<Dot, 4> : &tile_q4_Kx16<Dot, 4>;
    }
  }

  // Candidates per format and activation row count (autotune times them; the first is the default).
  static int tile_variants(WeightFormat f, int64_t M, TileShape* out, int cap) {
    if (f == WeightFormat::Q4_Kx16 || f == WeightFormat::Q6_Kx16) {
      if (M <= 4) {
        const TileShape exact[] = {{static_cast<int>(M), 1}};
        return copy_variants(exact, 1, out, cap);
      }
      static const TileShape many[] = {{4, 1}, {2, 1}, {3, 1}};
      return copy_variants(many, 3, out, cap);
    }
    if (f != WeightFormat::Q8_0x16 && f != WeightFormat::Q4_0x16)
      return kernels_portable()->tile_variants(f, M, out, cap);
    static const TileShape two[] = {{2, 2}, {2, 1}, {1, 4}};
    static const TileShape three[] = {{3, 1}, {1, 4}, {2, 2}};
    static const TileShape many[] = {{4, 1}, {2, 2}, {3, 1}, {1, 4}};
    if (M <= 1) return copy_variants(&kDecodeTile, 1, out, cap);
    if (M == 2) return copy_variants(two, 3, out, cap);
    if (M == 3) return copy_variants(three, 3, out, cap);
    return copy_variants(many, 4, out, cap);
  }
};

// The driver's Isa for a NEON set: everything but the name and the Dot policy is shared.
template <class Dot>
struct NeonIsa {
  static constexpr const char* kName = Dot::kName;
  static constexpr bool kQ8Unsigned = false;  // signed x signed products (SDOT / SMULL)
  static constexpr int kMaxMR = 4;
  static int max_nc(int mr) { return NeonTables<Dot>::max_nc(mr); }
  static X16Tile x16_tile(bool q4, int mr, int nc) { return NeonTables<Dot>::x16_tile(q4, mr, nc); }
  static constexpr int kKqMaxMR = 4;
  static KqTile kq_tile(bool q6, int mr) { return NeonTables<Dot>::kq_tile(q6, mr); }
  static constexpr auto quantize_q8_0_row = &gb::quantize_q8_0_row;
  static constexpr auto quantize_q8_K_row = &gb::quantize_q8_K_row;
  static constexpr int kF16Step = 4;
  static constexpr auto f16_row = &gb::f16_row;
  static constexpr int kDotStep = 16;
  static constexpr auto dot_f32 = &gb::dot_f32;
  static constexpr auto dot_f16 = &dot_halves<ld_f16>;
  static constexpr int kBf16Step = 16;
  static constexpr auto dot_bf16 = &dot_halves<ld_bf16>;
  static int tile_variants(WeightFormat f, int64_t M, TileShape* out, int cap) {
    return NeonTables<Dot>::tile_variants(f, M, out, cap);
  }
};

}  // namespace
}  // namespace gb
