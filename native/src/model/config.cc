#include "model/config.h"

#include "common/error.h"
#include "gguf/gguf.h"

namespace gb {

LlamaConfig LlamaConfig::from_gguf(const GgufFile& f) {
  LlamaConfig c;
  c.architecture = f.get_string_or("general.architecture", "");
  if (c.architecture != "llama")
    fail("model: architecture '%s' is not supported (gearbox runs Llama 3.x: 'llama')", c.architecture.c_str());
  c.name = f.get_string_or("general.name", "");
  const std::string a = "llama.";
  auto limit = [](const char* what, uint64_t v, uint64_t lo, uint64_t hi) -> int64_t {
    if (v < lo || v > hi)
      fail("model: %s = %llu is out of range [%llu, %llu]", what, static_cast<unsigned long long>(v),
           static_cast<unsigned long long>(lo), static_cast<unsigned long long>(hi));
    return static_cast<int64_t>(v);
  };
  c.n_embd = limit("embedding_length", f.get_uint(a + "embedding_length"), 16, 65536);
  c.n_layer = limit("block_count", f.get_uint(a + "block_count"), 1, 1024);
  c.n_ff = limit("feed_forward_length", f.get_uint(a + "feed_forward_length"), 1, 1 << 20);
  c.n_head = limit("attention.head_count", f.get_uint(a + "attention.head_count"), 1, 1024);
  c.n_head_kv = limit("attention.head_count_kv", f.get_uint_or(a + "attention.head_count_kv", c.n_head), 1, 1024);
  c.n_ctx_train = limit("context_length", f.get_uint_or(a + "context_length", 4096), 1, 1 << 24);
  if (c.n_head % c.n_head_kv != 0)
    fail("model: head_count %lld is not a multiple of head_count_kv %lld", static_cast<long long>(c.n_head),
         static_cast<long long>(c.n_head_kv));
  uint64_t default_hd = static_cast<uint64_t>(c.n_embd / c.n_head);
  c.head_dim = limit("attention.key_length", f.get_uint_or(a + "attention.key_length", default_hd), 2, kMaxHeadDim);
  if (f.get_uint_or(a + "attention.value_length", static_cast<uint64_t>(c.head_dim)) != static_cast<uint64_t>(c.head_dim))
    fail("model: attention.value_length differs from key_length (not a Llama layout)");
  if (c.head_dim % 2 != 0) fail("model: head dimension %lld must be even for RoPE", static_cast<long long>(c.head_dim));
  uint64_t rot = f.get_uint_or(a + "rope.dimension_count", static_cast<uint64_t>(c.head_dim));
  if (rot != static_cast<uint64_t>(c.head_dim))
    fail("model: partial rotary embeddings (rope.dimension_count %llu != head dim %lld) are not supported",
         static_cast<unsigned long long>(rot), static_cast<long long>(c.head_dim));
  c.rope_theta = static_cast<float>(f.get_float_or(a + "rope.freq_base", 10000.0));
  if (!(c.rope_theta > 1.f)) fail("model: rope.freq_base must be > 1");
  c.rms_eps = static_cast<float>(f.get_float_or(a + "attention.layer_norm_rms_epsilon", 1e-5));
  if (!(c.rms_eps > 0.f && c.rms_eps < 1.f)) fail("model: attention.layer_norm_rms_epsilon out of range");
  std::string scaling = f.get_string_or(a + "rope.scaling.type", "none");
  if (scaling == "linear") {
    double factor = f.get_float_or(a + "rope.scaling.factor", 1.0);
    if (!(factor >= 1.0)) fail("model: rope.scaling.factor must be >= 1");
    c.rope_freq_scale = static_cast<float>(1.0 / factor);
  } else if (scaling != "none" && scaling != "") {
    fail("model: rope scaling '%s' is not supported (none, linear, or a rope_freqs tensor)", scaling.c_str());
  }

  const GgufTensorInfo* emb = f.tensor("token_embd.weight");
  if (!emb) fail("model: tensor 'token_embd.weight' is missing");
  c.n_vocab = static_cast<int64_t>(emb->ne[1]);
  if (f.has(a + "vocab_size") && f.get_uint(a + "vocab_size") != static_cast<uint64_t>(c.n_vocab))
    fail("model: llama.vocab_size disagrees with token_embd.weight");
  c.tied_output = f.tensor("output.weight") == nullptr;
  c.has_rope_freqs = f.tensor("rope_freqs.weight") != nullptr;
  return c;
}

}  // namespace gb
