// AVX-512 attention: the shared kernel (attention_impl.h) over 16-lane vectors. Internal linkage
// only (compiled with AVX-512 flags; see x86_avx512.cc).
#if defined(__x86_64__) && defined(GB_BUILD_AVX512)
#include <immintrin.h>

#include "kernels/attention_impl.h"

namespace gb {
namespace {

struct V512 {
  using R = __m512;
  static constexpr int kLanes = 16;
  static constexpr int kAccRegs = 24;  // of 32 zmm: the rest hold V rows and broadcasts
  static R zero() { return _mm512_setzero_ps(); }
  static R set1(float v) { return _mm512_set1_ps(v); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static R load_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  static R min(R a, R b) { return _mm512_min_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R if_neg(R x, R a, R b) { return _mm512_mask_blend_ps(_mm512_movepi32_mask(_mm512_castps_si512(x)), b, a); }
  static float hsum(R v) { return _mm512_reduce_add_ps(v); }
  static float hmax(R v) { return _mm512_reduce_max_ps(v); }
  static R round_f16(R v) { return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }
  static void store_f16(uint16_t* p, R v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
  // Cody-Waite reduction to 2^n * e^r, |r| <= ln2/2, and a degree-6 polynomial (relative error
  // ~2e-7, below the f16 rounding the weights get next).
  static R exp_neg(R x) {
    const R log2e = set1(1.44269504088896341f), ln2_hi = set1(0.693359375f), ln2_lo = set1(-2.12194440e-4f);
    x = _mm512_max_ps(x, set1(-87.3f));
    const R n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    R r = _mm512_fnmadd_ps(n, ln2_hi, x);
    r = _mm512_fnmadd_ps(n, ln2_lo, r);
    R p = set1(1.3981999507E-3f);
    p = fma(p, r, set1(8.3334519073E-3f));
    p = fma(p, r, set1(4.1665795894E-2f));
    p = fma(p, r, set1(1.6666665459E-1f));
    p = fma(p, r, set1(5.0000001201E-1f));
    p = fma(p, _mm512_mul_ps(r, r), r);
    p = _mm512_add_ps(p, set1(1.0f));
    return _mm512_scalef_ps(p, n);
  }
};

const AttentionKernels kSet = {"avx512", attend_group<V512>, silu_mul<V512>, to_f16_row<V512>, round_f16_row<V512>};

}  // namespace

const AttentionKernels* attention_avx512() { return &kSet; }

}  // namespace gb

#else
#include "kernels/attention.h"
namespace gb {
const AttentionKernels* attention_avx512() { return nullptr; }
}  // namespace gb
#endif
