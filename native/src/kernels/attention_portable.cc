#include <cmath>
#include <cstring>

#include "common/half.h"
#include "kernels/attention.h"

namespace gb {
namespace {

// The plain kernel, one query at a time: any block size and head size.
void attend_one(const float* q, const uint16_t* const* kb, const uint16_t* const* vb, int n_ctx, int bs, int hd,
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

void attend_group(const float* q, int G, const uint16_t* const* kb, const uint16_t* const* vb, int n_ctx, int bs,
                  int hd, float scale, float* scores, int scores_stride, float* out) {
  for (int g = 0; g < G; g++)
    attend_one(q + g * hd, kb, vb, n_ctx, bs, hd, scale, scores + static_cast<size_t>(g) * scores_stride,
               out + g * hd);
}

void silu_mul(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

const AttentionKernels kSet = {"portable", attend_group, silu_mul};

}  // namespace

const AttentionKernels* attention_portable() { return &kSet; }

const AttentionKernels& attention_for(const KernelSet& k) {
  const AttentionKernels* a = nullptr;
  if (std::strncmp(k.name, "avx512", 6) == 0) a = attention_avx512();
  else if (std::strncmp(k.name, "avx2", 4) == 0) a = attention_avx2();  // avx2, avx2-vnni
  else if (std::strncmp(k.name, "neon", 4) == 0) a = attention_neon();
  return a ? *a : *attention_portable();
}

}  // namespace gb
