#include "addon/convert.h"

#include <cmath>

#include "common/error.h"
#include "model/model.h"

namespace gb::addon {
namespace {

[[noreturn]] void type_error(const std::string& msg) { throw EngineError(msg); }

}  // namespace

double get_number(const Napi::Object& o, const char* key, double fallback, double lo, double hi) {
  if (!o.Has(key)) return fallback;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) type_error(std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < lo || d > hi)
    type_error(std::string(key) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return d;
}

bool get_bool(const Napi::Object& o, const char* key, bool fallback) {
  if (!o.Has(key)) return fallback;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) type_error(std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string get_string(const Napi::Object& o, const char* key, const std::string& fallback) {
  if (!o.Has(key)) return fallback;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsString()) type_error(std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<int32_t> to_tokens(const Napi::Value& v, const char* what) {
  std::vector<int32_t> out;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    out.assign(a.Data(), a.Data() + a.ElementLength());
    return out;
  }
  if (!v.IsArray()) type_error(std::string(what) + " must be an array of token ids");
  Napi::Array a = v.As<Napi::Array>();
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) type_error(std::string(what) + " must contain only integers");
    double d = e.As<Napi::Number>().DoubleValue();
    if (d != std::floor(d) || d < 0 || d > 2147483647.0) type_error(std::string(what) + " must contain token ids (integers >= 0)");
    out.push_back(static_cast<int32_t>(d));
  }
  return out;
}

SamplingParams to_sampling(const Napi::Value& v) {
  SamplingParams p;
  if (v.IsUndefined() || v.IsNull()) return p;
  if (!v.IsObject()) type_error("sampling params must be an object");
  Napi::Object o = v.As<Napi::Object>();
  p.temperature = static_cast<float>(get_number(o, "temperature", 1, 0, 100));
  p.top_k = static_cast<int>(get_number(o, "topK", 0, 0, 1e9));
  p.top_p = static_cast<float>(get_number(o, "topP", 1, 0, 1));
  p.min_p = static_cast<float>(get_number(o, "minP", 0, 0, 1));
  p.presence_penalty = static_cast<float>(get_number(o, "presencePenalty", 0, -100, 100));
  p.frequency_penalty = static_cast<float>(get_number(o, "frequencyPenalty", 0, -100, 100));
  p.repetition_penalty = static_cast<float>(get_number(o, "repetitionPenalty", 1, 1e-6, 100));
  p.seed = static_cast<uint64_t>(get_number(o, "seed", 0, 0, 9007199254740991.0));
  p.top_logprobs = static_cast<int>(get_number(o, "topLogprobs", 0, 0, 20));
  p.logprobs = get_bool(o, "logprobs", false);
  if (o.Has("logitBias")) {
    Napi::Value lb = o.Get("logitBias");
    if (!lb.IsUndefined() && !lb.IsNull()) {
      if (!lb.IsArray()) type_error("logitBias must be an array of [token, bias] pairs");
      Napi::Array a = lb.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Value pair = a.Get(i);
        if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2) type_error("logitBias entries must be [token, bias]");
        Napi::Value t = pair.As<Napi::Array>().Get(0u), b = pair.As<Napi::Array>().Get(1u);
        if (!t.IsNumber() || !b.IsNumber()) type_error("logitBias entries must be numbers");
        double bias = b.As<Napi::Number>().DoubleValue();
        if (!std::isfinite(bias)) type_error("logitBias values must be finite");
        p.logit_bias.push_back({t.As<Napi::Number>().Int32Value(), static_cast<float>(bias)});
      }
    }
  }
  return p;
}

