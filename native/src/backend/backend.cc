#include "backend/backend.h"

#include "backend/cpu/cpu_backend.h"
#include "common/error.h"

namespace gb {

const char* const kProfileStageNames[kProfStages] = {"embed", "norm", "qkv", "rope_kv", "attention",
                                                     "attn_out", "gate_up", "swiglu", "down", "output"};

std::unique_ptr<Backend> make_backend(const BackendOptions& options) {
  if (options.device == "cpu") return std::make_unique<CpuBackend>(options);
  fail("unknown device '%s' (this build has: cpu)", options.device.c_str());
}

}  // namespace gb
