// Tile tuning: which micro-kernel tile shape runs one weight matrix fastest at M activation rows.
// Choices are remembered per (storage format, rows, cols, M), so every layer gets the choice for its
// own matrix (a Q4_K_M file mixes q4_K and q6_K across layers) while equal matrices share one.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "kernels/kernels.h"

namespace gb {

class TileTuner {
 public:
  using Choices = std::map<std::string, TileShape>;  // "format N K M" -> tile

  explicit TileTuner(const KernelSet& kernels) : kernels_(kernels) {}

  // The remembered tile for w at M rows; else, with `tune`, the fastest variant timed now on a
  // slice of w (adding its time to *tune_ms) and remembered; else the kernel set's default.
  TileShape choose(const Matrix& w, int64_t M, bool tune, double* tune_ms);

  // What persistence saves and restores.
  Choices choices() const;
  void restore(Choices choices);
  // Bumped whenever a new choice is remembered.
  uint64_t generation() const;

  static std::string key(const Matrix& w, int64_t M);

 private:
  TileShape time_variants(const Matrix& w, int64_t M) const;

  const KernelSet& kernels_;
  mutable std::mutex mutex_;
  Choices tuned_;
  uint64_t generation_ = 0;
};

}  // namespace gb
