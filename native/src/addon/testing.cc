// Kernel test hooks: run any kernel set that this CPU supports on caller-provided data, beside the
// plain reference, so the JS tests can sweep shapes and compare (apps/npu-backend/test/kernels.test.ts),
// run the sampler on given logits (sampleDraws), and measure the machine (memoryBandwidth,
// benchMatmul: bench/). Shipped in the production addon on purpose (docs/engine.md, "Kernel test
// hooks"): they test the very objects that serve.
#include "addon/testing.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "addon/convert.h"
#include "backend/cpu/huge_map.h"
#include "backend/cpu/kv_storage.h"
#include "backend/cpu/matmul_job.h"
#include "backend/cpu/prefetch_chooser.h"
#include "common/error.h"
#include "kernels/act.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "kernels/pack.h"
#include "kernels/ref.h"
#include "sampler/sampler.h"
#include "threads/pool.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <sys/mman.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace gb::addon {
namespace {

// The bench hooks' random data: a 32-bit LCG (Numerical Recipes' constants), advanced and returned.
uint32_t lcg_next(uint32_t& st) { return st = st * 1664525u + 1013904223u; }

// The bench hooks' timing: `run(it)` for it = 0 .. iters, the first a warm-up; the median ms of the rest.
template <class F>
double median_run_ms(int iters, F&& run) {
  std::vector<double> times;
  for (int it = 0; it <= iters; it++) {
    const auto t0 = std::chrono::steady_clock::now();
    run(it);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (it > 0) times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Checked argument getters: a wrong or missing argument is a JS error, never a fatal cast.
Napi::Number num_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) fail("argument %zu must be a number", i);
  return info[i].As<Napi::Number>();
}

std::string str_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) fail("argument %zu must be a string", i);
  return info[i].As<Napi::String>().Utf8Value();
}

// The tile shape (mr, nc) at arguments i and i + 1; the driver divides by both.
TileShape tile_arg(const Napi::CallbackInfo& info, size_t i) {
  const TileShape tile{num_arg(info, i).Int32Value(), num_arg(info, i + 1).Int32Value()};
  if (tile.mr < 1 || tile.mr > 64 || tile.nc < 1 || tile.nc > 64) fail("bad tile: mr and nc must be 1..64");
  return tile;
}

template <typename A>
A array_arg(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* name) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != type)
    fail("argument %zu must be a %s", i, name);
  return info[i].As<A>();
}

GgmlType type_from_name(const std::string& n) {
  static const std::pair<const char*, GgmlType> names[] = {
      {"f32", GgmlType::F32}, {"f16", GgmlType::F16},   {"bf16", GgmlType::BF16}, {"q8_0", GgmlType::Q8_0},
      {"q4_0", GgmlType::Q4_0}, {"q4_K", GgmlType::Q4_K}, {"q6_K", GgmlType::Q6_K}};
  for (const auto& [s, t] : names)
    if (n == s) return t;
  fail("unknown type '%s'", n.c_str());
}

const KernelSet& set_from_name(const std::string& n) {
  const KernelSet* k = kernels_by_name(n.c_str());
  if (!k) fail("kernel set '%s' is not available on this CPU", n.c_str());
  return *k;
}

struct MatmulArgs {
  GgmlType type;
  const uint8_t* w;
  size_t w_bytes;
  int64_t N, K, M;
  const float* x;
};

MatmulArgs parse(const Napi::CallbackInfo& info) {
  MatmulArgs a;
  a.type = type_from_name(str_arg(info, 0));
  Napi::Uint8Array w = array_arg<Napi::Uint8Array>(info, 1, napi_uint8_array, "Uint8Array");
  a.w = w.Data();
  a.w_bytes = w.ByteLength();
  a.N = num_arg(info, 2).Int64Value();
  a.K = num_arg(info, 3).Int64Value();
  Napi::Float32Array x = array_arg<Napi::Float32Array>(info, 4, napi_float32_array, "Float32Array");
  a.x = x.Data();
  a.M = num_arg(info, 5).Int64Value();
  GgmlTypeInfo ti = ggml_type_info(static_cast<uint32_t>(a.type));
  if (a.N < 1 || a.K < 1 || a.M < 1 || a.K % ti.block != 0) fail("bad matmul shape");
  if (a.w_bytes != static_cast<size_t>(a.N * (a.K / ti.block) * ti.bytes)) fail("weights have the wrong size for N x K");
  if (x.ElementLength() != static_cast<size_t>(a.M * a.K)) fail("x must hold M x K floats");
  return a;
}

template <typename F>
Napi::Value guarded(Napi::Env env, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
}

}  // namespace

