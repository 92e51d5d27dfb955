// The CPU's KV storage: every block's K and V as f16 in one anonymous mapping (huge pages where
// the kernel allows), committed when a block is first written, except the first blocks the cache
// hands out, which commit() makes resident at load.
#pragma once
#include <cstddef>
#include <cstdint>

#include "backend/cpu/huge_map.h"
#include "kv/kv_geometry.h"

namespace gb {

class CpuKvStorage {
 public:
  CpuKvStorage(const KvGeometry& g, int64_t n_blocks);
  CpuKvStorage(const CpuKvStorage&) = delete;
  CpuKvStorage& operator=(const CpuKvStorage&) = delete;

  static int64_t block_bytes(const KvGeometry& g) { return 2 * 2 * g.n_layer * g.n_head_kv * g.head_dim * g.block_size; }

  int block_size() const { return g_.block_size; }
  // Bytes of one block's K (or V) in one layer, every KV head: what one block adds to each of the
  // 2 * n_layer regions (layer l's K, layer l's V) that a block's slots lie in.
  size_t layer_block_bytes() const { return static_cast<size_t>(g_.n_head_kv * g_.block_size * g_.head_dim) * 2; }
  // One layer / block / KV head: K as (head_dim, block_size) halves (transposed, so a block's scores
  // need no horizontal sums), V as (block_size, head_dim).
  uint16_t* k(int64_t layer, int block, int64_t head) { return k_ + offset(layer, block, head); }
  uint16_t* v(int64_t layer, int block, int64_t head) { return v_ + offset(layer, block, head); }
  // Makes blocks 0 .. blocks - 1 of every layer resident now (best effort: on failure they stay
  // lazily committed).
  void commit(int64_t blocks);
  // Copies every layer's K and V of src into dst.
  void copy(int src, int dst);

 private:
  size_t offset(int64_t layer, int block, int64_t head) const {
    return static_cast<size_t>(((layer * n_blocks_ + block) * g_.n_head_kv + head) * g_.block_size * g_.head_dim);
  }

  KvGeometry g_;
  int64_t n_blocks_;
  HugeMap mem_;
  uint16_t* k_ = nullptr;
  uint16_t* v_ = nullptr;
};

}  // namespace gb
