// A standalone replica of the decode's weight stream, for asking "how fast can a core stream the
// weights while it computes the dot, and does software prefetch help?" without the engine around
// it. 1 GiB of Q8_0x16 groups (544-byte blocks: 16 f16 scales, then 8 x 64 bytes of quants, as
// kernels/pack.h lays them out), split in halves over the threads; each way is timed in turn, round
// after round, and the median per way is printed in GB/s:
//
//   probe-plain / probe-pf4k / probe-pf8k   AVX2 read loops: no software prefetch, or 4 / 8 KiB ahead
//   avx2-nopf / avx2-pf4k                   the AVX2 one-row tile's dot (vpsignb, vpmaddubsw,
//                                           vpmaddwd), without / with prefetcht0 4 KiB ahead
//   vnni-nopf / vnni-pf4k                   the AVX-VNNI tile's dot (vpdpbusd), where the CPU has it
//   chunked-nopf / chunked-pf4k             the AVX2 tile cut as the engine cuts a decode matmul:
//                                           8192-row matrices, 8 chunks each from a shared counter,
//                                           a barrier after each matrix
//
// Build and run (x86-64 with AVX2; the vnni rows need AVX-VNNI and are skipped without it; the
// vector code is compiled per function, so the program itself runs anywhere and says what it lacks):
//   g++ -O2 -std=c++17 -Wno-psabi -pthread bench/stream-replica.cc -o /tmp/stream-replica
//   /tmp/stream-replica [threads=2] [rounds=8]
// Results and what they showed: docs/BENCHMARKS.md (Zen 5, 2026-12-07, "weight prefetch chosen by
// timing"). The values computed are not checked here; the engine's tiles are (kernel sweep).
#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kBlockBytes = 544;  // one 32-wide K block of a 16-row group
constexpr int64_t kK = 2048, kBlocks = kK / 32;
constexpr size_t kGroupBytes = static_cast<size_t>(kBlocks) * kBlockBytes;

__attribute__((target("avx2"))) inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// One K step of a block: the prefetch (when Ahead), and the step's 4 activation bytes broadcast.
template <int Ahead>
__attribute__((target("avx2"))) inline __m256i step_x(const uint8_t* t, const int8_t* xb, int kg) {
  if (Ahead) _mm_prefetch(reinterpret_cast<const char*>(t + kg * 64 + Ahead), _MM_HINT_T0);
  return bcast4(xb + kg * 4);
}

// A block's integer sums (rows 0-7, 8-15) into the float accumulators, scaled by d_w * d_x.
__attribute__((target("avx2,fma,f16c"))) inline void scale_block(const uint8_t* t, float xd, __m256i a0, __m256i a1,
                                                                 __m256& f0, __m256& f1) {
  const __m256 xv = _mm256_set1_ps(xd);
  const __m256 d0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
  const __m256 d1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t + 16)));
  f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a0), _mm256_mul_ps(d0, xv), f0);
  f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a1), _mm256_mul_ps(d1, xv), f1);
}

// One 16-row group against one activation row: the AVX2 tile's arithmetic (x86_avx2.cc, M = 1).
template <int Ahead>
__attribute__((target("avx2,fma,f16c"))) void avx2_group(const uint8_t* w, const int8_t* xq, const float* xd,
                                                         float* y) {
  __m256 f0 = _mm256_setzero_ps(), f1 = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < kBlocks; b++) {
    const uint8_t* t = w + b * kBlockBytes;
    __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int kg = 0; kg < 8; kg++) {
      const __m256i x = step_x<Ahead>(t, xq + b * 32, kg);
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 32 + kg * 64));
      const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 64 + kg * 64));
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(lo, lo), _mm256_sign_epi8(x, lo)), ones));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(hi, hi), _mm256_sign_epi8(x, hi)), ones));
    }
    scale_block(t, xd[b], a0, a1, f0, f1);
  }
  _mm256_storeu_ps(y, f0);
  _mm256_storeu_ps(y + 8, f1);
}

// The same with AVX-VNNI (the avx2-vnni set's arithmetic: weights stored as q + 128).
template <int Ahead>
__attribute__((target("avx2,fma,f16c,avxvnni"))) void vnni_group(const uint8_t* w, const int8_t* xq, const float* xd,
                                                                 float* y) {
  __m256 f0 = _mm256_setzero_ps(), f1 = _mm256_setzero_ps();
  for (int64_t b = 0; b < kBlocks; b++) {
    const uint8_t* t = w + b * kBlockBytes;
    __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int kg = 0; kg < 8; kg++) {
      const __m256i x = step_x<Ahead>(t, xq + b * 32, kg);
      a0 = _mm256_dpbusd_avx_epi32(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 32 + kg * 64)), x);
      a1 = _mm256_dpbusd_avx_epi32(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 64 + kg * 64)), x);
    }
    scale_block(t, xd[b], a0, a1, f0, f1);
  }
  _mm256_storeu_ps(y, f0);
  _mm256_storeu_ps(y + 8, f1);
}

