// The shape of a paged KV cache: per layer and KV head, blocks of `block_size` token slots of
// head_dim values for K and for V.
#pragma once
#include <cstdint>

namespace gb {

struct KvGeometry {
  int64_t n_layer;
  int64_t n_head_kv;
  int64_t head_dim;
  int block_size;
};

}  // namespace gb
