#include "kv/kv_cache.h"

#include <cstring>

#include "common/error.h"

namespace gb {

KvCache::KvCache(const KvGeometry& g, int64_t n_blocks) : g_(g), n_blocks_(n_blocks) {
  if (n_blocks < 1) fail("kv cache: budget too small for one block");
  ref_.assign(static_cast<size_t>(n_blocks), 0);
  hash_.assign(static_cast<size_t>(n_blocks), 0);
  content_.assign(static_cast<size_t>(n_blocks), 0);
  parent_content_.assign(static_cast<size_t>(n_blocks), 0);
  tokens_.assign(static_cast<size_t>(n_blocks) * static_cast<size_t>(g.block_size), 0);
  lru_pos_.resize(static_cast<size_t>(n_blocks));
  in_lru_.assign(static_cast<size_t>(n_blocks), false);
  free_.reserve(static_cast<size_t>(n_blocks));
  for (int64_t b = n_blocks - 1; b >= 0; b--) free_.push_back(static_cast<int>(b));
}

int KvCache::allocate() {
  int b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else if (!lru_.empty()) {
    b = lru_.front();
    lru_.pop_front();
    in_lru_[static_cast<size_t>(b)] = false;
    forget_hash(b);
  } else {
    return -1;
  }
  content_[static_cast<size_t>(b)] = 0;
  ref_[static_cast<size_t>(b)] = 1;
  used_++;
  return b;
}

void KvCache::retain(int b) {
  size_t i = static_cast<size_t>(b);
  if (ref_[i] == 0) {
    if (in_lru_[i]) {
      lru_.erase(lru_pos_[i]);
      in_lru_[i] = false;
    }
    used_++;
  }
  ref_[i]++;
}

void KvCache::release(int b) {
  size_t i = static_cast<size_t>(b);
  if (ref_[i] <= 0) fail("kv cache: release of a free block %d", b);
  if (--ref_[i] > 0) return;
  used_--;
  if (hash_[i] != 0) {
    lru_.push_back(b);
    lru_pos_[i] = std::prev(lru_.end());
    in_lru_[i] = true;
  } else {
    free_.push_back(b);
  }
}

uint64_t KvCache::hash_chain(uint64_t parent, const int32_t* tokens, int n) {
  // FNV-1a over the parent hash and the token ids; 0 is reserved for "none".
  uint64_t h = 1469598103934665603ull ^ parent;
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; i++) {
      h ^= (v >> (i * 8)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  mix(parent);
  for (int i = 0; i < n; i++) mix(static_cast<uint32_t>(tokens[i]));
  return h == 0 ? 1 : h;
}

int KvCache::acquire_cached(uint64_t hash, const int32_t* tokens, uint64_t parent_content) {
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return -1;
  const int b = it->second;
  const size_t i = static_cast<size_t>(b);
  const size_t bs = static_cast<size_t>(g_.block_size);
  if (parent_content_[i] != parent_content ||
      std::memcmp(tokens_.data() + i * bs, tokens, bs * sizeof(int32_t)) != 0)
    return -1;  // a hash collision: other tokens, or another prefix before them
  retain(b);
  return b;
}

void KvCache::publish(int b, uint64_t hash, const int32_t* tokens, uint64_t parent_content) {
  const size_t i = static_cast<size_t>(b);
  if (hash_[i] != 0) return;  // already named
  const size_t bs = static_cast<size_t>(g_.block_size);
  auto it = by_hash_.find(hash);
  if (it != by_hash_.end()) {
    // An equal block exists (computed concurrently): share its content id so that blocks after
    // this one still chain to it. A different block under the same hash keeps the name.
    const size_t c = static_cast<size_t>(it->second);
    const bool equal = parent_content_[c] == parent_content &&
                       std::memcmp(tokens_.data() + c * bs, tokens, bs * sizeof(int32_t)) == 0;
    content_[i] = equal ? content_[c] : next_content_++;
    return;
  }
  hash_[i] = hash;
  by_hash_[hash] = b;
  content_[i] = next_content_++;
  parent_content_[i] = parent_content;
  std::memcpy(tokens_.data() + i * bs, tokens, bs * sizeof(int32_t));
}

void KvCache::forget_hash(int b) {
  size_t i = static_cast<size_t>(b);
  if (hash_[i] != 0) {
    by_hash_.erase(hash_[i]);
    hash_[i] = 0;
  }
}

}  // namespace gb
