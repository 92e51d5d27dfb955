// NativeModel: the JS object of one loaded model. Every mutating call is queued to the model's own
// engine thread (in order) and answered with a promise, so the event loop never waits on compute.
#pragma once
#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/engine.h"

namespace gb::addon {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object NewInstance(Napi::Env env, std::unique_ptr<Engine> engine);

  explicit ModelWrap(const Napi::CallbackInfo& info);
  ~ModelWrap() override;

 private:
  struct Task {
    std::function<void()> run;                        // engine thread
    std::function<Napi::Value(Napi::Env)> resolve;    // JS thread, after run succeeded
    Napi::Promise::Deferred deferred;
    std::string error;
    bool failed = false;
    explicit Task(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
  };

  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value CreateSequence(const Napi::CallbackInfo& info);
  Napi::Value ForkSequence(const Napi::CallbackInfo& info);
  Napi::Value FreeSequence(const Napi::CallbackInfo& info);
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value SupplyMasks(const Napi::CallbackInfo& info);
  Napi::Value KvStats(const Napi::CallbackInfo& info);
  Napi::Value KvReservation(const Napi::CallbackInfo& info);
  Napi::Value GearReport(const Napi::CallbackInfo& info);
  Napi::Value Profile(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // Masks of a step started with {lateMasks: true}: filled by supplyMasks() on the JS thread while
  // the step's forward pass runs on the engine thread, which waits for them before sampling.
  struct LateMasks {
    bool ready = false;
    bool abandoned = false;
    std::vector<std::vector<uint32_t>> masks;  // per step item; empty = unconstrained
  };

  Napi::Value Enqueue(Napi::Env env, std::function<void()> run, std::function<Napi::Value(Napi::Env)> resolve);
  void Loop();
  // Stops the engine thread and releases the thread-safe function (once; JS thread only).
  void StopThread();
  static void EnvCleanup(void* self);

  std::unique_ptr<Engine> engine_;
  int64_t n_vocab_ = 0;
  int block_size_ = 16;
  Napi::ObjectReference info_;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Task*> queue_;
  std::deque<std::shared_ptr<LateMasks>> late_;  // steps waiting for supplyMasks(), oldest first (JS thread)
  bool stopping_ = false;
  bool closed_ = false;
  bool released_ = false;
  bool cleanup_hook_ = false;
  napi_env env_ = nullptr;
  int pending_ = 0;
};

}  // namespace gb::addon
