// One matmul of the forward pass spread over the threads of a parallel region.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "kernels/kernels.h"

namespace gb {

// One matmul y = W . act over the threads of a parallel region. Each thread owns one contiguous
// range of the output columns (whole micro-tile column groups: units) and takes it from the front,
// about a quarter of what is left at a time; a thread whose range is done steals from the back of
// the others' ranges, down to single units, so no thread waits long at the region's end for a
// slower one. Which thread computes a column never changes its value.
//
// A static half-and-half split made every stage wait for the slower thread, and on shared
// machines (a cloud vCPU's steal time, a busy core) one thread is often slower. Chunks handed out
// from one shared counter (llama.cpp's way, and ours until 2026-12-07, 4 per thread) fixed that
// only in part: each chunk a thread takes starts a new weight stream that its hardware prefetchers
// must pick up again (16 and 64 chunks per thread made the AVX2 decode 4% and 16% slower), so
// chunks stayed coarse, and the faster thread then idled for up to one chunk at the end of every
// matmul: at 512 prompt tokens one chunk of the 1b model's gate projection is about 16 ms of work.
// Here each thread streams one run of memory per matmul until the shared tail. 1b q8_0 model, 2 threads,
// AMD Zen 5, in-process A/B against those chunks (alternating, 8-12 rounds): decode of one
// sequence avx2 +4% (12 of 12 rounds), avx512 +3.4%; prefill avx2 +7.7% / +5.0% / +2.4% at 512 /
// 256 / 64 tokens, avx512 +3.5% at 512.
class MatmulJob {
 public:
  MatmulJob(const KernelSet& k, const Matrix& w, const void* act, int64_t M, float* y, TileShape tile, int nth)
      : k_(k), w_(w), act_(act), M_(M), y_(y), tile_(tile) {
    unit_ = 16 * (tile.nc > 0 ? tile.nc : 1);
    const int64_t units = (w.rows + unit_ - 1) / unit_;
    slots_ = std::min(nth, kMaxSlots);
    for (int i = 0; i < slots_; i++) {
      const uint64_t b = static_cast<uint64_t>(units * i / slots_), e = static_cast<uint64_t>(units * (i + 1) / slots_);
      range_[i].v.store((b << 32) | e, std::memory_order_relaxed);
    }
  }

  // Every thread of the region calls this with its index: its own range first, then the others'.
  void run(int ith) {
    const int own = ith % slots_;
    int64_t b, e;
    while (take(range_[own].v, false, &b, &e)) compute(b, e);
    for (int i = 1; i < slots_; i++)
      while (take(range_[(own + i) % slots_].v, true, &b, &e)) {
        compute(b, e);
        stolen_.fetch_add(e - b, std::memory_order_relaxed);
      }
  }

  // Units computed by a thread other than their range's owner so far (for tests).
  int64_t stolen_units() const { return stolen_.load(std::memory_order_relaxed); }

 private:
  static constexpr int kMaxSlots = 64;
  struct alignas(64) Range {
    std::atomic<uint64_t> v{0};  // front << 32 | back, in units
  };

  // Takes about a quarter of what is left of a range (at least one unit): from its front for its
  // owner, from its back for a thief. False once the range is empty.
  static bool take(std::atomic<uint64_t>& r, bool back, int64_t* b, int64_t* e) {
    uint64_t v = r.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t f = v >> 32, k = v & 0xffffffffu;
      if (f >= k) return false;
      const uint64_t n = std::max<uint64_t>(1, (k - f) / 4);
      const uint64_t nv = back ? (f << 32) | (k - n) : ((f + n) << 32) | k;
      if (r.compare_exchange_weak(v, nv, std::memory_order_relaxed)) {
        *b = static_cast<int64_t>(back ? k - n : f);
        *e = static_cast<int64_t>(back ? k : f + n);
        return true;
      }
    }
  }

  void compute(int64_t u0, int64_t u1) {
    const int64_t n0 = u0 * unit_, n1 = std::min(w_.rows, u1 * unit_);
    k_.matmul(w_, act_, M_, y_, w_.rows, n0, n1, tile_);
  }

  const KernelSet& k_;
  const Matrix& w_;
  const void* act_;
  int64_t M_;
  float* y_;
  TileShape tile_;
  int64_t unit_ = 16;
  int slots_ = 1;
  std::atomic<int64_t> stolen_{0};
  Range range_[kMaxSlots];
};

}  // namespace gb
