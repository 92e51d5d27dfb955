#include "kernels/pack.h"

#include <cstring>
#include <vector>

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
    case GgmlType::Q4_K: return WeightFormat::Q4_Kx16;
    case GgmlType::Q6_K: return WeightFormat::Q6_Kx16;
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
    case WeightFormat::Q4_Kx16: return static_cast<size_t>(col_groups(rows) * (cols / QK_K) * kQ4Kx16TileBytes);
    case WeightFormat::Q6_Kx16: return static_cast<size_t>(col_groups(rows) * (cols / QK_K) * kQ6Kx16TileBytes);
  }
  return 0;
}

namespace {

// The 256 quants of a q4_K block as values 0..15, in K order.
void q4k_values(const BlockQ4_K& blk, uint8_t* v) {
  for (int p = 0; p < 4; p++)
    for (int l = 0; l < 32; l++) {
      v[64 * p + l] = blk.qs[32 * p + l] & 0x0F;
      v[64 * p + 32 + l] = blk.qs[32 * p + l] >> 4;
    }
}

// The 256 quants of a q6_K block as values 0..63 (q + 32), in K order.
void q6k_values(const BlockQ6_K& blk, uint8_t* v) {
  for (int h = 0; h < 2; h++)
    for (int l = 0; l < 32; l++) {
      const uint8_t* ql = blk.ql + 64 * h;
      const uint8_t qh = blk.qh[32 * h + l];
      v[128 * h + l] = static_cast<uint8_t>((ql[l] & 0x0F) | ((qh & 3) << 4));
      v[128 * h + 32 + l] = static_cast<uint8_t>((ql[l + 32] & 0x0F) | (((qh >> 2) & 3) << 4));
      v[128 * h + 64 + l] = static_cast<uint8_t>((ql[l] >> 4) | (((qh >> 4) & 3) << 4));
      v[128 * h + 96 + l] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh >> 6) & 3) << 4));
    }
}

void pack_q4k_tile(const BlockQ4_K* blk, int r, uint8_t* tile) {
  uint16_t* d = reinterpret_cast<uint16_t*>(tile);
  uint8_t v[QK_K];
  if (blk) {
    d[r] = blk->d;
    d[16 + r] = blk->dmin;
    q4k_values(*blk, v);
  } else {
    d[r] = d[16 + r] = 0;
    std::memset(v, 0, sizeof(v));
  }
  for (int j = 0; j < 8; j++) {
    uint8_t* slice = tile + 64 + j * kQ4KxSlice;
    if (blk)
      q4k_scale_min(j, blk->scales, slice + r, slice + 16 + r);
    else
      slice[r] = slice[16 + r] = 0;
    uint8_t* q = slice + 32;
    for (int k = 0; k < 4; k++)
      for (int e = 0; e < 4; e++)
        q[(k * 16 + r) * 4 + e] = static_cast<uint8_t>(v[32 * j + 4 * k + e] | (v[32 * j + 16 + 4 * k + e] << 4));
  }
}

void pack_q6k_tile(const BlockQ6_K* blk, int r, uint8_t* tile) {
  uint16_t* d = reinterpret_cast<uint16_t*>(tile);
  uint8_t v[QK_K];
  if (blk) {
    d[r] = blk->d;
    q6k_values(*blk, v);
  } else {
    d[r] = 0;
    std::memset(v, 0, sizeof(v));
  }
  for (int i = 0; i < 8; i++) {
    int8_t* sc = reinterpret_cast<int8_t*>(tile + 32 + i * kQ6KxSlice);
    sc[2 * r] = blk ? blk->scales[2 * i] : 0;
    sc[2 * r + 1] = blk ? blk->scales[2 * i + 1] : 0;
    uint8_t* ql = tile + 32 + i * kQ6KxSlice + 32;
    uint8_t* qh = ql + 256;
    for (int k = 0; k < 4; k++)
      for (int e = 0; e < 4; e++)
        ql[(k * 16 + r) * 4 + e] =
            static_cast<uint8_t>((v[32 * i + 4 * k + e] & 0x0F) | ((v[32 * i + 16 + 4 * k + e] & 0x0F) << 4));
    for (int k = 0; k < 2; k++)
      for (int e = 0; e < 4; e++) {
        const int a = 32 * i + 4 * k + e;
        qh[(k * 16 + r) * 4 + e] =
            static_cast<uint8_t>((v[a] >> 4) | ((v[a + 8] >> 4) << 2) | ((v[a + 16] >> 4) << 4) | ((v[a + 24] >> 4) << 6));
      }
  }
}

}  // namespace

