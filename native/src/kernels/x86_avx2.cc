// AVX2 + FMA + F16C kernels for x86-64 CPUs without AVX-512 VNNI. Same structure as the AVX-512
// set with 8-lane vectors; Q8_0 weights stay signed and use the abs/sign trick with vpmaddubsw
// (unsigned*signed pairs that cannot saturate), or from 32 activation rows on its XOR form (see
// tile_x16_impl). Internal linkage only (see x86_avx512.cc).
//
// Compiled twice: once as `avx2` and once with GB_AVX2_VNNI and -mavxvnni as `avx2-vnni`, for
// CPUs with the VEX-coded AVX-VNNI but no AVX-512 VNNI (Intel Alder Lake and later client cores,
// Sierra Forest, AMD Zen 5 client parts). There the Q8_0/Q4_0 tiles use vpdpbusd (four byte
// products summed into int32, one instruction) on unsigned weights, as the AVX-512 set does.
#if defined(__x86_64__) && defined(GB_BUILD_AVX2)
#include <immintrin.h>

#include <cstring>

#include "kernels/driver.h"

namespace gb {
namespace {

inline float hsum8(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

inline int32_t hsum8i(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

inline __m256i bcast4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

void quantize_q8_0_row(const float* x, int64_t K, int8_t* qs, float* d, int32_t* s) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < K / 32; b++) {
    __m256 v[4];
    __m256 mx = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
      v[i] = _mm256_loadu_ps(x + b * 32 + i * 8);
      mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[i]));
    }
    __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(mx, 1), _mm256_castps256_ps128(mx));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    d[b] = _cvtsh_ss(_cvtss_sh(amax / 127.f, _MM_FROUND_TO_NEAREST_INT));
    const __m256 id = _mm256_set1_ps(amax != 0.f ? 127.f / amax : 0.f);
    __m256i sum = _mm256_setzero_si256();
    alignas(32) int32_t tmp[32];
    for (int i = 0; i < 4; i++) {
      __m256i q = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], id), _MM_ROUND_NEAREST));
      sum = _mm256_add_epi32(sum, q);
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + i * 8), q);
    }
    for (int j = 0; j < 32; j++) qs[b * 32 + j] = static_cast<int8_t>(tmp[j]);
    s[b] = hsum8i(sum);
  }
}

// Bit-identical to ref_quantize_q8_K (see the AVX-512 version for the rules): explicit
// round-to-nearest-even instead of ggml's magic-number add, so no FMA contraction can change a tie;
// out-of-range results (all-tiny blocks, iscale = inf) truncate to a zero byte as in the reference.
void quantize_q8_K_row(const float* x, int64_t K, BlockQ8_K* out) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t i = 0; i < K / QK_K; i++) {
    const float* xb = x + i * QK_K;
    BlockQ8_K& y = out[i];
    __m256 mx = _mm256_setzero_ps();
    // max(|x|, acc) returns acc when |x| is NaN: NaNs are skipped, as by the scalar `ax > amax`.
    for (int v = 0; v < 32; v++) mx = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(xb + v * 8)), mx);
    __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(mx, 1), _mm256_castps256_ps128(mx));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    if (amax == 0) {
      std::memset(&y, 0, sizeof(y));
      continue;
    }
    const __m256 am = _mm256_set1_ps(amax);
    float max = 0;
    for (int v = 0; v < 32; v++) {
      const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(xb + v * 8)), am, _CMP_EQ_OQ));
      if (hit) {
        max = xb[v * 8 + __builtin_ctz(static_cast<unsigned>(hit))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 is = _mm256_set1_ps(iscale);
    const __m256i top = _mm256_set1_epi32(127);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int g = 0; g < 8; g++) {  // 32 values: two bsums groups
      __m256i q[4];
      for (int v = 0; v < 4; v++) {
        const __m256 p = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(xb + g * 32 + v * 8), is),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        // Clamp at 127, then keep the low byte sign-extended (the reference's int8_t cast).
        q[v] = _mm256_min_epi32(_mm256_cvtps_epi32(p), top);
        q[v] = _mm256_srai_epi32(_mm256_slli_epi32(q[v], 24), 24);
      }
      // In range now, so the saturating packs are exact; the permute undoes their lane interleave.
      const __m256i b16 = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y.qs + g * 32), _mm256_permutevar8x32_epi32(b16, order));
      y.bsums[2 * g] = static_cast<int16_t>(hsum8i(_mm256_add_epi32(q[0], q[1])));
      y.bsums[2 * g + 1] = static_cast<int16_t>(hsum8i(_mm256_add_epi32(q[2], q[3])));
    }
    y.d = 1 / iscale;
  }
}

