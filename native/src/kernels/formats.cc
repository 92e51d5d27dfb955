#include "common/error.h"
#include "kernels/act.h"
#include "kernels/kernels.h"

namespace gb {

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::F32: return "f32";
    case WeightFormat::F16: return "f16";
    case WeightFormat::BF16: return "bf16";
    case WeightFormat::Q8_0x16: return "q8_0x16";
    case WeightFormat::Q4_0x16: return "q4_0x16";
    case WeightFormat::Q4_Kx16: return "q4_Kx16";
    case WeightFormat::Q6_Kx16: return "q6_Kx16";
  }
  return "?";
}

ActFormat act_format_for(WeightFormat f) {
  switch (f) {
    case WeightFormat::F32: return ActFormat::F32;
    case WeightFormat::F16: return ActFormat::F16;
    case WeightFormat::BF16: return ActFormat::BF16;
    case WeightFormat::Q8_0x16:
    case WeightFormat::Q4_0x16: return ActFormat::Q8_0;
    case WeightFormat::Q4_Kx16:
    case WeightFormat::Q6_Kx16: return ActFormat::Q8_K;
  }
  return ActFormat::F32;
}

size_t act_bytes(ActFormat f, int64_t M, int64_t K) {
  switch (f) {
    case ActFormat::F32: return static_cast<size_t>(M * K * 4);
    case ActFormat::F16:
    case ActFormat::BF16: return static_cast<size_t>(M * K * 2);
    case ActFormat::Q8_0: return static_cast<size_t>(align64(M * K) + 2 * align64(M * K / 32 * 4));
    case ActFormat::Q8_K: return static_cast<size_t>(M * (K / QK_K) * sizeof(BlockQ8_K));
  }
  return 0;
}

}  // namespace gb
