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

// How the decode of one sequence streams its weights, where the backend chooses that per pass
// (the CPU backend: software prefetch or not, backend/cpu/prefetch_chooser.h). Always reported.
struct WeightPrefetchReport {
  bool applies = false;
  const char* mode = "auto";  // "auto", "on" or "off" (GEARBOX_WEIGHT_PREFETCH)
  bool on = true;             // the way preferred now
  int64_t switches = 0;       // changes of the preferred way after the opening comparison
  int64_t trials = 0;         // passes run the other way to compare
};

struct ForwardProfile {
  bool enabled = false;
  double ns[kProfStages] = {0};
  int64_t passes = 0;
  WeightPrefetchReport weight_prefetch;
};

}  // namespace gb
