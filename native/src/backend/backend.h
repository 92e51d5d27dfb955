// The device seam, at the level of the forward pass. The engine (sequences, block tables, prefix
// cache, gears, sampling) is device-neutral and talks only to this interface; a backend owns
// everything that lives on its device:
//   - weight memory: the file's tensors uploaded (repacked, converted) once at load;
//   - KV storage: n blocks of `block_size` token slots per layer and KV head, and block copies
//     (copy-on-write of a shared partial block); which block belongs to whom is the engine's;
//   - plans: compile(gear) -> BackendPlan, a pass of at most the gear's tokens and sequences that
//     can run again and again (the CPU: an arena and tile choices; a graph device: a compiled
//     graph per gear), and execute(plan, batch) -> logits in host memory.
// The capability struct tells the engine what the device can do. Today's implementation is
// CpuBackend (backend/cpu/); docs/engine.md sketches AscendCL and CUDA backends against it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "backend/batch.h"
#include "backend/profile.h"
#include "gears/gear_key.h"
#include "kv/kv_geometry.h"

namespace gb {

class ModelFile;

struct BackendCaps {
  // Plans compute whole buckets whatever the real row count (graph devices compiled for static
  // shapes; the CPU only in its `padded` comparison mode). The engine counts the padding.
  bool static_shapes = false;
  // Compiled plans the device can keep at once (graph memory, stream count); 0: bounded by bytes only.
  int max_plans = 0;
  // Plans can be compiled on another thread while a plan executes.
  bool background_compile = true;
};

// Where a model runs, for the API and logs (not part of the device-neutral ModelInfo).
struct DeviceInfo {
  std::string backend;  // "cpu"
  std::string isa;      // the kernel set, e.g. "avx512-vnni"; a device name elsewhere
  int threads = 0;      // host compute threads
};

// What the uploaded weights cost and hold.
struct WeightsInfo {
  size_t bytes = 0;
  int64_t parameters = 0;
  std::map<std::string, int> tensor_types;  // ggml type name -> matrices stored in it
};

// The rows a plan is sized for: a gear's bucket of tokens and of logits rows.
struct PlanShape {
  int max_tokens;
  int max_outputs;
};

// One compiled gear. Backends derive their own (an arena, a graph handle); the engine reads these.
struct BackendPlan {
  GearKey key{Phase::Prefill, 0};
  int max_tokens = 0;
  int max_outputs = 0;
  bool padded = false;        // computes whole buckets
  size_t resident_bytes = 0;  // device memory the plan holds while cached
  double compile_ms = 0;      // layout and kernel choice (autotune excluded)
  double autotune_ms = 0;
  double warm_ms = 0;         // committing the plan's memory
  virtual ~BackendPlan() = default;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual const BackendCaps& caps() const = 0;
  virtual DeviceInfo device() const = 0;

  // ---- weights: validated against the file's config and uploaded once; the file may be closed after.
  // max_positions bounds every position a batch will carry (the context length).
  virtual void load_weights(const ModelFile& file, int64_t max_positions,
                            const std::function<void(double)>& progress) = 0;
  virtual WeightsInfo weights_info() const = 0;

  // ---- KV storage
  // Bytes one block of this geometry takes on the device (sizes the cache from its MiB budget).
  virtual int64_t kv_block_bytes(const KvGeometry& g) const = 0;
  // `commit_blocks`: blocks 0 .. commit_blocks - 1, the first ones the cache hands out, are made
  // resident now (the rest may be committed as they are first written), so that the first
  // requests after load pay no page faults.
  virtual void allocate_kv(const KvGeometry& g, int64_t n_blocks, int64_t commit_blocks) = 0;
  // Copies every layer's K and V of block src into dst.
  virtual void copy_kv_block(int src, int dst) = 0;

  // ---- plans
  // Compiles the plan of one gear (bucket -1: the generic plan, which must run any batch up to the
  // largest gear). `tune` allows slow searches (autotune); may run on the builder thread.
  virtual std::shared_ptr<BackendPlan> compile(const GearKey& key, const PlanShape& shape, bool tune) = 0;
  // Persists what makes the next compile of the same model faster (best effort), and what happened
  // to persisted results at load ("warm: ...", "cold: ...", "rebuilt: <why>", "none").
  virtual void persist_plans() = 0;
  virtual std::string plan_store_status() const = 0;

  // Runs one forward pass: writes the batch's K and V into their blocks and returns the logits of
  // every sequence with an output row (batch.n_outputs x n_vocab floats, host memory), valid until
  // the next execute. Called from one thread at a time.
  virtual const float* execute(const BackendPlan& plan, const ForwardBatch& batch) = 0;

  virtual ForwardProfile profile() const = 0;
};

// The device a model runs on and how; the engine picks the backend from `device`.
struct BackendOptions {
  std::string device = "cpu";
  std::string isa;             // cpu: "", "portable", "avx2", "avx512"
  int threads = 0;             // cpu: 0 = all cores
  std::string plan_cache_dir;  // empty: no persistence
  bool autotune = true;
  bool padded = false;         // cpu: emulate a static-shape device (for comparison only)
};

// Throws EngineError for an unknown device or options it cannot honour.
std::unique_ptr<Backend> make_backend(const BackendOptions& options);

}  // namespace gb
