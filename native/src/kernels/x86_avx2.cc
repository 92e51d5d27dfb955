// AVX2 + FMA + F16C kernels for x86-64 CPUs without AVX-512 VNNI. Same structure as the AVX-512
// set with 8-lane vectors; Q8_0 weights stay signed and use the abs/sign trick with vpmaddubsw
// (unsigned*signed pairs that cannot saturate). Internal linkage only (see x86_avx512.cc).
#if defined(__x86_64__) && defined(GB_BUILD_AVX2)
#include <immintrin.h>

#include <cstring>

#include "kernels/act.h"
#include "kernels/kernels.h"
#include "kernels/pack.h"

namespace gb {
namespace {

const KernelSet* portable() { return kernels_portable(); }

inline float hsum8(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

inline int32_t hsum8i(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

void quantize_q8_0_row(const float* x, int64_t K, int8_t* qs, float* d, int32_t* s) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < K / 32; b++) {
    __m256 v[4];
    __m256 mx = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
      v[i] = _mm256_loadu_ps(x + b * 32 + i * 8);
      mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[i]));
    }
    __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(mx, 1), _mm256_castps256_ps128(mx));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    d[b] = _cvtsh_ss(_cvtss_sh(amax / 127.f, _MM_FROUND_TO_NEAREST_INT));
    const __m256 id = _mm256_set1_ps(amax != 0.f ? 127.f / amax : 0.f);
    __m256i sum = _mm256_setzero_si256();
    alignas(32) int32_t tmp[32];
    for (int i = 0; i < 4; i++) {
      __m256i q = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], id), _MM_ROUND_NEAREST));
      sum = _mm256_add_epi32(sum, q);
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + i * 8), q);
    }
    for (int j = 0; j < 32; j++) qs[b * 32 + j] = static_cast<int8_t>(tmp[j]);
    s[b] = hsum8i(sum);
  }
}

void convert_act(ActFormat f, const float* x, int64_t ldx, int64_t m0, int64_t m1, int64_t M, int64_t K, void* act) {
  if (f == ActFormat::Q8_0 && K % 32 == 0) {
    ActQ8 a = act_q8(act, M, K);
    for (int64_t m = m0; m < m1; m++)
      quantize_q8_0_row(x + m * ldx, K, a.qs + m * K, a.d + m * (K / 32), a.s + m * (K / 32));
    return;
  }
  if (f == ActFormat::F16 && K % 8 == 0) {
    uint16_t* h = static_cast<uint16_t*>(act);
    for (int64_t m = m0; m < m1; m++)
      for (int64_t k = 0; k < K; k += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(h + m * K + k),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + m * ldx + k), _MM_FROUND_TO_NEAREST_INT));
    return;
  }
  portable()->convert_act(f, x, ldx, m0, m1, M, K, act);
}

// One activation row against one 16-row group: two 8-lane halves (rows 0-7 and 8-15).
template <bool Q4>
void group_row(const uint8_t* g, int64_t nb, const int8_t* xq, const float* xd, const int32_t* xs, float* out) {
  constexpr int64_t TB = Q4 ? kQ4x16TileBytes : kQ8x16TileBytes;
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 f0 = _mm256_setzero_ps(), f1 = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* t = g + b * TB;
    const int8_t* xb = xq + b * 32;
    __m256i i0, i1;
    if constexpr (Q4) {
      i0 = i1 = _mm256_set1_epi32(-8 * xs[b]);
      for (int p = 0; p < 4; p++) {
        int32_t xa, xc;
        std::memcpy(&xa, xb + 8 * p, 4);
        std::memcpy(&xc, xb + 8 * p + 4, 4);
        const __m256i va = _mm256_set1_epi32(xa), vc = _mm256_set1_epi32(xc);
        for (int h = 0; h < 2; h++) {
          __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 32 + p * 64 + h * 32));
          __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
          __m256i s = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo, va), ones),
                                       _mm256_madd_epi16(_mm256_maddubs_epi16(hi, vc), ones));
          if (h == 0) i0 = _mm256_add_epi32(i0, s);
          else i1 = _mm256_add_epi32(i1, s);
        }
      }
    } else {
      i0 = i1 = _mm256_setzero_si256();
      for (int kg = 0; kg < 8; kg++) {
        int32_t x4;
        std::memcpy(&x4, xb + kg * 4, 4);
        const __m256i xv = _mm256_set1_epi32(x4);
        for (int h = 0; h < 2; h++) {
          __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 32 + kg * 64 + h * 32));
          __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xv, w)), ones);
          if (h == 0) i0 = _mm256_add_epi32(i0, s);
          else i1 = _mm256_add_epi32(i1, s);
        }
      }
    }
    const __m256 xdv = _mm256_set1_ps(xd[b]);
    const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
    const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t + 16)));
    f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), _mm256_mul_ps(w0, xdv), f0);
    f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i1), _mm256_mul_ps(w1, xdv), f1);
  }
  _mm256_storeu_ps(out, f0);
  _mm256_storeu_ps(out + 8, f1);
}

