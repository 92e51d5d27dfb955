// Standalone kernel sweep: every kernel set this CPU offers against the plain reference (ref.cc)
// over a sweep of shapes, without Node or the addon, so it can run where only a C++ toolchain is:
// natively on x86-64 (portable, AVX2, AVX-512) and for aarch64 under qemu-aarch64 user-mode
// emulation (portable, NEON, NEON+dotprod). It links only kernels/*.cc, gguf/ggml_type.cc and
// common/error.cc (native/scripts/kernel-sweep.sh builds and runs it).
//
// The checks and tolerances are those of apps/npu-backend/test/kernels.test.ts: quantized integer
// sums are exact in both, so a kernel may differ from the reference only by float accumulation
// order, |kernel - ref| <= 1e-5 * sum|w*x| + 1e-6; activation quantizers must produce the
// reference's bytes; embedding rows must dequantize exactly; attention must be within
// 2e-3 * max|V| + 1e-6 of a plain softmax(q.K)V in double.
//
// Usage: kernel_sweep --expect NAME [--quick]. NAME is the set kernels() must select on this CPU
// (with GEARBOX_ISA respected); the sweep fails if another was selected, so it can never pass by
// quietly falling back to the portable set.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/half.h"
#include "kernels/act.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "kernels/pack.h"
#include "kernels/ref.h"

using namespace gb;

