#include "sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace gb {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Sampler::Sampler(const SamplingParams& params, int64_t n_vocab) : p_(params), n_vocab_(n_vocab) {
  uint64_t x = params.seed;
  for (auto& s : s_) s = splitmix64(x);
  seen_.assign(static_cast<size_t>(n_vocab), 0);
}

double Sampler::uniform() {
  // xoshiro256**
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return static_cast<double>(result >> 11) * (1.0 / 9007199254740992.0);
}

void Sampler::observe(int32_t token) {
  if (token < 0 || token >= n_vocab_) return;
  if (!seen_[static_cast<size_t>(token)]) {
    seen_[static_cast<size_t>(token)] = 1;
    seen_list_.push_back(token);
  }
}

SampleResult Sampler::sample(float* logits, const uint32_t* allowed) {
  const int64_t V = n_vocab_;
  // ---- bias and penalties
  for (const auto& [tok, bias] : p_.logit_bias)
    if (tok >= 0 && tok < V) logits[tok] += bias;
  if (p_.repetition_penalty != 1.f) {
    for (int32_t t : seen_list_) {
      float& l = logits[t];
      l = l > 0 ? l / p_.repetition_penalty : l * p_.repetition_penalty;
    }
  }
  if (p_.presence_penalty != 0.f || p_.frequency_penalty != 0.f) {
    for (const auto& [tok, count] : generated_) logits[tok] -= p_.presence_penalty + p_.frequency_penalty * count;
  }
  // ---- token mask (grammar)
  const bool wants_logprobs = p_.logprobs || p_.top_logprobs > 0;
  if (allowed) {
    const int64_t words = (V + 31) / 32;
    // The last word's bits beyond the vocabulary do not count.
    auto word = [&](int64_t w) -> uint32_t {
      const int64_t left = V - w * 32;
      return left >= 32 ? allowed[w] : allowed[w] & ((1u << left) - 1u);
    };
    if (p_.temperature <= 0.f && !wants_logprobs) {
      // Greedy without logprobs: the first maximum among the allowed tokens, visiting only their
      // bits (a JSON structure state allows a handful of the 128k tokens); logits stay untouched.
      int32_t best = -1;
      for (int64_t w = 0; w < words; w++) {
        const uint32_t bits = word(w);
        if (bits == 0xffffffffu) {  // inside a JSON string most words allow all 32 tokens
          const int32_t base = static_cast<int32_t>(w * 32);
          for (int32_t t = base; t < base + 32; t++)
            if (best < 0 || logits[t] > logits[best]) best = t;
          continue;
        }
        for (uint32_t b = bits; b != 0; b &= b - 1) {
          const int32_t t = static_cast<int32_t>(w * 32 + __builtin_ctz(b));
          if (best < 0 || logits[t] > logits[best]) best = t;
        }
      }
      if (best < 0) fail("the token mask allows no token");
      SampleResult r;
      r.token = best;
      generated_[best]++;
      observe(best);
      return r;
    }
    // Otherwise masked tokens get -inf: whole words at once, mixed words bit by bit.
    const float neg_inf = -std::numeric_limits<float>::infinity();
    bool any = false;
    for (int64_t w = 0; w < words; w++) {
      const uint32_t bits = word(w);
      float* row = logits + w * 32;
      const int n = static_cast<int>(std::min<int64_t>(32, V - w * 32));
      if (bits == 0) {
        std::fill(row, row + n, neg_inf);
        continue;
      }
      any = true;
      for (uint32_t masked = ~bits & (n == 32 ? 0xffffffffu : (1u << n) - 1u); masked != 0; masked &= masked - 1)
        row[__builtin_ctz(masked)] = neg_inf;
    }
    if (!any) fail("the token mask allows no token");
  }

  SampleResult r;
  // ---- log-probabilities of the processed distribution
  double log_z = 0;
  if (wants_logprobs) {
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < V; i++) mx = std::max(mx, logits[i]);
    double sum = 0;
    for (int64_t i = 0; i < V; i++) sum += std::exp(static_cast<double>(logits[i] - mx));
    log_z = mx + std::log(sum);
    if (p_.top_logprobs > 0) {
      const int n = static_cast<int>(std::min<int64_t>(p_.top_logprobs, V));
      idx_.resize(static_cast<size_t>(V));
      for (int64_t i = 0; i < V; i++) idx_[static_cast<size_t>(i)] = static_cast<int32_t>(i);
      auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
      std::partial_sort(idx_.begin(), idx_.begin() + n, idx_.end(), better);
      for (int i = 0; i < n; i++) r.top.push_back({idx_[static_cast<size_t>(i)], static_cast<float>(logits[idx_[static_cast<size_t>(i)]] - log_z)});
    }
  }

  int32_t chosen = 0;
  if (p_.temperature <= 0.f) {
    // ---- greedy: first maximum
    for (int64_t i = 1; i < V; i++)
      if (logits[i] > logits[chosen]) chosen = static_cast<int32_t>(i);
  } else {
    // ---- temperature, then truncation on the tempered distribution
    const float inv_t = 1.f / p_.temperature;
    idx_.resize(static_cast<size_t>(V));
    for (int64_t i = 0; i < V; i++) idx_[static_cast<size_t>(i)] = static_cast<int32_t>(i);
    auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    int64_t n = V;
    if (p_.top_k > 0 && p_.top_k < V) n = p_.top_k;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < V; i++) mx = std::max(mx, logits[i]);
    // Total mass of the whole (or top-k) set, needed for top-p before sorting everything.
    double total = 0;
    if (n == V) {
      for (int64_t i = 0; i < V; i++) total += std::exp(static_cast<double>((logits[i] - mx) * inv_t));
    } else {
      std::nth_element(idx_.begin(), idx_.begin() + n, idx_.end(), better);
      for (int64_t i = 0; i < n; i++) total += std::exp(static_cast<double>((logits[idx_[static_cast<size_t>(i)]] - mx) * inv_t));
    }
    // Sort a growing prefix until it holds the top-p mass (exact, and cheap when p < 1 is small).
    int64_t sorted = std::min<int64_t>(n, 256);
    int64_t keep = n;
    for (;;) {
      if (sorted < n) std::nth_element(idx_.begin(), idx_.begin() + sorted, idx_.begin() + n, better);
      std::sort(idx_.begin(), idx_.begin() + sorted, better);
      if (p_.top_p >= 1.f && p_.min_p <= 0.f) {
        keep = n;
        break;
      }
      double cum = 0;
      keep = -1;
      const double pmax = std::exp(0.0);
      for (int64_t i = 0; i < sorted; i++) {
        const double e = std::exp(static_cast<double>((logits[idx_[static_cast<size_t>(i)]] - mx) * inv_t));
        if (p_.min_p > 0.f && e < p_.min_p * pmax && i > 0) {
          keep = i;
          break;
        }
        cum += e / total;
        if (p_.top_p < 1.f && cum >= p_.top_p) {
          keep = i + 1;
          break;
        }
      }
      if (keep > 0 || sorted == n) {
        if (keep <= 0) keep = n;
        break;
      }
      sorted = std::min<int64_t>(n, sorted * 4);
    }
    probs_.resize(static_cast<size_t>(keep));
    double sum = 0;
    for (int64_t i = 0; i < keep; i++) {
      const double e = std::exp(static_cast<double>((logits[idx_[static_cast<size_t>(i)]] - mx) * inv_t));
      probs_[static_cast<size_t>(i)] = static_cast<float>(e);
      sum += e;
    }
    double u = uniform() * sum, acc = 0;
    chosen = idx_[static_cast<size_t>(keep - 1)];
    // Rounding fallback: the last token with mass (never a masked one, whose mass is 0).
    for (int64_t i = keep - 1; i > 0 && probs_[static_cast<size_t>(i)] <= 0.f; i--) chosen = idx_[static_cast<size_t>(i - 1)];
    for (int64_t i = 0; i < keep; i++) {
      acc += probs_[static_cast<size_t>(i)];
      if (u < acc) {
        chosen = idx_[static_cast<size_t>(i)];
        break;
      }
    }
  }

  r.token = chosen;
  if (p_.logprobs || p_.top_logprobs > 0) {
    r.logprob = static_cast<float>(logits[chosen] - log_z);
    r.has_logprob = true;
  }
  generated_[chosen]++;
  observe(chosen);
  return r;
}

}  // namespace gb
