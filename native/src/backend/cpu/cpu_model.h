// What the CPU forward pass reads: the hyper-parameters, the kernel set the weights were repacked
// for, the weights themselves and tables derived once (RoPE rotations per position).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/cpu/weights.h"
#include "kernels/kernels.h"
#include "model/config.h"

namespace gb {

struct CpuModel {
  LlamaConfig config;
  const KernelSet* kernels = nullptr;
  std::unique_ptr<Weights> weights;
  int64_t max_positions = 0;  // the context length: rows of the RoPE tables, attention scratch
  // RoPE as ggml computes it: theta_i = pos * base^(-2i/d) / freq_factor_i * freq_scale.
  std::vector<float> rope_cos;  // (max_positions, head_dim / 2)
  std::vector<float> rope_sin;
};

}  // namespace gb
