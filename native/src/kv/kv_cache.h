// Paged KV cache, the device-neutral half: which of the backend's fixed-size blocks (of
// `block_size` token slots, K and V for every layer; the storage is the backend's) is free, who
// holds it, and what it contains. Sequences own lists of blocks (their block table). Full blocks
// are content-addressed by a hash chain over their tokens, so a new sequence whose prompt starts with the same tokens attaches
// them instead of recomputing (refcounted; a shared partially-filled block is copied before write).
// Blocks no sequence uses but whose contents are known stay cached until memory is needed (LRU).
#pragma once
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "kv/kv_geometry.h"

namespace gb {

class KvCache {
 public:
  KvCache(const KvGeometry& g, int64_t n_blocks);
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  const KvGeometry& geometry() const { return g_; }
  int block_size() const { return g_.block_size; }
  int64_t n_blocks() const { return n_blocks_; }

  // A free block with refcount 1, evicting the least recently cached block if needed; -1 if full.
  int allocate();
  void retain(int block);
  void release(int block);
  int refcount(int block) const { return ref_[static_cast<size_t>(block)]; }

  // Prefix cache. hash_chain(parent, tokens) names a full block by its tokens and all before it.
  // A hash only finds a candidate: a hit is taken only when the block's own tokens and the content
  // id of the block before it match, so two different prefixes never share KV, even when their
  // 64-bit hashes collide. A content id names the exact tokens of a full block and of every block
  // before it (blocks computed twice for the same prefix get the same id); 0 is "no block".
  static uint64_t hash_chain(uint64_t parent, const int32_t* tokens, int n);
  // The cached block with this hash holding `tokens` (block_size of them) after the block whose
  // content id is `parent_content` (retained for the caller), or -1.
  int acquire_cached(uint64_t hash, const int32_t* tokens, uint64_t parent_content);
  // Records that `block` (full) holds `tokens`, named by `hash`, after the block `parent_content`.
  void publish(int block, uint64_t hash, const int32_t* tokens, uint64_t parent_content);
  // The content id of a published (or equal-to-published) full block; 0 for any other block.
  uint64_t content(int block) const { return content_[static_cast<size_t>(block)]; }

  int64_t blocks_used() const { return used_; }
  int64_t blocks_cached() const { return static_cast<int64_t>(lru_.size()); }

 private:
  void forget_hash(int block);

  KvGeometry g_;
  int64_t n_blocks_;
  std::vector<int> ref_;
  std::vector<int> free_;
  std::vector<uint64_t> hash_;  // 0: not published
  std::unordered_map<uint64_t, int> by_hash_;
  std::vector<uint64_t> content_;         // content id of each block (0: none)
  std::vector<uint64_t> parent_content_;  // of each named block: the content id before it
  std::vector<int32_t> tokens_;           // of each named block: its block_size tokens
  uint64_t next_content_ = 1;
  std::list<int> lru_;  // published blocks with refcount 0, oldest first
  std::vector<std::list<int>::iterator> lru_pos_;
  std::vector<bool> in_lru_;
  int64_t used_ = 0;
};

}  // namespace gb
