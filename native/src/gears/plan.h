// A gear's execution plan: for one shape class (phase, token bucket, output bucket) every activation
// buffer at a fixed offset of one arena, the matmul micro-kernel chosen per weight at that row count,
// and how work is split across threads. Executing a plan for fewer rows than its bucket computes
// only the real rows (no padding FLOPs) unless the plan is in padded mode.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/kernels.h"

namespace gb {

enum class Phase : uint8_t { Prefill = 0, Decode = 1 };

// The matmuls of a Llama forward pass, each with its own tile choice.
enum MatmulKind : int { kMatQ, kMatK, kMatV, kMatO, kMatGate, kMatUp, kMatDown, kMatOutput, kMatKinds };

struct GearKey {
  Phase phase;
  int bucket;  // max tokens (prefill) or max sequences (decode)
  bool operator==(const GearKey& o) const { return phase == o.phase && bucket == o.bucket; }
};

struct ArenaLayout {
  size_t x, xn, act, q, k, v, attn, gate, up, out_rows, logits, scratch;
  size_t act_stride;          // bytes between the (up to 3) activation-format buffers at act
  size_t scratch_per_thread;
  int scores_stride;          // floats between the attention scores of two query heads
  size_t total;
};

struct Plan {
  GearKey key{Phase::Prefill, 0};
  int max_tokens = 0;
  int max_outputs = 0;
  bool padded = false;
  ArenaLayout layout{};
  TileShape tiles[kMatKinds]{};
  uint8_t* arena = nullptr;
  size_t arena_bytes = 0;
  double compile_ms = 0;   // layout and kernel choice (autotune excluded)
  double autotune_ms = 0;
  double warm_ms = 0;      // committing and touching the arena's pages

  Plan() = default;
  ~Plan();
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  template <typename T>
  T* at(size_t offset) const {
    return reinterpret_cast<T*>(arena + offset);
  }
};

}  // namespace gb
