// aarch64 Advanced SIMD kernels for every ARMv8-A CPU (Cortex-A53/A55/A72 class, no dot-product
// extension): the shared micro-kernels of arm_neon_impl.h with widening multiplies. A 4-row x
// 4-byte step is SMULL/SMULL2 (int16 products) then SADALP (pairwise into int32); a final ADDP per
// block brings each row's two pair sums together. CPUs with SDOT get arm_neon_dotprod.cc instead.
#if defined(__aarch64__)
#include "kernels/arm_neon_impl.h"

namespace gb {
namespace {

struct PlainDot {
  static constexpr const char* kName = "neon";
  struct Acc {
    int32x4_t lo, hi;  // rows 0-1 and 2-3 of the 4, two pair sums per row
  };
  static Acc zero() { return {vdupq_n_s32(0), vdupq_n_s32(0)}; }
  template <int L>
  static void step(Acc& a, int8x16_t w, int8x16_t x) {
    const int8x16_t xb = vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(x), L));
    a.lo = vpadalq_s16(a.lo, vmull_s8(vget_low_s8(w), vget_low_s8(xb)));
    a.hi = vpadalq_s16(a.hi, vmull_high_s8(w, xb));
  }
  static int32x4_t finish(const Acc& a) { return vpaddq_s32(a.lo, a.hi); }
};

const KernelSet kSet = make_kernel_set<NeonIsa<PlainDot>>();

}  // namespace

const KernelSet* kernels_neon() { return &kSet; }

}  // namespace gb

#else
#include "kernels/kernels.h"
namespace gb {
const KernelSet* kernels_neon() { return nullptr; }
}  // namespace gb
#endif
