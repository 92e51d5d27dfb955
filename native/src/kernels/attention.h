// Attention over a paged f16 KV cache, one query at a time:
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
  // q: hd floats (already rounded to f16). k_blocks/v_blocks: the sequence's blocks in order;
  // n_ctx keys are attended (the last block may be partial). scores: scratch of >= n_ctx floats.
  void (*attend_f16)(const float* q, const uint16_t* const* k_blocks, const uint16_t* const* v_blocks, int n_ctx,
                     int bs, int hd, float scale, float* scores, float* out);
};

const AttentionKernels* attention_portable();
const AttentionKernels* attention_avx512();  // nullptr where not built
// The attention kernels that go with a matmul kernel set.
const AttentionKernels& attention_for(const KernelSet& k);

}  // namespace gb
