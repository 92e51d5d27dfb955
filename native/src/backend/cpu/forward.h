// The Llama 3 forward pass over a batch of sequences, executed on a gear's plan.
#pragma once
#include <cstdint>

#include "backend/batch.h"
#include "backend/cpu/cpu_plan.h"
#include "backend/profile.h"

namespace gb {

struct CpuModel;
class CpuKvStorage;
class ThreadPool;

// Computes the batch's tokens through every layer, writing their K and V into the cache, and the
// logits of each sequence with an output row into plan's logits buffer (n_outputs x n_vocab).
// stream_prefetch: whether the matmuls prefetch their weight streams in software (TileShape::prefetch).
void forward(const CpuModel& model, const CpuPlan& plan, CpuKvStorage& kv, const ForwardBatch& batch, ThreadPool& pool,
             ForwardProfile* profile, bool stream_prefetch = true);

// Arena layout for a plan of this size on this model.
ArenaLayout plan_layout(const CpuModel& model, int max_tokens, int max_outputs, int threads);

}  // namespace gb
