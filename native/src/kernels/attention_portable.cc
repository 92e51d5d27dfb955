#include <cmath>
#include <cstring>

#include "common/half.h"
#include "kernels/attention.h"

namespace gb {
namespace {

void attend_f16(const float* q, const uint16_t* const* kb, const uint16_t* const* vb, int n_ctx, int bs, int hd,
                float scale, float* scores, float* out) {
  float mx = -INFINITY;
  for (int j = 0; j < n_ctx; j++) {
    const uint16_t* K = kb[j / bs];
    const int slot = j % bs;
    float s = 0;
    for (int d = 0; d < hd; d++) s += q[d] * f16_to_f32(K[d * bs + slot]);
    scores[j] = s * scale;
    mx = scores[j] > mx ? scores[j] : mx;
  }
  double sum = 0;
  for (int j = 0; j < n_ctx; j++) {
    scores[j] = std::exp(scores[j] - mx);
    sum += scores[j];
  }
  const float inv = static_cast<float>(1.0 / sum);
  std::memset(out, 0, static_cast<size_t>(hd) * 4);
  for (int j = 0; j < n_ctx; j++) {
    const float p = round_f16(scores[j] * inv);
    const uint16_t* V = vb[j / bs] + (j % bs) * hd;
    for (int d = 0; d < hd; d++) out[d] += p * f16_to_f32(V[d]);
  }
}

const AttentionKernels kSet = {"portable", attend_f16};

}  // namespace

const AttentionKernels* attention_portable() { return &kSet; }

const AttentionKernels& attention_for(const KernelSet& k) {
  if (const AttentionKernels* a = attention_avx512(); a && std::strcmp(k.name, "avx512-vnni") == 0) return *a;
  return *attention_portable();
}

}  // namespace gb