// kernelSets(): names of the kernel sets this CPU runs, best last.
Napi::Value KernelSets(const Napi::CallbackInfo& info) {
  const KernelSet* sets[8];
  int n = available_kernel_sets(sets, 8);
  Napi::Array a = Napi::Array::New(info.Env(), static_cast<size_t>(n));
  for (int i = 0; i < n; i++) a.Set(static_cast<uint32_t>(i), sets[i]->name);
  return a;
}

// tileVariants(set, type, M) -> [[mr, nc], ...]: the tiles a kernel set offers autotune for a weight
// type at M activation rows, the default first.
Napi::Value TileVariants(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const KernelSet& k = set_from_name(str_arg(info, 0));
    const WeightFormat f = storage_format_for(type_from_name(str_arg(info, 1)));
    const int64_t M = num_arg(info, 2).Int64Value();
    if (M < 1) fail("bad row count");
    TileShape t[16];
    const int n = k.tile_variants(f, M, t, 16);
    Napi::Array a = Napi::Array::New(info.Env(), static_cast<size_t>(n));
    for (int i = 0; i < n; i++) {
      Napi::Array s = Napi::Array::New(info.Env(), 2);
      s.Set(0u, t[i].mr);
      s.Set(1u, t[i].nc);
      a.Set(static_cast<uint32_t>(i), s);
    }
    return a;
  });
}

// refMatmul(type, weights, N, K, x, M) -> Float32Array(M * N), the plain reference.
Napi::Value RefMatmul(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    MatmulArgs a = parse(info);
    Napi::Float32Array y = Napi::Float32Array::New(info.Env(), static_cast<size_t>(a.M * a.N));
    ref_matmul(a.type, a.w, a.N, a.K, a.x, a.M, y.Data());
    return y;
  });
}

// The packed weights and converted activations of one kernelMatmul / jobMatmul call.
struct PackedMatmul {
  std::vector<uint8_t> packed, act;
  Matrix m;
};

PackedMatmul pack_matmul(const MatmulArgs& a, const KernelSet& k) {
  PackedMatmul p;
  const WeightFormat f = storage_format_for(a.type);
  p.packed.resize(packed_bytes(f, a.N, a.K) + 64);
  pack_rows(a.type, a.w, a.N, a.K, f, k.q8_unsigned_weights, p.packed.data(), 0, col_groups(a.N));
  p.m = Matrix{f, a.type, a.N, a.K, p.packed.data(), p.packed.size()};
  const ActFormat af = act_format_for(f);
  p.act.resize(act_bytes(af, a.M, a.K) + 64);
  k.convert_act(af, a.x, a.K, 0, a.M, a.M, a.K, p.act.data());
  return p;
}

Napi::Float32Array nan_output(Napi::Env env, const MatmulArgs& a) {
  Napi::Float32Array y = Napi::Float32Array::New(env, static_cast<size_t>(a.M * a.N));
  for (size_t i = 0; i < y.ElementLength(); i++) y[i] = NAN;
  return y;
}

// kernelMatmul(type, weights, N, K, x, M, set, mr, nc, n0, n1) -> Float32Array(M * N): the weights
// packed as the engine packs them and multiplied by that set's kernel with tile (mr, nc), for the
// output columns [n0, n1) (others stay NaN).
Napi::Value KernelMatmul(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    MatmulArgs a = parse(info);
    const KernelSet& k = set_from_name(str_arg(info, 6));
    const TileShape tile = tile_arg(info, 7);
    int64_t n0 = info.Length() > 9 ? num_arg(info, 9).Int64Value() : 0;
    int64_t n1 = info.Length() > 10 ? num_arg(info, 10).Int64Value() : a.N;
    if (n0 < 0 || n1 > a.N || n0 >= n1 || (is_x16(storage_format_for(a.type)) && n0 % 16 != 0))
      fail("bad column range");
    PackedMatmul p = pack_matmul(a, k);
    Napi::Float32Array y = nan_output(info.Env(), a);
    k.matmul(p.m, p.act.data(), a.M, y.Data(), a.N, n0, n1, tile);
    return y;
  });
}

// jobMatmul(type, weights, N, K, x, M, set, mr, nc, threads, delayMs) -> {y, stolen}: the matmul as
// the forward pass spreads it over a pool (MatmulJob), with thread 0 starting `delayMs` late so the
// others finish their own ranges and steal from its; y starts as NaN, stolen counts the units
// computed by a thread other than their range's owner.
Napi::Value JobMatmul(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    MatmulArgs a = parse(info);
    const KernelSet& k = set_from_name(str_arg(info, 6));
    const TileShape tile = tile_arg(info, 7);
    const int threads = num_arg(info, 9).Int32Value(), delay_ms = num_arg(info, 10).Int32Value();
    if (threads < 1 || threads > 64 || delay_ms < 0 || delay_ms > 1000) fail("bad jobMatmul arguments");
    PackedMatmul p = pack_matmul(a, k);
    Napi::Float32Array y = nan_output(info.Env(), a);
    ThreadPool pool(threads);
    MatmulJob job(k, p.m, p.act.data(), a.M, y.Data(), tile, pool.size());
    pool.parallel([&](int ith, int) {
      if (ith == 0 && delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      job.run(ith);
    });
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("y", y);
    o.Set("stolen", static_cast<double>(job.stolen_units()));
    return o;
  });
}