EngineOptions to_options(const Napi::Value& v) {
  EngineOptions o;
  if (!v.IsObject()) type_error("load options must be an object");
  Napi::Object obj = v.As<Napi::Object>();
  // The sizes below have their defaults in one place, the backend's config schema
  // (apps/npu-backend/src/config/config-schema.ts); they must arrive here as arguments.
  auto required = [](const Napi::Object& from, const char* key, const char* name) {
    if (!from.Has(key) || from.Get(key).IsUndefined() || from.Get(key).IsNull())
      type_error(std::string(name) + " is required");
  };
  o.threads = static_cast<int>(get_number(obj, "threads", 0, 0, 1024));
  required(obj, "contextLength", "contextLength");
  o.context_length = static_cast<int64_t>(get_number(obj, "contextLength", 0, 1, 1 << 24));
  required(obj, "kvCacheMiB", "kvCacheMiB");
  o.kv_cache_mib = static_cast<int64_t>(get_number(obj, "kvCacheMiB", 0, 1, 1 << 24));
  o.block_size = static_cast<int>(get_number(obj, "blockSize", 16, 1, 1024));
  o.isa = get_string(obj, "isa", "");
  o.sample_vocab = static_cast<int64_t>(get_number(obj, "sampleVocab", 0, 0, 1 << 30));
  if (!obj.Has("gears") || !obj.Get("gears").IsObject()) type_error("gears is required");
  Napi::Object g = obj.Get("gears").As<Napi::Object>();
  auto list = [&](const char* key, std::vector<int>& out) {
    required(g, key, (std::string("gears.") + key).c_str());
    std::vector<int32_t> t = to_tokens(g.Get(key), key);
    if (t.empty()) type_error(std::string("gears.") + key + " must not be empty");
    out.assign(t.begin(), t.end());
  };
  list("prefill", o.gears.prefill);
  list("decodeBatch", o.gears.decode);
  std::string warm = get_string(g, "warm", "all");
  if (warm != "all" && warm != "none") type_error("gears.warm must be \"all\" or \"none\"");
  o.gears.warm_all = warm == "all";
  o.gears.cache_dir = get_string(g, "cacheDir", "");
  o.gears.autotune = get_bool(g, "autotune", true);
  o.gears.padded = get_bool(g, "padded", false);
  o.gears.max_resident_bytes = static_cast<size_t>(get_number(g, "maxResidentBytes", 2.0 * (1 << 30), 0, 1e15));
  return o;
}

std::vector<uint32_t> to_mask(const Napi::Value& v) {
  if (!v.IsTypedArray()) type_error("mask must be an Int32Array or Uint32Array bitmask");
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  if (t.TypedArrayType() != napi_int32_array && t.TypedArrayType() != napi_uint32_array)
    type_error("mask must be an Int32Array or Uint32Array bitmask");
  const auto* words = reinterpret_cast<const uint32_t*>(static_cast<const uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset());
  return std::vector<uint32_t>(words, words + t.ElementLength());
}

std::vector<StepItem> to_step_items(const Napi::Value& v) {
  if (!v.IsArray()) type_error("step items must be an array");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<StepItem> items;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsObject()) type_error("each step item must be an object");
    Napi::Object o = e.As<Napi::Object>();
    StepItem it;
    it.seq = static_cast<int32_t>(get_number(o, "seq", -1, -1, 2147483647.0));
    if (!o.Has("tokens")) type_error("step item needs tokens");
    it.tokens = to_tokens(o.Get("tokens"), "tokens");
    it.sample = get_bool(o, "sample", false);
    it.want_logits = get_bool(o, "returnLogits", false);
    if (o.Has("mask") && !o.Get("mask").IsUndefined() && !o.Get("mask").IsNull()) it.mask = to_mask(o.Get("mask"));
    items.push_back(std::move(it));
  }
  return items;
}

Napi::Value from_step_outputs(Napi::Env env, const std::vector<StepOutput>& outs, const std::vector<StepItem>& items) {
  Napi::Array arr = Napi::Array::New(env, outs.size());
  for (size_t i = 0; i < outs.size(); i++) {
    const StepOutput& o = outs[i];
    Napi::Object r = Napi::Object::New(env);
    r.Set("seq", items[i].seq);
    r.Set("token", o.sample.token);
    if (items[i].sample) {
      const auto& p = o.sample;
      if (p.has_logprob) r.Set("logprob", p.logprob);
      if (!p.top.empty()) {
        Napi::Array top = Napi::Array::New(env, p.top.size());
        for (size_t k = 0; k < p.top.size(); k++) {
          Napi::Object t = Napi::Object::New(env);
          t.Set("token", p.top[k].token);
          t.Set("logprob", p.top[k].logprob);
          top.Set(static_cast<uint32_t>(k), t);
        }
        r.Set("topLogprobs", top);
      }
    }
    if (!o.logits.empty()) {
      Napi::Float32Array l = Napi::Float32Array::New(env, o.logits.size());
      std::copy(o.logits.begin(), o.logits.end(), l.Data());
      r.Set("logits", l);
    }
    arr.Set(static_cast<uint32_t>(i), r);
  }
  return arr;
}

