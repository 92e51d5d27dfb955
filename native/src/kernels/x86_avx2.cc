// AVX2 + FMA + F16C kernels for x86-64 CPUs without AVX-512 VNNI. Same structure as the AVX-512
// set with 8-lane vectors; Q8_0 weights stay signed and use the abs/sign trick with vpmaddubsw
// (unsigned*signed pairs that cannot saturate). Internal linkage only (see x86_avx512.cc).
#if defined(__x86_64__) && defined(GB_BUILD_AVX2)
#include <immintrin.h>

#include <cstring>

#include "kernels/act.h"
#include "kernels/kernels.h"
#include "kernels/pack.h"

namespace gb {
namespace {

const KernelSet* portable() { return kernels_portable(); }

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

void convert_act(ActFormat f, const float* x, int64_t ldx, int64_t m0, int64_t m1, int64_t M, int64_t K, void* act) {
  if (f == ActFormat::Q8_K && K % QK_K == 0) {
    BlockQ8_K* b = static_cast<BlockQ8_K*>(act);
    for (int64_t m = m0; m < m1; m++) quantize_q8_K_row(x + m * ldx, K, b + m * (K / QK_K));
    return;
  }
  if (f == ActFormat::Q8_0 && K % 32 == 0) {
    ActQ8 a = act_q8(act, M, K);
    for (int64_t m = m0; m < m1; m++)
      quantize_q8_0_row(x + m * ldx, K, a.qs + m * K, a.d + m * (K / 32), a.s + m * (K / 32));
    return;
  }
  if (f == ActFormat::F16 && K % 8 == 0) {
    uint16_t* h = static_cast<uint16_t*>(act);
    for (int64_t m = m0; m < m1; m++)
      for (int64_t k = 0; k < K; k += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(h + m * K + k),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + m * ldx + k), _MM_FROUND_TO_NEAREST_INT));
    return;
  }
  portable()->convert_act(f, x, ldx, m0, m1, M, K, act);
}

// One activation row against one 16-row group: two 8-lane halves (rows 0-7 and 8-15).
template <bool Q4>
void group_row(const uint8_t* g, int64_t nb, const int8_t* xq, const float* xd, const int32_t* xs, float* out) {
  constexpr int64_t TB = Q4 ? kQ4x16TileBytes : kQ8x16TileBytes;
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 f0 = _mm256_setzero_ps(), f1 = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t* t = g + b * TB;
    const int8_t* xb = xq + b * 32;
    __m256i i0, i1;
    if constexpr (Q4) {
      i0 = i1 = _mm256_set1_epi32(-8 * xs[b]);
      for (int p = 0; p < 4; p++) {
        int32_t xa, xc;
        std::memcpy(&xa, xb + 8 * p, 4);
        std::memcpy(&xc, xb + 8 * p + 4, 4);
        const __m256i va = _mm256_set1_epi32(xa), vc = _mm256_set1_epi32(xc);
        for (int h = 0; h < 2; h++) {
          __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 32 + p * 64 + h * 32));
          __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
          __m256i s = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo, va), ones),
                                       _mm256_madd_epi16(_mm256_maddubs_epi16(hi, vc), ones));
          if (h == 0) i0 = _mm256_add_epi32(i0, s);
          else i1 = _mm256_add_epi32(i1, s);
        }
      }
    } else {
      i0 = i1 = _mm256_setzero_si256();
      for (int kg = 0; kg < 8; kg++) {
        int32_t x4;
        std::memcpy(&x4, xb + kg * 4, 4);
        const __m256i xv = _mm256_set1_epi32(x4);
        for (int h = 0; h < 2; h++) {
          __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 32 + kg * 64 + h * 32));
          __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xv, w)), ones);
          if (h == 0) i0 = _mm256_add_epi32(i0, s);
          else i1 = _mm256_add_epi32(i1, s);
        }
      }
    }
    const __m256 xdv = _mm256_set1_ps(xd[b]);
    const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
    const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t + 16)));
    f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), _mm256_mul_ps(w0, xdv), f0);
    f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i1), _mm256_mul_ps(w1, xdv), f1);
  }
  _mm256_storeu_ps(out, f0);
  _mm256_storeu_ps(out + 8, f1);
}