// ---- x16 tiles (Q8_0x16, Q4_0x16) -------------------------------------------------------------
//
// Each 64-byte tile vector (16 rows x 4 K elements) is taken as two 8-row halves. Without VNNI the
// dot is vpmaddubsw (unsigned x signed byte pairs -> int16) then vpmaddwd against ones (-> int32).
// Q8_0 weights are signed: the sign trick makes them unsigned (|w| x sign(x, w)), where |w| is
// computed once per weight vector and shared by the MR activation rows of the tile. Q4_0 nibbles
// are unsigned already (value q, offset 8 folded into the start value -8 * sum(x)); their products
// are small (<= 2 * 15 * 127 per pair) so a whole 32-element block sums in int16 before one
// vpmaddwd. Float accumulators are updated once per block with d_w * d_x.

#ifdef GB_AVX2_VNNI
constexpr bool kVnni = true;
#else
constexpr bool kVnni = false;
#endif

// Q4_0, one 8-element step of a block for one row of the tile: lo nibbles against xb[0..3], hi
// nibbles against xb[4..7]. VNNI sums into the int32 lanes; otherwise into int16 pairs.
inline __m256i q4_step(__m256i acc, __m256i lo, __m256i hi, const int8_t* xb) {
#ifdef GB_AVX2_VNNI
  return _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(acc, lo, bcast4(xb)), hi, bcast4(xb + 4));
#else
  return _mm256_add_epi16(acc, _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast4(xb)), _mm256_maddubs_epi16(hi, bcast4(xb + 4))));
#endif
}

// Q8_0: the unsigned form of a weight vector (VNNI: stored as q + 128 already; otherwise |q|).
inline __m256i q8_unsigned(__m256i w) {
#ifdef GB_AVX2_VNNI
  return w;
#else
  return _mm256_sign_epi8(w, w);
#endif
}

// Q8_0, one 4-element step for one row: uw = q8_unsigned(w), x4 the row's 4 activation bytes.
inline __m256i q8_step(__m256i acc, __m256i w, __m256i uw, const int8_t* x4) {
#ifdef GB_AVX2_VNNI
  (void)w;
  return _mm256_dpbusd_avx_epi32(acc, uw, bcast4(x4));
#else
  const __m256i sx = _mm256_sign_epi8(bcast4(x4), w);
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(uw, sx), _mm256_set1_epi16(1)));
#endif
}

// Q8_0 in the XS tiles (tile_x16_impl): aw = |w|, neg = (w < 0 ? -1 : 0), x4 the row's 4 bytes.
inline __m256i q8_xor_step(__m256i acc, __m256i aw, __m256i neg, const int8_t* x4) {
  const __m256i sx = _mm256_xor_si256(bcast4(x4), neg);
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), _mm256_set1_epi16(1)));
}

// The order a tile visits the (K step, column group, 8-row half) cells of a block. One activation
// row (decode, streaming the weights from memory): everything unrolled, both halves of each 64-byte
// line back to back. Several rows (prefill, weights in cache): one half at a time, K steps unrolled
// by 2, because unrolled whole GCC hoisted every weight load and spilled the integer accumulators.
// benchMatmul on AMD Zen 4, one thread: Q8_0 +9%, Q4_0 +22% at M = 64. Decode keeps the order it
// was measured with: an A/B of the new one streaming from memory was inconclusive on that VM (its
// read bandwidth moved between 23 and 54 GB/s from one run to the next).
template <int MR, int NC, int STEPS, class F>
inline void walk_block(F&& cell) {
  if constexpr (MR == 1) {
#pragma GCC unroll 8
    for (int s = 0; s < STEPS; s++)
#pragma GCC unroll 4
      for (int c = 0; c < NC; c++)
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) cell(s, c, h);
  } else {
#pragma GCC unroll 1
    for (int h = 0; h < 2; h++)
#pragma GCC unroll 2
      for (int s = 0; s < STEPS; s++)
#pragma GCC unroll 4
        for (int c = 0; c < NC; c++) cell(s, c, h);
  }
}

