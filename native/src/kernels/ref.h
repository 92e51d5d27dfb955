// Plain reference kernels on ggml's original block layouts: the yardstick every optimized kernel is
// tested against, and the portable fallback for the row-layout formats. Accumulation in double.
#pragma once
#include <cstdint>

#include "gguf/ggml_type.h"
#include "kernels/blocks.h"

namespace gb {

// ggml's nearest_int: round to nearest, ties to even (|x| < 2^22).
static inline int nearest_int(float fval) {
  float val = fval + 12582912.f;
  int32_t i;
  __builtin_memcpy(&i, &val, sizeof(int32_t));
  return (i & 0x007fffff) - 0x00400000;
}

// out[0..n) = dequantized elements of a row stored in ggml type t.
void ref_dequantize_row(GgmlType t, const void* src, float* out, int64_t n);

// Activation quantizers with ggml's x86 rounding. For q8_0 also the per-block sums of the quants.
void ref_quantize_q8_0(const float* x, int64_t n, int8_t* qs, float* d, int32_t* sums);
void ref_quantize_q8_K(const float* x, int64_t n, BlockQ8_K* out);

// Dot of one weight row (ggml layout of type t) with one activation row already in t's activation
// format (q8_0: qs + d arrays; q8_K blocks; f16/bf16 halves; f32 floats).
double ref_vec_dot_q8_0(const BlockQ8_0* w, const int8_t* xq, const float* xd, int64_t K);
double ref_vec_dot_q4_0(const BlockQ4_0* w, const int8_t* xq, const float* xd, int64_t K);
double ref_vec_dot_q4_K(const BlockQ4_K* w, const BlockQ8_K* x, int64_t K);
double ref_vec_dot_q6_K(const BlockQ6_K* w, const BlockQ8_K* x, int64_t K);
double ref_vec_dot_f16(const uint16_t* w, const uint16_t* x, int64_t K);
double ref_vec_dot_bf16(const uint16_t* w, const uint16_t* x, int64_t K);
double ref_vec_dot_f32(const float* w, const float* x, int64_t K);

// y[m * N + n] = W[n] . x[m] computed as llama.cpp does on CPU: x rounded to the activation format
// of t, then the reference dot. w is N rows of K in ggml layout.
void ref_matmul(GgmlType t, const void* w, int64_t N, int64_t K, const float* x, int64_t M, float* y);

}  // namespace gb
