// ggml's quantized block layouts, byte for byte (see ggml-common.h). Activation formats too.
#pragma once
#include <cstdint>

namespace gb {

constexpr int QK8_0 = 32;
constexpr int QK4_0 = 32;
constexpr int QK_K = 256;
constexpr int K_SCALE_SIZE = 12;

#pragma pack(push, 1)
struct BlockQ8_0 {
  uint16_t d;  // f16 scale
  int8_t qs[QK8_0];
};
struct BlockQ4_0 {
  uint16_t d;            // f16 scale
  uint8_t qs[QK4_0 / 2];  // element j in the low nibble of qs[j], element j+16 in the high nibble
};
struct BlockQ4_K {
  uint16_t d;     // f16 super-block scale for the 8 sub-block scales
  uint16_t dmin;  // f16 super-block scale for the 8 sub-block mins
  uint8_t scales[K_SCALE_SIZE];  // 8 scales + 8 mins, 6 bits each
  uint8_t qs[QK_K / 2];
};
struct BlockQ6_K {
  uint8_t ql[QK_K / 2];      // low 4 bits
  uint8_t qh[QK_K / 4];      // high 2 bits
  int8_t scales[QK_K / 16];  // 16 sub-block scales
  uint16_t d;                // f16 super-block scale
};
struct BlockQ8_K {
  float d;
  int8_t qs[QK_K];
  int16_t bsums[QK_K / 16];  // sums of groups of 16
};
#pragma pack(pop)

static_assert(sizeof(BlockQ8_0) == 34, "q8_0 block");
static_assert(sizeof(BlockQ4_0) == 18, "q4_0 block");
static_assert(sizeof(BlockQ4_K) == 144, "q4_K block");
static_assert(sizeof(BlockQ6_K) == 210, "q6_K block");
static_assert(sizeof(BlockQ8_K) == 292, "q8_K block");

// Unpacks the 6-bit scale and min of sub-block j of a q4_K block (ggml's get_scale_min_k4).
static inline void q4k_scale_min(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

}  // namespace gb