// XS (Q8_0 without VNNI, several activation rows, `wsum` from q8_weight_sums): the sign goes
// onto the activations as x XOR m, m = (w < 0 ? -1 : 0), instead of vpsignb. For w < 0 that gives
// ~x = -x - 1 and |w| * ~x = w * x - |w|, so each block's int32 lanes start at the row's sum of |w|
// over its negative weights, a weight-only constant computed once per group (q8_weight_sums)
// rather than in every row tile. No int16 pair can saturate: |w| <= 128 and ~x lies in [-128, 126]
// for activations in [-127, 127], so a pair stays within [-32768, 32256]. The integer sums are the
// same as the sign trick's, so the results are bit-identical. On Zen 4 vpsignb and vpabsb share
// two of the four vector pipes with vpmaddubsw and vpmaddwd, XOR runs on any of the four: 9 instead
// of 13 such instructions per 4-row step. testing.benchMatmul, one thread, weights in L2, best of
// 40 interleaved rounds: Q8_0 124 -> 137 GOPS at M = 64 (+10-12% over the shapes tried).
template <int MR, int NC, bool Q4, bool XS>
void tile_x16_impl(const uint8_t* w0, int64_t group_stride, int64_t nb, const int8_t* xq, const float* xd,
                   const int32_t* xs, int64_t K, float* y, int64_t ldy, const int32_t* wsum,
                   const WeightPrefetch& pf) {
  constexpr int64_t TB = Q4 ? kQ4x16TileBytes : kQ8x16TileBytes;
  int64_t pf_next = pf.first;
  // VNNI: unsigned weights (Q8_0: q + 128; Q4_0: the nibble q) against signed activations give
  // sum(q * x) + OFF * sum(x), so each block's accumulator starts at -OFF * sum(x). Without VNNI,
  // Q8_0 needs no offset (sign trick) and Q4_0 adds its -8 * sum(x) after the block's vpmaddwd.
  constexpr int OFF = kVnni ? (Q4 ? 8 : 128) : 0;
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 facc[MR][NC][2];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int c = 0; c < NC; c++) facc[r][c][0] = facc[r][c][1] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* t = w0 + b * TB;
    const int64_t pf_off = pf.offset(b, pf_next);
    __m256i iacc[MR][NC][2];  // int16 pairs (Q4_0 without VNNI, until the block's vpmaddwd) or int32 sums
    if constexpr (XS) {
#pragma GCC unroll 4
      for (int c = 0; c < NC; c++)
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
          const __m256i start = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wsum + (c * nb + b) * 16 + h * 8));
#pragma GCC unroll 8
          for (int r = 0; r < MR; r++) iacc[r][c][h] = start;
        }
    } else {
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) {
        const __m256i start = _mm256_set1_epi32(-OFF * xs[r * nb + b]);
#pragma GCC unroll 4
        for (int c = 0; c < NC; c++) iacc[r][c][0] = iacc[r][c][1] = start;
      }
    }
    if constexpr (Q4) {
      walk_block<MR, NC, 4>([&](int p, int c, int h) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + c * group_stride + 32 + p * 64 + h * 32));
        if (h == 0 && pf_off != 0) prefetch_weights(t + c * group_stride + p * 64, pf_off);
        const __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) iacc[r][c][h] = q4_step(iacc[r][c][h], lo, hi, xq + r * K + b * 32 + 8 * p);
      });
      if constexpr (!kVnni) {
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
          const __m256i start = _mm256_set1_epi32(-8 * xs[r * nb + b]);
#pragma GCC unroll 4
          for (int c = 0; c < NC; c++)
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) iacc[r][c][h] = _mm256_add_epi32(_mm256_madd_epi16(iacc[r][c][h], ones), start);
        }
      }
    } else {
      walk_block<MR, NC, 8>([&](int kg, int c, int h) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + c * group_stride + 32 + kg * 64 + h * 32));
        if (h == 0 && pf_off != 0) prefetch_weights(t + c * group_stride + kg * 64, pf_off);
        if constexpr (XS) {
          const __m256i aw = _mm256_abs_epi8(w), neg = _mm256_cmpgt_epi8(_mm256_setzero_si256(), w);
#pragma GCC unroll 8
          for (int r = 0; r < MR; r++) iacc[r][c][h] = q8_xor_step(iacc[r][c][h], aw, neg, xq + r * K + b * 32 + kg * 4);
        } else {
          const __m256i uw = q8_unsigned(w);
#pragma GCC unroll 8
          for (int r = 0; r < MR; r++) iacc[r][c][h] = q8_step(iacc[r][c][h], w, uw, xq + r * K + b * 32 + kg * 4);
        }
      });
    }
    (void)ones;
