// Conversions between JS values and engine types, validating every field (a bad value becomes a
// TypeError naming it, never undefined behaviour).
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "engine/engine.h"

namespace gb::addon {

double get_number(const Napi::Object& o, const char* key, double fallback, double lo, double hi);
bool get_bool(const Napi::Object& o, const char* key, bool fallback);
std::string get_string(const Napi::Object& o, const char* key, const std::string& fallback);
std::vector<int32_t> to_tokens(const Napi::Value& v, const char* what);

SamplingParams to_sampling(const Napi::Value& v);
EngineOptions to_options(const Napi::Value& v);
std::vector<StepItem> to_step_items(const Napi::Value& v);
// A token bitmask (Int32Array or Uint32Array), copied.
std::vector<uint32_t> to_mask(const Napi::Value& v);

Napi::Value from_step_outputs(Napi::Env env, const std::vector<StepOutput>& outs, const std::vector<StepItem>& items);
Napi::Object from_kv_stats(Napi::Env env, const KvStats& s);
Napi::Object from_gear_report(Napi::Env env, const GearReport& r);
Napi::Object model_info(Napi::Env env, const Engine& e);

}  // namespace gb::addon
