#include "backend/cpu/kv_storage.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gb {

namespace {
constexpr size_t kPage = 4096;
}  // namespace

CpuKvStorage::CpuKvStorage(const KvGeometry& g, int64_t n_blocks) : g_(g), n_blocks_(n_blocks) {
  const size_t halves = static_cast<size_t>(g.n_layer * n_blocks * g.n_head_kv * g.block_size * g.head_dim);
  // Anonymous memory (huge_map.h): a page is committed when it is first written (or by
  // commit()). Huge pages matter twice here: a prompt's K and V stores touch every layer's region,
  // and with 4 KiB pages each new 4 KiB costs a fault (about 30-40 ms of a 512-token prefill of a
  // 1B model on a VM), and attention's reads and K's transposed stores miss the TLB more.
  mem_ = HugeMap(halves * 2 * 2, true, "kv cache");
  k_ = reinterpret_cast<uint16_t*>(mem_.data());
  v_ = k_ + halves;
}

void CpuKvStorage::commit(int64_t blocks) {
  blocks = std::min(blocks, n_blocks_);
  if (blocks <= 0) return;
  const size_t n = static_cast<size_t>(blocks) * layer_block_bytes();
  for (int64_t l = 0; l < g_.n_layer; l++)
    for (uint16_t* p : {k(l, 0, 0), v(l, 0, 0)}) {
      const uintptr_t lo = reinterpret_cast<uintptr_t>(p) & ~(kPage - 1);
      const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + n + kPage - 1) & ~(kPage - 1);
#ifdef MADV_POPULATE_WRITE
      if (madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_POPULATE_WRITE) == 0) continue;
      // Only a kernel without it (before Linux 5.14) falls through to touching the pages; any other
      // failure (no memory) leaves them to be committed when written, as without commit().
      if (errno != EINVAL) return;
#endif
      // Nothing has used the storage yet, so writing a zero into fresh (zero) pages changes nothing.
      for (uintptr_t a = lo; a < hi; a += kPage) *reinterpret_cast<volatile uint8_t*>(a) = 0;
    }
}

void CpuKvStorage::copy(int src, int dst) {
  const size_t n = layer_block_bytes();
  for (int64_t l = 0; l < g_.n_layer; l++) {
    std::memcpy(k(l, dst, 0), k(l, src, 0), n);
    std::memcpy(v(l, dst, 0), v(l, src, 0), n);
  }
}

}  // namespace gb