// kernelGetRow(type, weights, N, K, row, set) -> Float32Array(K): embedding lookup through packing.
Napi::Value KernelGetRow(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    GgmlType t = type_from_name(str_arg(info, 0));
    Napi::Uint8Array w = array_arg<Napi::Uint8Array>(info, 1, napi_uint8_array, "Uint8Array");
    int64_t N = num_arg(info, 2).Int64Value(), K = num_arg(info, 3).Int64Value();
    int64_t row = num_arg(info, 4).Int64Value();
    const KernelSet& k = set_from_name(str_arg(info, 5));
    GgmlTypeInfo ti = ggml_type_info(static_cast<uint32_t>(t));
    if (N < 1 || K < 1 || K % ti.block != 0 || w.ByteLength() != static_cast<size_t>(N * (K / ti.block) * ti.bytes) ||
        row < 0 || row >= N)
      fail("bad getRow arguments");
    WeightFormat f = storage_format_for(t);
    std::vector<uint8_t> packed(packed_bytes(f, N, K) + 64);
    pack_rows(t, w.Data(), N, K, f, k.q8_unsigned_weights, packed.data(), 0, col_groups(N));
    Matrix m{f, t, N, K, packed.data(), packed.size()};
    Napi::Float32Array out = Napi::Float32Array::New(info.Env(), static_cast<size_t>(K));
    k.get_row(m, row, out.Data());
    return out;
  });
}

// refDequantize(type, weights, n) -> Float32Array(n)
Napi::Value RefDequantize(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    GgmlType t = type_from_name(str_arg(info, 0));
    Napi::Uint8Array w = array_arg<Napi::Uint8Array>(info, 1, napi_uint8_array, "Uint8Array");
    int64_t n = num_arg(info, 2).Int64Value();
    GgmlTypeInfo ti = ggml_type_info(static_cast<uint32_t>(t));
    if (n < 1 || n % ti.block != 0 || w.ByteLength() != static_cast<size_t>(n / ti.block * ti.bytes)) fail("bad size");
    Napi::Float32Array out = Napi::Float32Array::New(info.Env(), static_cast<size_t>(n));
    ref_dequantize_row(t, w.Data(), out.Data(), n);
    return out;
  });
}

// kernelAttention(set, q, Khalves, Vhalves, n, hd, scale) -> Float32Array(G * hd): the set's attention for G = q.length / hd query heads
// over n keys (K and V given row by row, (n, hd) halves), paged into blocks of 16 as the cache does.
Napi::Value KernelAttention(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const KernelSet& k = set_from_name(str_arg(info, 0));
    Napi::Float32Array q = array_arg<Napi::Float32Array>(info, 1, napi_float32_array, "Float32Array");
    Napi::Uint16Array Kh = array_arg<Napi::Uint16Array>(info, 2, napi_uint16_array, "Uint16Array");
    Napi::Uint16Array Vh = array_arg<Napi::Uint16Array>(info, 3, napi_uint16_array, "Uint16Array");
    const int n = num_arg(info, 4).Int32Value(), hd = num_arg(info, 5).Int32Value();
    const float scale = num_arg(info, 6).FloatValue();
    if (n < 1 || hd < 1 || q.ElementLength() % static_cast<size_t>(hd) != 0 || q.ElementLength() == 0 ||
        Kh.ElementLength() != static_cast<size_t>(n * hd) || Vh.ElementLength() != static_cast<size_t>(n * hd))
      fail("bad attention shapes");
    const int G = static_cast<int>(q.ElementLength() / static_cast<size_t>(hd));
    if (G > 16) fail("bad attention shapes: at most 16 query heads per call");
    const int bs = 16, nb = (n + bs - 1) / bs;
    // Slots past n in the last block hold NaN, as stale cache contents could: kernels must mask them.
    std::vector<uint16_t> kt(static_cast<size_t>(nb * bs * hd), 0x7E00), vt(static_cast<size_t>(nb * bs * hd), 0x7E00);
    for (int j = 0; j < n; j++)
      for (int d = 0; d < hd; d++) {
        kt[static_cast<size_t>((j / bs) * bs * hd + d * bs + j % bs)] = Kh[static_cast<size_t>(j * hd + d)];
        vt[static_cast<size_t>((j / bs) * bs * hd + (j % bs) * hd + d)] = Vh[static_cast<size_t>(j * hd + d)];
      }
    std::vector<const uint16_t*> kb, vb;
    for (int b = 0; b < nb; b++) {
      kb.push_back(kt.data() + b * bs * hd);
      vb.push_back(vt.data() + b * bs * hd);
    }
    const int stride = nb * bs + 16;
    std::vector<float> scores(static_cast<size_t>(G * stride));
    Napi::Float32Array out = Napi::Float32Array::New(info.Env(), static_cast<size_t>(G * hd));
    attention_for(k).attend_group(q.Data(), G, kb.data(), vb.data(), n, bs, hd, scale, scores.data(), stride, out.Data());
    return out;
  });
}

