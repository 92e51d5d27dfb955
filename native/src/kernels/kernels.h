// The kernel seam: weight storage formats, activation formats, and one table of function pointers
// per instruction set (portable, AVX2, AVX-512 VNNI), chosen once at start-up by CPU detection.
// Kernels know nothing of models: they see matrices, rows and blocks.
#pragma once
#include <cstddef>
#include <cstdint>

#include "gguf/ggml_type.h"

namespace gb {

// How a weight matrix is stored in memory after load. The quantized types are repacked into tiles
// of 16 interleaved rows (see pack.h) so one vector instruction serves 16 output features at once;
// the float types keep ggml's row layout.
enum class WeightFormat : uint8_t { F32, F16, BF16, Q8_0x16, Q4_0x16, Q4_Kx16, Q6_Kx16 };

// Formats stored as 16-row tiles: a matmul's column range must start on a multiple of 16.
static inline bool is_x16(WeightFormat f) {
  return f == WeightFormat::Q8_0x16 || f == WeightFormat::Q4_0x16 || f == WeightFormat::Q4_Kx16 ||
         f == WeightFormat::Q6_Kx16;
}

// The form activations are converted to before a matmul against a weight format (ggml's
// "vec_dot_type"): the same rounding ggml applies, so results match llama.cpp's.
enum class ActFormat : uint8_t { F32, F16, BF16, Q8_0, Q8_K };

const char* weight_format_name(WeightFormat f);
ActFormat act_format_for(WeightFormat f);

// Bytes of the activation buffer for M rows of K columns in format f.
size_t act_bytes(ActFormat f, int64_t M, int64_t K);

struct Matrix {
  WeightFormat format = WeightFormat::F32;
  GgmlType source_type = GgmlType::F32;  // the type in the GGUF file
  int64_t rows = 0;                      // N: output features
  int64_t cols = 0;                      // K: input features (contiguous)
  const uint8_t* data = nullptr;
  size_t bytes = 0;
};

// One matmul micro-kernel variant (rows of activations x 16-row weight groups per register tile).
struct TileShape {
  int mr;  // activation rows per micro-tile
  int nc;  // 16-wide column groups per micro-tile
  // Whether the first row tile software-prefetches its own weight stream ahead of use (x86; see
  // driver.h). Not a tile choice of autotune: the CPU backend picks it per pass (WeightPrefetchChooser).
  bool prefetch = true;
};

struct KernelSet {
  const char* name;  // "portable", "avx2", "avx2-vnni", "avx512-vnni-nobf16", "avx512-vnni", "neon", "neon-dotprod"
  // Packed Q8_0 tiles store weights offset by +128 as unsigned bytes (for vpdpbusd).
  bool q8_unsigned_weights;

  // Converts rows [m0, m1) of x (row stride ldx floats, K columns) into activation format f at
  // act (laid out for M rows; row m at its own offset).
  void (*convert_act)(ActFormat f, const float* x, int64_t ldx, int64_t m0, int64_t m1, int64_t M, int64_t K,
                      void* act);

  // y[m * ldy + n] = sum_k W[n, k] * act[m, k] for m in [0, M), n in [n0, n1).
  // For x16 formats n0 must be a multiple of 16. `tile` picks the micro-kernel variant.
  void (*matmul)(const Matrix& w, const void* act, int64_t M, float* y, int64_t ldy, int64_t n0, int64_t n1,
                 TileShape tile);

  // Tile variants worth trying for a format at an activation row count (for autotune);
  // writes up to `cap` shapes, returns the count. The first is the default.
  int (*tile_variants)(WeightFormat f, int64_t M, TileShape* out, int cap);

  // out[k] = W[row, k] as float (embedding lookup).
  void (*get_row)(const Matrix& w, int64_t row, float* out);
};

// The best kernel set for this CPU (respects GEARBOX_ISA=portable|avx2|avx2-vnni|avx512|neon|neon-dotprod to
// force one this CPU can run).
const KernelSet& kernels();
// A specific set by name, or nullptr if this CPU (or this build) cannot run it.
const KernelSet* kernels_by_name(const char* name);
// Names of every set runnable here, best last.
int available_kernel_sets(const KernelSet** out, int cap);

// Per-ISA tables (defined in their own translation units, compiled with their own flags).
const KernelSet* kernels_portable();
const KernelSet* kernels_avx2();
const KernelSet* kernels_avx2_vnni();      // AVX2 + AVX-VNNI (VEX vpdpbusd), no AVX-512
const KernelSet* kernels_avx512();         // AVX-512 F/BW/VL/DQ + VNNI + BF16
const KernelSet* kernels_avx512_nobf16();  // the same without AVX512-BF16 (Cascade Lake, Ice Lake)
const KernelSet* kernels_neon();          // aarch64 Advanced SIMD
const KernelSet* kernels_neon_dotprod();  // aarch64 with the dot-product extension (SDOT/UDOT)

}  // namespace gb
