// AVX-512 kernels (F, BW, VL, DQ, VNNI, BF16; FMA, F16C). Compiled with those flags in their own
// library; everything here has internal linkage so no AVX-512 code leaks into baseline callers.
// Entered only after CPU detection (dispatch.cc).
#if defined(__x86_64__) && defined(GB_BUILD_AVX512)
#include <immintrin.h>

#include <cstring>

#include "kernels/driver.h"

namespace gb {
namespace {

inline float f16_round(float v) { return _cvtsh_ss(_cvtss_sh(v, _MM_FROUND_TO_NEAREST_INT)); }

// ---- activation conversion ---------------------------------------------------------------

void quantize_q8_0_row(const float* x, int64_t K, int8_t* qs, float* d, int32_t* s) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (int64_t b = 0; b < K / 32; b++) {
    __m512 v0 = _mm512_loadu_ps(x + b * 32), v1 = _mm512_loadu_ps(x + b * 32 + 16);
    __m512 a = _mm512_max_ps(_mm512_andnot_ps(sign, v0), _mm512_andnot_ps(sign, v1));
    float amax = _mm512_reduce_max_ps(a);
    d[b] = f16_round(amax / 127.f);
    const __m512 id = _mm512_set1_ps(amax != 0.f ? 127.f / amax : 0.f);
    // cvtps_epi32 rounds with MXCSR's default mode: nearest, ties to even (as ggml's x86 path).
    __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id));
    __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + b * 32), _mm512_cvtepi32_epi8(i0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + b * 32 + 16), _mm512_cvtepi32_epi8(i1));
    s[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
  }
}

// Bit-identical to ref_quantize_q8_K: the value of largest magnitude keeps its sign (the first one
// wins a tie, as the scalar loop's strict `>`), iscale = -127/max, quants rounded to nearest with ties
// to even, clamped at 127 and truncated to 8 bits. The rounding uses an explicit mode rather than
// ggml's add-a-magic-number trick because GCC may contract a separate mul + add into one FMA (a
// single rounding), which would change rare ties; the two agree on every finite input, and on
// inf/NaN products (all-tiny blocks) both truncate to a zero byte.
void quantize_q8_K_row(const float* x, int64_t K, BlockQ8_K* out) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (int64_t i = 0; i < K / QK_K; i++) {
    const float* xb = x + i * QK_K;
    BlockQ8_K& y = out[i];
    __m512 mx = _mm512_setzero_ps();
    // max(|x|, acc) returns acc when |x| is NaN: NaNs are skipped, as by the scalar `ax > amax`.
    for (int v = 0; v < 16; v++) mx = _mm512_max_ps(_mm512_andnot_ps(sign, _mm512_loadu_ps(xb + v * 16)), mx);
    const float amax = _mm512_reduce_max_ps(mx);
    if (amax == 0) {
      std::memset(&y, 0, sizeof(y));
      continue;
    }
    const __m512 am = _mm512_set1_ps(amax);
    float max = 0;
    for (int v = 0; v < 16; v++) {
      __mmask16 hit = _mm512_cmp_ps_mask(_mm512_andnot_ps(sign, _mm512_loadu_ps(xb + v * 16)), am, _CMP_EQ_OQ);
      if (hit) {
        max = xb[v * 16 + __builtin_ctz(hit)];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m512 is = _mm512_set1_ps(iscale);
    const __m512i top = _mm512_set1_epi32(127);
    // Each 16-float vector is one bsums group.
    for (int v = 0; v < 16; v++) {
      __m512i q = _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xb + v * 16), is),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      q = _mm512_min_epi32(q, top);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y.qs + v * 16), _mm512_cvtepi32_epi8(q));
      // Sum the stored (truncated) bytes, as the reference sums y.qs.
      y.bsums[v] = static_cast<int16_t>(_mm512_reduce_add_epi32(_mm512_srai_epi32(_mm512_slli_epi32(q, 24), 24)));
    }
    y.d = 1 / iscale;
  }
}

// ---- x16 tiles: vpdpbusd with the weights as the unsigned operand ----------------------------
//
// Q8_0 weights are stored as q+128 (unsigned), Q4_0 weights as their 4-bit value q (unsigned),
// activations stay signed: sum(u * x) = sum(w * x) + OFF * sum(x), so each block's integer
// accumulator starts at -OFF * sum(x) (the block sums come with the quantized activations).

