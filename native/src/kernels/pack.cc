#include "kernels/pack.h"

#include <cstring>

#include "common/error.h"
#include "kernels/blocks.h"

namespace gb {

WeightFormat storage_format_for(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return WeightFormat::F32;
    case GgmlType::F16: return WeightFormat::F16;
    case GgmlType::BF16: return WeightFormat::BF16;
    case GgmlType::Q8_0: return WeightFormat::Q8_0x16;
    case GgmlType::Q4_0: return WeightFormat::Q4_0x16;
    case GgmlType::Q4_K: return WeightFormat::Q4_K;
    case GgmlType::Q6_K: return WeightFormat::Q6_K;
    default: fail("unsupported tensor type %s (gearbox computes f32, f16, bf16, q8_0, q4_0, q4_K, q6_K)", ggml_type_name(t));
  }
}

size_t packed_bytes(WeightFormat f, int64_t rows, int64_t cols) {
  switch (f) {
    case WeightFormat::F32: return static_cast<size_t>(rows * cols * 4);
    case WeightFormat::F16:
    case WeightFormat::BF16: return static_cast<size_t>(rows * cols * 2);
    case WeightFormat::Q8_0x16: return static_cast<size_t>(col_groups(rows) * (cols / 32) * kQ8x16TileBytes);
    case WeightFormat::Q4_0x16: return static_cast<size_t>(col_groups(rows) * (cols / 32) * kQ4x16TileBytes);
    case WeightFormat::Q4_K: return static_cast<size_t>(rows * (cols / QK_K) * sizeof(BlockQ4_K));
    case WeightFormat::Q6_K: return static_cast<size_t>(rows * (cols / QK_K) * sizeof(BlockQ6_K));
  }
  return 0;
}

void pack_rows(GgmlType src_type, const uint8_t* src, int64_t rows, int64_t cols, WeightFormat f, bool q8_unsigned,
               uint8_t* dst, int64_t g0, int64_t g1) {
  const int64_t nb = cols / 32;
  if (f == WeightFormat::Q8_0x16) {
    const BlockQ8_0* w = reinterpret_cast<const BlockQ8_0*>(src);
    const uint8_t flip = q8_unsigned ? 0x80 : 0x00;
    for (int64_t g = g0; g < g1; g++) {
      for (int64_t b = 0; b < nb; b++) {
        uint8_t* tile = dst + (g * nb + b) * kQ8x16TileBytes;
        uint16_t* scales = reinterpret_cast<uint16_t*>(tile);
        uint8_t* q = tile + 32;
        for (int r = 0; r < 16; r++) {
          int64_t row = g * 16 + r;
          if (row >= rows) {
            scales[r] = 0;
            for (int kg = 0; kg < 8; kg++) std::memset(q + kg * 64 + r * 4, flip, 4);
            continue;
          }
          const BlockQ8_0& blk = w[row * nb + b];
          scales[r] = blk.d;
          for (int kg = 0; kg < 8; kg++)
            for (int j = 0; j < 4; j++) q[kg * 64 + r * 4 + j] = static_cast<uint8_t>(blk.qs[kg * 4 + j]) ^ flip;
        }
      }
    }
    return;
  }
  if (f == WeightFormat::Q4_0x16) {
    const BlockQ4_0* w = reinterpret_cast<const BlockQ4_0*>(src);
    for (int64_t g = g0; g < g1; g++) {
      for (int64_t b = 0; b < nb; b++) {
        uint8_t* tile = dst + (g * nb + b) * kQ4x16TileBytes;
        uint16_t* scales = reinterpret_cast<uint16_t*>(tile);
        uint8_t* q = tile + 32;
        for (int r = 0; r < 16; r++) {
          int64_t row = g * 16 + r;
          uint8_t vals[32];
          if (row >= rows) {
            scales[r] = 0;
            std::memset(vals, 8, sizeof(vals));
          } else {
            const BlockQ4_0& blk = w[row * nb + b];
            scales[r] = blk.d;
            for (int j = 0; j < 16; j++) {
              vals[j] = blk.qs[j] & 0x0F;
              vals[j + 16] = blk.qs[j] >> 4;
            }
          }
          for (int p = 0; p < 4; p++)
            for (int j = 0; j < 4; j++)
              q[p * 64 + r * 4 + j] = static_cast<uint8_t>(vals[8 * p + j] | (vals[8 * p + 4 + j] << 4));
        }
      }
    }
    return;
  }
  // Row layouts are copied as they are: rows [16 g0, 16 g1).
  (void)src_type;
  const size_t row_bytes = packed_bytes(f, 1, cols);
  const int64_t r0 = g0 * 16, r1 = g1 * 16 < rows ? g1 * 16 : rows;
  if (r1 > r0) std::memcpy(dst + r0 * row_bytes, src + r0 * row_bytes, static_cast<size_t>(r1 - r0) * row_bytes);
}

}  // namespace gb

#include "common/half.h"
#include "kernels/ref.h"

namespace gb {

void unpack_row(const Matrix& w, int64_t row, bool q8_unsigned, float* out) {
  const int64_t K = w.cols, nb = K / 32, g = row / 16, lane = row % 16;
  switch (w.format) {
    case WeightFormat::Q8_0x16: {
      const uint8_t flip = q8_unsigned ? 0x80 : 0x00;
      for (int64_t b = 0; b < nb; b++) {
        const uint8_t* tile = w.data + (g * nb + b) * kQ8x16TileBytes;
        float d = f16_to_f32(reinterpret_cast<const uint16_t*>(tile)[lane]);
        for (int kg = 0; kg < 8; kg++)
          for (int j = 0; j < 4; j++)
            out[b * 32 + kg * 4 + j] = d * static_cast<int8_t>(tile[32 + kg * 64 + lane * 4 + j] ^ flip);
      }
      return;
    }
    case WeightFormat::Q4_0x16: {
      for (int64_t b = 0; b < nb; b++) {
        const uint8_t* tile = w.data + (g * nb + b) * kQ4x16TileBytes;
        float d = f16_to_f32(reinterpret_cast<const uint16_t*>(tile)[lane]);
        for (int p = 0; p < 4; p++)
          for (int j = 0; j < 4; j++) {
            uint8_t v = tile[32 + p * 64 + lane * 4 + j];
            out[b * 32 + 8 * p + j] = d * ((v & 0x0F) - 8);
            out[b * 32 + 8 * p + 4 + j] = d * ((v >> 4) - 8);
          }
      }
      return;
    }
    default: {
      const size_t row_bytes = packed_bytes(w.format, 1, K);
      ref_dequantize_row(w.source_type, w.data + row * row_bytes, out, K);
      return;
    }
  }
}

}  // namespace gb
