#pragma once
#include <napi.h>

namespace gb::addon {
Napi::Value KernelSets(const Napi::CallbackInfo& info);
Napi::Value TileVariants(const Napi::CallbackInfo& info);
Napi::Value RefMatmul(const Napi::CallbackInfo& info);
Napi::Value KernelMatmul(const Napi::CallbackInfo& info);
Napi::Value KernelGetRow(const Napi::CallbackInfo& info);
Napi::Value RefDequantize(const Napi::CallbackInfo& info);
Napi::Value KernelAttention(const Napi::CallbackInfo& info);
Napi::Value KernelSiluMul(const Napi::CallbackInfo& info);
Napi::Value KernelQuantizeQ8(const Napi::CallbackInfo& info);
Napi::Value KernelQuantizeQ8K(const Napi::CallbackInfo& info);
Napi::Value MemoryBandwidth(const Napi::CallbackInfo& info);
Napi::Value KvStorageResidency(const Napi::CallbackInfo& info);
Napi::Value HugeMapInfo(const Napi::CallbackInfo& info);
Napi::Value BenchMatmul(const Napi::CallbackInfo& info);
Napi::Value JobMatmul(const Napi::CallbackInfo& info);
Napi::Value BenchAttention(const Napi::CallbackInfo& info);
Napi::Value SampleDraws(const Napi::CallbackInfo& info);
Napi::Value WeightPrefetchChooserRun(const Napi::CallbackInfo& info);
}  // namespace gb::addon