namespace {

int g_failures = 0;
long g_checks = 0;

#define CHECK(cond, ...)                      \
  do {                                        \
    g_checks++;                               \
    if (!(cond)) {                            \
      if (g_failures++ < 20) {                \
        std::fprintf(stderr, "FAIL: ");       \
        std::fprintf(stderr, __VA_ARGS__);    \
        std::fprintf(stderr, "\n");           \
      }                                       \
    }                                         \
  } while (0)

// mulberry32, as the JS kernel test.
struct Rng {
  uint32_t s;
  explicit Rng(uint32_t seed) : s(seed) {}
  double operator()() {
    s += 0x6d2b79f5u;
    uint32_t t = s;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    return static_cast<double>(t ^ (t >> 14)) / 4294967296.0;
  }
};

// A random finite half with a magnitude in [2^(lo-15), 2^(hi-15)).
uint16_t rand_half(Rng& r, int lo, int hi) {
  const int e = lo + static_cast<int>(r() * (hi - lo));
  const int sign = r() < 0.5 ? 1 : 0;
  return static_cast<uint16_t>((sign << 15) | (e << 10) | static_cast<int>(r() * 1024));
}

struct TypeInfo {
  const char* name;
  GgmlType type;
  int block, bytes;
};
const TypeInfo kTypes[] = {{"f32", GgmlType::F32, 1, 4},      {"f16", GgmlType::F16, 1, 2},
                           {"bf16", GgmlType::BF16, 1, 2},    {"q8_0", GgmlType::Q8_0, 32, 34},
                           {"q4_0", GgmlType::Q4_0, 32, 18},  {"q4_K", GgmlType::Q4_K, 256, 144},
                           {"q6_K", GgmlType::Q6_K, 256, 210}};

void put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

// Random but valid blocks of a type for an N x K matrix.
std::vector<uint8_t> random_weights(const TypeInfo& t, int64_t N, int64_t K, uint32_t seed) {
  Rng r(seed);
  const int64_t n_blocks = N * K / t.block;
  std::vector<uint8_t> out(static_cast<size_t>(n_blocks * t.bytes));
  for (int64_t b = 0; b < n_blocks; b++) {
    uint8_t* o = out.data() + b * t.bytes;
    switch (t.type) {
      case GgmlType::F32: {
        const float v = static_cast<float>((r() - 0.5) * 2);
        std::memcpy(o, &v, 4);
        break;
      }
      case GgmlType::F16: put16(o, rand_half(r, 10, 16)); break;
      case GgmlType::BF16: {
        const int sign = r() < 0.5 ? 1 : 0;
        const int e = 120 + static_cast<int>(r() * 8);
        put16(o, static_cast<uint16_t>((sign << 15) | (e << 7) | static_cast<int>(r() * 128)));
        break;
      }
      case GgmlType::Q8_0:
        put16(o, rand_half(r, 4, 10));
        for (int j = 0; j < 32; j++) o[2 + j] = static_cast<uint8_t>(static_cast<int>(r() * 255) - 127);
        break;
      case GgmlType::Q4_0:
        put16(o, rand_half(r, 6, 12));
        for (int j = 0; j < 16; j++) o[2 + j] = static_cast<uint8_t>(r() * 256);
        break;
      case GgmlType::Q4_K:
        put16(o, rand_half(r, 4, 9) & 0x7fff);
        put16(o + 2, rand_half(r, 4, 9) & 0x7fff);
        for (int j = 4; j < 144; j++) o[j] = static_cast<uint8_t>(r() * 256);
        break;
      case GgmlType::Q6_K:
        for (int j = 0; j < 192; j++) o[j] = static_cast<uint8_t>(r() * 256);
        for (int j = 0; j < 16; j++) o[192 + j] = static_cast<uint8_t>(static_cast<int>(r() * 256) - 128);
        put16(o + 208, rand_half(r, 2, 7));
        break;
      default: break;
    }
  }
  return out;
}

std::vector<float> random_x(int64_t M, int64_t K, uint32_t seed) {
  Rng r(seed);
  std::vector<float> x(static_cast<size_t>(M * K));
  for (auto& v : x) {
    const double a = (r() - 0.5) * 4;
    v = static_cast<float>(a * (r() < 0.05 ? 8 : 1));  // some outliers
  }
  return x;
}

struct Packed {
  std::vector<uint8_t> data;
  Matrix m;
};

Packed pack(const TypeInfo& t, const std::vector<uint8_t>& w, int64_t N, int64_t K, const KernelSet& k) {
  Packed p;
  const WeightFormat f = storage_format_for(t.type);
  p.data.assign(packed_bytes(f, N, K) + 64, 0);
  pack_rows(t.type, w.data(), N, K, f, k.q8_unsigned_weights, p.data.data(), 0, col_groups(N));
  p.m.format = f;
  p.m.source_type = t.type;
  p.m.rows = N;
  p.m.cols = K;
  p.m.data = p.data.data();
  p.m.bytes = p.data.size();
  return p;
}

// The set's matmul of packed weights with x (converted by the set), columns [n0, n1); NaN elsewhere.
std::vector<float> kernel_matmul(const KernelSet& k, const Packed& p, const std::vector<float>& x, int64_t M,
                                 TileShape tile, int64_t n0, int64_t n1) {
  const int64_t N = p.m.rows, K = p.m.cols;
  const ActFormat af = act_format_for(p.m.format);
  std::vector<uint8_t> act(act_bytes(af, M, K) + 64);
  k.convert_act(af, x.data(), K, 0, M, M, K, act.data());
  if (af == ActFormat::Q8_0 || af == ActFormat::Q8_K) {  // quantized activations: the reference's bytes
    std::vector<uint8_t> want(act.size());
    kernels_portable()->convert_act(af, x.data(), K, 0, M, M, K, want.data());
    const size_t bytes = act_bytes(af, M, K);
    size_t i = 0;
    while (i < bytes && act[i] == want[i]) i++;
    CHECK(i == bytes, "%s convert_act %s M=%lld K=%lld differs from the reference at byte %zu (%d vs %d)", k.name,
          af == ActFormat::Q8_0 ? "q8_0" : "q8_K", (long long)M, (long long)K, i, i < bytes ? act[i] : 0,
          i < bytes ? want[i] : 0);
  }
  std::vector<float> y(static_cast<size_t>(M * N), NAN);
  k.matmul(p.m, act.data(), M, y.data(), N, n0, n1, tile);
  return y;
}

// Without software prefetch too (TileShape::prefetch, as the decode may run): same values.
const TileShape kTiles[] = {{1, 1},       {1, 1, false}, {1, 4}, {2, 4}, {3, 3},
                            {3, 3, false}, {4, 2},        {5, 3}, {6, 2}, {8, 2}, {12, 1}};

void sweep_matmul(const std::vector<const KernelSet*>& sets, bool quick) {
  // 33 and 40: row counts from which a set may switch to its many-row tiles (AVX2: from 32).
  const int64_t Ms[] = {1, 2, 3, 4, 5, 7, 8, 13, 16, 33, 40};
  const int n_ms = static_cast<int>(sizeof(Ms) / sizeof(Ms[0]));
  for (size_t ti = 0; ti < sizeof(kTypes) / sizeof(kTypes[0]); ti++) {
    const TypeInfo& t = kTypes[ti];
    const bool kq = t.block == 256;
    // K: one block up to many (long integer accumulations); N: one row, whole 16-row groups, and
    // ragged last groups; M (activation rows) cycles through 1..40 with odd counts and tile misfits.
    std::vector<int64_t> Ks = kq ? std::vector<int64_t>{256, 512, 768, 1536}
                                 : std::vector<int64_t>{32, 64, 96, 160, 512, 1024};
    std::vector<int64_t> Ns = {1, 16, 20, 48, 67, 131};
    if (quick) {
      Ks.resize(2);
      Ns = {20, 67};
    }
    uint32_t seed = 1 + static_cast<uint32_t>(ti) * 1000;
    int mi = static_cast<int>(ti);
    long before = g_checks;
    for (int64_t K : Ks)
      for (int64_t N : Ns) {
        const auto w = random_weights(t, N, K, seed++);
        const int64_t M = Ms[mi++ % n_ms];
        const auto x = random_x(M, K, seed++);
        std::vector<float> ref(static_cast<size_t>(M * N));
        ref_matmul(t.type, w.data(), N, K, x.data(), M, ref.data());
        std::vector<float> W(static_cast<size_t>(N * K));
        ref_dequantize_row(t.type, w.data(), W.data(), N * K);
        std::vector<double> abs(static_cast<size_t>(M * N));
        for (int64_t m = 0; m < M; m++)
          for (int64_t n = 0; n < N; n++) {
            double a = 0;
            for (int64_t kk = 0; kk < K; kk++) a += std::fabs(static_cast<double>(W[n * K + kk]) * x[m * K + kk]);
            abs[m * N + n] = a;
          }
        for (const KernelSet* k : sets) {
          const Packed p = pack(t, w, N, K, *k);
          for (const TileShape& tile : kTiles) {
            const auto y = kernel_matmul(*k, p, x, M, tile, 0, N);
            for (int64_t i = 0; i < M * N; i++) {
              const double tol = 1e-5 * abs[i] + 1e-6;
              CHECK(std::fabs(y[i] - ref[i]) <= tol, "%s %s N=%lld K=%lld M=%lld tile=%dx%d%s at %lld: %g vs ref %g",
                    k->name, t.name, (long long)N, (long long)K, (long long)M, tile.mr, tile.nc,
                    tile.prefetch ? "" : " (no prefetch)", (long long)i, y[i], ref[i]);
            }
          }
          // Only the requested columns, with a range that ends inside a 16-row tile.
          if (N >= 48) {
            const auto y = kernel_matmul(*k, p, x, M, {4, 2}, 16, 40);
            for (int64_t m = 0; m < M; m++)
              for (int64_t n = 0; n < N; n++) {
                const float v = y[m * N + n];
                if (n < 16 || n >= 40)
                  CHECK(std::isnan(v), "%s %s column %lld outside [16, 40) was written", k->name, t.name, (long long)n);
                else
                  CHECK(std::fabs(v - ref[m * N + n]) <= 1e-5 * abs[m * N + n] + 1e-6, "%s %s range column %lld",
                        k->name, t.name, (long long)n);
              }
          }
          // Embedding rows through the packed layout: exact.
          std::vector<float> row(static_cast<size_t>(K));
          for (int64_t r : {int64_t{0}, N / 2, N - 1}) {
            k->get_row(p.m, r, row.data());
            CHECK(std::memcmp(row.data(), W.data() + r * K, static_cast<size_t>(K) * 4) == 0, "%s %s get_row %lld",
                  k->name, t.name, (long long)r);
          }
        }
      }
    std::printf("  matmul %-5s %zu K x %zu N, M in {1..40}, %zu tiles, %zu sets: %ld checks\n", t.name, Ks.size(),
                Ns.size(), sizeof(kTiles) / sizeof(kTiles[0]), sets.size(), g_checks - before);
  }
}

// The largest integer products: q8_0 weights of -128 against activations quantized to -127 or 127
// (the plain NEON set adds two such products in int16 before widening: 2 * 16256 must not wrap; the
// AVX2 set's many-row tiles turn -127 into ~(-127) = 126 and 127 into -128). 3 rows, and 36 for
// the tiles a set uses from 32 rows on.
void sweep_extremes(const std::vector<const KernelSet*>& sets) {
  const TypeInfo& t = kTypes[3];  // q8_0
  const int64_t N = 32, K = 256;
  std::vector<uint8_t> w(static_cast<size_t>(N * K / 32 * 34));
  for (int64_t b = 0; b < N * K / 32; b++) {
    put16(w.data() + b * 34, 0x3C00);  // d = 1
    std::memset(w.data() + b * 34 + 2, 0x80, 32);  // -128
  }
  const long before = g_checks;
  for (const int64_t M : {int64_t{3}, int64_t{36}}) {
    std::vector<float> x(static_cast<size_t>(M * K));
    for (int64_t i = 0; i < M * K; i++) {
      const int64_t row = (i / K) % 3;
      x[i] = row == 1 ? 1.0f : (row == 0 ? -1.0f : (i % 2 ? 1.0f : -1.0f));
    }
    std::vector<float> ref(static_cast<size_t>(M * N));
    ref_matmul(t.type, w.data(), N, K, x.data(), M, ref.data());
    for (const KernelSet* k : sets) {
      const Packed p = pack(t, w, N, K, *k);
      for (const TileShape& tile : kTiles) {
        const auto y = kernel_matmul(*k, p, x, M, tile, 0, N);
        for (int64_t i = 0; i < M * N; i++)
          CHECK(std::fabs(y[i] - ref[i]) <= 1e-5 * std::fabs(ref[i]) + 1e-6,
                "%s q8_0 extremes M=%lld tile=%dx%d at %lld: %g vs %g", k->name, (long long)M, tile.mr, tile.nc,
                (long long)i, y[i], ref[i]);
      }
    }
  }
  std::printf("  matmul q8_0 extreme products (-128 x +-127), %zu sets: %ld checks\n", sets.size(), g_checks - before);
}

// Activation quantizers: the set's bytes equal the portable (reference) bytes, including the blocks
// that pin down each rule of ggml's quantizers.
void sweep_quantize(const std::vector<const KernelSet*>& sets) {
  const KernelSet& ref = *kernels_portable();
  const int64_t K = 512, M = 6;
  auto x = random_x(M, K, 11);
  auto block = [&](int b) { return x.data() + b * 256; };
  std::memset(block(1), 0, 256 * 4);  // all zero
  for (int j = 0; j < 256; j++) block(2)[j] = static_cast<float>((j % 64) - 32) + 0.5f;  // ties, iscale 1
  block(2)[100] = -127;
  block(3)[37] = 40;  // the first largest magnitude sets the scale's sign
  block(3)[200] = -40;
  block(4)[37] = -40;
  block(4)[200] = 40;
  for (int j = 0; j < 256; j++)  // -127/max overflows to infinity: every quant is 0
    block(5)[j] = static_cast<float>((j % 3 == 0 ? -1 : 1) * 1.5e-38 * (1 + j / 256.0));
  std::memset(block(7) + 32, 0, 32 * 4);  // an all-zero q8_0 block
  // q8_K only (the format whose quantizers promise it): a NaN is skipped by the max and becomes 0.
  std::vector<float> x_nan = x;
  x_nan[6 * 256 + 3] = NAN;
  const long before = g_checks;
  for (const KernelSet* k : sets) {
    for (ActFormat f : {ActFormat::Q8_K, ActFormat::Q8_0, ActFormat::F16}) {
      const size_t bytes = act_bytes(f, M, K);
      std::vector<uint8_t> a(bytes + 64, 0xAB), b(bytes + 64, 0xAB);
      const float* src = f == ActFormat::Q8_K ? x_nan.data() : x.data();
      ref.convert_act(f, src, K, 0, M, M, K, a.data());
      k->convert_act(f, src, K, 0, M, M, K, b.data());
      size_t first = bytes;
      for (size_t i = 0; i < bytes; i++)
        if (a[i] != b[i]) {
          first = i;
          break;
        }
      CHECK(first == bytes, "%s convert_act format %d differs from the reference at byte %zu", k->name,
            static_cast<int>(f), first);
    }
  }
  std::printf("  activation conversion q8_K, q8_0, f16 (special blocks included), %zu sets: %ld checks\n", sets.size(),
              g_checks - before);
}

double f16d(uint16_t h) { return static_cast<double>(f16_to_f32(h)); }

void sweep_attention(const std::vector<const KernelSet*>& sets, bool quick) {
  const long before = g_checks;
  std::vector<int> hds = {16, 64, 128}, ns = {1, 5, 16, 17, 40, 100, 257};
  if (quick) {
    hds = {64};
    ns = {1, 17, 100};
  }
  for (int hd : hds)
    for (int n : ns) {
      Rng r(static_cast<uint32_t>(hd * 100 + n));
      std::vector<uint16_t> Kh(static_cast<size_t>(n * hd)), Vh(static_cast<size_t>(n * hd));
      for (auto& v : Kh) v = rand_half(r, 12, 16);
      for (auto& v : Vh) v = rand_half(r, 12, 16);
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      // Paged into blocks of 16, K transposed; slots past n hold NaN, as stale cache contents could.
      const int bs = 16, nb = (n + bs - 1) / bs;
      std::vector<uint16_t> kt(static_cast<size_t>(nb * bs * hd), 0x7E00), vt(kt.size(), 0x7E00);
      for (int j = 0; j < n; j++)
        for (int d = 0; d < hd; d++) {
          kt[static_cast<size_t>((j / bs) * bs * hd + d * bs + j % bs)] = Kh[static_cast<size_t>(j * hd + d)];
          vt[static_cast<size_t>((j / bs) * bs * hd + (j % bs) * hd + d)] = Vh[static_cast<size_t>(j * hd + d)];
        }
      std::vector<const uint16_t*> kb, vb;
      for (int b = 0; b < nb; b++) {
        kb.push_back(kt.data() + b * bs * hd);
        vb.push_back(vt.data() + b * bs * hd);
      }
      std::vector<double> bound(static_cast<size_t>(hd));
      for (int d = 0; d < hd; d++) {
        double mx = 0;
        for (int j = 0; j < n; j++) mx = std::fmax(mx, std::fabs(f16d(Vh[static_cast<size_t>(j * hd + d)])));
        bound[d] = 2e-3 * mx + 1e-6;
      }
      for (int G : {1, 3, 4, 8}) {
        std::vector<float> q(static_cast<size_t>(G * hd));
        for (auto& v : q) v = f16_to_f32(rand_half(r, 12, 16));
        std::vector<double> want(static_cast<size_t>(G * hd));
        for (int g = 0; g < G; g++) {
          std::vector<double> s(static_cast<size_t>(n));
          double mx = -INFINITY;
          for (int j = 0; j < n; j++) {
            double acc = 0;
            for (int d = 0; d < hd; d++) acc += q[g * hd + d] * f16d(Kh[static_cast<size_t>(j * hd + d)]);
            s[j] = acc * scale;
            mx = std::fmax(mx, s[j]);
          }
          double sum = 0;
          for (auto& v : s) sum += (v = std::exp(v - mx));
          for (int d = 0; d < hd; d++) {
            double o = 0;
            for (int j = 0; j < n; j++)
              o += static_cast<double>(f16_to_f32(f32_to_f16(static_cast<float>(s[j] / sum)))) *
                   f16d(Vh[static_cast<size_t>(j * hd + d)]);
            want[g * hd + d] = o;
          }
        }
        const int stride = nb * bs + 16;
        for (const KernelSet* k : sets) {
          const AttentionKernels& a = attention_for(*k);
          std::vector<float> scores(static_cast<size_t>(G * stride)), out(static_cast<size_t>(G * hd), NAN);
          a.attend_group(q.data(), G, kb.data(), vb.data(), n, bs, hd, scale, scores.data(), stride, out.data());
          for (int i = 0; i < G * hd; i++)
            CHECK(std::fabs(out[i] - want[i]) <= bound[i % hd], "%s attention (%s) hd=%d n=%d G=%d at %d: %g vs %g",
                  k->name, a.name, hd, n, G, i, out[i], want[i]);
        }
      }
    }
  std::printf("  attention hd x n = %zu x %zu, groups 1/3/4/8, %zu sets: %ld checks\n", hds.size(), ns.size(),
              sets.size(), g_checks - before);
}

// SwiGLU (silu(g) * u) of every set against the double formula: lengths around every vector width,
// values from tiny to past exp's range.
void sweep_silu(const std::vector<const KernelSet*>& sets) {
  const long before = g_checks;
  Rng r(4242);
  for (int n : {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 100, 4099}) {
    std::vector<float> g(static_cast<size_t>(n)), u(static_cast<size_t>(n));
    for (int i = 0; i < n; i++) {
      const double x = r() * 20 - 10, k = r();
      g[static_cast<size_t>(i)] = static_cast<float>(k < 0.125 ? x * 12 : (k < 0.25 ? x * 1e-6 : (k < 0.375 ? 0 : x)));
      u[static_cast<size_t>(i)] = static_cast<float>(r() * 8 - 4);
    }
    if (n > 4) g[0] = -100, g[1] = 100, g[2] = -87.5f, g[3] = 88;
    for (const KernelSet* k : sets) {
      std::vector<float> out = g;
      attention_for(*k).silu_mul(out.data(), u.data(), n);
      for (int i = 0; i < n; i++) {
        const double x = g[static_cast<size_t>(i)];
        const double want = x / (1 + std::exp(-x)) * u[static_cast<size_t>(i)];
        CHECK(std::fabs(out[static_cast<size_t>(i)] - want) <= 2e-6 * std::fabs(want) + 1e-30,
              "%s silu_mul n=%d i=%d: silu(%g) * %g = %g, want %g", k->name, n, i, x, u[static_cast<size_t>(i)],
              out[static_cast<size_t>(i)], want);
      }
    }
  }
  std::printf("  silu_mul, %zu sets: %ld checks\n", sets.size(), g_checks - before);
}

// The f16 row conversions of every set (AttentionKernels::to_f16, round_f16) against the scalar
// f32_to_f16 / round_f16 of common/half.h, bit for bit: random floats over f16's whole range and
// past it, and the edges: signed zeros, f16 subnormals and the halfway points between them, ties to
// even, the largest finite half and the first values that round to infinity, infinities. A NaN
// must stay a NaN of the same sign (F16C and NEON keep payload bits the scalar code drops).
void sweep_f16_rows(const std::vector<const KernelSet*>& sets) {
  const long before = g_checks;
  Rng r(1616);
  std::vector<float> edges = {0.0f, -0.0f, 65504.0f, -65504.0f, 65519.99f, 65520.0f, -65520.0f, 1e30f,
                              INFINITY, -INFINITY, std::ldexp(1.0f, -24), std::ldexp(1.0f, -25),
                              std::ldexp(3.0f, -26), std::ldexp(1.0f, -26), std::ldexp(1.0f, -14),
                              std::ldexp(1023.0f, -24), std::ldexp(2047.0f, -25), 1.0f + std::ldexp(1.0f, -11),
                              1.0f + std::ldexp(3.0f, -11), -2.0f - std::ldexp(1.0f, -10), 1e-40f, -1e-45f};
  for (int n : {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1027}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (int i = 0; i < n; i++) {
      const double k = r();
      const float v = static_cast<float>(std::ldexp(1.0 + r(), static_cast<int>(r() * 50) - 30));
      x[static_cast<size_t>(i)] = (k < 0.5 ? v : -v);
      if (k > 0.9) x[static_cast<size_t>(i)] = edges[static_cast<size_t>(r() * static_cast<double>(edges.size()))];
    }
    if (n == 1027) {
      for (size_t i = 0; i < edges.size(); i++) x[i] = edges[i];
      x[edges.size()] = NAN;
      x[edges.size() + 1] = -NAN;
    }
    for (const KernelSet* k : sets) {
      const AttentionKernels& a = attention_for(*k);
      std::vector<uint16_t> h(static_cast<size_t>(n));
      std::vector<float> f(static_cast<size_t>(n));
      a.to_f16(x.data(), h.data(), n);
      a.round_f16(x.data(), f.data(), n);
      for (int i = 0; i < n; i++) {
        const float v = x[static_cast<size_t>(i)];
        const uint16_t got = h[static_cast<size_t>(i)], want = f32_to_f16(v);
        const float rf = f[static_cast<size_t>(i)], rwant = round_f16(v);
        if (std::isnan(v)) {
          CHECK((got & 0x7C00) == 0x7C00 && (got & 0x3FF) != 0 && (got & 0x8000) == (want & 0x8000),
                "%s to_f16 n=%d i=%d: NaN -> 0x%04x", a.name, n, i, got);
          CHECK(std::isnan(rf) && std::signbit(rf) == std::signbit(v), "%s round_f16 n=%d i=%d: NaN -> %g", a.name, n,
                i, rf);
          continue;
        }
        CHECK(got == want, "%s to_f16 n=%d i=%d: %.9g -> 0x%04x, want 0x%04x", a.name, n, i, v, got, want);
        CHECK(std::memcmp(&rf, &rwant, 4) == 0, "%s round_f16 n=%d i=%d: %.9g -> %.9g, want %.9g", a.name, n, i, v,
              rf, rwant);
      }
    }
  }
  std::printf("  f16 rows (to_f16, round_f16), %zu sets: %ld checks\n", sets.size(), g_checks - before);
}

}  // namespace