void matmul_x16(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const bool q4 = w.format == WeightFormat::Q4_0x16;
  const int64_t K = w.cols, nb = K / 32;
  const int64_t group_stride = nb * (q4 ? kQ4x16TileBytes : kQ8x16TileBytes);
  const ActQ8 a = act_q8(act, M, K);
  alignas(32) float tmp[16];
  for (int64_t g = n0 / 16; g * 16 < n1; g++) {
    const uint8_t* gp = w.data + g * group_stride;
    for (int64_t m = 0; m < M; m++) {
      const int8_t* xq = a.qs + m * K;
      const float* xd = a.d + m * nb;
      const int32_t* xs = a.s + m * nb;
      if (q4) group_row<true>(gp, nb, xq, xd, xs, tmp);
      else group_row<false>(gp, nb, xq, xd, xs, tmp);
      for (int r = 0; r < 16; r++) {
        int64_t n = g * 16 + r;
        if (n >= n0 && n < n1) y[m * ldy + n] = tmp[r];
      }
    }
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

inline __m256i bcast4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

template <int MR>
void tile_q4_Kx16(const uint8_t* wg, int64_t nb, const BlockQ8_K* x, float* out, int64_t ldo) {
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
void tile_q6_Kx16(const uint8_t* wg, int64_t nb, const BlockQ8_K* x, float* out, int64_t ldo) {
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

using KqTileFn = void (*)(const uint8_t*, int64_t, const BlockQ8_K*, float*, int64_t);

// tile.mr activation rows per micro-tile; tile.nc only sets the engine's split unit (16 * nc).
void matmul_kq(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1,
               TileShape tile) {
  const bool q6 = w.format == WeightFormat::Q6_Kx16;
  const int64_t nb = w.cols / QK_K;
  const int64_t gstride = nb * (q6 ? kQ6Kx16TileBytes : kQ4Kx16TileBytes);
  const BlockQ8_K* x = static_cast<const BlockQ8_K*>(act);
  const int MR = tile.mr < 1 ? 1 : (tile.mr > kKqMaxMR ? kKqMaxMR : tile.mr);
  // Panels of about 256 KiB of groups stay in L2 while every MR-row slice passes over them.
  int64_t panel = (256 << 10) / gstride;
  if (panel < 1) panel = 1;
  const int64_t g0 = n0 / 16, g1 = (n1 + 15) / 16;
  alignas(32) float tmp[kKqMaxMR * 16];
  for (int64_t p0 = g0; p0 < g1; p0 += panel) {
    const int64_t p1 = p0 + panel < g1 ? p0 + panel : g1;
    for (int64_t m = 0; m < M; m += MR) {
      const int mr = static_cast<int>(M - m < MR ? M - m : MR);
      static const KqTileFn q4fns[] = {&tile_q4_Kx16<1>, &tile_q4_Kx16<2>, &tile_q4_Kx16<3>, &tile_q4_Kx16<4>};
      static const KqTileFn q6fns[] = {&tile_q6_Kx16<1>, &tile_q6_Kx16<2>, &tile_q6_Kx16<3>, &tile_q6_Kx16<4>};
      const KqTileFn fn = q6 ? q6fns[mr - 1] : q4fns[mr - 1];
      for (int64_t g = p0; g < p1; g++) {
        const uint8_t* wg = w.data + g * gstride;
        if (n1 - g * 16 >= 16) {
          fn(wg, nb, x + m * nb, y + m * ldy + g * 16, ldy);
          continue;
        }
        // Last, partial group: compute all 16 rows aside and keep the valid columns.
        fn(wg, nb, x + m * nb, tmp, 16);
        for (int r = 0; r < mr; r++)
          for (int64_t n = g * 16; n < n1; n++) y[(m + r) * ldy + n] = tmp[r * 16 + (n - g * 16)];
      }
    }
  }
}

void matmul_f16(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const int64_t K = w.cols;
  const uint16_t* W = reinterpret_cast<const uint16_t*>(w.data);
  const uint16_t* X = static_cast<const uint16_t*>(act);
  for (int64_t n = n0; n < n1; n++)
    for (int64_t m = 0; m < M; m++) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t k = 0; k < K; k += 8)
        acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(W + n * K + k))),
                              _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(X + m * K + k))), acc);
      y[m * ldy + n] = hsum8(acc);
    }
}

void matmul_f32(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const int64_t K = w.cols;
  const float* W = reinterpret_cast<const float*>(w.data);
  const float* X = static_cast<const float*>(act);
  for (int64_t n = n0; n < n1; n++)
    for (int64_t m = 0; m < M; m++) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t k = 0; k < K; k += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(W + n * K + k), _mm256_loadu_ps(X + m * K + k), acc);
      y[m * ldy + n] = hsum8(acc);
    }
}

void matmul(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1, TileShape tile) {
  switch (w.format) {
    case WeightFormat::Q8_0x16:
    case WeightFormat::Q4_0x16: return matmul_x16(w, act, M, y, ldy, n0, n1);
    case WeightFormat::Q4_Kx16:
    case WeightFormat::Q6_Kx16: return matmul_kq(w, act, M, y, ldy, n0, n1, tile);
    case WeightFormat::F16:
      if (w.cols % 8 == 0) return matmul_f16(w, act, M, y, ldy, n0, n1);
      break;
    case WeightFormat::F32:
      if (w.cols % 8 == 0) return matmul_f32(w, act, M, y, ldy, n0, n1);
      break;
    default: break;
  }
  portable()->matmul(w, act, M, y, ldy, n0, n1, tile);
}

int tile_variants(WeightFormat f, int64_t M, TileShape* out, int cap) {
  if (cap < 1) return 0;
  out[0] = {1, 1};
  // K-quants: activation rows per micro-tile share each unpacked weight vector; a row count up to
  // the maximum is used as it is (no wasted rows).
  if ((f == WeightFormat::Q4_Kx16 || f == WeightFormat::Q6_Kx16) && M > 1) {
    if (M <= kKqMaxMR) {
      out[0] = {static_cast<int>(M), 1};
      return 1;
    }
    static const TileShape many[] = {{4, 1}, {2, 1}, {3, 1}};
    int k = 0;
    for (int i = 0; i < 3 && k < cap; i++) out[k++] = many[i];
    return k;
  }
  return 1;
}

void get_row(const Matrix& w, int64_t row, float* out) { unpack_row(w, row, false, out); }

const KernelSet kSet = {"avx2", false, convert_act, matmul, tile_variants, get_row};

}  // namespace

const KernelSet* kernels_avx2() { return &kSet; }

}  // namespace gb

#else
#include "kernels/kernels.h"
namespace gb {
const KernelSet* kernels_avx2() { return nullptr; }
}  // namespace gb
#endif