Napi::Object from_kv_stats(Napi::Env env, const KvStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("blockSize", s.block_size);
  o.Set("blocksTotal", static_cast<double>(s.blocks_total));
  o.Set("blocksUsed", static_cast<double>(s.blocks_used));
  o.Set("blocksCached", static_cast<double>(s.blocks_cached));
  o.Set("sequences", static_cast<double>(s.sequences));
  o.Set("prefixHitTokens", static_cast<double>(s.prefix_hit_tokens));
  return o;
}

Napi::Object from_gear_report(Napi::Env env, const GearReport& r) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array gears = Napi::Array::New(env, r.gears.size());
  for (size_t i = 0; i < r.gears.size(); i++) {
    const GearStat& g = r.gears[i];
    Napi::Object s = Napi::Object::New(env);
    s.Set("phase", g.key.phase == Phase::Prefill ? "prefill" : "decode");
    s.Set("bucket", g.key.bucket);
    s.Set("state", gear_state_name(g.state));
    s.Set("hits", static_cast<double>(g.hits));
    s.Set("misses", static_cast<double>(g.misses));
    s.Set("compileMs", g.compile_ms);
    s.Set("autotuneMs", g.autotune_ms);
    s.Set("warmMs", g.warm_ms);
    s.Set("evictions", static_cast<double>(g.evictions));
    s.Set("residentBytes", static_cast<double>(g.resident_bytes));
    s.Set("realTokens", static_cast<double>(g.real_tokens));
    s.Set("paddedTokens", static_cast<double>(g.padded_tokens));
    gears.Set(static_cast<uint32_t>(i), s);
  }
  o.Set("gears", gears);
  o.Set("fallbacks", static_cast<double>(r.fallbacks));
  auto hist = [&](const std::map<int, int64_t>& h) {
    Napi::Object m = Napi::Object::New(env);
    for (const auto& [k, v] : h) m.Set(std::to_string(k), static_cast<double>(v));
    return m;
  };
  Napi::Object obs = Napi::Object::New(env);
  obs.Set("prefill", hist(r.observed_prefill));
  obs.Set("decode", hist(r.observed_decode));
  o.Set("observed", obs);
  o.Set("cacheStatus", r.cache_status);
  o.Set("warmupMs", r.warmup_ms);
  return o;
}

Napi::Object model_info(Napi::Env env, const Engine& e) {
  const Model& m = e.model();
  const LlamaConfig& c = m.config;
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", m.path);
  o.Set("architecture", c.architecture);
  o.Set("name", c.name);
  o.Set("vocabSize", static_cast<double>(c.n_vocab));
  o.Set("contextLength", static_cast<double>(e.context_length()));
  o.Set("trainedContextLength", static_cast<double>(c.n_ctx_train));
  o.Set("embeddingLength", static_cast<double>(c.n_embd));
  o.Set("blockCount", static_cast<double>(c.n_layer));
  o.Set("feedForwardLength", static_cast<double>(c.n_ff));
  o.Set("headCount", static_cast<double>(c.n_head));
  o.Set("headCountKv", static_cast<double>(c.n_head_kv));
  o.Set("headDim", static_cast<double>(c.head_dim));
  o.Set("ropeTheta", c.rope_theta);
  o.Set("rmsEps", c.rms_eps);
  o.Set("tiedOutput", c.tied_output);
  const WeightsInfo& w = e.weights();
  o.Set("parameterCount", static_cast<double>(w.parameters));
  o.Set("fileBytes", static_cast<double>(m.file_bytes));
  o.Set("weightBytes", static_cast<double>(w.bytes));
  Napi::Object types = Napi::Object::New(env);
  for (const auto& [name, n] : w.tensor_types) types.Set(name, n);
  o.Set("tensorTypes", types);
  const DeviceInfo d = e.device();
  Napi::Object device = Napi::Object::New(env);
  device.Set("backend", d.backend);
  device.Set("isa", d.isa);
  device.Set("threads", d.threads);
  o.Set("device", device);
  return o;
}

}  // namespace gb::addon