#pragma GCC unroll 4
    for (int c = 0; c < NC; c++) {
      const __m256 w_lo = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t + c * group_stride)));
      const __m256 w_hi = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t + c * group_stride + 16)));
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) {
        const __m256 xdv = _mm256_set1_ps(xd[r * nb + b]);
        facc[r][c][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iacc[r][c][0]), _mm256_mul_ps(w_lo, xdv), facc[r][c][0]);
        facc[r][c][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iacc[r][c][1]), _mm256_mul_ps(w_hi, xdv), facc[r][c][1]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int c = 0; c < NC; c++) {
      _mm256_storeu_ps(y + r * ldy + c * 16, facc[r][c][0]);
      _mm256_storeu_ps(y + r * ldy + c * 16 + 8, facc[r][c][1]);
    }
}

// Wide XS tiles (5 to 8 activation rows, Q8_0 without VNNI, `wsum` as for tile_x16_impl): the
// same integer steps, walked one (block, 8-row half) at a time with all 8 K steps unrolled, so only
// MR integer accumulators are live (tile_x16_impl keeps 2 * MR * NC) and MR can reach 8, which
// shares each weight vector's |w| and sign mask among twice the rows. The float sums live in y and
// are updated once per half-block: kept in registers they crowded out the step's temporaries and
// GCC spilled those. The empty asm after each K step keeps GCC from hoisting the later steps'
// activation broadcasts and reassociating the sums, which spilled too (104 against 143 GOPS).
// testing.benchMatmul, q8_0 2048 x 2048, M = 64, one thread, AMD Zen 5: 8 x 1 here 157 GOPS, 4 x 1
// (tile_x16_impl) 150; in the 1b model's AVX2 prefill +4.6% / +3.4% / +12% at 64 / 256 / 512
// tokens (in-process A/B, medians of 10 alternating rounds). For MR <= 4 this order measured 2-8%
// slower than tile_x16_impl's, which those tiles keep.
template <int MR>
void tile_q8_xs_wide(const uint8_t* w0, int64_t nb, const int8_t* xq, const float* xd, int64_t K, float* y,
                     int64_t ldy, const int32_t* wsum, const WeightPrefetch& pf) {
  int64_t pf_next = pf.first;
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) {
    _mm256_storeu_ps(y + r * ldy, _mm256_setzero_ps());
    _mm256_storeu_ps(y + r * ldy + 8, _mm256_setzero_ps());
  }
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* t = w0 + b * kQ8x16TileBytes;
    const int64_t pf_off = pf.offset(b, pf_next);
    if (pf_off != 0) {
#pragma GCC unroll 8
      for (int kg = 0; kg < 8; kg++) prefetch_weights(t + kg * 64, pf_off);
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      __m256i acc[MR];
      const __m256i start = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wsum + b * 16 + h * 8));
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) acc[r] = start;
#pragma GCC unroll 8
      for (int kg = 0; kg < 8; kg++) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 32 + kg * 64 + h * 32));
        const __m256i aw = _mm256_abs_epi8(w), neg = _mm256_cmpgt_epi8(_mm256_setzero_si256(), w);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) acc[r] = q8_xor_step(acc[r], aw, neg, xq + r * K + b * 32 + kg * 4);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) __asm__("" : "+x"(acc[r]));
      }
      const __m256 ws = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t + h * 16)));
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) {
        float* yr = y + r * ldy + h * 8;
        const __m256 s = _mm256_mul_ps(ws, _mm256_set1_ps(xd[r * nb + b]));
        _mm256_storeu_ps(yr, _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r]), s, _mm256_loadu_ps(yr)));
      }
    }
  }
}

