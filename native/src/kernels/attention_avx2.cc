// AVX2 + FMA + F16C attention: the shared kernel (attention_impl.h) over 8-lane vectors. Internal
// linkage only (compiled with AVX2 flags; see x86_avx512.cc).
#if defined(__x86_64__) && defined(GB_BUILD_AVX2)
#include <immintrin.h>

#include "kernels/attention_impl.h"

namespace gb {
namespace {

struct V256 {
  using R = __m256;
  static constexpr int kLanes = 8;
  static constexpr int kAccRegs = 8;  // of 16 ymm: the rest hold V rows and broadcasts
  static R zero() { return _mm256_setzero_ps(); }
  static R set1(float v) { return _mm256_set1_ps(v); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }
  static R min(R a, R b) { return _mm256_min_ps(a, b); }
  static R div(R a, R b) { return _mm256_div_ps(a, b); }
  static R if_neg(R x, R a, R b) { return _mm256_blendv_ps(b, a, x); }
  static float hsum(R v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    return _mm_cvtss_f32(_mm_add_ss(lo, _mm_movehdup_ps(lo)));
  }
  static float hmax(R v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
  }
  static R round_f16(R v) { return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }
  static void store_f16(uint16_t* p, R v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
  // As the AVX-512 version; 2^n is built in the exponent field (n >= -126 after the clamp).
  static R exp_neg(R x) {
    const R log2e = set1(1.44269504088896341f), ln2_hi = set1(0.693359375f), ln2_lo = set1(-2.12194440e-4f);
    x = _mm256_max_ps(x, set1(-87.3f));
    const R n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    R r = _mm256_fnmadd_ps(n, ln2_hi, x);
    r = _mm256_fnmadd_ps(n, ln2_lo, r);
    R p = set1(1.3981999507E-3f);
    p = fma(p, r, set1(8.3334519073E-3f));
    p = fma(p, r, set1(4.1665795894E-2f));
    p = fma(p, r, set1(1.6666665459E-1f));
    p = fma(p, r, set1(5.0000001201E-1f));
    p = fma(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, set1(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  }
};

const AttentionKernels kSet = {"avx2", attend_group<V256>, silu_mul<V256>, to_f16_row<V256>, round_f16_row<V256>};

}  // namespace

const AttentionKernels* attention_avx2() { return &kSet; }

}  // namespace gb

#else
#include "kernels/attention.h"
namespace gb {
const AttentionKernels* attention_avx2() { return nullptr; }
}  // namespace gb
#endif
