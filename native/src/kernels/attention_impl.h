// Attention written once for every vector set: `attend_group<V>` over a small SIMD vocabulary `V`
// that each ISA file provides (8 lanes on AVX2, 16 on AVX-512, 4 on NEON). Internal linkage: it is
// instantiated inside each ISA's translation unit with that ISA's flags (see driver.h).
//
// One call serves the G query heads that share a KV head (grouped-query attention): every K and V
// vector is loaded and converted from f16 once and used by all G queries. Per query the arithmetic
// is the portable kernel's: scores q.k * scale, max, exp (sum in double), weights rounded to f16,
// weighted sum of V rows.
//
// A `V` provides: using R (the register type); kLanes; zero(); set1(float); load(const float*);
// store(float*, R); load_f16(const uint16_t*) (kLanes halves); fma(a, b, c) = a * b + c; mul; sub;
// max; min; div; exp_neg(R) (exp of x <= 0, relative error ~1e-7); round_f16(R); hsum(R); hmax(R);
// store_f16(uint16_t*, R) (kLanes halves, rounded to nearest even); if_neg(x, a, b) (a in the lanes
// where x's sign bit is set, b elsewhere).
#pragma once
#include <cmath>

#include "common/half.h"
#include "kernels/attention.h"

namespace gb {
namespace {

constexpr int kAttnBlock = 16;  // keys per KV block the vector kernels handle
constexpr int kAttnMaxGroup = 8;

// Scores of NB consecutive blocks of keys (b0 .. b0 + NB - 1) for the G queries: G x NB x 16 dot
// products over hd from the transposed K blocks (hd, 16), scaled. Each query value is broadcast
// once for the NB blocks.
template <class V, int G, int NB>
inline void score_blocks(const float* q, const uint16_t* const* kb, int b0, int hd, float scale, float* scores,
                         int scores_stride) {
  using R = typename V::R;
  constexpr int L = kAttnBlock / V::kLanes;  // vectors per block of keys
  constexpr int W = NB * L;                  // vectors of keys per step
  // Independent FMA chains per query: enough to cover the FMA latency when G * W is small.
  constexpr int P = G * W >= 4 ? 1 : (4 / (G * W) > 4 ? 4 : 4 / (G * W));
  const uint16_t* K[NB];
  for (int n = 0; n < NB; n++) K[n] = kb[b0 + n];
  R acc[G][P][W];
  for (int g = 0; g < G; g++)
    for (int p = 0; p < P; p++)
      for (int l = 0; l < W; l++) acc[g][p][l] = V::zero();
  for (int d = 0; d < hd; d += P) {
#pragma GCC unroll 4
    for (int p = 0; p < P; p++) {
      R k[W];
      for (int n = 0; n < NB; n++)
        for (int l = 0; l < L; l++) k[n * L + l] = V::load_f16(K[n] + (d + p) * kAttnBlock + l * V::kLanes);
      for (int g = 0; g < G; g++) {
        const R qd = V::set1(q[g * hd + d + p]);
        for (int l = 0; l < W; l++) acc[g][p][l] = V::fma(qd, k[l], acc[g][p][l]);
      }
    }
  }
  const R vs = V::set1(scale);
  for (int g = 0; g < G; g++)
    for (int l = 0; l < W; l++) {
      R s = acc[g][0][l];
      for (int p = 1; p < P; p++) s = V::add(s, acc[g][p][l]);
      V::store(scores + g * scores_stride + b0 * kAttnBlock + l * V::kLanes, V::mul(s, vs));
    }
}

template <class V, int G>
void attend_group_n(const float* q, const uint16_t* const* kb, const uint16_t* const* vb, int n_ctx, int hd,
                    float scale, float* scores, int scores_stride, float* out) {
  using R = typename V::R;
  const int n_blocks = (n_ctx + kAttnBlock - 1) / kAttnBlock;
  const int n_pad = n_blocks * kAttnBlock;

  // ---- scores: up to 4 blocks of keys per pass where their G x NB x L accumulators fit the set's
  // accumulator registers, so that each broadcast query value and each pass's loop serve NB blocks
  // (with one block per pass, a 16-lane set ran 4 FMAs per 4 broadcasts and one f16 load). The
  // blocks left over take one pass each. Each score is the same sum in the same order either way
  // whenever G x L >= 4. testing.benchAttention, AMD Zen 5, AVX-512, G = 4, hd = 64, 1024 tokens
  // over 8 KV heads, one thread, 6 rounds in one process: the whole attention +17% (1.16-1.18x;
  // its q.k pass at about 80% of the FMA peak, the p.V pass at 86%).
  constexpr int kL = kAttnBlock / V::kLanes;
  constexpr int kFit = V::kAccRegs / (G * kL);
  constexpr int NB = kFit > 4 ? 4 : (kFit < 1 ? 1 : kFit);
  int b = 0;
  if constexpr (NB > 1)
    for (; b + NB <= n_blocks; b += NB) score_blocks<V, G, NB>(q, kb, b, hd, scale, scores, scores_stride);
  for (; b < n_blocks; b++) score_blocks<V, G, 1>(q, kb, b, hd, scale, scores, scores_stride);
  // Slots past n_ctx in the last block hold whatever the cache held: never part of the softmax.
  for (int g = 0; g < G; g++)
    for (int j = n_ctx; j < n_pad; j++) scores[g * scores_stride + j] = -INFINITY;

  // ---- softmax weights per query, rounded to f16
  for (int g = 0; g < G; g++) {
    float* s = scores + g * scores_stride;
    R vmax = V::set1(-INFINITY);
    for (int j = 0; j < n_pad; j += V::kLanes) vmax = V::max(vmax, V::load(s + j));
    const R mx = V::set1(V::hmax(vmax));
    double sum = 0;
    for (int j = 0; j < n_pad; j += V::kLanes) {
      const R e = V::exp_neg(V::sub(V::load(s + j), mx));
      V::store(s + j, e);
    }
    for (int j = n_ctx; j < n_pad; j++) s[j] = 0;  // exp_neg clamps: make the padding exactly 0
    for (int j = 0; j < n_pad; j += V::kLanes) sum += static_cast<double>(V::hsum(V::load(s + j)));
    const R inv = V::set1(static_cast<float>(1.0 / sum));
    for (int j = 0; j < n_pad; j += V::kLanes) V::store(s + j, V::round_f16(V::mul(V::load(s + j), inv)));
  }

  // ---- out[g] = sum_j p[g][j] * V[j], in column chunks that keep G x C accumulators in registers
  constexpr int C = V::kAccRegs / G >= 4 ? 4 : (V::kAccRegs / G >= 2 ? 2 : 1);
  const int chunk = C * V::kLanes;
  for (int d0 = 0; d0 < hd; d0 += chunk) {
    const int cn = hd - d0 < chunk ? (hd - d0) / V::kLanes : C;
    R acc[G][C];
    for (int g = 0; g < G; g++)
      for (int c = 0; c < C; c++) acc[g][c] = V::zero();
    for (int j = 0; j < n_ctx; j++) {
      const uint16_t* Vr = vb[j / kAttnBlock] + (j % kAttnBlock) * hd + d0;
      R v[C];
      for (int c = 0; c < C; c++) v[c] = c < cn ? V::load_f16(Vr + c * V::kLanes) : V::zero();
      for (int g = 0; g < G; g++) {
        const R p = V::set1(scores[g * scores_stride + j]);
        for (int c = 0; c < C; c++) acc[g][c] = V::fma(p, v[c], acc[g][c]);
      }
    }
    for (int g = 0; g < G; g++)
      for (int c = 0; c < cn; c++) V::store(out + g * hd + d0 + c * V::kLanes, acc[g][c]);
  }
}

// silu(x) * u = x * sigmoid(x) * u with the exponential taken at -|x| <= 0, so exp_neg serves
// every sign: sigmoid(x) = exp(min(x, 0)) / (1 + exp(-|x|)), and exp(min(x, 0)) is that same
// e = exp(-|x|) where x < 0 and 1 elsewhere (exp_neg(0) is exactly 1 in every set, so one
// exponential gives the same bits as the two this took before).
template <class V>
void silu_mul(float* g, const float* u, int64_t n) {
  using R = typename V::R;
  const R zero = V::zero(), one = V::set1(1.0f);
  int64_t i = 0;
  for (; i + V::kLanes <= n; i += V::kLanes) {
    const R x = V::load(g + i);
    const R e = V::exp_neg(V::min(x, V::sub(zero, x)));
    const R num = V::mul(x, V::if_neg(x, e, one));
    const R s = V::div(num, V::add(one, e));
    V::store(g + i, V::mul(s, V::load(u + i)));
  }
  for (; i < n; i++) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

// AttentionKernels::to_f16 and round_f16: whole vectors, then the scalar conversions for the tail.
template <class V>
void to_f16_row(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + V::kLanes <= n; i += V::kLanes) V::store_f16(out + i, V::load(x + i));
  for (; i < n; i++) out[i] = f32_to_f16(x[i]);
}
template <class V>
void round_f16_row(const float* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + V::kLanes <= n; i += V::kLanes) V::store(out + i, V::round_f16(V::load(x + i)));
  for (; i < n; i++) out[i] = gb::round_f16(x[i]);
}

// Whether attend_group<V> computes this shape itself.
template <class V>
bool attend_covers(int G, int bs, int hd) {
  return bs == kAttnBlock && hd % V::kLanes == 0 && G >= 1 && G <= kAttnMaxGroup;
}

// The AttentionKernels entry point of a vector set; shapes it does not cover go to portable.
template <class V>
void attend_group(const float* q, int G, const uint16_t* const* kb, const uint16_t* const* vb, int n_ctx, int bs,
                  int hd, float scale, float* scores, int scores_stride, float* out) {
  if (!attend_covers<V>(G, bs, hd)) {
    attention_portable()->attend_group(q, G, kb, vb, n_ctx, bs, hd, scale, scores, scores_stride, out);
    return;
  }
  using Fn = void (*)(const float*, const uint16_t* const*, const uint16_t* const*, int, int, float, float*, int,
                      float*);
  static constexpr Fn fns[kAttnMaxGroup + 1] = {nullptr,
                                                &attend_group_n<V, 1>,
                                                &attend_group_n<V, 2>,
                                                &attend_group_n<V, 3>,
                                                &attend_group_n<V, 4>,
                                                &attend_group_n<V, 5>,
                                                &attend_group_n<V, 6>,
                                                &attend_group_n<V, 7>,
                                                &attend_group_n<V, 8>};
  fns[G](q, kb, vb, n_ctx, hd, scale, scores, scores_stride, out);
}

}  // namespace
}  // namespace gb
