// What one forward pass computes: the new tokens of several sequences, each at its own positions.
#pragma once
#include <cstdint>
#include <vector>

namespace gb {

struct BatchToken {
  int32_t token;
  int32_t pos;    // position in its sequence
  int32_t seq;    // index into ForwardBatch::seqs
  int32_t block;  // KV block receiving this token
  int32_t slot;   // slot within that block
};

struct BatchSeq {
  const int32_t* blocks;  // the sequence's block table
  int32_t first;          // index of its first token in ForwardBatch::tokens
  int32_t n_tokens;       // new tokens in this pass
  int32_t output;         // row of the logits output, or -1
};

struct ForwardBatch {
  std::vector<BatchToken> tokens;
  std::vector<BatchSeq> seqs;
  int32_t n_outputs = 0;
};

}  // namespace gb
