// The gear ladder: the shape buckets a model is compiled for, cleaned once (sorted, unique, in
// range), and the one rule that maps a pass of T tokens from S sequences to its bucket.
#pragma once
#include <vector>

#include "gears/gear_key.h"

namespace gb {

class GearLadder {
 public:
  GearLadder(std::vector<int> prefill, std::vector<int> decode);

  const std::vector<int>& prefill() const { return prefill_; }
  const std::vector<int>& decode() const { return decode_; }
  int max_tokens() const { return prefill_.back(); }
  int max_sequences() const { return decode_.back(); }

  // The gear of a pass of `tokens` tokens from `seqs` sequences (decode when tokens == seqs);
  // bucket -1 (the generic plan) when no gear is large enough.
  GearKey key_for(int tokens, int seqs, bool decode) const;
  // Every configured gear, prefill first.
  std::vector<GearKey> keys() const;
  // The rows a plan for `key` is sized for: its bucket, or the largest of both ladders (generic).
  int plan_tokens(const GearKey& key) const;
  // Logits rows (sequences with an output) a plan for `key` is sized for.
  int plan_outputs(const GearKey& key) const;

 private:
  std::vector<int> prefill_, decode_;
};

}  // namespace gb
