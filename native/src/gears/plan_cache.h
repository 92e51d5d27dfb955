// Gears kept warm: one compiled plan per gear of the ladder, in an LRU bounded by bytes. A step
// looks up the plan for its size; a gear that is not ready never makes a step wait: the step runs
// on the always-present generic plan (a miss, counted) and the gear is queued for the builder
// thread. How a plan is compiled and what is persisted is the caller's (the backend's) business.
#pragma once
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

#include "gears/gear_key.h"
#include "gears/ladder.h"
#include "backend/backend.h"

namespace gb {

// The gear options of a load. The ladders come from the caller (the config schema's defaults).
struct GearConfig {
  std::vector<int> prefill;
  std::vector<int> decode;
  bool warm_all = true;
  bool autotune = true;
  bool padded = false;  // static-graph emulation: compute whole buckets (for comparison only)
  std::string cache_dir;  // empty: no persistence
  size_t max_resident_bytes = size_t{2} << 30;
};

// cold: never built (warm "none"); building: queued or compiling; evicted: dropped by the LRU.
enum class GearState : uint8_t { Cold, Building, Ready, Evicted };
const char* gear_state_name(GearState s);

struct GearStat {
  GearKey key;
  GearState state = GearState::Cold;
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

class PlanCache {
 public:
  // Compiles the plan of a gear (bucket -1: the generic plan); `tune` allows autotuning. May throw.
  using Compile = std::function<std::shared_ptr<BackendPlan>(const GearKey& key, bool tune)>;
  // Called after gears were built (warm-up, each background build): persists what is worth keeping.
  using Persist = std::function<void()>;
  using Progress = std::function<void(double, const std::string&)>;

  // Builds the generic plan now and starts the builder thread. Ready plans are bounded by bytes and,
  // when max_plans > 0 (a device that holds only so many compiled graphs), by count.
  PlanCache(const GearLadder& ladder, size_t max_resident_bytes, int max_plans, Compile compile, Persist persist);
  ~PlanCache();
  PlanCache(const PlanCache&) = delete;
  PlanCache& operator=(const PlanCache&) = delete;

  // Start-up: compiles every gear of the ladder now when `all` (else they build on first use),
  // reporting progress, then persists.
  void warm_up(bool all, const Progress& progress);

  // The plan for a pass of `tokens` tokens from `seqs` sequences (decode when tokens == seqs).
  // Never blocks on a build: returns the generic plan on a miss and queues the build.
  std::shared_ptr<const BackendPlan> acquire(int tokens, int seqs, bool decode);

  // Everything but cache_status (the store's).
  GearReport report() const;

 private:
  struct Entry {
    std::shared_ptr<BackendPlan> plan;
    GearStat stat;
    uint64_t last_use = 0;
  };

  void builder_loop();
  // Makes a built plan the gear's ready plan (mutex_ held), then evicts down to the byte bound.
  void install_locked(const GearKey& key, std::shared_ptr<BackendPlan> plan);
  void evict_locked();

  const GearLadder& ladder_;
  const size_t max_resident_bytes_;
  const int max_plans_;
  Compile compile_;
  Persist persist_;
  std::shared_ptr<BackendPlan> generic_;
  mutable std::mutex mutex_;
  std::map<GearKey, Entry> entries_;
  std::deque<GearKey> queue_;
  std::condition_variable queue_cv_;
  std::thread builder_;
  bool stop_ = false;
  uint64_t clock_ = 0;
  int64_t fallbacks_ = 0;
  std::map<int, int64_t> observed_prefill_, observed_decode_;
  size_t resident_ = 0;
  int ready_ = 0;
  double warmup_ms_ = 0;
};

}  // namespace gb