template <int Ahead>
__attribute__((target("avx2"))) uint64_t read_loop(const uint8_t* p, size_t n) {
  __m256i acc = _mm256_setzero_si256();
  for (size_t i = 0; i < n; i += 64) {
    if (Ahead) _mm_prefetch(reinterpret_cast<const char*>(p + i + Ahead), _MM_HINT_T0);
    acc = _mm256_add_epi64(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    acc = _mm256_add_epi64(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
  }
  return static_cast<uint64_t>(_mm256_extract_epi64(acc, 0) + _mm256_extract_epi64(acc, 1));
}

using GroupFn = void (*)(const uint8_t*, const int8_t*, const float*, float*);

}  // namespace

int main(int argc, char** argv) {
  if (!__builtin_cpu_supports("avx2")) {
    std::fprintf(stderr, "stream-replica needs AVX2\n");
    return 3;
  }
  const int nth = argc > 1 ? std::atoi(argv[1]) : 2, rounds = argc > 2 ? std::atoi(argv[2]) : 8;
  if (nth < 1 || rounds < 1) return 2;
  const size_t bytes = size_t{1} << 30, groups = bytes / kGroupBytes;
  void* map = mmap(nullptr, bytes + 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return 1;
  auto* mem = static_cast<uint8_t*>(map);
  madvise(mem, bytes + 65536, MADV_HUGEPAGE);
  for (size_t i = 0; i < bytes; i++) mem[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  for (size_t b = 0; b < groups * kBlocks; b++)  // finite, small f16 scales
    for (int j = 0; j < 16; j++) mem[b * kBlockBytes + 2 * j + 1] = 0x20;
  std::vector<int8_t> xq(kK);
  for (int64_t i = 0; i < kK; i++) xq[static_cast<size_t>(i)] = static_cast<int8_t>(i * 37);
  std::vector<float> xd(kBlocks, 0.01f);
  std::atomic<uint64_t> sink{0};

  auto half = [&](int ith, size_t& g0, size_t& g1) {
    g0 = groups * ith / nth;
    g1 = groups * (ith + 1) / nth;
  };
  auto reader = [&](uint64_t (*fn)(const uint8_t*, size_t)) {
    return [&, fn](int ith) {
      size_t g0, g1;
      half(ith, g0, g1);
      sink += fn(mem + g0 * kGroupBytes, (g1 - g0) * kGroupBytes);
    };
  };
  auto halves = [&](GroupFn fn) {
    return [&, fn](int ith) {
      size_t g0, g1;
      half(ith, g0, g1);
      float y[16];
      for (size_t g = g0; g < g1; g++) {
        fn(mem + g * kGroupBytes, xq.data(), xd.data(), y);
        sink += static_cast<uint64_t>(y[0]);
      }
    };
  };
  // As MatmulJob: 8192-row matrices (512 groups), 8 chunks each from a counter, a barrier after each.
  constexpr size_t kMatrixGroups = 512, kChunks = 8;
  const size_t matrices = groups / kMatrixGroups;
  std::vector<std::atomic<size_t>> next(matrices);
  std::atomic<size_t> arrived{0};
  auto chunked = [&](GroupFn fn) {
    return [&, fn](int) {
      float y[16];
      for (size_t m = 0; m < matrices; m++) {
        for (size_t c = next[m].fetch_add(1); c < kChunks; c = next[m].fetch_add(1))
          for (size_t g = m * kMatrixGroups + c * (kMatrixGroups / kChunks);
               g < m * kMatrixGroups + (c + 1) * (kMatrixGroups / kChunks); g++) {
            fn(mem + g * kGroupBytes, xq.data(), xd.data(), y);
            sink += static_cast<uint64_t>(y[0]);
          }
        arrived.fetch_add(1);
        while (arrived.load() < (m + 1) * static_cast<size_t>(nth)) _mm_pause();
      }
    };
  };

  std::vector<std::pair<std::string, std::function<void(int)>>> ways = {
      {"probe-plain", reader(read_loop<0>)},   {"probe-pf4k", reader(read_loop<4096>)},
      {"probe-pf8k", reader(read_loop<8192>)}, {"avx2-nopf", halves(avx2_group<0>)},
      {"avx2-pf4k", halves(avx2_group<4096>)}, {"chunked-nopf", chunked(avx2_group<0>)},
      {"chunked-pf4k", chunked(avx2_group<4096>)},
  };
  if (__builtin_cpu_supports("avxvnni")) {
    ways.push_back({"vnni-nopf", halves(vnni_group<0>)});
    ways.push_back({"vnni-pf4k", halves(vnni_group<4096>)});
  }
  std::vector<std::vector<double>> rates(ways.size());
  for (int r = 0; r < rounds; r++)
    for (size_t v = 0; v < ways.size(); v++) {
      for (auto& n : next) n = 0;
      arrived = 0;
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<std::thread> threads;
      for (int i = 1; i < nth; i++) threads.emplace_back(ways[v].second, i);
      ways[v].second(0);
      for (auto& t : threads) t.join();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rates[v].push_back(static_cast<double>(groups * kGroupBytes) / s / 1e9);
    }
  std::printf("%d threads, %d rounds, 1 GiB, GB/s (median, min-max):\n", nth, rounds);
  for (size_t v = 0; v < ways.size(); v++) {
    auto x = rates[v];
    std::sort(x.begin(), x.end());
    std::printf("  %-13s %5.1f  (%.1f-%.1f)\n", ways[v].first.c_str(), x[x.size() / 2], x.front(), x.back());
  }
  std::printf("  (checksum %llu)\n", static_cast<unsigned long long>(sink.load()));  // keeps the work
  return 0;
}
