// Wall time per stage of the forward passes, when profiling is on (GEARBOX_PROFILE=1). The stages
// are the Llama architecture's, so any backend can report them (a graph device: per graph node).
#pragma once
#include <cstdint>

namespace gb {

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

}  // namespace gb
