// Load-time repacking of ggml weight rows into the layouts the kernels want.
//
// x16 tiles (Q8_0 and Q4_0): output rows are taken 16 at a time ("column group" g, rows 16g..16g+15);
// for each 32-element block b along K, one tile holds the 16 rows' f16 scales, then the quants
// interleaved so that 4 consecutive K elements of the 16 rows form one 64-byte vector:
//   Q8_0x16 tile (544 B): scales[16] f16 | for kg in 0..7: for r in 0..15: q[r][4kg .. 4kg+3]
//   Q4_0x16 tile (288 B): scales[16] f16 | for p in 0..3: for r in 0..15: for j in 0..3:
//                          (q[r][8p+j]) | (q[r][8p+4+j] << 4)        (4-bit values 0..15)
// Tiles are stored g-major then b: a thread streams one group's whole K range sequentially.
// Rows past N in the last group are zero. With q8_unsigned, Q8_0 quants are stored XOR 0x80
// (i.e. q + 128 as an unsigned byte) for vpdpbusd.
#pragma once
#include <cstddef>
#include <cstdint>

#include "gguf/ggml_type.h"
#include "kernels/kernels.h"

namespace gb {

constexpr int64_t kQ8x16TileBytes = 32 + 16 * 32;
constexpr int64_t kQ4x16TileBytes = 32 + 16 * 16;

static inline int64_t col_groups(int64_t rows) { return (rows + 15) / 16; }

// The in-memory format for a GGUF tensor type (throws for types gearbox cannot compute).
WeightFormat storage_format_for(GgmlType t);

size_t packed_bytes(WeightFormat f, int64_t rows, int64_t cols);

// Converts rows of ggml data (src, `rows` x `cols`) into dst in format f. Only the rows of
// 16-row groups [g0, g1) are written, so packing can be split across threads.
void pack_rows(GgmlType src_type, const uint8_t* src, int64_t rows, int64_t cols, WeightFormat f,
               bool q8_unsigned, uint8_t* dst, int64_t g0, int64_t g1);

}  // namespace gb

namespace gb {
// out[k] = W[row, k] for a matrix in any format (embedding lookup); exact dequantization.
void unpack_row(const Matrix& w, int64_t row, bool q8_unsigned, float* out);
}  // namespace gb