template <int MR, int NC, bool Q4>
void tile_x16(const uint8_t* w0, int64_t group_stride, int64_t nb, const int8_t* xq, const float* xd,
              const int32_t* xs, int64_t K, float* y, int64_t ldy, const int32_t* /*wsum: none here*/,
              const WeightPrefetch& pf) {
  constexpr int64_t TB = Q4 ? kQ4x16TileBytes : kQ8x16TileBytes;
  constexpr int OFF = Q4 ? 8 : 128;
  int64_t pf_next = pf.first;
  __m512 facc[MR][NC];
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int c = 0; c < NC; c++) facc[r][c] = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0F);

  for (int64_t b = 0; b < nb; b++) {
    __m512i iacc[MR][NC];
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
      const __m512i corr = _mm512_set1_epi32(-OFF * xs[r * nb + b]);
#pragma GCC unroll 4
      for (int c = 0; c < NC; c++) iacc[r][c] = corr;
    }
    const uint8_t* t = w0 + b * TB;
    const int8_t* xb = xq + b * 32;
    const int64_t pf_off = pf.offset(b, pf_next);
    if constexpr (!Q4) {
      // K steps unrolled by 2, not 8: unrolled whole, GCC hoisted the weight loads of the block and
      // spilled accumulators (benchMatmul, Zen 4: Q8_0 +29% at M = 64, +10% at M = 1).
#pragma GCC unroll 2
      for (int kg = 0; kg < 8; kg++) {
        __m512i wv[NC];
#pragma GCC unroll 4
        for (int c = 0; c < NC; c++) {
          wv[c] = _mm512_loadu_si512(t + c * group_stride + 32 + kg * 64);
          if (pf_off != 0) prefetch_weights(t + c * group_stride + kg * 64, pf_off);
        }
#pragma GCC unroll 16
        for (int r = 0; r < MR; r++) {
          int32_t x4;
          std::memcpy(&x4, xb + r * K + kg * 4, 4);
          const __m512i xv = _mm512_set1_epi32(x4);
#pragma GCC unroll 4
          for (int c = 0; c < NC; c++) iacc[r][c] = _mm512_dpbusd_epi32(iacc[r][c], wv[c], xv);
        }
      }
    } else {
#pragma GCC unroll 2  // as above (Q4_0: +18% at M = 1)
      for (int p = 0; p < 4; p++) {
        __m512i lo[NC], hi[NC];
#pragma GCC unroll 4
        for (int c = 0; c < NC; c++) {
          __m512i v = _mm512_loadu_si512(t + c * group_stride + 32 + p * 64);
          if (pf_off != 0) prefetch_weights(t + c * group_stride + p * 64, pf_off);
          lo[c] = _mm512_and_si512(v, low4);
          hi[c] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
        }
#pragma GCC unroll 16
        for (int r = 0; r < MR; r++) {
          int32_t x4a, x4b;
          std::memcpy(&x4a, xb + r * K + 8 * p, 4);
          std::memcpy(&x4b, xb + r * K + 8 * p + 4, 4);
          const __m512i xa = _mm512_set1_epi32(x4a), xbv = _mm512_set1_epi32(x4b);
#pragma GCC unroll 4
          for (int c = 0; c < NC; c++) {
            iacc[r][c] = _mm512_dpbusd_epi32(iacc[r][c], lo[c], xa);
            iacc[r][c] = _mm512_dpbusd_epi32(iacc[r][c], hi[c], xbv);
          }
        }
      }
    }
    __m512 ws[NC];
#pragma GCC unroll 4
    for (int c = 0; c < NC; c++)
      ws[c] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + c * group_stride)));
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
      const __m512 xdv = _mm512_set1_ps(xd[r * nb + b]);
#pragma GCC unroll 4
      for (int c = 0; c < NC; c++)
        facc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[r][c]), _mm512_mul_ps(ws[c], xdv), facc[r][c]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int c = 0; c < NC; c++) _mm512_storeu_ps(y + r * ldy + c * 16, facc[r][c]);
}

constexpr int kMaxMR = 12;

template <bool Q4, int MR>
struct RowTable {
  static constexpr X16Tile fns[5] = {nullptr, &tile_x16<MR, 1, Q4>, &tile_x16<MR, 2, Q4>, &tile_x16<MR, 3, Q4>,
                                     &tile_x16<MR, 4, Q4>};
};

