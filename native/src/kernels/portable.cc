// Portable kernels: plain C++ the compiler may vectorize for the baseline ISA, except the Q8_0/Q4_0
// tiles, written in SSE2 on x86-64 (its baseline). Used on CPUs without AVX2 and on targets with no
// vector set, and as the tail path of the vector sets.
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/half.h"
#include "kernels/act.h"
#include "kernels/kernels.h"
#include "kernels/pack.h"
#include "kernels/ref.h"

namespace gb {
namespace {

void convert_act(ActFormat f, const float* x, int64_t ldx, int64_t m0, int64_t m1, int64_t M, int64_t K, void* act) {
  switch (f) {
    case ActFormat::Q8_0: {
      ActQ8 a = act_q8(act, M, K);
      for (int64_t m = m0; m < m1; m++)
        ref_quantize_q8_0(x + m * ldx, K, a.qs + m * K, a.d + m * (K / 32), a.s + m * (K / 32));
      return;
    }
    case ActFormat::Q8_K: {
      BlockQ8_K* b = static_cast<BlockQ8_K*>(act);
      for (int64_t m = m0; m < m1; m++) ref_quantize_q8_K(x + m * ldx, K, b + m * (K / QK_K));
      return;
    }
    case ActFormat::F16: {
      uint16_t* h = static_cast<uint16_t*>(act);
      for (int64_t m = m0; m < m1; m++)
        for (int64_t k = 0; k < K; k++) h[m * K + k] = f32_to_f16(x[m * ldx + k]);
      return;
    }
    case ActFormat::BF16: {
      uint16_t* h = static_cast<uint16_t*>(act);
      for (int64_t m = m0; m < m1; m++)
        for (int64_t k = 0; k < K; k++) h[m * K + k] = f32_to_bf16(x[m * ldx + k]);
      return;
    }
    case ActFormat::F32: {
      float* o = static_cast<float*>(act);
      for (int64_t m = m0; m < m1; m++) std::memcpy(o + m * K, x + m * ldx, static_cast<size_t>(K) * 4);
      return;
    }
  }
}

// Q8_0x16 / Q4_0x16 with signed weights: one 16-row group at a time, integer sums per block.
#if defined(__SSE2__)
// Baseline x86-64 always has SSE2, and GCC leaves the scalar tile loop below mostly scalar there
// (the tile layout puts a row's 4 elements of each K step 64 bytes apart, so there is no contiguous
// dot for it to find): on a 2-core Intel Xeon it ran at 0.55-0.63x llama.cpp's baseline build.
// Here each 16-byte weight vector (4 rows x 4 elements) is sign-extended to int16 once and
// multiplied into int32 pairs (pmaddwd) for MR activation rows, whose 4-element steps are
// broadcast as int16 once per block. The integer sums are exact and every float operation is the
// scalar path's, in the same order per output row, so the results equal it bit for bit.

// The 4 activation bytes at x as int16, twice: [x0 x1 x2 x3 x0 x1 x2 x3].
inline __m128i x4_i16(const int8_t* x) {
  int32_t v;
  std::memcpy(&v, x, 4);
  const __m128i b = _mm_set1_epi32(v);
  return _mm_srai_epi16(_mm_unpacklo_epi8(b, b), 8);
}

// Two int32 pair vectors [r0a r0b r1a r1b], [r2a r2b r3a r3b] -> [r0 r1 r2 r3].
inline __m128i add_pairs(__m128i a, __m128i b) {
  const __m128 fa = _mm_castsi128_ps(a), fb = _mm_castsi128_ps(b);
  return _mm_add_epi32(_mm_castps_si128(_mm_shuffle_ps(fa, fb, _MM_SHUFFLE(2, 0, 2, 0))),
                       _mm_castps_si128(_mm_shuffle_ps(fa, fb, _MM_SHUFFLE(3, 1, 3, 1))));
}

// MR activation rows (from row pointer xq, stride K) x one 16-row group: out[r * 16 + j].
template <int MR, bool Q4>
void group_sse2(const uint8_t* gp, int64_t nb, const int8_t* xq, const float* xd, const int32_t* xs, int64_t K,
                float* out) {
  constexpr int64_t TB = Q4 ? kQ4x16TileBytes : kQ8x16TileBytes;
  const __m128i low4 = _mm_set1_epi8(0x0F), zero = _mm_setzero_si128();
  __m128 facc[MR][4];
  for (int r = 0; r < MR; r++)
    for (int i = 0; i < 4; i++) facc[r][i] = _mm_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* t = gp + b * TB;
    const uint8_t* q = t + 32;
    // Q8_0: step kg's 4 activations; Q4_0: those of the low nibbles (x[8p..]) at 2p and of the
    // high nibbles (x[8p+4..]) at 2p+1. Either way the 4 bytes at b * 32 + 4 * s.
    __m128i xv[MR][8];
    __m128 scale[MR][4];
    __m128 wd[4];  // the group's 16 weight scales, converted once for all MR rows
    for (int i = 0; i < 4; i++) wd[i] = (__m128)f16x4_to_f32(t + 8 * i);
    for (int r = 0; r < MR; r++) {
      for (int s = 0; s < 8; s++) xv[r][s] = x4_i16(xq + r * K + b * 32 + 4 * s);
      const __m128 d = _mm_set1_ps(xd[r * nb + b]);
      for (int i = 0; i < 4; i++) scale[r][i] = _mm_mul_ps(wd[i], d);
    }
    for (int i = 0; i < 4; i++) {  // rows 4i..4i+3 of the group: bytes i*16.. of each 64-byte step
      __m128i acc[MR][2];
      for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = zero;
      if constexpr (Q4) {
        for (int p = 0; p < 4; p++) {
          const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + p * 64 + i * 16));
          const __m128i lo = _mm_and_si128(v, low4), hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);
          const __m128i lo0 = _mm_unpacklo_epi8(lo, zero), lo1 = _mm_unpackhi_epi8(lo, zero);
          const __m128i hi0 = _mm_unpacklo_epi8(hi, zero), hi1 = _mm_unpackhi_epi8(hi, zero);
          for (int r = 0; r < MR; r++) {
            acc[r][0] = _mm_add_epi32(acc[r][0], _mm_add_epi32(_mm_madd_epi16(lo0, xv[r][2 * p]),
                                                               _mm_madd_epi16(hi0, xv[r][2 * p + 1])));
            acc[r][1] = _mm_add_epi32(acc[r][1], _mm_add_epi32(_mm_madd_epi16(lo1, xv[r][2 * p]),
                                                               _mm_madd_epi16(hi1, xv[r][2 * p + 1])));
          }
        }
      } else {
        for (int kg = 0; kg < 8; kg++) {
          const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + kg * 64 + i * 16));
          const __m128i w0 = _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8), w1 = _mm_srai_epi16(_mm_unpackhi_epi8(v, v), 8);
          for (int r = 0; r < MR; r++) {
            acc[r][0] = _mm_add_epi32(acc[r][0], _mm_madd_epi16(w0, xv[r][kg]));
            acc[r][1] = _mm_add_epi32(acc[r][1], _mm_madd_epi16(w1, xv[r][kg]));
          }
        }
      }
      for (int r = 0; r < MR; r++) {
        __m128i isum = add_pairs(acc[r][0], acc[r][1]);
        if constexpr (Q4) isum = _mm_sub_epi32(isum, _mm_set1_epi32(8 * xs[r * nb + b]));  // the quants' -8
        facc[r][i] = _mm_add_ps(facc[r][i], _mm_mul_ps(_mm_cvtepi32_ps(isum), scale[r][i]));
      }
    }
  }
  for (int r = 0; r < MR; r++)
    for (int i = 0; i < 4; i++) _mm_storeu_ps(out + r * 16 + 4 * i, facc[r][i]);
}