// kernelSiluMul(set, g, u) -> Float32Array: the set's SwiGLU, silu(g) * u elementwise.
Napi::Value KernelSiluMul(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const KernelSet& k = set_from_name(str_arg(info, 0));
    Napi::Float32Array g = array_arg<Napi::Float32Array>(info, 1, napi_float32_array, "Float32Array");
    Napi::Float32Array u = array_arg<Napi::Float32Array>(info, 2, napi_float32_array, "Float32Array");
    if (g.ElementLength() != u.ElementLength()) fail("bad silu shapes: g and u differ in length");
    Napi::Float32Array out = Napi::Float32Array::New(info.Env(), g.ElementLength());
    std::memcpy(out.Data(), g.Data(), g.ElementLength() * sizeof(float));
    attention_for(k).silu_mul(out.Data(), u.Data(), static_cast<int64_t>(g.ElementLength()));
    return out;
  });
}

// kernelQuantizeQ8(set, x, K) -> {qs: Int8Array, d: Float32Array, sums: Int32Array}
Napi::Value KernelQuantizeQ8(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const KernelSet& k = set_from_name(str_arg(info, 0));
    Napi::Float32Array x = array_arg<Napi::Float32Array>(info, 1, napi_float32_array, "Float32Array");
    int64_t K = num_arg(info, 2).Int64Value();
    if (K < 32 || K % 32 != 0 || x.ElementLength() % static_cast<size_t>(K) != 0) fail("bad quantize shape");
    int64_t M = static_cast<int64_t>(x.ElementLength()) / K;
    std::vector<uint8_t> buf(act_bytes(ActFormat::Q8_0, M, K) + 64);
    k.convert_act(ActFormat::Q8_0, x.Data(), K, 0, M, M, K, buf.data());
    ActQ8 a = act_q8(buf.data(), M, K);
    Napi::Int8Array qs = Napi::Int8Array::New(info.Env(), static_cast<size_t>(M * K));
    Napi::Float32Array d = Napi::Float32Array::New(info.Env(), static_cast<size_t>(M * K / 32));
    Napi::Int32Array s = Napi::Int32Array::New(info.Env(), static_cast<size_t>(M * K / 32));
    std::memcpy(qs.Data(), a.qs, static_cast<size_t>(M * K));
    std::memcpy(d.Data(), a.d, static_cast<size_t>(M * K / 32) * 4);
    std::memcpy(s.Data(), a.s, static_cast<size_t>(M * K / 32) * 4);
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("qs", qs);
    o.Set("d", d);
    o.Set("sums", s);
    return o;
  });
}

// kernelQuantizeQ8K(set, x, K) -> {d: Float32Array, qs: Int8Array, bsums: Int16Array}: that set's
// q8_K activation quantization (M = x.length / K rows) unpacked field by field for byte comparison.
Napi::Value KernelQuantizeQ8K(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const KernelSet& k = set_from_name(str_arg(info, 0));
    Napi::Float32Array x = array_arg<Napi::Float32Array>(info, 1, napi_float32_array, "Float32Array");
    int64_t K = num_arg(info, 2).Int64Value();
    if (K < QK_K || K % QK_K != 0 || x.ElementLength() % static_cast<size_t>(K) != 0)
      fail("bad quantize shape: K must be a positive multiple of 256 dividing x's length");
    const int64_t M = static_cast<int64_t>(x.ElementLength()) / K, nb = M * (K / QK_K);
    std::vector<uint8_t> buf(act_bytes(ActFormat::Q8_K, M, K));
    k.convert_act(ActFormat::Q8_K, x.Data(), K, 0, M, M, K, buf.data());
    Napi::Float32Array d = Napi::Float32Array::New(info.Env(), static_cast<size_t>(nb));
    Napi::Int8Array qs = Napi::Int8Array::New(info.Env(), static_cast<size_t>(nb * QK_K));
    Napi::Int16Array bsums = Napi::Int16Array::New(info.Env(), static_cast<size_t>(nb * (QK_K / 16)));
    for (int64_t b = 0; b < nb; b++) {
      BlockQ8_K blk;
      std::memcpy(&blk, buf.data() + b * sizeof(BlockQ8_K), sizeof(blk));
      d[static_cast<size_t>(b)] = blk.d;
      std::memcpy(qs.Data() + b * QK_K, blk.qs, QK_K);
      std::memcpy(bsums.Data() + b * (QK_K / 16), blk.bsums, sizeof(blk.bsums));
    }
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("d", d);
    o.Set("qs", qs);
    o.Set("bsums", bsums);
    return o;
  });
}

