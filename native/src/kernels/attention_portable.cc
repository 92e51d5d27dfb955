#include <cmath>
#include <cstring>

#include "common/half.h"
#include "kernels/attention_impl.h"

namespace gb {
namespace {

// The shared vector kernel (attention_impl.h) over GCC's generic 4-lane vectors, for every target
// without a set of its own: SSE2 on x86-64 without AVX2, and whatever the compiler has elsewhere
// (scalar code where it has nothing). It takes the K-transposed blocks 16 keys at a time, where
// the plain loop below converts one f16 at a time and walks K with a stride of 16: on a Zen 4 the
// plain loop was 27% of a 512-token portable prefill. f16 conversions are exact integer and
// power-of-two arithmetic (no F16C on baseline x86-64): f16x4_to_f32 (common/half.h) and round_f16.
struct VGen {
  using R = F32x4;
  using I = int32_t __attribute__((vector_size(16)));
  static constexpr int kLanes = 4;
  static constexpr int kAccRegs = 8;  // of 16 xmm on x86-64
  static R zero() { return R{0, 0, 0, 0}; }
  static R set1(float v) { return R{v, v, v, v}; }
  static R load(const float* p) {
    R v;
    std::memcpy(&v, p, sizeof(v));
    return v;
  }
  static void store(float* p, R v) { std::memcpy(p, &v, sizeof(v)); }
  static R bits(I i) { return (R)i; }
  static I ibits(R v) { return (I)v; }
  static R load_f16(const uint16_t* p) { return f16x4_to_f32(p); }
  static R fma(R a, R b, R c) { return a * b + c; }
  static R add(R a, R b) { return a + b; }
  static R mul(R a, R b) { return a * b; }
  static R sub(R a, R b) { return a - b; }
  static R max(R a, R b) { return a > b ? a : b; }
  static R min(R a, R b) { return a < b ? a : b; }
  static R div(R a, R b) { return a / b; }
  static R if_neg(R x, R a, R b) { return bits((ibits(x) >> 31 & ibits(a)) | (~(ibits(x) >> 31) & ibits(b))); }
  static float hsum(R v) { return (v[0] + v[1]) + (v[2] + v[3]); }
  static float hmax(R v) {
    const float a = v[0] > v[1] ? v[0] : v[1], b = v[2] > v[3] ? v[2] : v[3];
    return a > b ? a : b;
  }
  // To f16 precision with round-to-nearest-even, as f32 -> f16 -> f32 for finite |v| <= 65504 (the
  // kernel rounds softmax weights in [0, 1]): adding and subtracting to |v| a power of two whose
  // ulp is f16's quantum at v's exponent makes the float unit round there; below 2^-14 (f16
  // subnormals) that quantum is 2^-24, the ulp of 0.75. The sign is put back after.
  static R round_f16(R v) {
    const I a = ibits(v) & 0x7fffffff;
    const R av = bits(a);
    const R magic = bits((a & 0x7f800000) + (13 << 23));
    const R normal = (av + magic) - magic;
    const R sub = (av + set1(0.75f)) - set1(0.75f);
    const I tiny = a < (113 << 23);  // |v| < 2^-14
    return bits((ibits(sub) & tiny) | (ibits(normal) & ~tiny) | (ibits(v) & int32_t(0x80000000u)));
  }
  // As the AVX2 version; n = round(x log2 e) by the 1.5 * 2^23 trick (round to nearest even, as
  // the vector sets' rounding instructions) and 2^n built in the exponent field.
  static R exp_neg(R x) {
    x = max(x, set1(-87.3f));
    const R big = set1(12582912.0f);
    const R n = (x * set1(1.44269504088896341f) + big) - big;
    R r = x - n * set1(0.693359375f);
    r = r - n * set1(-2.12194440e-4f);
    R p = set1(1.3981999507E-3f);
    p = p * r + set1(8.3334519073E-3f);
    p = p * r + set1(4.1665795894E-2f);
    p = p * r + set1(1.6666665459E-1f);
    p = p * r + set1(5.0000001201E-1f);
    p = p * (r * r) + r;
    p = p + set1(1.0f);
    const I e = (__builtin_convertvector(n, I) + 127) << 23;
    return p * bits(e);
  }
};

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
  // Shapes the vector kernel does not cover it hands to this function: they take the plain loop.
  if (attend_covers<VGen>(G, bs, hd))
    return gb::attend_group<VGen>(q, G, kb, vb, n_ctx, bs, hd, scale, scores, scores_stride, out);
  for (int g = 0; g < G; g++)
    attend_one(q + g * hd, kb, vb, n_ctx, bs, hd, scale, scores + static_cast<size_t>(g) * scores_stride,
               out + g * hd);
}

// The f16 row conversions value by value: VGen::round_f16 is exact only up to f16's largest finite
// value, which is all the softmax weights need, while q and K and V may lie anywhere.
void to_f16(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = f32_to_f16(x[i]);
}
void round_f16_row(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = round_f16(x[i]);
}

const AttentionKernels kSet = {"portable", attend_group, gb::silu_mul<VGen>, to_f16, round_f16_row};

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