template <bool Q4>
void matmul_x16_sse2(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const int64_t K = w.cols, nb = K / 32;
  const ActQ8 a = act_q8(act, M, K);
  const int64_t gstride = nb * (Q4 ? kQ4x16TileBytes : kQ8x16TileBytes);
  float out[4 * 16];
  for (int64_t g = n0 / 16; g * 16 < n1; g++) {
    const uint8_t* gp = w.data + g * gstride;
    const int64_t c0 = g * 16 > n0 ? g * 16 : n0, c1 = g * 16 + 16 < n1 ? g * 16 + 16 : n1;
    for (int64_t m = 0; m < M;) {
      const int mr = M - m >= 4 ? 4 : (M - m >= 2 ? 2 : 1);
      const int8_t* xq = a.qs + m * K;
      const float* xd = a.d + m * nb;
      const int32_t* xs = a.s + m * nb;
      if (mr == 4) group_sse2<4, Q4>(gp, nb, xq, xd, xs, K, out);
      else if (mr == 2) group_sse2<2, Q4>(gp, nb, xq, xd, xs, K, out);
      else group_sse2<1, Q4>(gp, nb, xq, xd, xs, K, out);
      for (int r = 0; r < mr; r++)
        std::memcpy(y + (m + r) * ldy + c0, out + r * 16 + (c0 - g * 16), static_cast<size_t>(c1 - c0) * sizeof(float));
      m += mr;
    }
  }
}