template <int MR, int NC, bool Q4>
void tile_x16(const uint8_t* w0, int64_t group_stride, int64_t nb, const int8_t* xq, const float* xd,
              const int32_t* xs, int64_t K, float* y, int64_t ldy, const int32_t* wsum, const WeightPrefetch& pf) {
  if constexpr (MR > 4) {
    // Only the XS form has a wide tile; any other is two tiles of 4 and MR - 4 rows.
    if constexpr (!Q4 && !kVnni && NC == 1)
      if (wsum) return tile_q8_xs_wide<MR>(w0, nb, xq, xd, K, y, ldy, wsum, pf);
    tile_x16<4, NC, Q4>(w0, group_stride, nb, xq, xd, xs, K, y, ldy, wsum, pf);
    tile_x16<MR - 4, NC, Q4>(w0, group_stride, nb, xq + 4 * K, xd + 4 * nb, xs + 4 * nb, K, y + 4 * ldy, ldy, wsum, pf);
  } else {
    if constexpr (!Q4 && !kVnni && MR >= 2)
      if (wsum) return tile_x16_impl<MR, NC, false, true>(w0, group_stride, nb, xq, xd, xs, K, y, ldy, wsum, pf);
    tile_x16_impl<MR, NC, Q4, false>(w0, group_stride, nb, xq, xd, xs, K, y, ldy, nullptr, pf);
  }
}

#ifndef GB_AVX2_VNNI
// For the XS tiles: per block, each row's sum of |w| over its negative weights (int32, rows in
// tile order: 16 per block). |min(w, 0)| as an unsigned byte is that magnitude (128 for -128).
void q8_weight_sums(const uint8_t* group, int64_t nb, int32_t* out) {
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* t = group + b * kQ8x16TileBytes + 32;
    for (int h = 0; h < 2; h++) {
      __m256i s16 = _mm256_setzero_si256();  // <= 8 steps * 2 * 128 per lane
      for (int kg = 0; kg < 8; kg++) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + kg * 64 + h * 32));
        const __m256i mag = _mm256_abs_epi8(_mm256_min_epi8(w, _mm256_setzero_si256()));
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(mag, ones8));
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + b * 16 + h * 8), _mm256_madd_epi16(s16, ones16));
    }
  }
}
#endif

// Tiles that keep the integer accumulators (2 * MR * NC vectors) and the weight vectors in the 16
// ymm registers; the float accumulators are touched once per block and may live in L1. Without
// VNNI, Q8_0 tiles of up to 8 rows (tile_q8_xs_wide) from kXsMinM rows on.
constexpr int kMaxMR = kVnni ? 4 : 8;
constexpr int64_t kXsMinM = 32;
int max_nc_for(int mr) { return mr <= 1 ? 4 : (mr == 2 ? 2 : 1); }

template <bool Q4>
X16Tile pick_tile(int mr, int nc) {
  nc = nc > max_nc_for(mr) ? max_nc_for(mr) : nc;
  switch (mr) {
    case 1: {
      static constexpr X16Tile f[] = {nullptr, &tile_x16<1, 1, Q4>, &tile_x16<1, 2, Q4>, &tile_x16<1, 3, Q4>,
                                      &tile_x16<1, 4, Q4>};
      return f[nc];
    }
    case 2: return nc == 2 ? &tile_x16<2, 2, Q4> : &tile_x16<2, 1, Q4>;
    case 3: return &tile_x16<3, 1, Q4>;
    case 4: return &tile_x16<4, 1, Q4>;
    case 5: return &tile_x16<5, 1, Q4>;
    case 6: return &tile_x16<6, 1, Q4>;
    case 7: return &tile_x16<7, 1, Q4>;
    default: return &tile_x16<8, 1, Q4>;
  }
}

// ---- K-quant x16 tiles (Q4_Kx16, Q6_Kx16) ---------------------------------------------------
//
// Same tiles as the AVX-512 set (pack.h), each taken as two 8-row halves. Without VNNI the dot uses
// vpmaddubsw (unsigned quant x signed activation -> int16 pairs) summed in int16 as long as that
// cannot overflow, then vpmaddwd against the scales (duplicated into both int16 halves of each
// row's 32-bit lane) into int32. Q4_K: 8 maddubs per 32-element sub-block sum 16 products per int16
// lane (<= 16*15*127). Q6_K: 2 maddubs at most per int16 lane (4*63*127), then the scale.

