// Layout of converted activations inside one buffer (see ActFormat). Q8_0: M*K int8 quants, then
// M*K/32 float scales, then M*K/32 int32 block sums (each section 64-byte aligned).
#pragma once
#include <cstdint>

#include "kernels/blocks.h"
#include "kernels/kernels.h"

namespace gb {

static inline int64_t align64(int64_t n) { return (n + 63) & ~int64_t{63}; }

struct ActQ8 {
  int8_t* qs;
  float* d;
  int32_t* s;
};

static inline ActQ8 act_q8(void* base, int64_t M, int64_t K) {
  uint8_t* p = static_cast<uint8_t*>(base);
  int64_t nb = M * K / 32;
  return {reinterpret_cast<int8_t*>(p), reinterpret_cast<float*>(p + align64(M * K)),
          reinterpret_cast<int32_t*>(p + align64(M * K) + align64(nb * 4))};
}

static inline const ActQ8 act_q8(const void* base, int64_t M, int64_t K) {
  return act_q8(const_cast<void*>(base), M, K);
}

}  // namespace gb