void matmul_x16(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  if (w.format == WeightFormat::Q4_0x16) return matmul_x16_sse2<true>(w, act, M, y, ldy, n0, n1);
  matmul_x16_sse2<false>(w, act, M, y, ldy, n0, n1);
}
#else
void matmul_x16(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const int64_t K = w.cols, nb = K / 32;
  const ActQ8 a = act_q8(act, M, K);
  const bool q4 = w.format == WeightFormat::Q4_0x16;
  const int64_t tile_bytes = q4 ? kQ4x16TileBytes : kQ8x16TileBytes;
  for (int64_t g = n0 / 16; g * 16 < n1; g++) {
    for (int64_t m = 0; m < M; m++) {
      float acc[16] = {0};
      const int8_t* xq = a.qs + m * K;
      for (int64_t b = 0; b < nb; b++) {
        const uint8_t* tile = w.data + (g * nb + b) * tile_bytes;
        const uint16_t* scales = reinterpret_cast<const uint16_t*>(tile);
        const uint8_t* q = tile + 32;
        const int8_t* xb = xq + b * 32;
        int32_t isum[16] = {0};
        if (q4) {
          for (int p = 0; p < 4; p++)
            for (int r = 0; r < 16; r++)
              for (int j = 0; j < 4; j++) {
                uint8_t v = q[p * 64 + r * 4 + j];
                isum[r] += ((v & 0x0F) - 8) * xb[8 * p + j] + ((v >> 4) - 8) * xb[8 * p + 4 + j];
              }
        } else {
          for (int kg = 0; kg < 8; kg++)
            for (int r = 0; r < 16; r++)
              for (int j = 0; j < 4; j++) isum[r] += static_cast<int8_t>(q[kg * 64 + r * 4 + j]) * xb[kg * 4 + j];
        }
        const float xd = a.d[m * nb + b];
        for (int r = 0; r < 16; r++) acc[r] += static_cast<float>(isum[r]) * (f16_to_f32(scales[r]) * xd);
      }
      for (int r = 0; r < 16; r++) {
        int64_t n = g * 16 + r;
        if (n >= n0 && n < n1) y[m * ldy + n] = acc[r];
      }
    }
  }
}
#endif

void matmul_rows(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const int64_t K = w.cols;
  const size_t row_bytes = packed_bytes(w.format, 1, K);
  for (int64_t n = n0; n < n1; n++) {
    const void* row = w.data + n * row_bytes;
    for (int64_t m = 0; m < M; m++) {
      double v = 0;
      switch (w.format) {
        case WeightFormat::F32:
          v = ref_vec_dot_f32(static_cast<const float*>(row), static_cast<const float*>(act) + m * K, K);
          break;
        case WeightFormat::F16:
          v = ref_vec_dot_f16(static_cast<const uint16_t*>(row), static_cast<const uint16_t*>(act) + m * K, K);
          break;
        case WeightFormat::BF16:
          v = ref_vec_dot_bf16(static_cast<const uint16_t*>(row), static_cast<const uint16_t*>(act) + m * K, K);
          break;
        default: break;
      }
      y[m * ldy + n] = static_cast<float>(v);
    }
  }
}

// Q4_Kx16 / Q6_Kx16 straight from the tiles: per row and super-block the same exact integer sums
// as ref_vec_dot_q4_K / q6_K, folded into a double with the same expression, so the results equal
// the reference bit for bit. The inner loops take one 64-byte tile vector (16 rows x 4 elements)
// against the 4 matching activations, written out per element so that GCC vectorizes them for
// baseline SSE2 and NEON alike, in int16 (no 32-bit multiply needed): 4 steps of q4 (2 products of
// <= 15*127 each) or of q6 (1 product <= 63*127) stay below 2^15.

