// A loaded model: hyper-parameters (Config), kernel-ready tensors (Weights), the kernel set they were
// packed for, and tables derived once (RoPE rotations per position).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "model/config.h"
#include "model/weights.h"

namespace gb {

class ThreadPool;

struct Model {
  std::string path;
  size_t file_bytes = 0;
  LlamaConfig config;
  const KernelSet* kernels = nullptr;
  std::unique_ptr<Weights> weights;
  int64_t max_positions = 0;
  // RoPE as ggml computes it: theta_i = pos * base^(-2i/d) / freq_factor_i * freq_scale.
  std::vector<float> rope_cos;  // (max_positions, head_dim / 2)
  std::vector<float> rope_sin;
  uint64_t shape_hash = 0;  // hash of hyper-parameters and tensor types (keys persisted plans)

  // mmaps, validates and repacks the file. Throws EngineError with a clear message on any problem.
  static std::unique_ptr<Model> load(const std::string& path, int64_t max_positions, const KernelSet& kernels,
                                     ThreadPool& pool, const std::function<void(double)>& progress);
};

}  // namespace gb
