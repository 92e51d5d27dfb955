// The CPU's plan of a gear: for one shape class (phase, token bucket, output bucket) every activation
// buffer at a fixed offset of one arena, the matmul micro-kernel tile chosen per weight matrix (per
// layer: mixed-type files store layers in different formats) at that row count, and how work is
// split across threads. Executing a plan for fewer rows than its bucket computes only the real rows
// (no padding FLOPs) unless the plan is in padded mode.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/huge_map.h"
#include "kernels/kernels.h"

namespace gb {

struct CpuModel;
class TileTuner;

// The matmuls of one Llama layer, each with its own tile choice; the output projection is separate.
enum MatmulKind : int { kMatQ, kMatK, kMatV, kMatO, kMatGate, kMatUp, kMatDown, kMatLayerKinds };

struct ArenaLayout {
  size_t x, xn, act, q, k, v, attn, gate, up, out_rows, logits, scratch;
  size_t act_stride;          // bytes between the (up to 3) activation-format buffers at act
  size_t scratch_per_thread;
  int scores_stride;          // floats between the attention scores of two query heads
  size_t total;
};

struct CpuPlan : BackendPlan {
  ArenaLayout layout{};
  std::vector<TileShape> layer_tiles;  // n_layer x kMatLayerKinds
  TileShape output_tile{};
  HugeMap arena_mem;  // every buffer of the plan, resident_bytes long (huge_map.h)

  CpuPlan() = default;
  CpuPlan(const CpuPlan&) = delete;
  CpuPlan& operator=(const CpuPlan&) = delete;

  TileShape tile(size_t layer, int kind) const { return layer_tiles[layer * kMatLayerKinds + static_cast<size_t>(kind)]; }
  template <typename T>
  T* at(size_t offset) const {
    return reinterpret_cast<T*>(arena_mem.data() + offset);
  }
};

// Lays out, chooses tiles for (autotuning the ones not yet known when `tune`) and allocates the
// plan of one gear (bucket -1: the generic plan). Padded only applies to real gears.
std::shared_ptr<CpuPlan> build_cpu_plan(const CpuModel& model, const GearKey& key, const PlanShape& shape, bool padded,
                                        int threads, TileTuner& tuner, bool tune);

}  // namespace gb