int main(int argc, char** argv) {
  const char* expect = nullptr;
  bool quick = false;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--expect") == 0 && i + 1 < argc) expect = argv[++i];
    else if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    else {
      std::fprintf(stderr, "usage: kernel_sweep --expect NAME [--quick]\n");
      return 2;
    }
  }
  if (!expect) {
    std::fprintf(stderr, "kernel_sweep: --expect NAME is required (the set this CPU must select)\n");
    return 2;
  }
  const KernelSet* all[8];
  const int n = available_kernel_sets(all, 8);
  std::vector<const KernelSet*> sets(all, all + n);
  const KernelSet& chosen = kernels();
  const AttentionKernels& chosen_attn = attention_for(chosen);
  std::printf("kernel sets on this CPU:");
  for (const KernelSet* k : sets) std::printf(" %s (attention %s)", k->name, attention_for(*k).name);
  std::printf("\nselected: %s (attention %s)%s%s\n", chosen.name, chosen_attn.name,
              std::getenv("GEARBOX_ISA") ? ", GEARBOX_ISA=" : "", std::getenv("GEARBOX_ISA") ? std::getenv("GEARBOX_ISA") : "");
  if (std::strcmp(chosen.name, expect) != 0) {
    std::printf("kernel-sweep: FAILED: expected the '%s' set to be selected, got '%s'\n", expect, chosen.name);
    return 1;
  }
  // A vector set must come with its own attention, not the portable fallback.
  if (std::strcmp(expect, "portable") != 0 && std::strcmp(chosen_attn.name, "portable") == 0) {
    std::printf("kernel-sweep: FAILED: the '%s' set has only the portable attention\n", expect);
    return 1;
  }
  sweep_matmul(sets, quick);
  sweep_extremes(sets);
  sweep_quantize(sets);
  sweep_attention(sets, quick);
  sweep_silu(sets);
  sweep_f16_rows(sets);
  if (g_failures) {
    std::printf("kernel-sweep: FAILED: %d of %ld checks (sets:", g_failures, g_checks);
    for (const KernelSet* k : sets) std::printf(" %s", k->name);
    std::printf(")\n");
    return 1;
  }
  std::printf("kernel-sweep: OK: %ld checks passed, sets:", g_checks);
  for (const KernelSet* k : sets) std::printf(" %s", k->name);
  std::printf(" (selected %s)\n", chosen.name);
  return 0;
}
