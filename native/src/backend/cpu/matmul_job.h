// One matmul of the forward pass spread over the threads of a parallel region.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "kernels/kernels.h"

namespace gb {

// One matmul y = W . act, its output columns handed out in chunks to the threads of a parallel
// region as each asks for more (an atomic counter), as llama.cpp's CPU matmul does. A static
// half-and-half split made every stage wait for the slower thread, and on shared machines (a
// cloud vCPU's steal time, a busy core) one thread is often slower. Chunks are whole micro-tile
// column groups, kChunksPerThread per thread on average; which thread computes a column never
// changes its value.
class MatmulJob {
 public:
  MatmulJob(const KernelSet& k, const Matrix& w, const void* act, int64_t M, float* y, TileShape tile, int nth)
      : k_(k), w_(w), act_(act), M_(M), y_(y), tile_(tile) {
    unit_ = 16 * (tile.nc > 0 ? tile.nc : 1);
    const int64_t units = (w.rows + unit_ - 1) / unit_;
    const int64_t want = static_cast<int64_t>(nth) * kChunksPerThread;
    chunk_units_ = units > want ? (units + want - 1) / want : 1;
    chunks_ = (units + chunk_units_ - 1) / chunk_units_;
  }

  // Every thread of the region calls this: it takes chunks until none are left.
  void run() {
    for (int64_t c = next_.fetch_add(1, std::memory_order_relaxed); c < chunks_;
         c = next_.fetch_add(1, std::memory_order_relaxed)) {
      const int64_t n0 = c * chunk_units_ * unit_;
      const int64_t n1 = std::min(w_.rows, n0 + chunk_units_ * unit_);
      k_.matmul(w_, act_, M_, y_, w_.rows, n0, n1, tile_);
    }
  }

 private:
  static constexpr int64_t kChunksPerThread = 4;
  const KernelSet& k_;
  const Matrix& w_;
  const void* act_;
  int64_t M_;
  float* y_;
  TileShape tile_;
  int64_t unit_ = 16, chunk_units_ = 1, chunks_ = 0;
  std::atomic<int64_t> next_{0};
};

}  // namespace gb
