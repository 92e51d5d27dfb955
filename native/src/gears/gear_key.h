// A gear's name: the phase and the bucket (max tokens of a prefill pass, max sequences of a decode
// pass). Bucket -1 is the generic plan every pass can run on.
#pragma once
#include <cstdint>

namespace gb {

enum class Phase : uint8_t { Prefill = 0, Decode = 1 };

inline const char* phase_name(Phase p) { return p == Phase::Prefill ? "prefill" : "decode"; }

struct GearKey {
  Phase phase;
  int bucket;
  bool operator==(const GearKey& o) const { return phase == o.phase && bucket == o.bucket; }
  bool operator<(const GearKey& o) const { return phase != o.phase ? phase < o.phase : bucket < o.bucket; }
};

}  // namespace gb
