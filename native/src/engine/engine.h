// The engine API: one loaded model with its KV cache, sequences and gears. Not thread-safe for
// mutation: the addon calls create/fork/free/step from one engine thread; the stats accessors may
// be called from any thread.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "forward/forward.h"
#include "gears/gears.h"
#include "sampler/sampler.h"

namespace gb {

struct Model;
class KvCache;
class ThreadPool;

struct EngineOptions {
  int threads = 0;                  // 0: all cores
  int64_t context_length = 0;       // 0: min(model's, 8192)
  int64_t kv_cache_mib = 1024;
  int block_size = 16;
  GearConfig gears;
  std::string isa;                  // "", "portable", "avx2", "avx512"
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

  const Model& model() const { return *model_; }
  int threads() const;
  int64_t context_length() const { return context_length_; }
  const char* isa() const;

  // Returns the new sequence id; *cached receives the prompt tokens found in the prefix cache.
  int32_t create_sequence(const SamplingParams& params, const std::vector<int32_t>& prompt, int32_t* cached);
  int32_t fork_sequence(int32_t seq, const SamplingParams& params);
  void free_sequence(int32_t seq);
  std::vector<StepOutput> step(const std::vector<StepItem>& items, const LateMask& late_mask = nullptr);

  KvStats kv_stats() const;
  GearReport gear_report() const { return gears_->report(); }
  ForwardProfile profile() const;

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

  std::shared_ptr<ThreadPool> pool_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<KvCache> kv_;
  std::unique_ptr<GearManager> gears_;
  int64_t context_length_ = 0;
  std::unordered_map<int32_t, Sequence> seqs_;
  int32_t next_seq_ = 1;
  ForwardProfile profile_;
  mutable std::mutex stats_mutex_;
  KvStats stats_{};
  int64_t prefix_hit_tokens_ = 0;
};

}  // namespace gb