void matmul_x16(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const bool q4 = w.format == WeightFormat::Q4_0x16;
  const int64_t K = w.cols, nb = K / 32;
  const int64_t group_stride = nb * (q4 ? kQ4x16TileBytes : kQ8x16TileBytes);
  const ActQ8 a = act_q8(act, M, K);
  alignas(32) float tmp[16];
  for (int64_t g = n0 / 16; g * 16 < n1; g++) {
    const uint8_t* gp = w.data + g * group_stride;
    for (int64_t m = 0; m < M; m++) {
      const int8_t* xq = a.qs + m * K;
      const float* xd = a.d + m * nb;
      const int32_t* xs = a.s + m * nb;
      if (q4) group_row<true>(gp, nb, xq, xd, xs, tmp);
      else group_row<false>(gp, nb, xq, xd, xs, tmp);
      for (int r = 0; r < 16; r++) {
        int64_t n = g * 16 + r;
        if (n >= n0 && n < n1) y[m * ldy + n] = tmp[r];
      }
    }
  }
}

void matmul_f16(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const int64_t K = w.cols;
  const uint16_t* W = reinterpret_cast<const uint16_t*>(w.data);
  const uint16_t* X = static_cast<const uint16_t*>(act);
  for (int64_t n = n0; n < n1; n++)
    for (int64_t m = 0; m < M; m++) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t k = 0; k < K; k += 8)
        acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(W + n * K + k))),
                              _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(X + m * K + k))), acc);
      y[m * ldy + n] = hsum8(acc);
    }
}

void matmul_f32(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const int64_t K = w.cols;
  const float* W = reinterpret_cast<const float*>(w.data);
  const float* X = static_cast<const float*>(act);
  for (int64_t n = n0; n < n1; n++)
    for (int64_t m = 0; m < M; m++) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t k = 0; k < K; k += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(W + n * K + k), _mm256_loadu_ps(X + m * K + k), acc);
      y[m * ldy + n] = hsum8(acc);
    }
}

void matmul(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1, TileShape tile) {
  switch (w.format) {
    case WeightFormat::Q8_0x16:
    case WeightFormat::Q4_0x16: return matmul_x16(w, act, M, y, ldy, n0, n1);
    case WeightFormat::F16:
      if (w.cols % 8 == 0) return matmul_f16(w, act, M, y, ldy, n0, n1);
      break;
    case WeightFormat::F32:
      if (w.cols % 8 == 0) return matmul_f32(w, act, M, y, ldy, n0, n1);
      break;
    default: break;
  }
  portable()->matmul(w, act, M, y, ldy, n0, n1, tile);
}

int tile_variants(WeightFormat, int64_t, TileShape* out, int cap) {
  if (cap < 1) return 0;
  out[0] = {1, 1};
  return 1;
}

void get_row(const Matrix& w, int64_t row, float* out) { unpack_row(w, row, false, out); }

void scores_f16(const float* q, const uint16_t* K, int n, int hd, float* scores) {
  if (hd % 8 != 0) return portable()->scores_f16(q, K, n, hd, scores);
  for (int j = 0; j < n; j++) {
    __m256 acc = _mm256_setzero_ps();
    for (int d = 0; d < hd; d += 8)
      acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d),
                            _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(K + j * hd + d))), acc);
    scores[j] = hsum8(acc);
  }
}

void accum_f16(float* out, const float* p, const uint16_t* V, int n, int hd) {
  if (hd % 8 != 0) return portable()->accum_f16(out, p, V, n, hd);
  for (int d = 0; d < hd; d += 8) {
    __m256 acc = _mm256_loadu_ps(out + d);
    for (int j = 0; j < n; j++)
      acc = _mm256_fmadd_ps(_mm256_set1_ps(p[j]),
                            _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(V + j * hd + d))), acc);
    _mm256_storeu_ps(out + d, acc);
  }
}

const KernelSet kSet = {"avx2", false, convert_act, matmul, tile_variants, get_row, scores_f16, accum_f16};

}  // namespace

const KernelSet* kernels_avx2() { return &kSet; }

}  // namespace gb

#else
#include "kernels/kernels.h"
namespace gb {
const KernelSet* kernels_avx2() { return nullptr; }
}  // namespace gb
#endif
