// Attention over a paged f16 KV cache, per query:
//   out[hd] = softmax(scale * q . K^T) . V
// with q and the softmax weights rounded to f16 precision (what llama.cpp's CPU path computes).
// K blocks are stored transposed, (hd, bs): the scores of a whole block are then a sum of
// broadcast-multiply-adds with no horizontal reductions. V blocks are (bs, hd).
// A table per instruction set, chosen to match the matmul kernel set.
#pragma once
#include <cstdint>

#include "kernels/kernels.h"

namespace gb {

struct AttentionKernels {
  const char* name;
  // The G query heads that share one KV head, in one call (grouped-query attention).
  // q: G x hd floats (already rounded to f16), head g at q + g * hd. k_blocks/v_blocks: the
  // sequence's blocks in order; n_ctx keys are attended (the last block may be partial).
  // scores: scratch of G x scores_stride floats, scores_stride >= n_ctx rounded up to 16.
  // out: G x hd floats.
  void (*attend_group)(const float* q, int G, const uint16_t* const* k_blocks, const uint16_t* const* v_blocks,
                       int n_ctx, int bs, int hd, float scale, float* scores, int scores_stride, float* out);
  // The FFN's SwiGLU, elementwise over n floats: g[i] = silu(g[i]) * u[i] (exp in float, as ggml).
  // Here because it is written once over the same SIMD vocabulary as attention.
  void (*silu_mul)(float* g, const float* u, int64_t n);
  // f16 conversions of n floats, lane by lane the same as common/half.h's f32_to_f16 and
  // round_f16 (round to nearest even, overflow to infinity; a NaN stays a NaN, its payload may
  // differ): the K and V stores of the cache and q's rounding before attention. In the vector sets
  // they take one conversion instruction per vector where the scalar versions take about 20
  // integer and float operations per value.
  void (*to_f16)(const float* x, uint16_t* out, int64_t n);
  void (*round_f16)(const float* x, float* out, int64_t n);
};

const AttentionKernels* attention_portable();
const AttentionKernels* attention_avx2();    // nullptr where not built
const AttentionKernels* attention_avx512();  // nullptr where not built
const AttentionKernels* attention_neon();    // nullptr where not built
// The attention kernels that go with a matmul kernel set.
const AttentionKernels& attention_for(const KernelSet& k);

}  // namespace gb
