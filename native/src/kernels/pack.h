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
//
// K-quant x16 tiles cover 16 rows and one 256-element super-block b, with the same interleave
// (lane r of a 64-byte vector = 4 consecutive K elements of row r) and the quants unsigned: q4_K
// values 0..15, q6_K values 0..63 (q + 32). Scales are unpacked to one byte each so a kernel loads
// a sub-block's 16 row scales as one vector; everything else keeps ggml's bits.
//   Q4_Kx16 tile (2368 B): d[16] f16 | dmin[16] f16 | for j in 0..7 (sub-block of 32 elements),
//     a 288-byte slice in the order a kernel reads it: scale[16] u8 | min[16] u8 |
//       for k in 0..3: for r: for e in 0..3: q[r][32j+4k+e] | q[r][32j+16+4k+e] << 4
//   Q6_Kx16 tile (3360 B, as 16 ggml blocks): d[16] f16 | for i in 0..7, a 416-byte slice for
//     elements 32i..32i+31, laid out in the order a kernel reads it:
//       scales: for r: scale of sub-block 2i, then 2i+1 (i8; sub-blocks of 16 elements)
//       low nibbles: for k in 0..3: for r: for e: lo4(q[r][32i+4k+e]) | lo4(q[r][32i+16+4k+e]) << 4
//       high 2 bits: for k in 0..1: for r: for e: with a = 32i+4k+e,
//         hi2(q[r][a]) | hi2(q[r][a+8]) << 2 | hi2(q[r][a+16]) << 4 | hi2(q[r][a+24]) << 6
#pragma once
#include <cstddef>
#include <cstdint>

#include "gguf/ggml_type.h"
#include "kernels/kernels.h"

namespace gb {

constexpr int64_t kQ8x16TileBytes = 32 + 16 * 32;
constexpr int64_t kQ4x16TileBytes = 32 + 16 * 16;
constexpr int64_t kQ4Kx16TileBytes = 64 + 8 * (32 + 256);
constexpr int64_t kQ6Kx16TileBytes = 32 + 8 * (32 + 256 + 128);
// Q4_Kx16: slice j starts at 64 + j * kQ4KxSlice: scales, mins at +16, quants at +32.
constexpr int64_t kQ4KxSlice = 32 + 256;
// Q6_Kx16: slice i starts at 32 + i * kQ6KxSlice: scales, then low nibbles at +32, high bits at +288.
constexpr int64_t kQ6KxSlice = 32 + 256 + 128;

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

// Rebuilds row `row` of a Q4_Kx16 / Q6_Kx16 matrix as its original K/256 ggml blocks (the packing
// is lossless), for exact dequantization (get_row).
void unpack_kq_row(const Matrix& w, int64_t row, void* blocks);
}  // namespace gb
