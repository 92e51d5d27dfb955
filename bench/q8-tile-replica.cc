// A standalone replica of the AVX2 (no VNNI) Q8_0 prefill tile's integer core, for asking "what
// bounds it, and what would a different activation layout buy?" without the engine around it.
// One 16-row Q8_0x16 group of K = 2048 (kernels/pack.h's layout: 544-byte blocks, 16 f16 scales
// then 8 x 64 bytes of quants; in L1/L2 as in the engine's row tiles) against 4 activation rows,
// each way timed in turn, round after round; the median per way is printed in Gcells/s (one cell:
// 32 byte products into one 8-lane int32 accumulator, the XOR form of kernels/x86_avx2.cc) and
// GOPS (64 per cell), on one thread:
//
//   regs         the cell alone (vpxor, vpmaddubsw, vpmaddwd, vpaddd), activations in registers:
//                the ceiling of this instruction mix
//   half-bcast   the engine's order: one 8-row half at a time, a vpbroadcastd per row and step
//   both-bcast   both halves per broadcast (half the broadcasts, twice the live accumulators)
//   expanded     activations stored pre-broadcast (32 bytes per row and step): a plain load, no
//                broadcast; what a row-panel driver that expands each row tile once would run
//
// The float update per block (vcvtdq2ps, scales, FMA) is left out: the same for every way.
// Build and run (x86-64 with AVX2, FMA and F16C; the program says so and stops without them):
//   g++ -O2 -std=c++17 -Wno-psabi bench/q8-tile-replica.cc -o /tmp/q8-tile-replica
//   /tmp/q8-tile-replica [rounds=9]
// Results and what they showed: docs/BENCHMARKS.md ("What bounds the AVX2 Q8_0 prefill tile").
// The sums computed are not checked here; the engine's tiles are (kernel sweep).
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

constexpr int kRows = 4, kK = 2048, kBlocks = kK / 32, kBlockBytes = 544;
constexpr int kReps = 4000;  // passes over the group per timing

alignas(64) uint8_t g_group[kBlocks * kBlockBytes];
alignas(64) int8_t g_x[kRows][kK];
alignas(64) int8_t g_xe[kBlocks][8][kRows][32];  // expanded: [block][step][row] = 4 bytes x 8
alignas(64) int32_t g_wsum[kBlocks][16];          // per-block start values (any; not checked)
float g_xd[kRows][kBlocks];                       // activation scales

#define GB_AVX2 __attribute__((target("avx2,fma,f16c")))

GB_AVX2 inline __m256i cell(__m256i acc, __m256i aw, __m256i neg, __m256i x) {
  const __m256i p = _mm256_maddubs_epi16(aw, _mm256_xor_si256(x, neg));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

GB_AVX2 inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

GB_AVX2 inline __m256i wvec(int b, int kg, int h) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(g_group + b * kBlockBytes + 32 + kg * 64 + h * 32));
}

GB_AVX2 inline int32_t fold(const __m256i* acc, int n) {
  __m256i s = acc[0];
  for (int i = 1; i < n; i++) s = _mm256_add_epi32(s, acc[i]);
  return _mm256_extract_epi32(s, 0) ^ _mm256_extract_epi32(s, 7);
}

// Where a cell's 4 activation bytes (row r, block b, step kg) come from, in the one-half-at-a-time ways.
enum class XFrom { kRegs, kBroadcast, kExpanded };

// One step (kg) of one 8-row half (h) of block b for all rows: the weight vector's |w| and sign
// mask, then a cell per row. `x` (the rows' activations in registers) is read for kRegs only.
template <XFrom F>
GB_AVX2 inline void half_step(__m256i* acc, const __m256i* x, int b, int kg, int h) {
  const __m256i w = wvec(b, kg, h);
  const __m256i aw = _mm256_abs_epi8(w), neg = _mm256_cmpgt_epi8(_mm256_setzero_si256(), w);
#pragma GCC unroll 8
  for (int r = 0; r < kRows; r++) {
    __m256i xr;
    if constexpr (F == XFrom::kRegs) xr = x[r];
    if constexpr (F == XFrom::kBroadcast) xr = bcast4(&g_x[r][b * 32 + kg * 4]);
    if constexpr (F == XFrom::kExpanded) xr = _mm256_load_si256(reinterpret_cast<const __m256i*>(g_xe[b][kg][r]));
    acc[r] = cell(acc[r], aw, neg, xr);
  }
}

template <XFrom F>
GB_AVX2 __attribute__((noinline)) int32_t way_half() {
  __m256i acc[kRows], x[kRows];
  for (int r = 0; r < kRows; r++) acc[r] = _mm256_setzero_si256(), x[r] = _mm256_set1_epi32(r * 0x01020304 + 7);
  for (int rep = 0; rep < kReps; rep++)
    for (int b = 0; b < kBlocks; b++)
      for (int h = 0; h < 2; h++)
#pragma GCC unroll 2
        for (int kg = 0; kg < 8; kg++) half_step<F>(acc, x, b, kg, h);
  return fold(acc, kRows);
}

