// Llama 3.x hyper-parameters, read from the file (not run-time options) and checked for
// consistency before any tensor is touched.
#pragma once
#include <cstdint>
#include <string>

namespace gb {

class GgufFile;

// The largest head dimension a model may have (the forward pass keeps one head's values on the stack).
constexpr int64_t kMaxHeadDim = 512;

struct LlamaConfig {
  std::string architecture;  // "llama"
  std::string name;
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ff = 0;
  float rope_theta = 10000.f;
  float rope_freq_scale = 1.f;  // linear rope scaling (1 = none)
  float rms_eps = 1e-5f;
  bool tied_output = false;
  bool has_rope_freqs = false;

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }

  static LlamaConfig from_gguf(const GgufFile& file);
};

}  // namespace gb
