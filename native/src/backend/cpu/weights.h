// Weights: the model's tensors in kernel-ready layouts, owned in one anonymous mapping (huge pages
// where the kernel allows). Built from the mmapped GGUF, which is unmapped once repacked.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backend/cpu/huge_map.h"
#include "kernels/kernels.h"
#include "model/config.h"

namespace gb {

class GgufFile;
class ThreadPool;

struct LayerWeights {
  const float* attn_norm;  // (n_embd)
  Matrix wq;               // (q_dim) x n_embd
  Matrix wk;               // (kv_dim) x n_embd
  Matrix wv;               // (kv_dim) x n_embd
  Matrix wo;               // (n_embd) x q_dim
  const float* ffn_norm;   // (n_embd)
  Matrix w_gate;           // (n_ff) x n_embd
  Matrix w_up;             // (n_ff) x n_embd
  Matrix w_down;           // (n_embd) x n_ff
};

class Weights {
 public:
  // Validates every tensor against cfg, then repacks into owned memory using `pool`.
  Weights(const GgufFile& file, const LlamaConfig& cfg, const KernelSet& kernels, ThreadPool& pool,
          const std::function<void(double)>& progress);
  Weights(const Weights&) = delete;
  Weights& operator=(const Weights&) = delete;

  Matrix token_embd;          // n_vocab x n_embd
  std::vector<LayerWeights> layers;
  const float* output_norm = nullptr;  // (n_embd)
  Matrix output;              // n_vocab x n_embd (token_embd when tied)
  const float* rope_freqs = nullptr;   // (head_dim / 2) or nullptr

  size_t bytes() const { return bytes_; }
  int64_t parameter_count() const { return params_; }

 private:
  HugeMap mem_;
  size_t bytes_ = 0;
  int64_t params_ = 0;
};

}  // namespace gb