// benchMatmul(type, N, K, M, threads, iters, set, mr, nc[, copies][, prefetch]) -> {ms, gbps, gops}: the
// engine's matmul (random packed weights, N rows of K, M activation rows) spread over a pool as the
// forward pass spreads it (MatmulJob); median of `iters` runs after one warm-up. `copies` of the
// weights are cycled through (streaming from memory); prefetch false is TileShape::prefetch off.
Napi::Value BenchMatmul(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    GgmlType t = type_from_name(str_arg(info, 0));
    const int64_t N = num_arg(info, 1).Int64Value(), K = num_arg(info, 2).Int64Value();
    const int64_t M = num_arg(info, 3).Int64Value();
    const int threads = num_arg(info, 4).Int32Value(), iters = num_arg(info, 5).Int32Value();
    const KernelSet& k = set_from_name(str_arg(info, 6));
    TileShape tile = tile_arg(info, 7);
    // Copies of the weights cycled through, so a run can stream from memory instead of the caches.
    const int copies = info.Length() > 9 ? num_arg(info, 9).Int32Value() : 1;
    if (info.Length() > 10) tile.prefetch = info[10].ToBoolean().Value();
    if (copies < 1 || copies > 4096) fail("bad copies");
    GgmlTypeInfo ti = ggml_type_info(static_cast<uint32_t>(t));
    if (N < 16 || K < 256 || K % 256 != 0 || M < 1 || threads < 1 || iters < 1) fail("bad bench arguments");
    const size_t raw_bytes = static_cast<size_t>(N * (K / ti.block) * ti.bytes);
    std::vector<uint8_t> raw(raw_bytes);
    uint32_t st = 12345;
    for (auto& b : raw) b = static_cast<uint8_t>(lcg_next(st) >> 24);
    // Keep f16 scales finite and small: rewrite every block's scale field where the format has one.
    if (t == GgmlType::Q8_0 || t == GgmlType::Q4_0)
      for (size_t o = 0; o < raw_bytes; o += ti.bytes) raw[o + 1] = 0x20;
    WeightFormat f = storage_format_for(t);
    const size_t pb = packed_bytes(f, N, K);
    const size_t stride = (pb + 4095) & ~size_t{4095};
    const size_t total = stride * static_cast<size_t>(copies);
    void* mem = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) fail("alloc");
#ifdef MADV_HUGEPAGE
    madvise(mem, total, MADV_HUGEPAGE);
#endif
    for (int c = 0; c < copies; c++)
      pack_rows(t, raw.data(), N, K, f, k.q8_unsigned_weights, static_cast<uint8_t*>(mem) + stride * c, 0, col_groups(N));
    raw.clear();
    raw.shrink_to_fit();
    Matrix m{f, t, N, K, static_cast<uint8_t*>(mem), pb};
    std::vector<float> x(static_cast<size_t>(M * K));
    for (auto& v : x) v = static_cast<float>(static_cast<int32_t>(lcg_next(st))) * 1e-9f;
    ActFormat af = act_format_for(f);
    std::vector<uint8_t> act(act_bytes(af, M, K) + 64);
    k.convert_act(af, x.data(), K, 0, M, M, K, act.data());
    std::vector<float> y(static_cast<size_t>(M * N));
    ThreadPool pool(threads);
    const double ms = median_run_ms(iters, [&](int it) {
      m.data = static_cast<uint8_t*>(mem) + stride * static_cast<size_t>(it % copies);
      MatmulJob job(k, m, act.data(), M, y.data(), tile, pool.size());
      pool.parallel([&](int ith, int) { job.run(ith); });
    });
    munmap(mem, total);
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("ms", ms);
    o.Set("gbps", static_cast<double>(pb) / (ms * 1e-3) / 1e9);
    o.Set("gops", 2.0 * static_cast<double>(N) * static_cast<double>(K) * static_cast<double>(M) / (ms * 1e-3) / 1e9);
    return o;
  });
}

