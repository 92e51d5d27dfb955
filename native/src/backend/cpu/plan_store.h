// Persistence of gear compilation results, so a restart is warm: one text file per (model shapes,
// kernel set, threads, store version) under the cache directory, closed by a checksum line. It
// holds exactly what a restart restores (the tuner's tile choices); a plan's layout and arena are
// cheap to recompute and are not saved. A file that fails any check is reported, removed and
// rebuilt, never trusted.
#pragma once
#include <cstdint>
#include <string>

#include "backend/cpu/tuner.h"

namespace gb {

class PlanStore {
 public:
  // An empty dir: no persistence (load finds nothing, save does nothing).
  PlanStore(std::string dir, uint64_t shape_hash, std::string kernels, int threads);

  // The saved choices; *status says what happened ("warm: ...", "cold: ...", "rebuilt: <why>").
  TileTuner::Choices load(std::string* status) const;
  // Best effort: a read-only cache dir only costs warm restarts.
  void save(const TileTuner::Choices& choices) const;

  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_, header_;
};

}  // namespace gb
