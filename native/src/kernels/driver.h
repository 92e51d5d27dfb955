// One matmul driver for every vector kernel set. The ISA files (x86_avx2.cc, x86_avx512.cc,
// arm_neon.cc) hold only micro-kernels and a small table describing them (an `Isa` struct, below);
// walking output groups and activation rows, the ragged last group, activation conversion and
// format dispatch are written once here.
//
// Everything in this header has internal linkage and is instantiated inside each ISA's translation
// unit, compiled with that ISA's flags: no vector code of one set can leak into another through a
// shared (ODR-merged) template instance.
//
// An `Isa` provides:
//   static constexpr const char* kName; static constexpr bool kQ8Unsigned;
//   static constexpr int kMaxMR;                      largest activation-row tile for Q8_0/Q4_0
//   static int max_nc(int mr);                        largest group count per tile at mr rows
//   static X16Tile x16_tile(bool q4, int mr, int nc); full mr x (16*nc) tile
//   static constexpr int kKqMaxMR;
//   static KqTile kq_tile(bool q6, int mr);           full mr x 16 tile
//   static void quantize_q8_0_row(const float*, int64_t K, int8_t*, float*, int32_t*);  K % 32 == 0
//   static void quantize_q8_K_row(const float*, int64_t K, BlockQ8_K*);                 K % 256 == 0
//   static constexpr int kF16Step; static void f16_row(const float*, int64_t K, uint16_t*);
//   static constexpr int kDotStep;                    K multiple for the row dots (0: none)
//   static float dot_f32(const float*, const float*, int64_t K);
//   static float dot_f16(const uint16_t*, const uint16_t*, int64_t K);
//   static constexpr int kBf16Step;                   0 when the set has no bf16 dot, else also
//   static float dot_bf16(const uint16_t*, const uint16_t*, int64_t K);
//   static int tile_variants(WeightFormat, int64_t M, TileShape*, int cap);
// and may provide (drive_x16 then computes them per 16-row group and passes them to the tiles):
//   static void q8_weight_sums(const uint8_t* group, int64_t nb, int32_t* out);  see WeightSums
//   static constexpr int64_t kWeightSumsMinM;         activation rows from which they pay off
#pragma once
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/act.h"
#include "kernels/kernels.h"
#include "kernels/pack.h"

