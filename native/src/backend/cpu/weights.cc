#include "backend/cpu/weights.h"

#include <sys/mman.h>

#include <cstring>

#include "common/error.h"
#include "common/half.h"
#include "gguf/gguf.h"
#include "kernels/pack.h"
#include "threads/pool.h"

namespace gb {
namespace {

struct Wanted {
  std::string name;
  int64_t ne0, ne1;  // ne1 == 0: a vector
  Matrix* matrix;
  const float** vector;
};

void check_shape(const GgufTensorInfo& t, const Wanted& w) {
  const bool vec = w.ne1 == 0;
  for (uint32_t d = vec ? 1 : 2; d < t.n_dims; d++)
    if (t.ne[d] != 1) fail("model: tensor '%s' has unexpected extra dimension %u", w.name.c_str(), d);
  if (static_cast<int64_t>(t.ne[0]) != w.ne0 || (!vec && static_cast<int64_t>(t.ne[1]) != w.ne1))
    fail("model: tensor '%s' has shape [%llu, %llu], expected [%lld, %lld]", w.name.c_str(),
         static_cast<unsigned long long>(t.ne[0]), static_cast<unsigned long long>(t.ne[1]),
         static_cast<long long>(w.ne0), static_cast<long long>(vec ? 1 : w.ne1));
}

size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace

Weights::Weights(const GgufFile& file, const LlamaConfig& c, const KernelSet& kernels, ThreadPool& pool,
                 const std::function<void(double)>& progress) {
  std::vector<Wanted> wanted;
  wanted.push_back({"token_embd.weight", c.n_embd, c.n_vocab, &token_embd, nullptr});
  layers.resize(static_cast<size_t>(c.n_layer));
  for (int64_t l = 0; l < c.n_layer; l++) {
    LayerWeights& L = layers[static_cast<size_t>(l)];
    std::string p = "blk." + std::to_string(l) + ".";
    wanted.push_back({p + "attn_norm.weight", c.n_embd, 0, nullptr, &L.attn_norm});
    wanted.push_back({p + "attn_q.weight", c.n_embd, c.q_dim(), &L.wq, nullptr});
    wanted.push_back({p + "attn_k.weight", c.n_embd, c.kv_dim(), &L.wk, nullptr});
    wanted.push_back({p + "attn_v.weight", c.n_embd, c.kv_dim(), &L.wv, nullptr});
    wanted.push_back({p + "attn_output.weight", c.q_dim(), c.n_embd, &L.wo, nullptr});
    wanted.push_back({p + "ffn_norm.weight", c.n_embd, 0, nullptr, &L.ffn_norm});
    wanted.push_back({p + "ffn_gate.weight", c.n_embd, c.n_ff, &L.w_gate, nullptr});
    wanted.push_back({p + "ffn_up.weight", c.n_embd, c.n_ff, &L.w_up, nullptr});
    wanted.push_back({p + "ffn_down.weight", c.n_ff, c.n_embd, &L.w_down, nullptr});
  }
  wanted.push_back({"output_norm.weight", c.n_embd, 0, nullptr, &output_norm});
  if (!c.tied_output) wanted.push_back({"output.weight", c.n_embd, c.n_vocab, &output, nullptr});
  if (c.has_rope_freqs) wanted.push_back({"rope_freqs.weight", c.head_dim / 2, 0, nullptr, &rope_freqs});

  // Validate everything and size the arena before touching any tensor data.
  std::vector<const GgufTensorInfo*> infos;
  size_t total = 0;
  for (const Wanted& w : wanted) {
    const GgufTensorInfo* t = file.tensor(w.name);
    if (!t) fail("model: tensor '%s' is missing", w.name.c_str());
    check_shape(*t, w);
    if (w.matrix) {
      WeightFormat f = storage_format_for(t->type);  // throws for unsupported types, by name
      if (w.ne0 % 32 != 0 && (f == WeightFormat::Q8_0x16 || f == WeightFormat::Q4_0x16))
        fail("model: tensor '%s' row length is not a multiple of 32", w.name.c_str());
      total += round_up(packed_bytes(f, w.ne1, w.ne0), 4096);
    } else {
      if (t->type != GgmlType::F32 && t->type != GgmlType::F16 && t->type != GgmlType::BF16)
        fail("model: tensor '%s' must be f32, f16 or bf16, not %s", w.name.c_str(), ggml_type_name(t->type));
      total += round_up(static_cast<size_t>(w.ne0) * 4, 64);
    }
    infos.push_back(t);
  }
  for (const GgufTensorInfo& t : file.tensors()) params_ += static_cast<int64_t>(t.n_elements);

  mem_ = HugeMap(total, false, "model: the weights");
  uint8_t* const base = mem_.data();
  bytes_ = total;

  size_t offset = 0, done = 0;
  for (size_t i = 0; i < wanted.size(); i++) {
    const Wanted& w = wanted[i];
    const GgufTensorInfo* t = infos[i];
    if (w.matrix) {
      Matrix& m = *w.matrix;
      m.format = storage_format_for(t->type);
      m.source_type = t->type;
      m.rows = w.ne1;
      m.cols = w.ne0;
      m.bytes = packed_bytes(m.format, m.rows, m.cols);
      uint8_t* dst = base + offset;
      const int64_t groups = col_groups(m.rows);
      pool.parallel([&](int ith, int nth) {
        int64_t g0, g1;
        split_range(groups, ith, nth, &g0, &g1);
        pack_rows(t->type, t->data, m.rows, m.cols, m.format, kernels.q8_unsigned_weights, dst, g0, g1);
      });
      m.data = dst;
      offset += round_up(m.bytes, 4096);
    } else {
      float* dst = reinterpret_cast<float*>(base + offset);
      for (int64_t k = 0; k < w.ne0; k++) {
        if (t->type == GgmlType::F32) std::memcpy(dst + k, t->data + k * 4, 4);
        else {
          uint16_t h;
          std::memcpy(&h, t->data + k * 2, 2);
          dst[k] = t->type == GgmlType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
        }
      }
      *w.vector = dst;
      offset += round_up(static_cast<size_t>(w.ne0) * 4, 64);
    }
    done += t->n_bytes;
    // The file's pages are no longer needed: drop them so peak RSS stays near the weights' size.
    uintptr_t lo = (reinterpret_cast<uintptr_t>(t->data) + 4095) & ~uintptr_t{4095};
    uintptr_t hi = (reinterpret_cast<uintptr_t>(t->data) + t->n_bytes) & ~uintptr_t{4095};
    if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
    if (progress) progress(static_cast<double>(i + 1) / static_cast<double>(wanted.size()));
  }
  (void)done;
  if (c.tied_output) output = token_embd;
}

}  // namespace gb