GB_AVX2 __attribute__((noinline)) int32_t way_both_bcast() {
  __m256i acc[kRows][2];
  for (auto& a : acc) a[0] = a[1] = _mm256_setzero_si256();
  for (int rep = 0; rep < kReps; rep++)
    for (int b = 0; b < kBlocks; b++)
#pragma GCC unroll 1
      for (int kg = 0; kg < 8; kg++) {
        const __m256i wa = wvec(b, kg, 0), wb = wvec(b, kg, 1);
        const __m256i awa = _mm256_abs_epi8(wa), nega = _mm256_cmpgt_epi8(_mm256_setzero_si256(), wa);
        const __m256i awb = _mm256_abs_epi8(wb), negb = _mm256_cmpgt_epi8(_mm256_setzero_si256(), wb);
#pragma GCC unroll 8
        for (int r = 0; r < kRows; r++) {
          const __m256i x = bcast4(&g_x[r][b * 32 + kg * 4]);
          acc[r][0] = cell(acc[r][0], awa, nega, x);
          acc[r][1] = cell(acc[r][1], awb, negb, x);
        }
      }
  return fold(&acc[0][0], 2 * kRows);
}

// half-bcast with the engine's per-block work around it: each block's accumulators start from a
// weight-sum vector and end in a float update (vcvtdq2ps, the two scales multiplied, FMA).
GB_AVX2 __attribute__((noinline)) int32_t way_half_bcast_float() {
  __m256 facc[kRows][2];
  for (auto& f : facc) f[0] = f[1] = _mm256_setzero_ps();
  for (int rep = 0; rep < kReps; rep++)
    for (int b = 0; b < kBlocks; b++) {
      const uint8_t* t = g_group + b * kBlockBytes;
      __m256i acc[2][kRows];  // [half][row]
      for (int h = 0; h < 2; h++) {
        const __m256i start = _mm256_load_si256(reinterpret_cast<const __m256i*>(g_wsum[b] + h * 8));
#pragma GCC unroll 8
        for (int r = 0; r < kRows; r++) acc[h][r] = start;
      }
#pragma GCC unroll 1
      for (int h = 0; h < 2; h++)
#pragma GCC unroll 2
        for (int kg = 0; kg < 8; kg++) half_step<XFrom::kBroadcast>(acc[h], nullptr, b, kg, h);
      const __m256 d0 = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
      const __m256 d1 = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(t + 16)));
#pragma GCC unroll 8
      for (int r = 0; r < kRows; r++) {
        const __m256 xd = _mm256_set1_ps(g_xd[r][b]);
        facc[r][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[0][r]), _mm256_mul_ps(d0, xd), facc[r][0]);
        facc[r][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[1][r]), _mm256_mul_ps(d1, xd), facc[r][1]);
      }
    }
  __m256 s = _mm256_setzero_ps();
  for (auto& f : facc) s = _mm256_add_ps(s, _mm256_add_ps(f[0], f[1]));
  return static_cast<int32_t>(_mm256_cvtss_f32(s));
}

}  // namespace

int main(int argc, char** argv) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::puts("this CPU lacks AVX2 or FMA: nothing to measure");
    return 0;
  }
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 9;
  uint32_t st = 12345;
  auto next = [&] { return (st = st * 1664525u + 1013904223u) >> 24; };
  for (auto& v : g_group) v = static_cast<uint8_t>(next());
  for (int b = 0; b < kBlocks; b++)  // quants in [-127, 127], as Q8_0 quantization writes them
    for (int i = 32; i < kBlockBytes; i++)
      if (g_group[b * kBlockBytes + i] == 0x80) g_group[b * kBlockBytes + i] = 0x81;
  for (auto& row : g_x)
    for (auto& v : row) v = static_cast<int8_t>(static_cast<int>(next() % 255) - 127);
  for (int b = 0; b < kBlocks; b++) {
    for (int i = 0; i < 16; i++) g_wsum[b][i] = static_cast<int32_t>(next());
    for (int r = 0; r < kRows; r++) g_xd[r][b] = 1e-3f * static_cast<float>(next() + 1);
    // scales: finite small f16 values
    for (int i = 0; i < 16; i++) g_group[b * kBlockBytes + 2 * i + 1] = 0x20;
  }
  for (int b = 0; b < kBlocks; b++)
    for (int kg = 0; kg < 8; kg++)
      for (int r = 0; r < kRows; r++)
        for (int j = 0; j < 32; j++) g_xe[b][kg][r][j] = g_x[r][b * 32 + kg * 4 + j % 4];
  struct Way {
    const char* name;
    int32_t (*fn)();
    std::vector<double> gcells;
  };
  Way ways[] = {{"regs", way_half<XFrom::kRegs>, {}},
                {"half-bcast", way_half<XFrom::kBroadcast>, {}},
                {"both-bcast", way_both_bcast, {}},
                {"expanded", way_half<XFrom::kExpanded>, {}},
                {"half+float", way_half_bcast_float, {}}};
  volatile int32_t sink = 0;
  const double cells = 2.0 * kReps * kBlocks * 8 * kRows;
  for (int round = 0; round <= rounds; round++)
    for (auto& w : ways) {
      const auto t0 = std::chrono::steady_clock::now();
      sink = sink + w.fn();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (round > 0) w.gcells.push_back(cells / s / 1e9);  // round 0 warms up
    }
  double base = 0;
  for (auto& w : ways) {
    std::sort(w.gcells.begin(), w.gcells.end());
    const double med = w.gcells[w.gcells.size() / 2];
    if (base == 0) base = med;
    std::printf("%-11s %6.2f Gcells/s  %6.1f GOPS  %5.1f%% of regs\n", w.name, med, med * 64, 100 * med / base);
  }
  return 0;
}
