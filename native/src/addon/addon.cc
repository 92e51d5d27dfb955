// The addon's entry: loadModel (an async worker reporting progress), the NativeModel class, and the
// kernel test hooks under `testing` (deliberately shipped: docs/engine.md, "Kernel test hooks").
// The whole surface is typed in apps/npu-backend/src/engine/native-types.ts.
#include <napi.h>

#include <cstring>

#include "addon/convert.h"
#include "addon/model_wrap.h"
#include "addon/testing.h"
#include "engine/engine.h"
#include "kernels/kernels.h"

namespace gb::addon {
namespace {

struct ProgressMsg {
  double fraction;
  char label[96];
};

class LoadWorker : public Napi::AsyncProgressQueueWorker<ProgressMsg> {
 public:
  LoadWorker(Napi::Env env, std::string path, EngineOptions options, Napi::Function on_progress)
      : Napi::AsyncProgressQueueWorker<ProgressMsg>(env), path_(std::move(path)), options_(std::move(options)),
        deferred_(Napi::Promise::Deferred::New(env)) {
    if (!on_progress.IsEmpty()) on_progress_ = Napi::Persistent(on_progress);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& progress) override {
    try {
      engine_ = std::make_unique<Engine>(path_, options_, [&](double f, const std::string& label) {
        ProgressMsg m;
        m.fraction = f;
        std::strncpy(m.label, label.c_str(), sizeof(m.label) - 1);
        m.label[sizeof(m.label) - 1] = 0;
        progress.Send(&m, 1);
      });
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("unknown error while loading the model");
    }
  }
  void OnProgress(const ProgressMsg* data, size_t count) override {
    if (on_progress_.IsEmpty()) return;
    Napi::HandleScope scope(Env());
    for (size_t i = 0; i < count; i++)
      on_progress_.Call({Napi::Number::New(Env(), data[i].fraction), Napi::String::New(Env(), data[i].label)});
  }
  void OnOK() override { deferred_.Resolve(ModelWrap::NewInstance(Env(), std::move(engine_))); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::string path_;
  EngineOptions options_;
  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference on_progress_;
  std::unique_ptr<Engine> engine_;
};

// loadModel(path, options?, onProgress?) -> Promise<NativeModel>
Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "loadModel(path, options?, onProgress?): path must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  EngineOptions options;
  try {
    options = to_options(info.Length() > 1 ? info[1] : env.Undefined());
  } catch (const std::exception& e) {
    Napi::TypeError::New(env, e.what()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Function cb;
  if (info.Length() > 2 && info[2].IsFunction()) cb = info[2].As<Napi::Function>();
  auto* w = new LoadWorker(env, info[0].As<Napi::String>().Utf8Value(), options, cb);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kernels().name); }

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("loadModel", Napi::Function::New(env, LoadModel));
  exports.Set("NativeModel", ModelWrap::Define(env));
  exports.Set("isa", Napi::Function::New(env, Isa));
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("kernelSets", Napi::Function::New(env, KernelSets));
  testing.Set("tileVariants", Napi::Function::New(env, TileVariants));
  testing.Set("refMatmul", Napi::Function::New(env, RefMatmul));
  testing.Set("kernelMatmul", Napi::Function::New(env, KernelMatmul));
  testing.Set("kernelGetRow", Napi::Function::New(env, KernelGetRow));
  testing.Set("refDequantize", Napi::Function::New(env, RefDequantize));
  testing.Set("kernelAttention", Napi::Function::New(env, KernelAttention));
  testing.Set("kernelSiluMul", Napi::Function::New(env, KernelSiluMul));
  testing.Set("kernelQuantizeQ8", Napi::Function::New(env, KernelQuantizeQ8));
  testing.Set("kernelQuantizeQ8K", Napi::Function::New(env, KernelQuantizeQ8K));
  testing.Set("memoryBandwidth", Napi::Function::New(env, MemoryBandwidth));
  testing.Set("kvStorageResidency", Napi::Function::New(env, KvStorageResidency));
  testing.Set("hugeMap", Napi::Function::New(env, HugeMapInfo));
  testing.Set("benchMatmul", Napi::Function::New(env, BenchMatmul));
  testing.Set("jobMatmul", Napi::Function::New(env, JobMatmul));
  testing.Set("benchAttention", Napi::Function::New(env, BenchAttention));
  testing.Set("sampleDraws", Napi::Function::New(env, SampleDraws));
  testing.Set("weightPrefetchChooser", Napi::Function::New(env, WeightPrefetchChooserRun));
  exports.Set("testing", testing);
  return exports;
}

}  // namespace gb::addon

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return gb::addon::Init(env, exports); }

NODE_API_MODULE(gearbox, InitModule)