// benchAttention(set, G, tokens, hd, kvHeads, iters) -> {ms, gflops}: the set's attention as one
// thread of a prefill runs it: for each of `tokens` tokens and each of `kvHeads` KV heads (their own
// K and V blocks of 16 slots, random f16 values), attend_group over the token's n_ctx = t + 1 keys
// with G query heads, in the forward pass's item order (KV head by KV head); median of `iters` runs
// after one warm-up.
// gflops counts the two dot-product passes (q.k and p.V), 4 * G * hd flops per key.
Napi::Value BenchAttention(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const KernelSet& k = set_from_name(str_arg(info, 0));
    const int G = num_arg(info, 1).Int32Value(), T = num_arg(info, 2).Int32Value();
    const int hd = num_arg(info, 3).Int32Value(), H = num_arg(info, 4).Int32Value();
    const int iters = num_arg(info, 5).Int32Value();
    if (G < 1 || G > 16 || T < 1 || T > 65536 || hd < 1 || hd > 512 || H < 1 || H > 64 || iters < 1)
      fail("bad benchAttention arguments");
    const int bs = 16, nb = (T + bs - 1) / bs;
    uint32_t st = 12345;
    auto half = [&]() {  // a random f16 in about [-1, 1)
      const uint32_t r = lcg_next(st);
      return static_cast<uint16_t>(0x3800u | ((r >> 16) & 0x3FFu) | ((r >> 8) & 0x8000u));
    };
    std::vector<uint16_t> kt(static_cast<size_t>(H) * nb * bs * hd), vt(kt.size());
    for (auto& h : kt) h = half();
    for (auto& h : vt) h = half();
    std::vector<const uint16_t*> kb, vb;  // per head, nb block pointers
    for (int h = 0; h < H; h++)
      for (int b = 0; b < nb; b++) {
        kb.push_back(kt.data() + (static_cast<size_t>(h) * nb + b) * bs * hd);
        vb.push_back(vt.data() + (static_cast<size_t>(h) * nb + b) * bs * hd);
      }
    std::vector<float> q(static_cast<size_t>(G * hd));
    for (auto& v : q) v = static_cast<float>(static_cast<int32_t>(lcg_next(st))) * 2e-10f;
    const int stride = nb * bs + 16;
    std::vector<float> scores(static_cast<size_t>(G * stride)), out(static_cast<size_t>(G * hd));
    const AttentionKernels& a = attention_for(k);
    const double ms = median_run_ms(iters, [&](int) {
      for (int h = 0; h < H; h++)
        for (int t = 0; t < T; t++)
          a.attend_group(q.data(), G, kb.data() + static_cast<size_t>(h) * nb, vb.data() + static_cast<size_t>(h) * nb,
                         t + 1, bs, hd, 0.125f, scores.data(), stride, out.data());
    });
    const double keys = static_cast<double>(T) * (T + 1) / 2 * H;
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("ms", ms);
    o.Set("gflops", keys * 4.0 * G * hd / (ms * 1e-3) / 1e9);
    return o;
  });
}

// sampleDraws(logits, params, draws[, mask]) -> {counts: Int32Array, ms}: the engine's Sampler (the
// same params conversion as createSequence) drawing `draws` times from one logit row, each draw on
// a fresh copy of the row; counts per token. Params with penalties see the earlier draws, as in a
// sequence. For checking the sampled distribution against the softmax it should follow.
Napi::Value SampleDraws(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Float32Array logits = array_arg<Napi::Float32Array>(info, 0, napi_float32_array, "Float32Array");
    const SamplingParams params = to_sampling(info[1]);
    const int64_t draws = num_arg(info, 2).Int64Value();
    const int64_t V = static_cast<int64_t>(logits.ElementLength());
    if (V < 1 || draws < 1 || draws > 10000000) fail("bad sampleDraws arguments");
    const uint32_t* mask = nullptr;
    if (info.Length() > 3 && !info[3].IsUndefined()) {
      Napi::Uint32Array m = array_arg<Napi::Uint32Array>(info, 3, napi_uint32_array, "Uint32Array");
      if (static_cast<int64_t>(m.ElementLength()) != (V + 31) / 32) fail("the mask needs ceil(V / 32) words");
      mask = m.Data();
    }
    Sampler sampler(params, V);
    Napi::Int32Array counts = Napi::Int32Array::New(info.Env(), static_cast<size_t>(V));
    std::memset(counts.Data(), 0, static_cast<size_t>(V) * sizeof(int32_t));
    std::vector<float> work(static_cast<size_t>(V));
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t d = 0; d < draws; d++) {
      std::memcpy(work.data(), logits.Data(), static_cast<size_t>(V) * sizeof(float));
      counts[static_cast<size_t>(sampler.sample(work.data(), mask).token)]++;
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("counts", counts);
    o.Set("ms", ms);
    return o;
  });
}

