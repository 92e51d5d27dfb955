// AVX-512 attention: block scores from the transposed K with broadcast FMAs, a vectorized exp,
// and weighted V sums. Internal linkage only (compiled with AVX-512 flags; see x86_avx512.cc).
#if defined(__x86_64__) && defined(GB_BUILD_AVX512)
#include <immintrin.h>

#include <cmath>

#include "kernels/attention.h"

namespace gb {
namespace {

// exp(x) for x <= 0 (arguments of a softmax after subtracting the max): Cody-Waite reduction to
// 2^n * e^r, |r| <= ln2/2, and a degree-6 polynomial (relative error ~2e-7, below the f16 rounding
// the weights get next).
inline __m512 exp_ps(__m512 x) {
  const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
  const __m512 ln2_hi = _mm512_set1_ps(0.693359375f), ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, ln2_hi, x);
  r = _mm512_fnmadd_ps(n, ln2_lo, r);
  __m512 p = _mm512_set1_ps(1.3981999507E-3f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
  p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

inline __m512 load_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }

void attend_f16(const float* q, const uint16_t* const* kb, const uint16_t* const* vb, int n_ctx, int bs, int hd,
                float scale, float* scores, float* out) {
  if (bs != 16 || hd % 16 != 0 || hd > 256) {
    attention_portable()->attend_f16(q, kb, vb, n_ctx, bs, hd, scale, scores, out);
    return;
  }
  // ---- scores, 16 keys (one block) per vector
  const int n_blocks = (n_ctx + 15) / 16;
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  for (int b = 0; b < n_blocks; b++) {
    const uint16_t* K = kb[b];
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (int d = 0; d < hd; d += 4) {
      a0 = _mm512_fmadd_ps(_mm512_set1_ps(q[d]), load_f16(K + d * 16), a0);
      a1 = _mm512_fmadd_ps(_mm512_set1_ps(q[d + 1]), load_f16(K + (d + 1) * 16), a1);
      a2 = _mm512_fmadd_ps(_mm512_set1_ps(q[d + 2]), load_f16(K + (d + 2) * 16), a2);
      a3 = _mm512_fmadd_ps(_mm512_set1_ps(q[d + 3]), load_f16(K + (d + 3) * 16), a3);
    }
    __m512 s = _mm512_mul_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)), _mm512_set1_ps(scale));
    const int valid = n_ctx - b * 16 < 16 ? n_ctx - b * 16 : 16;
    const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1);
    _mm512_storeu_ps(scores + b * 16, s);
    vmax = _mm512_mask_max_ps(vmax, m, vmax, s);
  }
  const float mx = _mm512_reduce_max_ps(vmax);
  // ---- softmax weights (sum in double, as the reference), rounded to f16
  double sum = 0;
  const __m512 vmx = _mm512_set1_ps(mx);
  for (int b = 0; b < n_blocks; b++) {
    const int valid = n_ctx - b * 16 < 16 ? n_ctx - b * 16 : 16;
    const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1);
    __m512 e = _mm512_maskz_mov_ps(m, exp_ps(_mm512_sub_ps(_mm512_loadu_ps(scores + b * 16), vmx)));
    _mm512_storeu_ps(scores + b * 16, e);
    sum += static_cast<double>(_mm512_reduce_add_ps(e));
  }
  const __m512 inv = _mm512_set1_ps(static_cast<float>(1.0 / sum));
  for (int b = 0; b < n_blocks; b++) {
    __m512 p = _mm512_mul_ps(_mm512_loadu_ps(scores + b * 16), inv);
    p = _mm512_cvtph_ps(_mm512_cvtps_ph(p, _MM_FROUND_TO_NEAREST_INT));
    _mm512_storeu_ps(scores + b * 16, p);
  }
  // ---- weighted sum of V rows
  __m512 acc[16];
  const int nd = hd / 16;
  for (int i = 0; i < nd; i++) acc[i] = _mm512_setzero_ps();
  for (int j = 0; j < n_ctx; j++) {
    const __m512 p = _mm512_set1_ps(scores[j]);
    const uint16_t* V = vb[j / 16] + (j % 16) * hd;
    for (int i = 0; i < nd; i++) acc[i] = _mm512_fmadd_ps(p, load_f16(V + i * 16), acc[i]);
  }
  for (int i = 0; i < nd; i++) _mm512_storeu_ps(out + i * 16, acc[i]);
}

const AttentionKernels kSet = {"avx512", attend_f16};

}  // namespace

const AttentionKernels* attention_avx512() { return &kSet; }

}  // namespace gb

#else
#include "kernels/attention.h"
namespace gb {
const AttentionKernels* attention_avx512() { return nullptr; }
}  // namespace gb
#endif