namespace gb {
namespace {

// Q8_0x16 / Q4_0x16 micro-kernel: y[r, c*16 + j] for r < mr, c < nc, j < 16, from nc consecutive
// 16-row groups starting at w0 (group_stride bytes apart) and mr activation rows (row stride K).
// wsum: the Isa's per-group weight sums for these nc groups (nb * 16 int32 each, one group after
// the other), or null when the Isa has none or the driver did not compute them for this call.
// pf: where the tile's weight prefetches point (WeightPrefetch, below).
struct WeightPrefetch;
using X16Tile = void (*)(const uint8_t* w0, int64_t group_stride, int64_t nb, const int8_t* xq, const float* xd,
                         const int32_t* xs, int64_t K, float* y, int64_t ldy, const int32_t* wsum,
                         const WeightPrefetch& pf);
// Optional per-Isa precomputation over one Q8_0x16 group (nb blocks): 16 int32 per block, which
// the Isa's tiles read as a block's starting integer sums (see x86_avx2.cc). Computed once per
// group and matmul call, so it pays off only when many activation rows pass over the group.
using WeightSums = void (*)(const uint8_t* group, int64_t nb, int32_t* out);

template <class I, class = void>
struct WeightSumsOf {
  static constexpr WeightSums fn = nullptr;
  static constexpr int64_t min_m = 0;
};
template <class I>
struct WeightSumsOf<I, std::void_t<decltype(I::q8_weight_sums)>> {
  static constexpr WeightSums fn = I::q8_weight_sums;
  static constexpr int64_t min_m = I::kWeightSumsMinM;
};
// Q4_Kx16 / Q6_Kx16 micro-kernel: mr activation rows (nb super-blocks each) x one 16-row group;
// pf: whether it prefetches its weight stream (TileShape::prefetch).
using KqTile = void (*)(const uint8_t* wg, int64_t nb, const BlockQ8_K* x, float* y, int64_t ldy, bool pf);

// Software prefetch for the weight streams of the x16 tiles, kPrefetchAhead bytes ahead in the
// same group, one line per 64-byte weight vector. A decode step reads every weight once, so the
// tiles wait on memory; the hardware prefetchers alone left AVX2 decode at 44 of 70 GB/s on a
// 2-core Zen 5 (31 tok/s on the 1b q8_0 model; 39 with this). 4 KiB won over 0.5, 1, 2, 8 and 16
// KiB there. Past a buffer's end it is a no-op (prefetches never fault). Re-measured on another
// Zen 5 host (2026-12-07): prefetcht1 / prefetcht2 streamed a lone matmul 8-12% faster than this in
// the host's fast minutes and 9% slower in a slow one, and in the model's decode the difference was
// inside the noise (+2.3% for prefetcht2), so the hint stays.
//
// Whether to prefetch at all has no constant answer. The 39 tok/s above were measured when decode
// tiles read 2 groups side by side; since decode reads one contiguous stream per thread
// (kDecodeTile), the hardware prefetchers follow it and the software prefetches may only hold miss
// buffers. On a Zen 5 host (2026-12-07), in-process A/B of the 1b q8_0 decode, 8 alternating rounds
// of 24 steps, without them: avx512 +17% and avx2-vnni +16% (8 of 8 rounds each), avx2 -1% (1 of
// 8). Lone streaming matmuls at M = 1 (testing.benchMatmul): avx2 q8_0 -8% in one minute and +9% a
// few minutes later, avx2 q6_K -7%, the VNNI sets +5-23%. Fewer instructions per weight leave the
// out-of-order window room for more demand misses (the AVX2 dot takes 7 per 32 weights, VNNI 2),
// and how much help the rest need moves with the host's memory latency. So TileShape::prefetch
// turns the first row tile's stream prefetch off, and the CPU backend times both ways on the
// running decode and keeps the faster (backend/cpu/prefetch_chooser.h).
constexpr int64_t kPrefetchAhead = 4096;
inline void prefetch_weights(const uint8_t* p, int64_t offset) { __builtin_prefetch(p + offset, 0, 3); }
inline void prefetch_weights(const uint8_t* p) { prefetch_weights(p, kPrefetchAhead); }

// Where a Q8_0/Q4_0 tile's weight prefetches point, in blocks first, first + every, ... of its
// groups: `ahead` bytes past each weight vector it reads (the other blocks: kPrefetchAhead); an
// `ahead` of 0 prefetches nothing there.
//
// The first row tile over a column of groups reads them from memory; it prefetches kPrefetchAhead
// into the same groups (the decode stream above). The row tiles after it read the groups from
// cache, and before this they left the memory idle, so the first row tile of the next column
// waited for its weights: at 64 activation rows a 4 x 2 AVX-512 tile computes in about 1.8 us what
// takes about 4.7 us to read. Now those row tiles prefetch the next column of groups, each
// 1/(row tiles - 1) of its blocks, spread over their compute. Zen 4, 2 threads: one 8192 x 2048
// Q8_0 matmul streaming from memory +15% at 64 rows (AVX-512); prefill of the 1b q8_0 model,
// in-process A/B over 10 rounds, +8.9% / +3.2% at 64 / 256 tokens on AVX-512, +6.6% / +3.0% on
// AVX2. One activation row (decode) has no row tiles after the first: unchanged.
struct WeightPrefetch {
  int64_t ahead = kPrefetchAhead;
  int64_t first = 0, every = 1;
  bool next_column = false;