// weightPrefetchChooser(mode, onMs, offMs) -> {ways: Uint8Array, on, switches, trials}: the CPU
// backend's WeightPrefetchChooser ("auto", "on" or "off") over onMs.length one-token passes, pass i
// taking onMs[i] when it prefetched and offMs[i] when not; ways[i] is 1 where pass i prefetched.
// For checking the choice against timings a test constructs (a host whose state changes, noise).
Napi::Value WeightPrefetchChooserRun(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const std::string mode = str_arg(info, 0);
    Napi::Float64Array on = array_arg<Napi::Float64Array>(info, 1, napi_float64_array, "Float64Array");
    Napi::Float64Array off = array_arg<Napi::Float64Array>(info, 2, napi_float64_array, "Float64Array");
    if (on.ElementLength() != off.ElementLength()) fail("onMs and offMs need the same length");
    using Mode = WeightPrefetchChooser::Mode;
    Mode m;
    if (!WeightPrefetchChooser::parse_mode(mode, &m)) fail("mode must be auto, on or off");
    WeightPrefetchChooser c(m);
    const size_t n = on.ElementLength();
    Napi::Uint8Array ways = Napi::Uint8Array::New(info.Env(), n);
    for (size_t i = 0; i < n; i++) {
      const bool way = c.next();
      ways[i] = way ? 1 : 0;
      c.record(way, way ? on[i] : off[i]);
    }
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("ways", ways);
    o.Set("on", c.preferred());
    o.Set("switches", static_cast<double>(c.switches()));
    o.Set("trials", static_cast<double>(c.trials()));
    return o;
  });
}

// memoryBandwidth(megabytes, threads, passes) -> {best, median} GB/s: `passes` passes of read-only
// sweeps over a buffer far larger than the caches, split across threads (the decode speed limit of
// a model); a pass is three sweeps (six with AVX2, below), one for each way to read: plain loads, and loads with a software
// prefetch 4 or 8 KiB ahead, and reads at the rate of its fastest. `best` is the fastest single
// sweep, `median` the median pass. On a shared host the rate moves from one sweep to the next (a
// 2-core AMD Zen 4 VM: 20-40 GB/s within a second, now and then 55), so `best` is the host's best
// moment, while a decode of several seconds streams at its typical rate, which `median` measures.
// The plain sweep alone is held back by how many misses one core keeps in flight, not by memory:
// on a 2-core Intel Xeon (Emerald Rapids) VM it read 8-11 GB/s where the prefetched sweeps read
// 17-20 and the engine's decode (whose tiles prefetch 4 KiB ahead) streamed 23, so a floor from
// it alone was no floor. On x86-64 CPUs with AVX2 each pass also sweeps with 32-byte loads (two per
// line instead of the baseline build's four 16-byte ones): on a 2-core AMD Zen 5 VM those read
// 64-70 GB/s where the 16-byte sweeps read 56-58, since fewer loads per line leave the core's
// out-of-order window room for more lines in flight; a floor from the narrow sweeps alone was low.
#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t sweep_avx2(const uint64_t* words, int64_t b, int64_t e, int64_t ahead) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  for (int64_t i = b; i < e; i++) {
    if (ahead != 0) __builtin_prefetch(words + (i + ahead) * 8, 0, 3);
    acc0 = _mm256_add_epi64(acc0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(words + i * 8)));
    acc1 = _mm256_add_epi64(acc1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(words + i * 8 + 4)));
  }
  acc0 = _mm256_add_epi64(acc0, acc1);
  return static_cast<uint64_t>(_mm256_extract_epi64(acc0, 0) + _mm256_extract_epi64(acc0, 3));
}
#endif

Napi::Value MemoryBandwidth(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const size_t mb = static_cast<size_t>(num_arg(info, 0).Int64Value());
    const int threads = num_arg(info, 1).Int32Value();
    const int passes = info.Length() > 2 ? num_arg(info, 2).Int32Value() : 5;
    if (mb < 64 || mb > 65536 || threads < 1 || threads > 1024 || passes < 1) fail("bad bandwidth arguments");
    const size_t bytes = mb << 20;
    void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) fail("cannot allocate %zu MiB", mb);
#ifdef MADV_HUGEPAGE
    madvise(mem, bytes, MADV_HUGEPAGE);
#endif
    uint64_t* words = static_cast<uint64_t*>(mem);
    const size_t n = bytes / 8;
    ThreadPool pool(threads);
    pool.parallel([&](int ith, int nth) {
      int64_t b, e;
      split_range(static_cast<int64_t>(n), ith, nth, &b, &e);
      for (int64_t i = b; i < e; i++) words[i] = static_cast<uint64_t>(i);
    });
    std::vector<double> pass_rate(static_cast<size_t>(passes), 0.0);  // each pass at its fastest sweep
    std::vector<uint64_t> sinks(static_cast<size_t>(threads) * 8);
#if defined(__x86_64__)
    const int kinds = __builtin_cpu_supports("avx2") ? 6 : 3;
#else
    const int kinds = 3;
