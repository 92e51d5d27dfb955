// aarch64 kernels for CPUs with the dot-product extension (ARMv8.2-A+dotprod: Neoverse N1/V1,
// Kunpeng 920's TaiShan v110, Cortex-A55/A76 and later): the shared micro-kernels of
// arm_neon_impl.h with SDOT by element, which adds 4 rows x 4 signed bytes against one 4-byte
// activation group held in a lane in one instruction. This whole translation unit is compiled for
// ARMv8.2-A+dotprod (the pragma below), so its code runs only after dispatch.cc has seen
// HWCAP_ASIMDDP.
#if defined(__aarch64__)
#pragma GCC target("arch=armv8.2-a+dotprod")
#include "kernels/arm_neon_impl.h"

namespace gb {
namespace {

struct SdotDot {
  static constexpr const char* kName = "neon-dotprod";
  using Acc = int32x4_t;
  static Acc zero() { return vdupq_n_s32(0); }
  template <int LA, int LB>
  static void step2(Acc& a, int8x16_t wa, int8x16_t xa, int8x16_t wb, int8x16_t xb) {
    a = vdotq_laneq_s32(vdotq_laneq_s32(a, wa, xa, LA), wb, xb, LB);
  }
  static int32x4_t finish(Acc a) { return a; }
};

const KernelSet kSet = make_kernel_set<NeonIsa<SdotDot>>();

}  // namespace

const KernelSet* kernels_neon_dotprod() { return &kSet; }

}  // namespace gb

#else
#include "kernels/kernels.h"
namespace gb {
const KernelSet* kernels_neon_dotprod() { return nullptr; }
}  // namespace gb
#endif
