#include "addon/model_wrap.h"

#include "addon/convert.h"
#include "common/error.h"
#include "model/model.h"

namespace gb::addon {

namespace {
Napi::FunctionReference* g_constructor = nullptr;

[[noreturn]] void type_error_words(size_t got, size_t want) {
  throw EngineError("a token mask has " + std::to_string(got) + " words, the vocabulary needs " + std::to_string(want));
}
}  // namespace

Napi::Function ModelWrap::Define(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "NativeModel",
                                  {
                                      InstanceMethod("info", &ModelWrap::Info),
                                      InstanceMethod("createSequence", &ModelWrap::CreateSequence),
                                      InstanceMethod("forkSequence", &ModelWrap::ForkSequence),
                                      InstanceMethod("freeSequence", &ModelWrap::FreeSequence),
                                      InstanceMethod("step", &ModelWrap::Step),
                                      InstanceMethod("supplyMasks", &ModelWrap::SupplyMasks),
                                      InstanceMethod("kvStats", &ModelWrap::KvStats),
                                      InstanceMethod("kvReservation", &ModelWrap::KvReservation),
                                      InstanceMethod("gearReport", &ModelWrap::GearReport),
                                      InstanceMethod("profile", &ModelWrap::Profile),
                                      InstanceMethod("close", &ModelWrap::Close),
                                  });
  g_constructor = new Napi::FunctionReference(Napi::Persistent(fn));
  env.SetInstanceData<Napi::FunctionReference>(g_constructor);
  return fn;
}

Napi::Object ModelWrap::NewInstance(Napi::Env env, std::unique_ptr<Engine> engine) {
  Napi::External<Engine> ext = Napi::External<Engine>::New(env, engine.release());
  return g_constructor->New({ext});
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsExternal()) {
    Napi::TypeError::New(env, "NativeModel is created by loadModel()").ThrowAsJavaScriptException();
    return;
  }
  engine_.reset(info[0].As<Napi::External<Engine>>().Data());
  n_vocab_ = engine_->model().config.n_vocab;
  block_size_ = engine_->block_size();
  info_ = Napi::Persistent(model_info(env, *engine_));
  tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "gearbox-engine",
                                        0, 1);
  tsfn_.Unref(env);  // referenced only while calls are pending, so an idle model never keeps Node alive
  thread_ = std::thread([this] { Loop(); });
  // At environment teardown Node closes thread-safe functions itself: stop the thread before that.
  env_ = env;
  cleanup_hook_ = napi_add_env_cleanup_hook(env, EnvCleanup, this) == napi_ok;
}

void ModelWrap::EnvCleanup(void* self) {
  auto* w = static_cast<ModelWrap*>(self);
  w->cleanup_hook_ = false;
  w->StopThread();
}

ModelWrap::~ModelWrap() {
  if (cleanup_hook_) napi_remove_env_cleanup_hook(env_, EnvCleanup, this);
  StopThread();
  engine_.reset();
  for (Task* t : queue_) delete t;
  queue_.clear();
}

void ModelWrap::StopThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!released_) {
    released_ = true;
    tsfn_.Release();
  }
}

void ModelWrap::Loop() {
  for (;;) {
    Task* t;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      t = queue_.front();
      queue_.pop_front();
    }
    try {
      t->run();
    } catch (const std::exception& e) {
      t->failed = true;
      t->error = e.what();
    } catch (...) {
      t->failed = true;
      t->error = "unknown engine error";
    }
    napi_status st = tsfn_.BlockingCall(t, [this](Napi::Env env, Napi::Function, Task* task) {
      if (task->failed) {
        task->deferred.Reject(Napi::Error::New(env, task->error).Value());
      } else {
        try {
          task->deferred.Resolve(task->resolve ? task->resolve(env) : env.Undefined());
        } catch (const std::exception& e) {
          task->deferred.Reject(Napi::Error::New(env, e.what()).Value());
        }
      }
      delete task;
      if (--pending_ == 0 && !released_) tsfn_.Unref(env);
    });
    if (st != napi_ok) delete t;  // the environment is shutting down
  }
}

