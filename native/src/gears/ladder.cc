#include "gears/ladder.h"

#include <algorithm>

namespace gb {
namespace {

void clean(std::vector<int>& v, int fallback) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  v.erase(std::remove_if(v.begin(), v.end(), [](int x) { return x < 1 || x > 65536; }), v.end());
  if (v.empty()) v = {fallback};
}

}  // namespace

GearLadder::GearLadder(std::vector<int> prefill, std::vector<int> decode)
    : prefill_(std::move(prefill)), decode_(std::move(decode)) {
  clean(prefill_, 512);
  clean(decode_, 1);
}

GearKey GearLadder::key_for(int tokens, int seqs, bool decode) const {
  if (decode) {
    for (int b : decode_)
      if (b >= seqs) return {Phase::Decode, b};
  }
  for (int b : prefill_)
    if (b >= tokens) return {Phase::Prefill, b};
  return {Phase::Prefill, -1};
}

std::vector<GearKey> GearLadder::keys() const {
  std::vector<GearKey> keys;
  for (int b : prefill_) keys.push_back({Phase::Prefill, b});
  for (int b : decode_) keys.push_back({Phase::Decode, b});
  return keys;
}

int GearLadder::plan_tokens(const GearKey& key) const {
  return key.bucket < 0 ? std::max(max_tokens(), max_sequences()) : key.bucket;
}

int GearLadder::plan_outputs(const GearKey& key) const { return std::min(plan_tokens(key), max_sequences()); }

}  // namespace gb
