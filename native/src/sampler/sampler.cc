#include "sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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

// exp(a) for a <= 0 in float, relative error ~1e-7 (Cephes' expf: a = k ln 2 + r, |r| <= ln 2 / 2,
// a degree-6 polynomial in r, then 2^k put into the exponent bits). Arguments below -87, -inf
// (masked tokens) included, give exactly 0. Written once over GCC's generic vectors, 4 lanes (the
// baseline width of SSE2 and NEON, which this file is built for); the scalar tail computes the
// same operations. std::exp in double cost ~15 ns a token, ~2 ms a draw over a 128k vocabulary.
// (Plain loops with these selects stay scalar: GCC keeps float compares out of if-conversion
// unless -fno-trapping-math.)
typedef float F4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));

template <class F, class I>
inline F exp_le0_t(F a) {
  const auto low = a < -87.f;
  const F x = low ? F{} - 87.f : a;
  const F k = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;  // round to nearest
  const F r = (x - k * 0.693359375f) + k * 2.12194440e-4f;
  F p = F{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  I bits;
  if constexpr (sizeof(F) == sizeof(float)) {
    bits = (static_cast<I>(k) + 127) << 23;
  } else {
    bits = (__builtin_convertvector(k, I) + 127) << 23;
  }
  F scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return low ? F{} : p * scale;
}

inline float exp_le0(float a) { return exp_le0_t<float, int32_t>(a); }

// out[i] = exp((x[i] - mx) * s) for i < n (mx >= every x[i], s > 0).
void exp_scaled(const float* x, int64_t n, float mx, float s, float* out) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    F4 v;
    std::memcpy(&v, x + i, sizeof(v));
    const F4 e = exp_le0_t<F4, I4>((v - mx) * s);
    std::memcpy(out + i, &e, sizeof(e));
  }
  for (; i < n; i++) out[i] = exp_le0((x[i] - mx) * s);
}

// The sum of w[0..n) in double, four running sums (they vectorize).
double sum_of(const float* w, int64_t n) {
  double sum[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; j++) sum[j] += w[i + j];
  for (; i < n; i++) sum[0] += w[i];
  return (sum[0] + sum[1]) + (sum[2] + sum[3]);
}

// The largest of x[0..n) (NaNs skipped, as by std::max(mx, x)); -inf when n = 0.
float max_of(const float* x, int64_t n) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  F4 m = F4{} + neg_inf;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    F4 v;
    std::memcpy(&v, x + i, sizeof(v));
    m = m < v ? v : m;
  }
  float mx = neg_inf;
  for (int j = 0; j < 4; j++) mx = std::max(mx, m[j]);
  for (; i < n; i++) mx = std::max(mx, x[i]);
  return mx;
}

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

int64_t Sampler::draw(const float* w, int64_t n, double sum) {
  const double u = uniform() * sum;
  // Rounding fallback: the last entry with mass (never a masked token, whose mass is 0).
  int64_t last = n - 1;
  while (last > 0 && w[last] <= 0.f) last--;
  double acc = 0;
  for (int64_t i = 0; i < n; i++) {
    acc += w[i];
    if (u < acc) return i;
  }
  return last;
}

// Top-k, top-p and min-p: the n best tokens (all when n = V), cut to the nucleus, drawn from.
int32_t Sampler::sample_truncated(const float* logits, int64_t n, float mx, float inv_t) {
  const int64_t V = n_vocab_;
  idx_.resize(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; i++) idx_[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  // The weight of the i-th candidate: over the whole vocabulary read from the pass that gave the
  // total, over a top-k set computed as needed.
  auto weight = [&](int64_t i) {
    const int32_t t = idx_[static_cast<size_t>(i)];
    return n == V ? exps_[static_cast<size_t>(t)] : exp_le0((logits[t] - mx) * inv_t);
  };
  // Total mass of the whole (or top-k) set, needed for top-p before sorting everything.
  double total = 0;
  if (n == V) {
    exps_.resize(static_cast<size_t>(V));
    exp_scaled(logits, V, mx, inv_t, exps_.data());
    total = sum_of(exps_.data(), V);
  } else {
    std::nth_element(idx_.begin(), idx_.begin() + n, idx_.end(), better);
    for (int64_t i = 0; i < n; i++) total += weight(i);
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
    for (int64_t i = 0; i < sorted; i++) {
      const double e = weight(i);  // the best token's is exp(0) = 1
      if (p_.min_p > 0.f && e < p_.min_p && i > 0) {
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
  for (int64_t i = 0; i < keep; i++) sum += probs_[static_cast<size_t>(i)] = weight(i);
  return idx_[static_cast<size_t>(draw(probs_.data(), keep, sum))];
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
    const float mx = max_of(logits, V);
    exps_.resize(static_cast<size_t>(V));
    exp_scaled(logits, V, mx, 1.f, exps_.data());
    log_z = mx + std::log(sum_of(exps_.data(), V));
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
    // ---- greedy: the first maximum. The max in vectors, then its first position: the plain
    // running argmax (a compare against a reloaded logits[chosen] per token) took 0.47 ms over
    // 128k tokens, more than a whole temperature draw. NaNs never win; all NaN gives token 0.
    const float mx = max_of(logits, V);
    for (int64_t i = 0; i < V; i++)
      if (logits[i] == mx) {
        chosen = static_cast<int32_t>(i);
        break;
      }
  } else {
    // ---- temperature, then truncation on the tempered distribution
    const float inv_t = 1.f / p_.temperature;
    const float mx = max_of(logits, V);
    int64_t n = V;
    if (p_.top_k > 0 && p_.top_k < V) n = p_.top_k;
    if (n == V && p_.top_p >= 1.f) {
      // The whole distribution (the API's default) or min-p alone: one pass of exps in token order
      // and one draw; no order is needed, so nothing is sorted. min-p keeps the tokens whose
      // weight relative to the best (exp(0) = 1) is at least min_p, the same set the sorted walk
      // keeps.
      exps_.resize(static_cast<size_t>(V));
      exp_scaled(logits, V, mx, inv_t, exps_.data());
      if (p_.min_p > 0.f)
        for (float& e : exps_) e = e < p_.min_p ? 0.f : e;
      chosen = static_cast<int32_t>(draw(exps_.data(), V, sum_of(exps_.data(), V)));
    } else {
      chosen = sample_truncated(logits, n, mx, inv_t);
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
