// Portable kernels: plain C++ the compiler may vectorize for the baseline ISA. Used on CPUs without
// AVX2 (and on aarch64 until a NEON set exists), and as the tail path of the vector sets.
#include <cstring>

#include "common/half.h"
#include "kernels/act.h"
#include "kernels/kernels.h"
#include "kernels/pack.h"
#include "kernels/ref.h"

namespace gb {
namespace {

void convert_act(ActFormat f, const float* x, int64_t ldx, int64_t m0, int64_t m1, int64_t M, int64_t K, void* act) {
  switch (f) {
    case ActFormat::Q8_0: {
      ActQ8 a = act_q8(act, M, K);
      for (int64_t m = m0; m < m1; m++)
        ref_quantize_q8_0(x + m * ldx, K, a.qs + m * K, a.d + m * (K / 32), a.s + m * (K / 32));
      return;
    }
    case ActFormat::Q8_K: {
      BlockQ8_K* b = static_cast<BlockQ8_K*>(act);
      for (int64_t m = m0; m < m1; m++) ref_quantize_q8_K(x + m * ldx, K, b + m * (K / QK_K));
      return;
    }
    case ActFormat::F16: {
      uint16_t* h = static_cast<uint16_t*>(act);
      for (int64_t m = m0; m < m1; m++)
        for (int64_t k = 0; k < K; k++) h[m * K + k] = f32_to_f16(x[m * ldx + k]);
      return;
    }
    case ActFormat::BF16: {
      uint16_t* h = static_cast<uint16_t*>(act);
      for (int64_t m = m0; m < m1; m++)
        for (int64_t k = 0; k < K; k++) h[m * K + k] = f32_to_bf16(x[m * ldx + k]);
      return;
    }
    case ActFormat::F32: {
      float* o = static_cast<float*>(act);
      for (int64_t m = m0; m < m1; m++) std::memcpy(o + m * K, x + m * ldx, static_cast<size_t>(K) * 4);
      return;
    }
  }
}

// Q8_0x16 / Q4_0x16 with signed weights: one 16-row group at a time, integer sums per block.
void matmul_x16(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const int64_t K = w.cols, nb = K / 32;
  const ActQ8 a = act_q8(act, M, K);
  const bool q4 = w.format == WeightFormat::Q4_0x16;
  const int64_t tile_bytes = q4 ? kQ4x16TileBytes : kQ8x16TileBytes;
  for (int64_t g = n0 / 16; g * 16 < n1; g++) {
    for (int64_t m = 0; m < M; m++) {
      float acc[16] = {0};
      const int8_t* xq = a.qs + m * K;
      for (int64_t b = 0; b < nb; b++) {
        const uint8_t* tile = w.data + (g * nb + b) * tile_bytes;
        const uint16_t* scales = reinterpret_cast<const uint16_t*>(tile);
        const uint8_t* q = tile + 32;
        const int8_t* xb = xq + b * 32;
        int32_t isum[16] = {0};
        if (q4) {
          for (int p = 0; p < 4; p++)
            for (int r = 0; r < 16; r++)
              for (int j = 0; j < 4; j++) {
                uint8_t v = q[p * 64 + r * 4 + j];
                isum[r] += ((v & 0x0F) - 8) * xb[8 * p + j] + ((v >> 4) - 8) * xb[8 * p + 4 + j];
              }
        } else {
          for (int kg = 0; kg < 8; kg++)
            for (int r = 0; r < 16; r++)
              for (int j = 0; j < 4; j++) isum[r] += static_cast<int8_t>(q[kg * 64 + r * 4 + j]) * xb[kg * 4 + j];
        }
        const float xd = a.d[m * nb + b];
        for (int r = 0; r < 16; r++) acc[r] += static_cast<float>(isum[r]) * (f16_to_f32(scales[r]) * xd);
      }
      for (int r = 0; r < 16; r++) {
        int64_t n = g * 16 + r;
        if (n >= n0 && n < n1) y[m * ldy + n] = acc[r];
      }
    }
  }
}

void matmul_rows(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1) {
  const int64_t K = w.cols;
  const size_t row_bytes = packed_bytes(w.format, 1, K);
  for (int64_t n = n0; n < n1; n++) {
    const void* row = w.data + n * row_bytes;
    for (int64_t m = 0; m < M; m++) {
      double v = 0;
      switch (w.format) {
        case WeightFormat::F32:
          v = ref_vec_dot_f32(static_cast<const float*>(row), static_cast<const float*>(act) + m * K, K);
          break;
        case WeightFormat::F16:
          v = ref_vec_dot_f16(static_cast<const uint16_t*>(row), static_cast<const uint16_t*>(act) + m * K, K);
          break;
        case WeightFormat::BF16:
          v = ref_vec_dot_bf16(static_cast<const uint16_t*>(row), static_cast<const uint16_t*>(act) + m * K, K);
          break;
        case WeightFormat::Q4_K:
          v = ref_vec_dot_q4_K(static_cast<const BlockQ4_K*>(row), static_cast<const BlockQ8_K*>(act) + m * (K / QK_K), K);
          break;
        case WeightFormat::Q6_K:
          v = ref_vec_dot_q6_K(static_cast<const BlockQ6_K*>(row), static_cast<const BlockQ8_K*>(act) + m * (K / QK_K), K);
          break;
        default: break;
      }
      y[m * ldy + n] = static_cast<float>(v);
    }
  }
}

void matmul(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1, TileShape) {
  if (w.format == WeightFormat::Q8_0x16 || w.format == WeightFormat::Q4_0x16)
    matmul_x16(w, act, M, y, ldy, n0, n1);
  else
    matmul_rows(w, act, M, y, ldy, n0, n1);
}

int tile_variants(WeightFormat, int64_t, TileShape* out, int cap) {
  if (cap < 1) return 0;
  out[0] = {1, 1};
  return 1;
}

void get_row(const Matrix& w, int64_t row, float* out) { unpack_row(w, row, false, out); }

void scores_f16(const float* q, const uint16_t* K, int n, int hd, float* scores) {
  for (int j = 0; j < n; j++) {
    float s = 0;
    for (int d = 0; d < hd; d++) s += q[d] * f16_to_f32(K[j * hd + d]);
    scores[j] = s;
  }
}

void accum_f16(float* out, const float* p, const uint16_t* V, int n, int hd) {
  for (int j = 0; j < n; j++)
    for (int d = 0; d < hd; d++) out[d] += p[j] * f16_to_f32(V[j * hd + d]);
}

const KernelSet kSet = {"portable", false, convert_act, matmul, tile_variants, get_row, scores_f16, accum_f16};

}  // namespace

const KernelSet* kernels_portable() { return &kSet; }

}  // namespace gb
