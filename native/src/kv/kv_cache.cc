#include "kv/kv_cache.h"

#include "common/error.h"

namespace gb {

KvCache::KvCache(const KvGeometry& g, int64_t n_blocks) : g_(g), n_blocks_(n_blocks) {
  if (n_blocks < 1) fail("kv cache: budget too small for one block");
  ref_.assign(static_cast<size_t>(n_blocks), 0);
  hash_.assign(static_cast<size_t>(n_blocks), 0);
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

int KvCache::acquire_cached(uint64_t hash) {
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return -1;
  retain(it->second);
  return it->second;
}

void KvCache::publish(int b, uint64_t hash) {
  size_t i = static_cast<size_t>(b);
  if (hash_[i] != 0 || by_hash_.count(hash)) return;  // already named, or an equal block exists
  hash_[i] = hash;
  by_hash_[hash] = b;
}

void KvCache::forget_hash(int b) {
  size_t i = static_cast<size_t>(b);
  if (hash_[i] != 0) {
    by_hash_.erase(hash_[i]);
    hash_[i] = 0;
  }
}

}  // namespace gb
