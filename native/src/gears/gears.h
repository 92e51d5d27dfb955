// Gears: compiled plans per shape bucket, kept warm. Steps look up the gear for their size; a gear
// that is not ready never makes a step wait: the step runs on the always-present generic plan (a
// miss, counted) and the gear is built by a background thread. Plans live in an LRU bounded by
// bytes; their autotune results persist under cacheDir so a restart is warm.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gears/plan.h"

namespace gb {

struct Model;

struct GearConfig {
  std::vector<int> prefill{16, 32, 64, 128, 256, 512};
  std::vector<int> decode{1, 2, 4, 8, 16};
  bool warm_all = true;
  bool autotune = true;
  bool padded = false;  // static-graph emulation: compute whole buckets (for comparison only)
  std::string cache_dir;  // empty: no persistence
  size_t max_resident_bytes = size_t{2} << 30;
};

struct GearStat {
  GearKey key;
  std::string state;  // ready | building | evicted | cold
  int64_t hits = 0, misses = 0, evictions = 0;
  double compile_ms = 0, autotune_ms = 0, warm_ms = 0;
  size_t resident_bytes = 0;
  int64_t real_tokens = 0, padded_tokens = 0;
};

struct GearReport {
  std::vector<GearStat> gears;
  int64_t fallbacks = 0;
  std::map<int, int64_t> observed_prefill, observed_decode;
  std::string cache_status;  // what happened to persisted plans at load (e.g. "warm", "rebuilt: corrupt")
  double warmup_ms = 0;
};

class GearManager {
 public:
  GearManager(const Model& model, const GearConfig& config, int threads);
  ~GearManager();

  // Compiles the configured gears now (start-up), reporting progress; persists autotune results.
  void warm_up(const std::function<void(double, const std::string&)>& progress);

  int max_tokens() const { return config_.prefill.back(); }
  int max_sequences() const { return config_.decode.back(); }

  // The plan for a pass of `tokens` tokens from `seqs` sequences (decode when tokens == seqs).
  // Never blocks on a build: returns the generic plan on a miss and queues the build.
  std::shared_ptr<const Plan> acquire(int tokens, int seqs, bool decode);

  GearReport report() const;

 private:
  struct Entry {
    GearKey key;
    std::shared_ptr<Plan> plan;
    GearStat stat;
    uint64_t last_use = 0;
  };

  GearKey key_for(int tokens, int seqs, bool decode) const;
  std::shared_ptr<Plan> build(const GearKey& key, bool allow_autotune);
  TileShape tune(int kind, int64_t M);
  void builder_loop();
  // Makes a built plan the gear's ready plan (mutex_ held), then evicts down to the byte bound.
  void install_locked(const GearKey& key, std::shared_ptr<Plan> plan);
  void evict_locked();
  void load_cache();
  void save_cache();
  std::string cache_path() const;

  const Model& model_;
  GearConfig config_;
  int threads_;
  std::shared_ptr<Plan> generic_;
  mutable std::mutex mutex_;
  std::map<std::pair<int, int>, Entry> entries_;
  std::map<std::string, TileShape> tuned_;  // "format N K M" -> tile
  std::deque<GearKey> queue_;
  std::condition_variable queue_cv_;
  std::thread builder_;
  bool stop_ = false;
  uint64_t clock_ = 0;
  int64_t fallbacks_ = 0;
  std::map<int, int64_t> observed_prefill_, observed_decode_;
  size_t resident_ = 0;
  std::string cache_status_ = "none";
  double warmup_ms_ = 0;
  bool dirty_ = false;
};

}  // namespace gb
