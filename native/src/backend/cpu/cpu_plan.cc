#include "backend/cpu/cpu_plan.h"

#include <chrono>
#include <cstring>

#include "common/error.h"
#include "backend/cpu/cpu_model.h"
#include "backend/cpu/forward.h"
#include "backend/cpu/tuner.h"

namespace gb {
namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

const Matrix& layer_matrix(const LayerWeights& L, int kind) {
  switch (kind) {
    case kMatQ: return L.wq;
    case kMatK: return L.wk;
    case kMatV: return L.wv;
    case kMatO: return L.wo;
    case kMatGate: return L.w_gate;
    case kMatUp: return L.w_up;
    default: return L.w_down;
  }
}

}  // namespace

std::shared_ptr<CpuPlan> build_cpu_plan(const CpuModel& model, const GearKey& key, const PlanShape& shape, bool padded,
                                        int threads, TileTuner& tuner, bool tune) {
  const double t0 = now_ms();
  auto plan = std::make_shared<CpuPlan>();
  plan->key = key;
  plan->max_tokens = shape.max_tokens;
  plan->max_outputs = shape.max_outputs;
  plan->padded = padded && key.bucket > 0;
  plan->layout = plan_layout(model, plan->max_tokens, plan->max_outputs, threads);
  const bool autotune = tune && key.bucket > 0;
  double tune_ms = 0;
  const std::vector<LayerWeights>& layers = model.weights->layers;
  plan->layer_tiles.resize(layers.size() * kMatLayerKinds);
  for (size_t l = 0; l < layers.size(); l++)
    for (int kind = 0; kind < kMatLayerKinds; kind++)
      plan->layer_tiles[l * kMatLayerKinds + static_cast<size_t>(kind)] =
          tuner.choose(layer_matrix(layers[l], kind), plan->max_tokens, autotune, &tune_ms);
  plan->output_tile = tuner.choose(model.weights->output, plan->max_outputs, autotune, &tune_ms);
  plan->autotune_ms = tune_ms;
  plan->compile_ms = now_ms() - t0 - tune_ms;
  // The arena: every activation buffer of the plan, committed and touched now, not on a request.
  const double w0 = now_ms();
  plan->arena_mem = HugeMap(plan->layout.total, false, "gears: the arena");
  plan->resident_bytes = plan->arena_mem.size();
  std::memset(plan->arena_mem.data(), 0, plan->resident_bytes);
  plan->warm_ms = now_ms() - w0;
  return plan;
}

}  // namespace gb
