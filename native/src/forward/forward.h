// The Llama 3 forward pass over a batch of sequences, executed on a gear's plan.
#pragma once
#include <cstdint>

#include "forward/batch.h"
#include "gears/plan.h"

namespace gb {

struct Model;
class KvCache;
class ThreadPool;

// Wall time per stage of the last forward pass, when profiling is on (GEARBOX_PROFILE=1).
enum ProfileStage : int {
  kProfEmbed, kProfNorm, kProfQKV, kProfRope, kProfAttn, kProfO, kProfGateUp, kProfSwiglu, kProfDown, kProfOutput,
  kProfStages
};
extern const char* const kProfileStageNames[kProfStages];

struct ForwardProfile {
  bool enabled = false;
  double ns[kProfStages] = {0};
  int64_t passes = 0;
};

// Computes the batch's tokens through every layer, writing their K and V into the cache, and the
// logits of each sequence with an output row into plan's logits buffer (n_outputs x n_vocab).
void forward(const Model& model, const Plan& plan, KvCache& kv, const ForwardBatch& batch, ThreadPool& pool,
             ForwardProfile* profile);

// Arena layout for a plan of this size on this model.
ArenaLayout plan_layout(const Model& model, int max_tokens, int max_outputs, int threads);

}  // namespace gb
