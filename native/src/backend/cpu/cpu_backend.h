// The CPU backend: weights repacked for the best kernel set of this CPU (kernels/), f16 KV blocks
// in host memory, plans that are arenas plus per-layer tile choices (autotuned, persisted), and
// execute() = the forward pass on the shared compute pool.
#pragma once
#include <mutex>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/cpu/cpu_model.h"
#include "backend/cpu/kv_storage.h"
#include "backend/cpu/plan_store.h"
#include "backend/cpu/prefetch_chooser.h"
#include "backend/cpu/tuner.h"

namespace gb {

class ThreadPool;

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const BackendOptions& options);
  ~CpuBackend() override;

  const BackendCaps& caps() const override { return caps_; }
  DeviceInfo device() const override;

  void load_weights(const ModelFile& file, int64_t max_positions, const std::function<void(double)>& progress) override;
  WeightsInfo weights_info() const override;

  int64_t kv_block_bytes(const KvGeometry& g) const override { return CpuKvStorage::block_bytes(g); }
  void allocate_kv(const KvGeometry& g, int64_t n_blocks, int64_t commit_blocks) override;
  void copy_kv_block(int src, int dst) override { kv_->copy(src, dst); }

  std::shared_ptr<BackendPlan> compile(const GearKey& key, const PlanShape& shape, bool tune) override;
  void persist_plans() override;
  std::string plan_store_status() const override { return store_status_; }

  const float* execute(const BackendPlan& plan, const ForwardBatch& batch) override;
  // Read from the JavaScript thread while the engine thread runs passes: both sides take the lock.
  ForwardProfile profile() const override;

 private:
  BackendOptions options_;
  BackendCaps caps_;
  std::shared_ptr<ThreadPool> pool_;
  CpuModel model_;
  std::unique_ptr<CpuKvStorage> kv_;
  std::unique_ptr<TileTuner> tuner_;
  std::unique_ptr<PlanStore> store_;
  std::string store_status_ = "none";
  mutable std::mutex profile_mu_;
  ForwardProfile profile_;                  // guarded by profile_mu_
  WeightPrefetchChooser prefetch_chooser_;  // guarded by profile_mu_
};

}  // namespace gb