void pack_rows(GgmlType src_type, const uint8_t* src, int64_t rows, int64_t cols, WeightFormat f, bool q8_unsigned,
               uint8_t* dst, int64_t g0, int64_t g1) {
  if (f == WeightFormat::Q4_Kx16 || f == WeightFormat::Q6_Kx16) {
    const bool q6 = f == WeightFormat::Q6_Kx16;
    const int64_t nbk = cols / QK_K;
    const int64_t tb = q6 ? kQ6Kx16TileBytes : kQ4Kx16TileBytes;
    for (int64_t g = g0; g < g1; g++)
      for (int64_t b = 0; b < nbk; b++) {
        uint8_t* tile = dst + (g * nbk + b) * tb;
        for (int r = 0; r < 16; r++) {
          const int64_t row = g * 16 + r;
          if (q6)
            pack_q6k_tile(row < rows ? reinterpret_cast<const BlockQ6_K*>(src) + row * nbk + b : nullptr, r, tile);
          else
            pack_q4k_tile(row < rows ? reinterpret_cast<const BlockQ4_K*>(src) + row * nbk + b : nullptr, r, tile);
        }
      }
    return;
  }
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
    case WeightFormat::Q4_Kx16: {
      std::vector<BlockQ4_K> blocks(static_cast<size_t>(K / QK_K));
      unpack_kq_row(w, row, blocks.data());
      ref_dequantize_row(GgmlType::Q4_K, blocks.data(), out, K);
      return;
    }
    case WeightFormat::Q6_Kx16: {
      std::vector<BlockQ6_K> blocks(static_cast<size_t>(K / QK_K));
      unpack_kq_row(w, row, blocks.data());
      ref_dequantize_row(GgmlType::Q6_K, blocks.data(), out, K);
      return;
    }
    default: {
      const size_t row_bytes = packed_bytes(w.format, 1, K);
      ref_dequantize_row(w.source_type, w.data + row * row_bytes, out, K);
      return;
    }
  }
}

void unpack_kq_row(const Matrix& w, int64_t row, void* blocks) {
  const int64_t nbk = w.cols / QK_K, g = row / 16;
  const int r = static_cast<int>(row % 16);
  uint8_t v[QK_K];
  if (w.format == WeightFormat::Q4_Kx16) {
    BlockQ4_K* out = static_cast<BlockQ4_K*>(blocks);
    for (int64_t b = 0; b < nbk; b++) {
      const uint8_t* tile = w.data + (g * nbk + b) * kQ4Kx16TileBytes;
      BlockQ4_K& blk = out[b];
      std::memcpy(&blk.d, tile + 2 * r, 2);
      std::memcpy(&blk.dmin, tile + 32 + 2 * r, 2);
      uint8_t sc[8], mn[8];
      for (int j = 0; j < 8; j++) {
        sc[j] = tile[64 + j * kQ4KxSlice + r];
        mn[j] = tile[64 + j * kQ4KxSlice + 16 + r];
      }
      // Inverse of q4k_scale_min: the 12 bytes hold exactly 8 + 8 six-bit values.
      for (int j = 0; j < 4; j++) {
        blk.scales[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        blk.scales[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
        blk.scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0x0F) | ((mn[j + 4] & 0x0F) << 4));
      }
      for (int j = 0; j < 8; j++)
        for (int k = 0; k < 4; k++)
          for (int e = 0; e < 4; e++) {
            const uint8_t byte = tile[64 + j * kQ4KxSlice + 32 + (k * 16 + r) * 4 + e];
            v[32 * j + 4 * k + e] = byte & 0x0F;
            v[32 * j + 16 + 4 * k + e] = byte >> 4;
          }
      for (int p = 0; p < 4; p++)
        for (int l = 0; l < 32; l++) blk.qs[32 * p + l] = static_cast<uint8_t>(v[64 * p + l] | (v[64 * p + 32 + l] << 4));
    }
    return;
  }
  BlockQ6_K* out = static_cast<BlockQ6_K*>(blocks);
  for (int64_t b = 0; b < nbk; b++) {
    const uint8_t* tile = w.data + (g * nbk + b) * kQ6Kx16TileBytes;
    BlockQ6_K& blk = out[b];
    std::memcpy(&blk.d, tile + 2 * r, 2);
    for (int i = 0; i < 8; i++) {
      const int8_t* sc = reinterpret_cast<const int8_t*>(tile + 32 + i * kQ6KxSlice);
      blk.scales[2 * i] = sc[2 * r];
      blk.scales[2 * i + 1] = sc[2 * r + 1];
      const uint8_t* ql = tile + 32 + i * kQ6KxSlice + 32;
      const uint8_t* qh = ql + 256;
      for (int k = 0; k < 4; k++)
        for (int e = 0; e < 4; e++) {
          const uint8_t byte = ql[(k * 16 + r) * 4 + e];
          v[32 * i + 4 * k + e] = byte & 0x0F;
          v[32 * i + 16 + 4 * k + e] = byte >> 4;
        }
      for (int k = 0; k < 2; k++)
        for (int e = 0; e < 4; e++) {
          const int a = 32 * i + 4 * k + e;
          const uint8_t byte = qh[(k * 16 + r) * 4 + e];
          v[a] |= static_cast<uint8_t>((byte & 3) << 4);
          v[a + 8] |= static_cast<uint8_t>(((byte >> 2) & 3) << 4);
          v[a + 16] |= static_cast<uint8_t>(((byte >> 4) & 3) << 4);
          v[a + 24] |= static_cast<uint8_t>(((byte >> 6) & 3) << 4);
        }
    }
    for (int h = 0; h < 2; h++)
      for (int l = 0; l < 32; l++) {
        const uint8_t q1 = v[128 * h + l], q2 = v[128 * h + 32 + l], q3 = v[128 * h + 64 + l], q4 = v[128 * h + 96 + l];
        blk.ql[64 * h + l] = static_cast<uint8_t>((q1 & 0x0F) | ((q3 & 0x0F) << 4));
        blk.ql[64 * h + 32 + l] = static_cast<uint8_t>((q2 & 0x0F) | ((q4 & 0x0F) << 4));
        blk.qh[32 * h + l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
  }
}

}  // namespace gb