constexpr int kKqMaxMR = 4;

template <int MR>
void tile_q4_Kx16(const uint8_t* wg, int64_t nb, const BlockQ8_K* x, float* out, int64_t ldo, bool pf) {
  __m256 facc[MR][2];
  for (int r = 0; r < MR; r++) facc[r][0] = facc[r][1] = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; b++)
#pragma GCC unroll 1
  for (int h = 0; h < 2; h++) {  // both halves while the tile's lines are fresh in L1
    const uint8_t* t = wg + b * kQ4Kx16TileBytes;
    __m256i iacc[MR], mn[MR];
    for (int r = 0; r < MR; r++) iacc[r] = mn[r] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int j = 0; j < 8; j++) {
      const uint8_t* slice = t + 64 + j * kQ4KxSlice;
      __m256i s16[MR];
      for (int r = 0; r < MR; r++) s16[r] = _mm256_setzero_si256();
#pragma GCC unroll 4
      for (int k = 0; k < 4; k++) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(slice + 32 + k * 64 + h * 32));
        if (h == 0 && pf) prefetch_weights(slice + k * 64);
        const __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        for (int r = 0; r < MR; r++) {
          const int8_t* xq = x[r * nb + b].qs + 32 * j;
          s16[r] = _mm256_add_epi16(s16[r], _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast4(xq + 4 * k)),
                                                             _mm256_maddubs_epi16(hi, bcast4(xq + 16 + 4 * k))));
        }
      }
      const __m256i sc = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(slice + h * 8)));
      const __m256i mi = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(slice + 16 + h * 8)));
      const __m256i sc16 = _mm256_or_si256(sc, _mm256_slli_epi32(sc, 16));
      const __m256i m16 = _mm256_or_si256(mi, _mm256_slli_epi32(mi, 16));
      for (int r = 0; r < MR; r++) {
        iacc[r] = _mm256_add_epi32(iacc[r], _mm256_madd_epi16(s16[r], sc16));
        mn[r] = _mm256_add_epi32(mn[r], _mm256_madd_epi16(m16, bcast4(x[r * nb + b].bsums + 2 * j)));
      }
    }
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t + h * 16)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t + 32 + h * 16)));
    for (int r = 0; r < MR; r++) {
      const __m256 xd = _mm256_set1_ps(x[r * nb + b].d);
      facc[r][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iacc[r]), _mm256_mul_ps(d, xd), facc[r][h]);
      facc[r][h] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mn[r]), _mm256_mul_ps(dmin, xd), facc[r][h]);
    }
  }
  for (int r = 0; r < MR; r++) {
    _mm256_storeu_ps(out + r * ldo, facc[r][0]);
    _mm256_storeu_ps(out + r * ldo + 8, facc[r][1]);
  }
}

template <int MR>
void tile_q6_Kx16(const uint8_t* wg, int64_t nb, const BlockQ8_K* x, float* out, int64_t ldo, bool pf) {
  __m256 facc[MR][2];
  for (int r = 0; r < MR; r++) facc[r][0] = facc[r][1] = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i hi2 = _mm256_set1_epi8(0x30);
  // (sc_2i, sc_2i+1) int16 pairs -> (sc_2i, sc_2i) and (sc_2i+1, sc_2i+1).
  const __m256i dup_a = _mm256_setr_epi32(0x01000100, 0x05040504, 0x09080908, 0x0D0C0D0C, 0x01000100, 0x05040504,
                                          0x09080908, 0x0D0C0D0C);
  const __m256i dup_b = _mm256_add_epi8(dup_a, _mm256_set1_epi8(2));
  for (int64_t b = 0; b < nb; b++)
#pragma GCC unroll 1
  for (int h = 0; h < 2; h++) {  // both halves while the tile's lines are fresh in L1
    const uint8_t* t = wg + b * kQ6Kx16TileBytes;
    __m256i iacc[MR], corr[MR];
    for (int r = 0; r < MR; r++) iacc[r] = corr[r] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int i = 0; i < 8; i++) {
      const uint8_t* slice = t + 32 + i * kQ6KxSlice;
      const uint8_t* q = slice + 32;
      const __m256i qh0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 256 + h * 32));
      const __m256i qh1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 320 + h * 32));
      // Pair sums of 2 groups (4 products per int16 lane) for sub-blocks 2i (a) and 2i+1 (b).
      __m256i pa[MR][2], pb[MR][2];
      for (int r = 0; r < MR; r++) pa[r][0] = pa[r][1] = pb[r][0] = pb[r][1] = _mm256_setzero_si256();
