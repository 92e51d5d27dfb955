// The engine API: one loaded model with its KV cache, sequences and gears, device-neutral: it keeps
// the block tables, the prefix cache, the gear ladder and plan cache and the samplers, and hands
// every device matter (weights, KV storage, plans, the forward pass) to its Backend. Not
// thread-safe for mutation: the addon calls create/fork/free/step from one engine thread; the
// stats accessors and the const queries may be called from any thread.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "gears/ladder.h"
#include "gears/plan_cache.h"
#include "model/model.h"
#include "sampler/sampler.h"

namespace gb {

class KvCache;

// What the caller (the addon, from the config schema's values) decides; the engine has no
// defaults of its own for these.
struct EngineOptions {
  int threads = 0;                  // 0: all cores
  int64_t context_length = 0;       // tokens per sequence, capped by the model's trained context
  int64_t kv_cache_mib = 0;
  int block_size = 16;              // tokens per KV block (the prefix cache's granularity)
  GearConfig gears;
  std::string isa;                  // "", "portable", "avx2", "avx512"
  // Token ids the sampler may pick: [0, sample_vocab). 0 = every embedding row. A file whose
  // embedding is padded past its tokenizer's vocabulary passes the tokenizer's count, so the
  // padding ids (which no tokenizer can decode) are never sampled.
  int64_t sample_vocab = 0;
};

struct StepItem {
  int32_t seq;
  std::vector<int32_t> tokens;
  bool sample = false;
  bool want_logits = false;
  // Allowed next tokens (bitmask, ceil(n_vocab / 32) words); empty = every token.
  std::vector<uint32_t> mask;
};

// Masks that arrive while the step's forward pass runs: called on the engine thread when item i is
// about to be sampled; returns its mask (ceil(n_vocab / 32) words) or nullptr for none. It may block
// until the caller has computed the masks, and throws to abandon the step.
using LateMask = std::function<const uint32_t*(size_t item)>;

struct StepOutput {
  int32_t seq;
  SampleResult sample;  // token -1 when not sampled
  std::vector<float> logits;
};

struct KvStats {
  int block_size;
  int64_t blocks_total, blocks_used, blocks_cached;
  int64_t sequences;
  int64_t prefix_hit_tokens;
};

class Engine {
 public:
  using Progress = std::function<void(double, const std::string&)>;
  Engine(const std::string& path, const EngineOptions& options, const Progress& progress);
  ~Engine();

  const Model& model() const { return model_; }
  DeviceInfo device() const { return device_; }
  const WeightsInfo& weights() const { return weights_; }
  int64_t context_length() const { return context_length_; }
  int64_t sample_vocab() const { return sample_vocab_; }

  // KV blocks a request may hold at most: `n` choices of prompt_tokens + max_new_tokens tokens,
  // counting the prompt's full blocks once (choices fork after all but the last prompt token and
  // share them; copy-on-write starts at the first partial block). The scheduler admits a request
  // only once this many blocks are unreserved: the engine fails a whole step when the cache runs
  // out and nothing is preempted.
  // (Static: it needs only the block size, so the addon can answer it without the engine thread.)
  static int64_t reservation_blocks(int block_size, int64_t prompt_tokens, int64_t max_new_tokens, int64_t n);
  int block_size() const;

  // Returns the new sequence id; *cached receives the prompt tokens found in the prefix cache.
  int32_t create_sequence(const SamplingParams& params, const std::vector<int32_t>& prompt, int32_t* cached);
  int32_t fork_sequence(int32_t seq, const SamplingParams& params);
  void free_sequence(int32_t seq);
  std::vector<StepOutput> step(const std::vector<StepItem>& items, const LateMask& late_mask = nullptr);

  KvStats kv_stats() const;
  GearReport gear_report() const;
  ForwardProfile profile() const { return backend_->profile(); }

 private:
  struct Sequence {
    std::vector<int32_t> blocks;
    std::vector<int32_t> tokens;    // tokens whose K/V are stored
    std::vector<uint64_t> hashes;   // hash of each full block
    std::unique_ptr<Sampler> sampler;
  };

  Sequence& get(int32_t seq);
  void publish_full_blocks(Sequence& s);
  uint64_t prefix_hash(uint64_t parent, const int32_t* tokens, int n) const;
  uint64_t prefix_hash_mask_ = ~0ull;  // GEARBOX_PREFIX_HASH_BITS (tests)
  void update_stats();

  std::unique_ptr<Backend> backend_;
  Model model_;
  DeviceInfo device_;
  WeightsInfo weights_;
  std::unique_ptr<KvCache> kv_;
  std::unique_ptr<GearLadder> ladder_;
  std::unique_ptr<PlanCache> gears_;
  int64_t context_length_ = 0;
  int64_t sample_vocab_ = 0;  // see EngineOptions::sample_vocab
  std::unordered_map<int32_t, Sequence> seqs_;
  int32_t next_seq_ = 1;
  mutable std::mutex stats_mutex_;
  KvStats stats_{};
  int64_t prefix_hit_tokens_ = 0;
};

}  // namespace gb
