// IEEE half and bfloat16 conversions (portable; bit-exact with ggml's scalar versions).
#pragma once
#include <cstdint>
#include <cstring>

namespace gb {

static inline float bits_to_f32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
static inline uint32_t f32_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Half -> float, exact (handles subnormals, inf, nan).
static inline float f16_to_f32(uint16_t h) {
  const uint32_t w = static_cast<uint32_t>(h) << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;
  const uint32_t exp_offset = 0xE0u << 23;
  const float exp_scale = bits_to_f32(0x7800000u);
  const float normalized = bits_to_f32((two_w >> 4) + exp_offset) * exp_scale;
  const uint32_t magic_mask = 126u << 23;
  const float magic_bias = 0.5f;
  const float denormalized = bits_to_f32((two_w >> 17) | magic_mask) - magic_bias;
  const uint32_t denormalized_cutoff = 1u << 27;
  const uint32_t result =
      sign | (two_w < denormalized_cutoff ? f32_to_bits(denormalized) : f32_to_bits(normalized));
  return bits_to_f32(result);
}

// Four halves at p (any alignment) -> four floats: f16_to_f32 lane-wise, with the same operations,
// over GCC's generic vectors (SSE2 on x86-64, NEON on aarch64, scalar code where there is neither).
// For the portable set's vector code.
using F32x4 = float __attribute__((vector_size(16)));
using U32x4 = uint32_t __attribute__((vector_size(16)));
static inline F32x4 f16x4_to_f32(const void* p) {
  uint16_t h[4];
  std::memcpy(h, p, sizeof(h));
  const U32x4 w = U32x4{h[0], h[1], h[2], h[3]} << 16;
  const U32x4 sign = w & 0x80000000u;
  const U32x4 two_w = w + w;
  const F32x4 normalized = (F32x4)((two_w >> 4) + (0xE0u << 23)) * bits_to_f32(0x7800000u);
  const F32x4 denormalized = (F32x4)((two_w >> 17) | (126u << 23)) - 0.5f;
  const U32x4 small = (U32x4)(two_w < (1u << 27));  // all ones where true
  return (F32x4)(sign | (small & (U32x4)denormalized) | (~small & (U32x4)normalized));
}

// Float -> half, round to nearest even (same algorithm as ggml's scalar path / F16C).
static inline uint16_t f32_to_f16(float f) {
  const float scale_to_inf = bits_to_f32(0x77800000u);
  const float scale_to_zero = bits_to_f32(0x08800000u);
  float base = (f < 0 ? -f : f) * scale_to_inf * scale_to_zero;
  const uint32_t w = f32_to_bits(f);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & 0x80000000u;
  uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = bits_to_f32((bias >> 1) + 0x07800000u) + base;
  const uint32_t bits = f32_to_bits(base);
  const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
  const uint32_t mantissa_bits = bits & 0x00000FFFu;
  const uint32_t nonsign = exp_bits + mantissa_bits;
  return static_cast<uint16_t>((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

static inline float bf16_to_f32(uint16_t h) { return bits_to_f32(static_cast<uint32_t>(h) << 16); }

// Float -> bfloat16, round to nearest even; NaN stays NaN (as ggml_compute_fp32_to_bf16).
static inline uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 64);
  return static_cast<uint16_t>((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

// Rounds through half precision (what ggml does when it converts an f32 operand to f16).
static inline float round_f16(float f) { return f16_to_f32(f32_to_f16(f)); }

}  // namespace gb
