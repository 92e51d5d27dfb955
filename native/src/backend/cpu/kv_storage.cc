#include "backend/cpu/kv_storage.h"

#include <sys/mman.h>

#include <cstring>

#include "common/error.h"

namespace gb {

CpuKvStorage::CpuKvStorage(const KvGeometry& g, int64_t n_blocks) : g_(g), n_blocks_(n_blocks) {
  const size_t halves = static_cast<size_t>(g.n_layer * n_blocks * g.n_head_kv * g.block_size * g.head_dim);
  bytes_ = halves * 2 * 2;
  // Anonymous memory: pages are only committed when a block is first written.
  void* mem = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) fail("kv cache: cannot reserve %zu bytes", bytes_);
  k_ = static_cast<uint16_t*>(mem);
  v_ = k_ + halves;
}

CpuKvStorage::~CpuKvStorage() {
  if (k_) munmap(k_, bytes_);
}

void CpuKvStorage::copy(int src, int dst) {
  const size_t n = static_cast<size_t>(g_.n_head_kv * g_.block_size * g_.head_dim) * 2;
  for (int64_t l = 0; l < g_.n_layer; l++) {
    std::memcpy(k(l, dst, 0), k(l, src, 0), n);
    std::memcpy(v(l, dst, 0), v(l, src, 0), n);
  }
}

}  // namespace gb
