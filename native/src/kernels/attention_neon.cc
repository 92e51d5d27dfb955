// aarch64 NEON attention: the shared kernel (attention_impl.h) over 4-lane float vectors. Plain
// ARMv8-A (FCVTL/FCVTN convert f16, FMLA, FADDP/FMAXP reductions), so both NEON matmul sets use it.
// Internal linkage only (see driver.h).
#if defined(__aarch64__)
#include <arm_neon.h>

#include "kernels/attention_impl.h"

namespace gb {
namespace {

struct V128 {
  using R = float32x4_t;
  static constexpr int kLanes = 4;
  static constexpr int kAccRegs = 16;  // of 32 q registers: the rest hold V rows and broadcasts
  static R zero() { return vdupq_n_f32(0); }
  static R set1(float v) { return vdupq_n_f32(v); }
  static R load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, R v) { vst1q_f32(p, v); }
  static R load_f16(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
  static R fma(R a, R b, R c) { return vfmaq_f32(c, a, b); }
  static R add(R a, R b) { return vaddq_f32(a, b); }
  static R mul(R a, R b) { return vmulq_f32(a, b); }
  static R sub(R a, R b) { return vsubq_f32(a, b); }
  static R max(R a, R b) { return vmaxq_f32(a, b); }
  static R min(R a, R b) { return vminq_f32(a, b); }
  static R div(R a, R b) { return vdivq_f32(a, b); }
  static R if_neg(R x, R a, R b) { return vbslq_f32(vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_f32(x), 31)), a, b); }
  static float hsum(R v) { return vaddvq_f32(v); }
  static float hmax(R v) { return vmaxvq_f32(v); }
  static R round_f16(R v) { return vcvt_f32_f16(vcvt_f16_f32(v)); }
  static void store_f16(uint16_t* p, R v) { vst1_u16(p, vreinterpret_u16_f16(vcvt_f16_f32(v))); }
  // As the AVX2 version: n = round(x log2 e), r = x - n ln2 in two parts, a degree-5 polynomial,
  // and 2^n built in the exponent field (n >= -126 after the clamp).
  static R exp_neg(R x) {
    const R log2e = set1(1.44269504088896341f), ln2_hi = set1(0.693359375f), ln2_lo = set1(-2.12194440e-4f);
    x = vmaxq_f32(x, set1(-87.3f));
    const R n = vrndnq_f32(vmulq_f32(x, log2e));
    R r = vfmsq_f32(x, n, ln2_hi);
    r = vfmsq_f32(r, n, ln2_lo);
    R p = set1(1.3981999507E-3f);
    p = fma(p, r, set1(8.3334519073E-3f));
    p = fma(p, r, set1(4.1665795894E-2f));
    p = fma(p, r, set1(1.6666665459E-1f));
    p = fma(p, r, set1(5.0000001201E-1f));
    p = fma(p, vmulq_f32(r, r), r);
    p = vaddq_f32(p, set1(1.0f));
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
  }
};

const AttentionKernels kSet = {"neon", attend_group<V128>, silu_mul<V128>, to_f16_row<V128>, round_f16_row<V128>};

}  // namespace

const AttentionKernels* attention_neon() { return &kSet; }

}  // namespace gb

#else
#include "kernels/attention.h"
namespace gb {
const AttentionKernels* attention_neon() { return nullptr; }
}  // namespace gb
#endif