// Largest NC a row count supports without spilling registers.
int max_nc_for(int mr) { return mr <= 4 ? 4 : (mr == 5 ? 3 : (mr <= 8 ? 2 : 1)); }

template <bool Q4>
X16Tile pick_tile(int mr, int nc) {
  nc = nc > max_nc_for(mr) ? max_nc_for(mr) : nc;
  switch (mr) {
    case 1: return RowTable<Q4, 1>::fns[nc];
    case 2: return RowTable<Q4, 2>::fns[nc];
    case 3: return RowTable<Q4, 3>::fns[nc];
    case 4: return RowTable<Q4, 4>::fns[nc];
    case 5: return RowTable<Q4, 5>::fns[nc];
    case 6: return RowTable<Q4, 6>::fns[nc];
    case 7: return RowTable<Q4, 7>::fns[nc];
    case 8: return RowTable<Q4, 8>::fns[nc];
    case 9: return RowTable<Q4, 9>::fns[1];
    case 10: return RowTable<Q4, 10>::fns[1];
    case 11: return RowTable<Q4, 11>::fns[1];
    default: return RowTable<Q4, 12>::fns[1];
  }
}

// ---- K-quant x16 tiles (Q4_Kx16, Q6_Kx16) ---------------------------------------------------
//
// Lane r of every vector is output row r of a 16-row group, so scales, mins and d apply to 16 rows
// per instruction and results need no horizontal sums. Per activation row and sub-block, vpdpbusd
// (unsigned quants x 4 signed activation bytes broadcast from memory) sums the sub-block exactly in
// int32; vpmulld applies the sub-block scales; once per super-block the integer total becomes float
// with d_w * d_x. Each unpacked weight vector serves MR activation rows (register reuse), and
// panels of groups stay in L2 while every MR-row slice of the activations passes over them.
//
// Q4_K: sum_j sc_j * dot_j - (dmin/d) sum_j m_j * (bsums[2j] + bsums[2j+1]); the mins part is one
// vpdpwssd per sub-block against (m_j, m_j) pairs. Q6_K quants are stored unsigned (q + 32):
// sum_j sc_j * (dot_j - 32 * bsums[j]), the offset part a vpdpwssd of (sc_2i, sc_2i+1) pairs
// against (bsums[2i], bsums[2i+1]).

constexpr int kKqMaxMR = 6;

inline __m512i bcast4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

template <int MR>
void tile_q4_Kx16(const uint8_t* wg, int64_t nb, const BlockQ8_K* x, float* y, int64_t ldy, bool pf) {
  __m512 facc[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) facc[r] = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* t = wg + b * kQ4Kx16TileBytes;
    __m512i iacc[MR], mn[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) iacc[r] = mn[r] = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (int j = 0; j < 8; j++) {
      // wv[k]: elements 4k..4k+3 of sub-block j; wv[4+k]: elements 16+4k..16+4k+3.
      const uint8_t* slice = t + 64 + j * kQ4KxSlice;
      __m512i wv[8];
#pragma GCC unroll 4
      for (int k = 0; k < 4; k++) {
        const __m512i v = _mm512_loadu_si512(slice + 32 + k * 64);
        if (pf) prefetch_weights(slice + k * 64);
        wv[k] = _mm512_and_si512(v, low4);
        wv[4 + k] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      }
      const __m512i sc = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(slice)));
      const __m512i mi = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(slice + 16)));
      const __m512i m16 = _mm512_or_si512(mi, _mm512_slli_epi32(mi, 16));
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) {
        const BlockQ8_K& xb = x[r * nb + b];
        const int8_t* xq = xb.qs + 32 * j;
        __m512i acc = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) acc = _mm512_dpbusd_epi32(acc, wv[k], bcast4(xq + (k < 4 ? 4 * k : 16 + 4 * (k - 4))));
        // |acc| <= 32*15*127 and scales <= 63: the product fits int32.
        iacc[r] = _mm512_add_epi32(iacc[r], _mm512_mullo_epi32(acc, sc));
        mn[r] = _mm512_dpwssd_epi32(mn[r], m16, bcast4(xb.bsums + 2 * j));
      }
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t)));
    const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 32)));
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      const __m512 xd = _mm512_set1_ps(x[r * nb + b].d);
      facc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[r]), _mm512_mul_ps(d, xd), facc[r]);
      facc[r] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mn[r]), _mm512_mul_ps(dmin, xd), facc[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) _mm512_storeu_ps(y + r * ldy, facc[r]);
}

