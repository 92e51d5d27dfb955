// Token sampling on one sequence's logits: logit bias, repetition / presence / frequency penalties,
// then greedy or temperature + top-k + top-p + min-p, with a per-sequence seeded RNG so the same
// seed gives the same tokens whatever else shares the batch. Log-probabilities are those of the
// distribution after bias and penalties, before temperature and truncation.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gb {

struct SamplingParams {
  float temperature = 1.f;  // 0 = greedy
  int top_k = 0;            // 0 = off
  float top_p = 1.f;        // 1 = off
  float min_p = 0.f;        // 0 = off
  float presence_penalty = 0.f;
  float frequency_penalty = 0.f;
  float repetition_penalty = 1.f;
  std::vector<std::pair<int32_t, float>> logit_bias;
  uint64_t seed = 0;
  int top_logprobs = 0;
  bool logprobs = false;
};

struct TokenLogprob {
  int32_t token;
  float logprob;
};

struct SampleResult {
  int32_t token = -1;
  float logprob = 0.f;
  bool has_logprob = false;
  std::vector<TokenLogprob> top;
};

class Sampler {
 public:
  Sampler(const SamplingParams& params, int64_t n_vocab);

  // Tokens the sequence has seen (prompt and generated): for the repetition penalty.
  void observe(int32_t token);
  // Samples from logits (modified in place) and records the token as generated. With `allowed`
  // (one bit per vocabulary token, ceil(n_vocab / 32) words, bit i % 32 of word i / 32), tokens
  // whose bit is clear get -inf after bias and penalties, so greedy, temperature, top-k/p/min-p and
  // the log-probabilities all see only the allowed tokens (grammar-constrained decoding). Throws
  // when the mask allows no token.
  SampleResult sample(float* logits, const uint32_t* allowed = nullptr);

  const SamplingParams& params() const { return p_; }

 private:
  double uniform();
  // Draws a position from the weights w[0..n) (their sum given).
  int64_t draw(const float* w, int64_t n, double sum);
  int32_t sample_truncated(const float* logits, int64_t n, float mx, float inv_t);

  SamplingParams p_;
  int64_t n_vocab_;
  uint64_t s_[4];
  std::unordered_map<int32_t, int> generated_;
  std::vector<uint8_t> seen_;
  std::vector<int32_t> seen_list_;
  std::vector<int32_t> idx_;
  std::vector<float> probs_;
  std::vector<float> exps_;  // weights in token order (a full-vocabulary pass)
};

}  // namespace gb