// acc[4r+e] += lo4(q[4r+e]) * xa[e] + hi4(q[4r+e]) * xc[e]
void q4_step(const uint8_t* __restrict q, const int8_t* xa, const int8_t* xc, int16_t* __restrict acc) {
  const int16_t a0 = xa[0], a1 = xa[1], a2 = xa[2], a3 = xa[3];
  const int16_t c0 = xc[0], c1 = xc[1], c2 = xc[2], c3 = xc[3];
  for (int r = 0; r < 16; r++) {
    const uint8_t* v = q + 4 * r;
    int16_t* s = acc + 4 * r;
    s[0] = static_cast<int16_t>(s[0] + static_cast<int16_t>(v[0] & 0x0F) * a0 + static_cast<int16_t>(v[0] >> 4) * c0);
    s[1] = static_cast<int16_t>(s[1] + static_cast<int16_t>(v[1] & 0x0F) * a1 + static_cast<int16_t>(v[1] >> 4) * c1);
    s[2] = static_cast<int16_t>(s[2] + static_cast<int16_t>(v[2] & 0x0F) * a2 + static_cast<int16_t>(v[2] >> 4) * c2);
    s[3] = static_cast<int16_t>(s[3] + static_cast<int16_t>(v[3] & 0x0F) * a3 + static_cast<int16_t>(v[3] >> 4) * c3);
  }
}

// 6-bit values: a low nibble of ql and the 2 bits of qh at bit SH, as q + 32 (0..63).
template <int SH, bool HIGH_NIBBLE>
inline int16_t q6_value(uint8_t ql, uint8_t qh) {
  return static_cast<int16_t>(((HIGH_NIBBLE ? ql >> 4 : ql & 0x0F)) | (((qh >> SH) & 3) << 4));
}

// acca[4r+e] += a(q[4r+e]) * xa[e]; accb[4r+e] += b(q[4r+e]) * xc[e]
template <int SA, int SB>
void q6_step(const uint8_t* __restrict ql, const uint8_t* __restrict qh, const int8_t* xa, const int8_t* xc,
             int16_t* __restrict acca, int16_t* __restrict accb) {
  const int16_t a0 = xa[0], a1 = xa[1], a2 = xa[2], a3 = xa[3];
  const int16_t c0 = xc[0], c1 = xc[1], c2 = xc[2], c3 = xc[3];
  for (int r = 0; r < 16; r++) {
    const uint8_t* l = ql + 4 * r;
    const uint8_t* h = qh + 4 * r;
    int16_t* sa = acca + 4 * r;
    int16_t* sb = accb + 4 * r;
    sa[0] = static_cast<int16_t>(sa[0] + q6_value<SA, false>(l[0], h[0]) * a0);
    sa[1] = static_cast<int16_t>(sa[1] + q6_value<SA, false>(l[1], h[1]) * a1);
    sa[2] = static_cast<int16_t>(sa[2] + q6_value<SA, false>(l[2], h[2]) * a2);
    sa[3] = static_cast<int16_t>(sa[3] + q6_value<SA, false>(l[3], h[3]) * a3);
    sb[0] = static_cast<int16_t>(sb[0] + q6_value<SB, true>(l[0], h[0]) * c0);
    sb[1] = static_cast<int16_t>(sb[1] + q6_value<SB, true>(l[1], h[1]) * c1);
    sb[2] = static_cast<int16_t>(sb[2] + q6_value<SB, true>(l[2], h[2]) * c2);
    sb[3] = static_cast<int16_t>(sb[3] + q6_value<SB, true>(l[3], h[3]) * c3);
  }
}

void kq_block_q4(const uint8_t* t, const BlockQ8_K& xb, int32_t* scaled, int32_t* mins) {
  for (int r = 0; r < 16; r++) scaled[r] = mins[r] = 0;
  int16_t acc[64];
  for (int j = 0; j < 8; j++) {
    const uint8_t* slice = t + 64 + j * kQ4KxSlice;
    std::memset(acc, 0, sizeof(acc));
    for (int k = 0; k < 4; k++) q4_step(slice + 32 + k * 64, xb.qs + 32 * j + 4 * k, xb.qs + 32 * j + 16 + 4 * k, acc);
    const int32_t bs = xb.bsums[2 * j] + xb.bsums[2 * j + 1];
    for (int r = 0; r < 16; r++) {
      scaled[r] += slice[r] * (acc[4 * r] + acc[4 * r + 1] + acc[4 * r + 2] + acc[4 * r + 3]);
      mins[r] += slice[16 + r] * bs;
    }
  }
}