template <int MR>
void tile_q6_Kx16(const uint8_t* wg, int64_t nb, const BlockQ8_K* x, float* y, int64_t ldy, bool pf) {
  __m512 facc[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) facc[r] = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i hi2 = _mm512_set1_epi8(0x30);
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* t = wg + b * kQ6Kx16TileBytes;
    __m512i iacc[MR], corr[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) iacc[r] = corr[r] = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (int i = 0; i < 8; i++) {
      // wa[k]: elements 4k.. of sub-block 2i; wb[k]: the same of sub-block 2i+1. Their 2 high bits
      // sit in qh vector k%2 at bits (0,2) and (4,6) for k < 2 and k >= 2: moved to bits 4-5.
      const uint8_t* slice = t + 32 + i * kQ6KxSlice;
      const uint8_t* q = slice + 32;
      const __m512i qh0 = _mm512_loadu_si512(q + 256);
      const __m512i qh1 = _mm512_loadu_si512(q + 320);
      __m512i wa[4], wb[4];
#pragma GCC unroll 4
      for (int k = 0; k < 4; k++) {
        const __m512i ql = _mm512_loadu_si512(q + k * 64);
        if (pf) {
          prefetch_weights(q + k * 64);
          if (k < 2) prefetch_weights(q + 256 + k * 64);
        }
        const __m512i qh = k % 2 ? qh1 : qh0;
        const __m512i ha = _mm512_and_si512(k < 2 ? _mm512_slli_epi16(qh, 4) : _mm512_slli_epi16(qh, 2), hi2);
        const __m512i hb = _mm512_and_si512(k < 2 ? qh : _mm512_srli_epi16(qh, 2), hi2);
        // (A & B) | C
        wa[k] = _mm512_ternarylogic_epi32(ql, low4, ha, 0xEA);
        wb[k] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(ql, 4), low4, hb, 0xEA);
      }
      const __m512i scp = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(slice)));
      const __m512i sca = _mm512_srai_epi32(_mm512_slli_epi32(scp, 16), 16);
      const __m512i scb = _mm512_srai_epi32(scp, 16);
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) {
        const BlockQ8_K& xb = x[r * nb + b];
        const int8_t* xq = xb.qs + 32 * i;
        __m512i acca = _mm512_setzero_si512(), accb = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
          acca = _mm512_dpbusd_epi32(acca, wa[k], bcast4(xq + 4 * k));
          accb = _mm512_dpbusd_epi32(accb, wb[k], bcast4(xq + 16 + 4 * k));
        }
        // |acc| <= 16*63*127, |scale| <= 128: fits int32, as does the super-block total.
        iacc[r] = _mm512_add_epi32(iacc[r], _mm512_add_epi32(_mm512_mullo_epi32(acca, sca), _mm512_mullo_epi32(accb, scb)));
        corr[r] = _mm512_dpwssd_epi32(corr[r], scp, bcast4(xb.bsums + 2 * i));
      }
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t)));
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      const __m512i tot = _mm512_sub_epi32(iacc[r], _mm512_slli_epi32(corr[r], 5));
      facc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot), _mm512_mul_ps(d, _mm512_set1_ps(x[r * nb + b].d)), facc[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) _mm512_storeu_ps(y + r * ldy, facc[r]);
}

template <bool Q6>
KqTile kq_pick(int mr) {
  switch (mr) {
    case 1: return Q6 ? &tile_q6_Kx16<1> : &tile_q4_Kx16<1>;
    case 2: return Q6 ? &tile_q6_Kx16<2> : &tile_q4_Kx16<2>;
    case 3: return Q6 ? &tile_q6_Kx16<3> : &tile_q4_Kx16<3>;
    case 4: return Q6 ? &tile_q6_Kx16<4> : &tile_q4_Kx16<4>;
    case 5: return Q6 ? &tile_q6_Kx16<5> : &tile_q4_Kx16<5>;
    default: return Q6 ? &tile_q6_Kx16<6> : &tile_q4_Kx16<6>;
  }
}

// ---- row formats ---------------------------------------------------------------------------

float dot_f32(const float* w, const float* x, int64_t K) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(x + k), acc);
  return _mm512_reduce_add_ps(acc);
}

float dot_f16(const uint16_t* w, const uint16_t* x, int64_t K) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 16)
    acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k))),
                          _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + k))), acc);
  return _mm512_reduce_add_ps(acc);
}