#endif
    for (int p = 0; p < passes * kinds; p++) {
      const int kind = p % kinds;
      const int64_t ahead = (kind % 3) * 64;  // 64-byte lines: none, 4 KiB, 8 KiB
      auto t0 = std::chrono::steady_clock::now();
      pool.parallel([&](int ith, int nth) {
        int64_t b, e;
        split_range(static_cast<int64_t>(n / 8), ith, nth, &b, &e);
#if defined(__x86_64__)
        if (kind >= 3) {
          sinks[static_cast<size_t>(ith) * 8] += sweep_avx2(words, b, e, ahead);
          return;
        }
#endif
        uint64_t acc[8] = {0};
        for (int64_t i = b; i < e; i++) {
          if (ahead != 0) __builtin_prefetch(words + (i + ahead) * 8, 0, 3);  // past the end: a no-op, never a fault
          for (int j = 0; j < 8; j++) acc[j] += words[i * 8 + j];
        }
        for (int j = 0; j < 8; j++) sinks[static_cast<size_t>(ith) * 8 + j] += acc[j];
      });
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double& pr = pass_rate[static_cast<size_t>(p / kinds)];
      pr = std::max(pr, static_cast<double>(bytes) / s / 1e9);
    }
    munmap(mem, bytes);
    std::sort(pass_rate.begin(), pass_rate.end());
    const size_t h = pass_rate.size() / 2;
    const double med = pass_rate.size() % 2 ? pass_rate[h] : (pass_rate[h - 1] + pass_rate[h]) / 2;
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("best", pass_rate.back());  // the fastest pass is the fastest sweep
    o.Set("median", med);
    return o;
  });
}

// kvStorageResidency(layers, kvHeads, headDim, blockSize, nBlocks, commitBlocks) -> {committed,
// committedResident, tail, tailResident, hugeAligned}: builds the CPU backend's KV storage alone,
// commits its first blocks as a model load does, and counts with mincore() which 4 KiB pages are
// resident: those of blocks 0 .. commitBlocks - 1 (every layer's K and V), and those of the last
// block of each layer (never written, so they should not be). hugeAligned: the storage starts on a
// 2 MiB boundary.
Napi::Value KvStorageResidency(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    int64_t a[6];
    for (size_t i = 0; i < 6; i++) a[i] = num_arg(info, i).Int64Value();
    for (int64_t v : a)
      if (v < 1 || v > (1 << 20)) fail("bad kv storage arguments");
    const KvGeometry g{a[0], a[1], a[2], static_cast<int>(a[3])};
    if (CpuKvStorage::block_bytes(g) * a[4] > (int64_t{1} << 32) || a[5] >= a[4]) fail("bad kv storage arguments");
    CpuKvStorage kv(g, a[4]);
    kv.commit(a[5]);
    const size_t page = 4096, per_block = kv.layer_block_bytes();
    auto count = [&](const uint16_t* p, size_t bytes, double* pages, double* resident) {
      const uintptr_t lo = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
      const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + bytes + page - 1) & ~(page - 1);
      std::vector<unsigned char> vec((hi - lo) / page);
      if (mincore(reinterpret_cast<void*>(lo), hi - lo, vec.data()) != 0) fail("mincore failed");
      *pages += static_cast<double>(vec.size());
      for (unsigned char c : vec) *resident += (c & 1) ? 1 : 0;
    };
    double committed = 0, committed_resident = 0, tail = 0, tail_resident = 0;
    for (int64_t l = 0; l < g.n_layer; l++) {
      count(kv.k(l, 0, 0), per_block * static_cast<size_t>(a[5]), &committed, &committed_resident);
      count(kv.v(l, 0, 0), per_block * static_cast<size_t>(a[5]), &committed, &committed_resident);
      count(kv.k(l, static_cast<int>(a[4] - 1), 0), per_block, &tail, &tail_resident);
      count(kv.v(l, static_cast<int>(a[4] - 1), 0), per_block, &tail, &tail_resident);
    }
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("committed", committed);
    o.Set("committedResident", committed_resident);
    o.Set("tail", tail);
    o.Set("tailResident", tail_resident);
    o.Set("hugeAligned", reinterpret_cast<uintptr_t>(kv.k(0, 0, 0)) % (size_t{2} << 20) == 0);
    return o;
  });
}

// hugeMap(bytes, lazy) -> {aligned, size}: one HugeMap (the CPU backend's weights, arenas and KV
// cache): whether it starts on a 2 MiB boundary and its usable size, after writing its first and
// last byte (so a mapping that is too short faults here rather than in a model).
Napi::Value HugeMapInfo(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const double bytes = num_arg(info, 0).DoubleValue();
    if (!(bytes >= 1 && bytes <= double{1 << 30})) fail("bad hugeMap size");
    HugeMap m(static_cast<size_t>(bytes), info.Length() > 1 && info[1].ToBoolean().Value(), "hugeMap");
    volatile uint8_t* p = m.data();
    p[0] = 1;
    p[m.size() - 1] = 2;
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("aligned", reinterpret_cast<uintptr_t>(m.data()) % HugeMap::kHugePage == 0);
    o.Set("size", static_cast<double>(m.size()));
    return o;
  });
}

}  // namespace gb::addon
