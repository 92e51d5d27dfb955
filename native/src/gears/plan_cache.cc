#include "gears/plan_cache.h"

#include <chrono>
#include <exception>

namespace gb {
namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

const char* gear_state_name(GearState s) {
  switch (s) {
    case GearState::Cold: return "cold";
    case GearState::Building: return "building";
    case GearState::Ready: return "ready";
    case GearState::Evicted: return "evicted";
  }
  return "cold";
}

PlanCache::PlanCache(const GearLadder& ladder, size_t max_resident_bytes, int max_plans, Compile compile,
                     Persist persist)
    : ladder_(ladder),
      max_resident_bytes_(max_resident_bytes),
      max_plans_(max_plans),
      compile_(std::move(compile)),
      persist_(std::move(persist)) {
  for (const GearKey& k : ladder_.keys()) entries_[k].stat.key = k;
  // The generic plan: the largest shapes, default micro-kernels, built now (no autotune).
  generic_ = compile_({Phase::Prefill, -1}, false);
  builder_ = std::thread([this] { builder_loop(); });
}

PlanCache::~PlanCache() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (builder_.joinable()) builder_.join();
}

void PlanCache::warm_up(bool all, const Progress& progress) {
  const double t0 = now_ms();
  const std::vector<GearKey> keys = all ? ladder_.keys() : std::vector<GearKey>{};
  for (size_t i = 0; i < keys.size(); i++) {
    const GearKey& k = keys[i];
    if (progress)
      progress(static_cast<double>(i) / keys.size(), std::string("gear ") + phase_name(k.phase) + " " + std::to_string(k.bucket));
    auto plan = compile_(k, true);
    std::lock_guard<std::mutex> lock(mutex_);
    install_locked(k, std::move(plan));
  }
  if (progress) progress(1.0, "gears ready");
  warmup_ms_ = now_ms() - t0;
  persist_();
}

std::shared_ptr<const BackendPlan> PlanCache::acquire(int tokens, int seqs, bool decode) {
  const GearKey key = ladder_.key_for(tokens, seqs, decode);
  std::lock_guard<std::mutex> lock(mutex_);
  (decode ? observed_decode_ : observed_prefill_)[decode ? seqs : tokens]++;
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    Entry& e = it->second;
    e.stat.real_tokens += tokens;
    if (e.plan) {
      e.stat.hits++;
      e.last_use = ++clock_;
      if (e.plan->padded) e.stat.padded_tokens += e.plan->max_tokens - tokens;
      return e.plan;
    }
    e.stat.misses++;
    if (e.stat.state != GearState::Building) {
      e.stat.state = GearState::Building;
      queue_.push_back(key);
      queue_cv_.notify_one();
    }
  }
  fallbacks_++;
  return generic_;
}

void PlanCache::builder_loop() {
  for (;;) {
    GearKey key;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      queue_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      key = queue_.front();
      queue_.pop_front();
    }
    std::shared_ptr<BackendPlan> plan;
    try {
      plan = compile_(key, true);
    } catch (const std::exception&) {
      std::lock_guard<std::mutex> lock(mutex_);
      entries_[key].stat.state = GearState::Cold;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      install_locked(key, std::move(plan));
    }
    persist_();
  }
}

void PlanCache::install_locked(const GearKey& key, std::shared_ptr<BackendPlan> plan) {
  Entry& e = entries_[key];
  if (e.plan) {  // rebuilt while ready (not reachable today: only cold or evicted gears are queued)
    resident_ -= e.plan->resident_bytes;
    ready_--;
  }
  e.stat.compile_ms = plan->compile_ms;
  e.stat.autotune_ms = plan->autotune_ms;
  e.stat.warm_ms = plan->warm_ms;
  e.stat.resident_bytes = plan->resident_bytes;
  e.stat.state = GearState::Ready;
  resident_ += plan->resident_bytes;
  ready_++;
  e.plan = std::move(plan);
  e.last_use = ++clock_;
  evict_locked();
}

void PlanCache::evict_locked() {
  while (resident_ > max_resident_bytes_ || (max_plans_ > 0 && ready_ > max_plans_)) {
    Entry* victim = nullptr;
    for (auto& [k, e] : entries_)
      if (e.plan && (!victim || e.last_use < victim->last_use)) victim = &e;
    if (!victim) return;
    resident_ -= victim->plan->resident_bytes;
    ready_--;
    victim->plan.reset();  // a step still holding it keeps it alive until done
    victim->stat.state = GearState::Evicted;
    victim->stat.resident_bytes = 0;
    victim->stat.evictions++;
  }
}

GearReport PlanCache::report() const {
  std::lock_guard<std::mutex> lock(mutex_);
  GearReport r;
  for (const auto& [k, e] : entries_) r.gears.push_back(e.stat);
  r.fallbacks = fallbacks_;
  r.observed_prefill = observed_prefill_;
  r.observed_decode = observed_decode_;
  r.warmup_ms = warmup_ms_;
  return r;
}

}  // namespace gb
