// aarch64 Advanced SIMD kernels for every ARMv8-A CPU (Cortex-A53/A57/A72/A73 class, no dot-product
// extension): the shared micro-kernels of arm_neon_impl.h with widening multiplies. Two 4-row x
// 4-byte steps are SMULL/SMLAL + SMULL2/SMLAL2 (two int16 products per lane) then two SADALP
// (pairwise into int32); a final ADDP per block brings each row's two pair sums together. CPUs with SDOT get arm_neon_dotprod.cc instead.
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
  static int8x16_t lane(int8x16_t x) {
    return vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(x), L));
  }
  // Two products per int16 lane (see arm_neon_impl.h for why they cannot overflow), then widen.
  template <int LA, int LB>
  static void step2(Acc& a, int8x16_t wa, int8x16_t xa, int8x16_t wb, int8x16_t xb) {
    const int8x16_t ba = lane<LA>(xa), bb = lane<LB>(xb);
    const int16x8_t lo = vmlal_s8(vmull_s8(vget_low_s8(wa), vget_low_s8(ba)), vget_low_s8(wb), vget_low_s8(bb));
    const int16x8_t hi = vmlal_high_s8(vmull_high_s8(wa, ba), wb, bb);
    a.lo = vpadalq_s16(a.lo, lo);
    a.hi = vpadalq_s16(a.hi, hi);
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