void kq_block_q6(const uint8_t* t, const BlockQ8_K& xb, int32_t* scaled) {
  for (int r = 0; r < 16; r++) scaled[r] = 0;
  int16_t acca[64], accb[64];
  for (int i = 0; i < 8; i++) {
    const int8_t* sc = reinterpret_cast<const int8_t*>(t + 32 + i * kQ6KxSlice);
    const uint8_t* q = t + 32 + i * kQ6KxSlice + 32;
    const int8_t* x = xb.qs + 32 * i;
    std::memset(acca, 0, sizeof(acca));
    std::memset(accb, 0, sizeof(accb));
    // Group k's high bits: qh vector k % 2, at bits 0 and 4 for k < 2, 2 and 6 for k >= 2.
    q6_step<0, 4>(q, q + 256, x, x + 16, acca, accb);
    q6_step<0, 4>(q + 64, q + 320, x + 4, x + 20, acca, accb);
    q6_step<2, 6>(q + 128, q + 256, x + 8, x + 24, acca, accb);
    q6_step<2, 6>(q + 192, q + 320, x + 12, x + 28, acca, accb);
    // Quants are stored as q + 32: sum((q+32) x) - 32 sum(x) per 16-element sub-block.
    const int32_t ca = 32 * xb.bsums[2 * i], cb = 32 * xb.bsums[2 * i + 1];
    for (int r = 0; r < 16; r++) {
      const int32_t sa = acca[4 * r] + acca[4 * r + 1] + acca[4 * r + 2] + acca[4 * r + 3];
      const int32_t sb = accb[4 * r] + accb[4 * r + 1] + accb[4 * r + 2] + accb[4 * r + 3];
      scaled[r] += sc[2 * r] * (sa - ca) + sc[2 * r + 1] * (sb - cb);
    }
  }
}

void matmul_kq(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const int64_t nb = w.cols / QK_K;
  const bool q6 = w.format == WeightFormat::Q6_Kx16;
  const int64_t tb = q6 ? kQ6Kx16TileBytes : kQ4Kx16TileBytes;
  const BlockQ8_K* x = static_cast<const BlockQ8_K*>(act);
  for (int64_t g = n0 / 16; g * 16 < n1; g++) {
    for (int64_t m = 0; m < M; m++) {
      double sum[16] = {0};
      for (int64_t b = 0; b < nb; b++) {
        const uint8_t* t = w.data + (g * nb + b) * tb;
        const BlockQ8_K& xb = x[m * nb + b];
        const uint16_t* d = reinterpret_cast<const uint16_t*>(t);
        int32_t scaled[16], mins[16];
        if (q6) {
          kq_block_q6(t, xb, scaled);
          for (int r = 0; r < 16; r++) sum[r] += static_cast<double>(f16_to_f32(d[r]) * xb.d) * scaled[r];
        } else {
          kq_block_q4(t, xb, scaled, mins);
          for (int r = 0; r < 16; r++)
            sum[r] += static_cast<double>(f16_to_f32(d[r]) * xb.d) * scaled[r] -
                      static_cast<double>(f16_to_f32(d[16 + r]) * xb.d) * mins[r];
        }
      }
      for (int r = 0; r < 16; r++) {
        const int64_t n = g * 16 + r;
        if (n >= n0 && n < n1) y[m * ldy + n] = static_cast<float>(sum[r]);
      }
    }
  }
}

void matmul(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1, TileShape) {
  if (w.format == WeightFormat::Q8_0x16 || w.format == WeightFormat::Q4_0x16)
    matmul_x16(w, act, M, y, ldy, n0, n1);
  else if (w.format == WeightFormat::Q4_Kx16 || w.format == WeightFormat::Q6_Kx16)
    matmul_kq(w, act, M, y, ldy, n0, n1);
  else
    matmul_rows(w, act, M, y, ldy, n0, n1);
}

int tile_variants(WeightFormat, int64_t, TileShape* out, int cap) {
  if (cap < 1) return 0;
  out[0] = {1, 1};
  return 1;
}

void get_row(const Matrix& w, int64_t row, float* out) { unpack_row(w, row, false, out); }

const KernelSet kSet = {"portable", false, convert_act, matmul, tile_variants, get_row};

}  // namespace

const KernelSet* kernels_portable() { return &kSet; }

}  // namespace gb