#pragma GCC unroll 4
      for (int k = 0; k < 4; k++) {
        const __m256i ql = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + k * 64 + h * 32));
        if (h == 0 && pf) {
          prefetch_weights(q + k * 64);
          if (k < 2) prefetch_weights(q + 256 + k * 64);
        }
        const __m256i qh = k % 2 ? qh1 : qh0;
        const __m256i ha = _mm256_and_si256(k < 2 ? _mm256_slli_epi16(qh, 4) : _mm256_slli_epi16(qh, 2), hi2);
        const __m256i hb = _mm256_and_si256(k < 2 ? qh : _mm256_srli_epi16(qh, 2), hi2);
        const __m256i wa = _mm256_or_si256(_mm256_and_si256(ql, low4), ha);
        const __m256i wb = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql, 4), low4), hb);
        for (int r = 0; r < MR; r++) {
          const int8_t* xq = x[r * nb + b].qs + 32 * i;
          pa[r][k / 2] = _mm256_add_epi16(pa[r][k / 2], _mm256_maddubs_epi16(wa, bcast4(xq + 4 * k)));
          pb[r][k / 2] = _mm256_add_epi16(pb[r][k / 2], _mm256_maddubs_epi16(wb, bcast4(xq + 16 + 4 * k)));
        }
      }
      const __m256i scp = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(slice + h * 16)));
      const __m256i sca = _mm256_shuffle_epi8(scp, dup_a), scb = _mm256_shuffle_epi8(scp, dup_b);
      for (int r = 0; r < MR; r++) {
        const __m256i sa = _mm256_add_epi32(_mm256_madd_epi16(pa[r][0], sca), _mm256_madd_epi16(pa[r][1], sca));
        const __m256i sb = _mm256_add_epi32(_mm256_madd_epi16(pb[r][0], scb), _mm256_madd_epi16(pb[r][1], scb));
        iacc[r] = _mm256_add_epi32(iacc[r], _mm256_add_epi32(sa, sb));
        corr[r] = _mm256_add_epi32(corr[r], _mm256_madd_epi16(scp, bcast4(x[r * nb + b].bsums + 2 * i)));
      }
    }
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t + h * 16)));
    for (int r = 0; r < MR; r++) {
      const __m256i tot = _mm256_sub_epi32(iacc[r], _mm256_slli_epi32(corr[r], 5));
      facc[r][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(tot), _mm256_mul_ps(d, _mm256_set1_ps(x[r * nb + b].d)), facc[r][h]);
    }
  }
  for (int r = 0; r < MR; r++) {
    _mm256_storeu_ps(out + r * ldo, facc[r][0]);
    _mm256_storeu_ps(out + r * ldo + 8, facc[r][1]);
  }
}

template <bool Q6>
KqTile kq_pick(int mr) {
  switch (mr) {
    case 1: return Q6 ? &tile_q6_Kx16<1> : &tile_q4_Kx16<1>;
    case 2: return Q6 ? &tile_q6_Kx16<2> : &tile_q4_Kx16<2>;
    case 3: return Q6 ? &tile_q6_Kx16<3> : &tile_q4_Kx16<3>;
    default: return Q6 ? &tile_q6_Kx16<4> : &tile_q4_Kx16<4>;
  }
}

// ---- row formats ---------------------------------------------------------------------------

float dot_f32(const float* w, const float* x, int64_t K) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; k += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), _mm256_loadu_ps(x + k), acc);
  return hsum8(acc);
}

float dot_f16(const uint16_t* w, const uint16_t* x, int64_t K) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; k += 8)
    acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + k))),
                          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + k))), acc);
  return hsum8(acc);
}