float dot_bf16(const uint16_t* w, const uint16_t* x, int64_t K) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 32)
    acc = _mm512_dpbf16_ps(acc, (__m512bh)_mm512_loadu_si512(w + k), (__m512bh)_mm512_loadu_si512(x + k));
  return _mm512_reduce_add_ps(acc);
}

void f16_row(const float* x, int64_t K, uint16_t* h) {
  for (int64_t k = 0; k < K; k += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(h + k), _mm512_cvtps_ph(_mm512_loadu_ps(x + k), _MM_FROUND_TO_NEAREST_INT));
}

int tile_variants(WeightFormat f, int64_t M, TileShape* out, int cap) {
  if (f == WeightFormat::Q4_Kx16 || f == WeightFormat::Q6_Kx16) {
    // Rows per micro-tile; a row count up to the maximum is used as it is (no wasted rows).
    static const TileShape many[] = {{4, 1}, {6, 1}, {5, 1}, {3, 1}};
    int k = 0;
    if (M <= kKqMaxMR) {
      if (k < cap) out[k++] = {static_cast<int>(M), 1};
      return k;
    }
    for (int i = 0; i < 4 && k < cap; i++) out[k++] = many[i];
    return k;
  }
  if (f != WeightFormat::Q8_0x16 && f != WeightFormat::Q4_0x16) return kernels_portable()->tile_variants(f, M, out, cap);
  if (M <= 1) return copy_variants(&kDecodeTile, 1, out, cap);
  static const TileShape large[] = {{6, 2}, {4, 3}, {4, 2}, {8, 2}, {8, 1}, {12, 1}, {5, 3}};
  if (M <= 4) {
    // Prefer a row tile equal to M so no rows are wasted.
    int k = 0;
    static const int ncs[] = {4, 2, 3, 1};
    for (int c : ncs) {
      if (k < cap && c <= max_nc_for(static_cast<int>(M))) out[k++] = {static_cast<int>(M), c};
    }
    return k;
  }
  return copy_variants(large, 7, out, cap);
}

struct Isa {
  static constexpr const char* kName = "avx512-vnni";
  static constexpr bool kQ8Unsigned = true;  // Q8_0 tiles hold q + 128 for vpdpbusd
  static constexpr int kMaxMR = gb::kMaxMR;
  static constexpr auto max_nc = &max_nc_for;
  static X16Tile x16_tile(bool q4, int mr, int nc) { return q4 ? pick_tile<true>(mr, nc) : pick_tile<false>(mr, nc); }
  static constexpr int kKqMaxMR = gb::kKqMaxMR;
  static KqTile kq_tile(bool q6, int mr) { return q6 ? kq_pick<true>(mr) : kq_pick<false>(mr); }
  static constexpr auto quantize_q8_0_row = &gb::quantize_q8_0_row;
  static constexpr auto quantize_q8_K_row = &gb::quantize_q8_K_row;
  static constexpr int kF16Step = 16;
  static constexpr auto f16_row = &gb::f16_row;
  static constexpr int kDotStep = 16;
  static constexpr auto dot_f32 = &gb::dot_f32;
  static constexpr auto dot_f16 = &gb::dot_f16;
  static constexpr int kBf16Step = 32;
  static constexpr auto dot_bf16 = &gb::dot_bf16;
  static constexpr auto tile_variants = &gb::tile_variants;
};

// The same kernels for AVX-512 VNNI CPUs without AVX512-BF16 (Cascade Lake, Ice Lake, most cloud
// x86 servers of 2019-2022): bf16 weight rows go to the portable dot, everything else is shared. No
// other code of this file uses a BF16 instruction (GCC 12 emits them only from the bf16 intrinsics).
struct IsaNoBf16 : Isa {
  static constexpr const char* kName = "avx512-vnni-nobf16";
  static constexpr int kBf16Step = 0;
};

const KernelSet kSet = make_kernel_set<Isa>();
const KernelSet kSetNoBf16 = make_kernel_set<IsaNoBf16>();

}  // namespace

const KernelSet* kernels_avx512() { return &kSet; }
const KernelSet* kernels_avx512_nobf16() { return &kSetNoBf16; }

}  // namespace gb

#else
#include "kernels/kernels.h"
namespace gb {
const KernelSet* kernels_avx512() { return nullptr; }
const KernelSet* kernels_avx512_nobf16() { return nullptr; }
}  // namespace gb
#endif
