#include "backend/cpu/cpu_backend.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "backend/cpu/forward.h"
#include "common/error.h"
#include "model/model.h"
#include "threads/pool.h"

namespace gb {

CpuBackend::CpuBackend(const BackendOptions& o) : options_(o) {
  const KernelSet* kernels = &gb::kernels();
  if (!o.isa.empty()) {
    kernels = kernels_by_name(o.isa.c_str());
    if (!kernels) fail("the '%s' kernels cannot run on this CPU (or were not built)", o.isa.c_str());
  }
  model_.kernels = kernels;
  const int threads = o.threads > 0 ? std::min(o.threads, 1024) : hardware_threads();
  pool_ = ThreadPool::shared(threads);
  // Plans run any row count up to their bucket; padded mode emulates a static-shape device.
  caps_.static_shapes = o.padded;
  caps_.max_plans = 0;
  caps_.background_compile = true;
  const char* prof = std::getenv("GEARBOX_PROFILE");
  profile_.enabled = prof && *prof && std::strcmp(prof, "0") != 0;
  // Software prefetch of the decode's weight stream: chosen by timing both ways (auto), or forced
  // for measurements.
  const char* pf = std::getenv("GEARBOX_WEIGHT_PREFETCH");
  if (pf && *pf) {
    WeightPrefetchChooser::Mode mode;
    if (!WeightPrefetchChooser::parse_mode(pf, &mode))
      fail("GEARBOX_WEIGHT_PREFETCH must be auto, on or off (got '%s')", pf);
    prefetch_chooser_ = WeightPrefetchChooser(mode);
  }
}

CpuBackend::~CpuBackend() = default;

DeviceInfo CpuBackend::device() const { return {"cpu", model_.kernels->name, pool_->size()}; }

void CpuBackend::load_weights(const ModelFile& file, int64_t max_positions, const std::function<void(double)>& progress) {
  const Model& m = file.model();
  model_.config = m.config;
  model_.weights = std::make_unique<Weights>(file.gguf(), m.config, *model_.kernels, *pool_, progress);
  const LlamaConfig& c = model_.config;

  // ---- RoPE table for every position of the context, exactly as ggml_rope_cache_init (iterated
  // theta scale, float math)
  model_.max_positions = max_positions;
  const int64_t half = c.head_dim / 2;
  model_.rope_cos.resize(static_cast<size_t>(max_positions * half));
  model_.rope_sin.resize(static_cast<size_t>(max_positions * half));
  const float theta_scale = std::pow(c.rope_theta, -2.0f / static_cast<float>(c.head_dim));
  const float* ff = model_.weights->rope_freqs;
  for (int64_t p = 0; p < max_positions; p++) {
    float theta = static_cast<float>(p);
    for (int64_t i = 0; i < half; i++) {
      const float f = ff ? ff[i] : 1.0f;
      const float t = c.rope_freq_scale * (theta / f);
      model_.rope_cos[static_cast<size_t>(p * half + i)] = std::cos(t);
      model_.rope_sin[static_cast<size_t>(p * half + i)] = std::sin(t);
      theta *= theta_scale;
    }
  }

  // ---- tile choices persisted by an earlier run of the same model, kernel set and thread count
  tuner_ = std::make_unique<TileTuner>(*model_.kernels);
  store_ = std::make_unique<PlanStore>(options_.plan_cache_dir, m.shape_hash, model_.kernels->name, pool_->size());
  tuner_->restore(store_->load(&store_status_));
}

WeightsInfo CpuBackend::weights_info() const {
  const Weights& W = *model_.weights;
  WeightsInfo info;
  info.bytes = W.bytes();
  info.parameters = W.parameter_count();
  auto count = [&](const Matrix& w) { info.tensor_types[ggml_type_name(w.source_type)]++; };
  count(W.token_embd);
  for (const LayerWeights& L : W.layers) {
    count(L.wq), count(L.wk), count(L.wv), count(L.wo), count(L.w_gate), count(L.w_up), count(L.w_down);
  }
  if (!model_.config.tied_output) count(W.output);
  return info;
}

void CpuBackend::allocate_kv(const KvGeometry& g, int64_t n_blocks, int64_t commit_blocks) {
  kv_ = std::make_unique<CpuKvStorage>(g, n_blocks);
  kv_->commit(commit_blocks);
}

std::shared_ptr<BackendPlan> CpuBackend::compile(const GearKey& key, const PlanShape& shape, bool tune) {
  return build_cpu_plan(model_, key, shape, options_.padded, pool_->size(), *tuner_, tune && options_.autotune);
}

void CpuBackend::persist_plans() { store_->save(tuner_->choices()); }

const float* CpuBackend::execute(const BackendPlan& plan, const ForwardBatch& batch) {
  const CpuPlan& p = static_cast<const CpuPlan&>(plan);  // this backend compiled it
  // The pass times into its own record, merged under the lock (profile() reads from another thread).
  ForwardProfile pass;
  pass.enabled = profile_.enabled;  // set once in the constructor, never written after
  // One token: the decode of one sequence, whose time is its weight stream; the chooser picks the
  // way to stream and learns from the pass's time. Larger passes keep the software prefetch.
  const bool single = batch.tokens.size() == 1;
  bool prefetch = true;
  if (single) {
    std::lock_guard<std::mutex> lock(profile_mu_);
    prefetch = prefetch_chooser_.next();
  }
  const auto t0 = std::chrono::steady_clock::now();
  forward(model_, p, *kv_, batch, *pool_, &pass, prefetch);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard<std::mutex> lock(profile_mu_);
    for (int i = 0; i < kProfStages; i++) profile_.ns[i] += pass.ns[i];
    profile_.passes++;
    if (single) prefetch_chooser_.record(prefetch, ms);
  }
  return p.at<float>(p.layout.logits);
}

ForwardProfile CpuBackend::profile() const {
  std::lock_guard<std::mutex> lock(profile_mu_);
  ForwardProfile out = profile_;
  const WeightPrefetchChooser& c = prefetch_chooser_;
  out.weight_prefetch = {true, WeightPrefetchChooser::mode_name(c.mode()), c.preferred(), c.switches(), c.trials()};
  return out;
}

}  // namespace gb