void f16_row(const float* x, int64_t K, uint16_t* h) {
  for (int64_t k = 0; k < K; k += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + k), _mm256_cvtps_ph(_mm256_loadu_ps(x + k), _MM_FROUND_TO_NEAREST_INT));
}

// Candidate tiles per format and activation row count; autotune times them (gears/), the first is
// the default. A row tile equal to a small M wastes no rows.
int tile_variants(WeightFormat f, int64_t M, TileShape* out, int cap) {
  if (f == WeightFormat::Q4_Kx16 || f == WeightFormat::Q6_Kx16) {
    if (M <= kKqMaxMR) {
      const TileShape exact[] = {{static_cast<int>(M), 1}};
      return copy_variants(exact, 1, out, cap);
    }
    static const TileShape many[] = {{4, 1}, {2, 1}, {3, 1}};
    return copy_variants(many, 3, out, cap);
  }
  if (f != WeightFormat::Q8_0x16 && f != WeightFormat::Q4_0x16) return kernels_portable()->tile_variants(f, M, out, cap);
  static const TileShape two[] = {{2, 2}, {2, 1}, {1, 4}};
  static const TileShape three[] = {{3, 1}, {1, 4}, {2, 2}};
  static const TileShape many[] = {{4, 1}, {2, 2}, {3, 1}, {1, 4}};
  static const TileShape wide[] = {{8, 1}, {4, 1}, {2, 2}, {3, 1}, {1, 4}};
  if (M <= 1) return copy_variants(&kDecodeTile, 1, out, cap);
  if (M == 2) return copy_variants(two, 3, out, cap);
  if (M == 3) return copy_variants(three, 3, out, cap);
  if (!kVnni && f == WeightFormat::Q8_0x16 && M >= kXsMinM) return copy_variants(wide, 5, out, cap);
  return copy_variants(many, 4, out, cap);
}

struct Isa {
#ifdef GB_AVX2_VNNI
  static constexpr const char* kName = "avx2-vnni";
  static constexpr bool kQ8Unsigned = true;  // Q8_0 quants stored as q + 128 (vpdpbusd)
#else
  static constexpr const char* kName = "avx2";
  static constexpr bool kQ8Unsigned = false;  // signed Q8_0 quants (sign trick)
#endif
  static constexpr int kMaxMR = gb::kMaxMR;
  static constexpr auto max_nc = &max_nc_for;
  static X16Tile x16_tile(bool q4, int mr, int nc) { return q4 ? pick_tile<true>(mr, nc) : pick_tile<false>(mr, nc); }
#ifndef GB_AVX2_VNNI
  static constexpr auto q8_weight_sums = &gb::q8_weight_sums;  // XS tiles (tile_x16_impl, tile_q8_xs_wide)
  static constexpr int64_t kWeightSumsMinM = kXsMinM;
#endif
  static constexpr int kKqMaxMR = gb::kKqMaxMR;
  static KqTile kq_tile(bool q6, int mr) { return q6 ? kq_pick<true>(mr) : kq_pick<false>(mr); }
  static constexpr auto quantize_q8_0_row = &gb::quantize_q8_0_row;
  static constexpr auto quantize_q8_K_row = &gb::quantize_q8_K_row;
  static constexpr int kF16Step = 8;
  static constexpr auto f16_row = &gb::f16_row;
  static constexpr int kDotStep = 8;
  static constexpr auto dot_f32 = &gb::dot_f32;
  static constexpr auto dot_f16 = &gb::dot_f16;
  static constexpr int kBf16Step = 0;  // no bf16 dot: bf16 goes to the portable set
  static constexpr auto tile_variants = &gb::tile_variants;
};

const KernelSet kSet = make_kernel_set<Isa>();

}  // namespace

#ifdef GB_AVX2_VNNI
const KernelSet* kernels_avx2_vnni() { return &kSet; }
#else
const KernelSet* kernels_avx2() { return &kSet; }
#endif

}  // namespace gb

#else
#include "kernels/kernels.h"
namespace gb {
const KernelSet* kernels_avx2() { return nullptr; }
const KernelSet* kernels_avx2_vnni() { return nullptr; }
}  // namespace gb
#endif