  // The offset to prefetch at in block b, from each address the tiles pass to prefetch_weights:
  // `ahead` when the block is due, else kPrefetchAhead into the same groups, which for the row
  // tiles after the first brings their groups from L2 into L1 ahead of use (without it, AVX2
  // prefill lost 7%). Blocks are asked in order, `next` starting at `first`.
  int64_t offset(int64_t b, int64_t& next) const { return due(b, next) ? ahead : kPrefetchAhead; }
  bool due(int64_t b, int64_t& next) const {
    if (b != next) return false;
    next += every;
    return true;
  }
};

constexpr int kDriverMaxMR = 16;
constexpr int kDriverMaxNC = 4;

inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Copies the valid columns [c0, c1) of a scratch tile (mr rows, ld floats) into y at column c0.
inline void keep_columns(const float* tmp, int64_t ld, int mr, float* y, int64_t ldy, int64_t c0, int64_t c1) {
  for (int r = 0; r < mr; r++)
    std::memcpy(y + r * ldy + c0, tmp + r * ld, static_cast<size_t>(c1 - c0) * sizeof(float));
}

template <class Isa>
void drive_x16(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1,
               TileShape tile) {
  const bool q4 = w.format == WeightFormat::Q4_0x16;
  const int64_t K = w.cols, nb = K / 32;
  const int64_t group_stride = nb * (q4 ? kQ4x16TileBytes : kQ8x16TileBytes);
  const ActQ8 a = act_q8(act, M, K);
  const int MR = clamp_int(tile.mr, 1, Isa::kMaxMR);
  const int NC = clamp_int(tile.nc, 1, Isa::max_nc(MR));
  const int64_t g0 = n0 / 16, g1 = (n1 + 15) / 16;
  const int64_t row_tiles = (M + MR - 1) / MR;
  alignas(64) float tmp[kDriverMaxMR * 16 * kDriverMaxNC];
  // Weight sums for the groups of one tile column, reused by every row tile that passes over them.
  constexpr WeightSums sums_fn = WeightSumsOf<Isa>::fn;
  const bool sums = sums_fn != nullptr && !q4 && MR >= 2 && M >= WeightSumsOf<Isa>::min_m;
  thread_local std::vector<int32_t> sums_buf;
  if (sums && sums_buf.size() < static_cast<size_t>(NC * nb * 16)) sums_buf.resize(static_cast<size_t>(NC * nb * 16));
  for (int64_t g = g0; g < g1; g += NC) {
    const int nc = static_cast<int>(g1 - g < NC ? g1 - g : NC);
    const bool edge = g + nc == g1 && n1 % 16 != 0;
    // The first row tile runs without the sums and brings the groups in from memory with its
    // compute overlapped; the sums are then taken from the cache for the row tiles after it.
    // The row tiles after the first prefetch the next column of groups (WeightPrefetch).
    const bool next_column = g + NC < g1;
    for (int64_t m = 0; m < M; m += MR) {
      WeightPrefetch pf;
      if (m == 0 && !tile.prefetch) pf.ahead = 0;  // its own stream: the hardware prefetchers only
      if (m > 0 && next_column) pf = WeightPrefetch{NC * group_stride, m / MR - 1, row_tiles - 1, true};
      const bool have_sums = sums && m > 0;
      if (sums && m == MR)
        for (int c = 0; c < nc; c++) sums_fn(w.data + (g + c) * group_stride, nb, sums_buf.data() + c * nb * 16);
      const int mr = static_cast<int>(M - m < MR ? M - m : MR);
      const int step = nc < Isa::max_nc(mr) ? nc : Isa::max_nc(mr);
      for (int c0 = 0; c0 < nc; c0 += step) {
        const int ncc = nc - c0 < step ? nc - c0 : step;
        const X16Tile fn = Isa::x16_tile(q4, mr, ncc);
        const int64_t col = (g + c0) * 16;
        const uint8_t* wp = w.data + (g + c0) * group_stride;
        const int32_t* ws = have_sums ? sums_buf.data() + c0 * nb * 16 : nullptr;
        if (!edge || c0 + ncc < nc) {
          fn(wp, group_stride, nb, a.qs + m * K, a.d + m * nb, a.s + m * nb, K, y + m * ldy + col, ldy, ws, pf);
        } else {
          fn(wp, group_stride, nb, a.qs + m * K, a.d + m * nb, a.s + m * nb, K, tmp, ncc * 16, ws, pf);
          keep_columns(tmp, ncc * 16, mr, y + m * ldy, ldy, col, n1);
        }
      }
    }
  }
}

// K-quants: groups are walked in panels of about 256 KiB so they stay in L2 while every slice of MR
// activation rows passes over them; a single slice (decode) streams the weights once.
template <class Isa>
void drive_kq(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1,
              TileShape tile) {
  const bool q6 = w.format == WeightFormat::Q6_Kx16;
  const int64_t nb = w.cols / QK_K;
  const int64_t gstride = nb * (q6 ? kQ6Kx16TileBytes : kQ4Kx16TileBytes);
  const BlockQ8_K* x = static_cast<const BlockQ8_K*>(act);
  const int MR = clamp_int(tile.mr, 1, Isa::kKqMaxMR);
  int64_t panel = (256 << 10) / gstride;
  if (panel < 1) panel = 1;
  const int64_t g0 = n0 / 16, g1 = (n1 + 15) / 16;
  alignas(64) float tmp[kDriverMaxMR * 16];
  for (int64_t p0 = g0; p0 < g1; p0 += panel) {
    const int64_t p1 = p0 + panel < g1 ? p0 + panel : g1;
    for (int64_t m = 0; m < M; m += MR) {
      const int mr = static_cast<int>(M - m < MR ? M - m : MR);
      const KqTile fn = Isa::kq_tile(q6, mr);
      for (int64_t g = p0; g < p1; g++) {
        const uint8_t* wg = w.data + g * gstride;
        if (n1 - g * 16 >= 16) {
          fn(wg, nb, x + m * nb, y + m * ldy + g * 16, ldy, tile.prefetch);
        } else {  // the last, partial group: all 16 rows aside, then the valid columns
          fn(wg, nb, x + m * nb, tmp, 16, tile.prefetch);
          keep_columns(tmp, 16, mr, y + m * ldy, ldy, g * 16, n1);
        }
      }
    }
  }
}

// Float row formats: one dot per (output row, activation row).
template <typename T, typename Dot>
void drive_rows(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1, Dot dot) {
  const int64_t K = w.cols;
  const T* W = reinterpret_cast<const T*>(w.data);
  const T* X = static_cast<const T*>(act);
  for (int64_t n = n0; n < n1; n++)
    for (int64_t m = 0; m < M; m++) y[m * ldy + n] = dot(W + n * K, X + m * K, K);
}

template <class Isa>
void drive_matmul(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1,
                  TileShape tile) {
  const int64_t K = w.cols;
  switch (w.format) {
    case WeightFormat::Q8_0x16:
    case WeightFormat::Q4_0x16: return drive_x16<Isa>(w, act, M, y, ldy, n0, n1, tile);
    case WeightFormat::Q4_Kx16:
    case WeightFormat::Q6_Kx16: return drive_kq<Isa>(w, act, M, y, ldy, n0, n1, tile);
    case WeightFormat::F32:
      if constexpr (Isa::kDotStep > 0)
        if (K % Isa::kDotStep == 0) return drive_rows<float>(w, act, M, y, ldy, n0, n1, Isa::dot_f32);
      break;
    case WeightFormat::F16:
      if constexpr (Isa::kDotStep > 0)
        if (K % Isa::kDotStep == 0) return drive_rows<uint16_t>(w, act, M, y, ldy, n0, n1, Isa::dot_f16);
      break;
    case WeightFormat::BF16:
      if constexpr (Isa::kBf16Step > 0)
        if (K % Isa::kBf16Step == 0) return drive_rows<uint16_t>(w, act, M, y, ldy, n0, n1, Isa::dot_bf16);
      break;
  }
  kernels_portable()->matmul(w, act, M, y, ldy, n0, n1, tile);
}

template <class Isa>
void drive_convert_act(ActFormat f, const float* x, int64_t ldx, int64_t m0, int64_t m1, int64_t M, int64_t K,
                       void* act) {
  if (f == ActFormat::Q8_K && K % QK_K == 0) {
    BlockQ8_K* b = static_cast<BlockQ8_K*>(act);
    for (int64_t m = m0; m < m1; m++) Isa::quantize_q8_K_row(x + m * ldx, K, b + m * (K / QK_K));
    return;
  }
  if (f == ActFormat::Q8_0 && K % 32 == 0) {
    ActQ8 a = act_q8(act, M, K);
    for (int64_t m = m0; m < m1; m++)
      Isa::quantize_q8_0_row(x + m * ldx, K, a.qs + m * K, a.d + m * (K / 32), a.s + m * (K / 32));
    return;
  }
  if (f == ActFormat::F16 && K % Isa::kF16Step == 0) {
    uint16_t* h = static_cast<uint16_t*>(act);
    for (int64_t m = m0; m < m1; m++) Isa::f16_row(x + m * ldx, K, h + m * K);
    return;
  }
  kernels_portable()->convert_act(f, x, ldx, m0, m1, M, K, act);
}

// The Q8_0/Q4_0 tile of every vector set for one activation row (decode of one sequence), and the
// only one offered to autotune there. Decode streams every weight once, so the tile that keeps one
// contiguous stream per thread wins: 16-row groups lie one after the other, and a 1 x 1 tile walks
// them in order, where a 1 x NC tile reads NC groups side by side and jumps between tiles, so the
// hardware prefetchers keep restarting streams. Decode of the 1b q8_0 model, AMD Zen 4 (2 cores),
// one model with the tile switched between bursts of 12 steps in alternating order: AVX2 1 x 1 vs
// 1 x 2 +21% (median of 14 pairs, 13 above 1), 1 x 4 -16%; AVX-512 1 x 1 vs 1 x 2 +12% (10 pairs).
// Autotune times tiles on weights that sit in cache, where wider tiles can win by sharing
// activation broadcasts, so it could pick against this (it chose 1 x 2 for some or all decode
// matrices in fresh loads there); hence one candidate.
constexpr TileShape kDecodeTile = {1, 1};

// Writes the listed shapes (up to cap), returns the count. For tile_variants implementations.
inline int copy_variants(const TileShape* list, int n, TileShape* out, int cap) {
  int k = 0;
  for (int i = 0; i < n && k < cap; i++) out[k++] = list[i];
  return k;
}

template <class Isa>
void drive_get_row(const Matrix& w, int64_t row, float* out) {
  unpack_row(w, row, Isa::kQ8Unsigned, out);
}

// The kernel set of an Isa.
template <class Isa>
constexpr KernelSet make_kernel_set() {
  return KernelSet{Isa::kName, Isa::kQ8Unsigned, drive_convert_act<Isa>, drive_matmul<Isa>, Isa::tile_variants,
                   drive_get_row<Isa>};
}

}  // namespace
}  // namespace gb