Napi::Value ModelWrap::Enqueue(Napi::Env env, std::function<void()> run, std::function<Napi::Value(Napi::Env)> resolve) {
  Task* t = new Task(env);
  Napi::Promise promise = t->deferred.Promise();
  if (closed_) {
    t->deferred.Reject(Napi::Error::New(env, "model is closed").Value());
    delete t;
    return promise;
  }
  t->run = std::move(run);
  t->resolve = std::move(resolve);
  if (pending_++ == 0) tsfn_.Ref(env);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(t);
  }
  cv_.notify_one();
  return promise;
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo&) { return info_.Value(); }

Napi::Value ModelWrap::CreateSequence(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SamplingParams params;
  std::vector<int32_t> prompt;
  try {
    params = to_sampling(info[0]);
    if (info.Length() > 1 && !info[1].IsUndefined()) prompt = to_tokens(info[1], "promptTokens");
  } catch (const std::exception& e) {
    Napi::TypeError::New(env, e.what()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto result = std::make_shared<std::pair<int32_t, int32_t>>(0, 0);
  return Enqueue(
      env, [this, params, prompt, result] { result->first = engine_->create_sequence(params, prompt, &result->second); },
      [result](Napi::Env e) {
        Napi::Object o = Napi::Object::New(e);
        o.Set("seq", result->first);
        o.Set("cachedTokens", result->second);
        return o;
      });
}

Napi::Value ModelWrap::ForkSequence(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    Napi::TypeError::New(env, "forkSequence(seq, params): seq must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int32_t seq = info[0].As<Napi::Number>().Int32Value();
  SamplingParams params;
  try {
    params = to_sampling(info[1]);
  } catch (const std::exception& e) {
    Napi::TypeError::New(env, e.what()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto result = std::make_shared<int32_t>(0);
  return Enqueue(
      env, [this, seq, params, result] { *result = engine_->fork_sequence(seq, params); },
      [result](Napi::Env e) { return Napi::Number::New(e, *result); });
}

Napi::Value ModelWrap::FreeSequence(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    Napi::TypeError::New(env, "freeSequence(seq): seq must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int32_t seq = info[0].As<Napi::Number>().Int32Value();
  return Enqueue(env, [this, seq] { engine_->free_sequence(seq); }, nullptr);
}

Napi::Value ModelWrap::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto items = std::make_shared<std::vector<StepItem>>();
  try {
    *items = to_step_items(info[0]);
  } catch (const std::exception& e) {
    Napi::TypeError::New(env, e.what()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  bool late = false;
  try {
    if (info.Length() > 1 && info[1].IsObject()) late = get_bool(info[1].As<Napi::Object>(), "lateMasks", false);
  } catch (const std::exception& e) {
    Napi::TypeError::New(env, e.what()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto outs = std::make_shared<std::vector<StepOutput>>();
  if (!late) {
    return Enqueue(
        env, [this, items, outs] { *outs = engine_->step(*items); },
        [items, outs](Napi::Env e) { return from_step_outputs(e, *outs, *items); });
  }
  auto slot = std::make_shared<LateMasks>();
  Napi::Value promise = Enqueue(
      env,
      [this, items, outs, slot] {
        bool waited = false;
        *outs = engine_->step(*items, [this, slot, &waited](size_t i) -> const uint32_t* {
          if (!waited) {
            std::unique_lock<std::mutex> lock(mutex_);
            cv_.wait(lock, [&] { return slot->ready || slot->abandoned || stopping_; });
            waited = true;
          }
          if (!slot->ready) throw EngineError("the step's token masks were not supplied");
          if (i >= slot->masks.size() || slot->masks[i].empty()) return nullptr;
          return slot->masks[i].data();
        });
      },
      [items, outs](Napi::Env e) { return from_step_outputs(e, *outs, *items); });
  if (!closed_) late_.push_back(slot);
  return promise;
}

Napi::Value ModelWrap::SupplyMasks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (late_.empty()) {
    Napi::Error::New(env, "supplyMasks(): no step is waiting for masks").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::shared_ptr<LateMasks> slot = late_.front();
  late_.pop_front();
  // null (the caller failed to compute them) abandons the step: it fails instead of sampling.
  std::vector<std::vector<uint32_t>> masks;
  bool ok = info.Length() > 0 && info[0].IsArray();
  std::string error;
  if (ok) {
    Napi::Array a = info[0].As<Napi::Array>();
    const size_t words = static_cast<size_t>((n_vocab_ + 31) / 32);
    try {
      for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Value m = a.Get(i);
        masks.push_back(m.IsUndefined() || m.IsNull() ? std::vector<uint32_t>() : to_mask(m));
        if (!masks.back().empty() && masks.back().size() != words) type_error_words(masks.back().size(), words);
      }
    } catch (const std::exception& e) {
      ok = false;
      error = e.what();
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ok) {
      slot->masks = std::move(masks);
      slot->ready = true;
    } else {
      slot->abandoned = true;
    }
  }
  cv_.notify_all();
  if (!error.empty()) Napi::TypeError::New(env, error).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ModelWrap::KvStats(const Napi::CallbackInfo& info) {
  if (closed_) return info.Env().Null();
  return from_kv_stats(info.Env(), engine_->kv_stats());
}

// kvReservation(promptTokens, maxNewTokens, n) -> blocks: synchronous, it reads only the cache's
// fixed geometry (safe while a step runs on the engine thread, and after close).
Napi::Value ModelWrap::KvReservation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* names[3] = {"promptTokens", "maxNewTokens", "n"};
  const double lo[3] = {0, 0, 1};
  double v[3];
  for (int i = 0; i < 3; i++) {
    if (static_cast<int>(info.Length()) <= i || !info[static_cast<size_t>(i)].IsNumber()) {
      Napi::TypeError::New(env, std::string("kvReservation(promptTokens, maxNewTokens, n): ") + names[i] + " must be a number")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    v[i] = info[static_cast<size_t>(i)].As<Napi::Number>().DoubleValue();
    if (!(v[i] >= lo[i] && v[i] <= 1e12) || v[i] != static_cast<double>(static_cast<int64_t>(v[i]))) {
      Napi::RangeError::New(env, std::string("kvReservation: ") + names[i] + " must be an integer >= " +
                                     std::to_string(static_cast<int>(lo[i])))
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  return Napi::Number::New(env, static_cast<double>(Engine::reservation_blocks(block_size_, static_cast<int64_t>(v[0]),
                                                                         static_cast<int64_t>(v[1]),
                                                                         static_cast<int64_t>(v[2]))));
}

Napi::Value ModelWrap::GearReport(const Napi::CallbackInfo& info) {
  if (closed_) return info.Env().Null();
  return from_gear_report(info.Env(), engine_->gear_report());
}

Napi::Value ModelWrap::Profile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return env.Null();
  ForwardProfile p = engine_->profile();
  Napi::Object o = Napi::Object::New(env);
  o.Set("enabled", p.enabled);
  o.Set("passes", static_cast<double>(p.passes));
  Napi::Object ms = Napi::Object::New(env);
  for (int i = 0; i < kProfStages; i++) ms.Set(kProfileStageNames[i], p.ns[i] / 1e6);
  o.Set("stageMs", ms);
  if (p.weight_prefetch.applies) {
    Napi::Object w = Napi::Object::New(env);
    w.Set("mode", p.weight_prefetch.mode);
    w.Set("on", p.weight_prefetch.on);
    w.Set("switches", static_cast<double>(p.weight_prefetch.switches));
    w.Set("trials", static_cast<double>(p.weight_prefetch.trials));
    o.Set("weightPrefetch", w);
  }
  return o;
}

Napi::Value ModelWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) {  // closing twice is harmless
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  // The engine is destroyed on its own thread; once that is done the thread and the thread-safe
  // function are released, so a closed model holds nothing.
  Napi::Value p = Enqueue(env, [this] { engine_.reset(); },
                          [this](Napi::Env e) {
                            StopThread();
                            return e.Undefined();
                          });
  closed_ = true;
  return p;
}

}  // namespace gb::addon
