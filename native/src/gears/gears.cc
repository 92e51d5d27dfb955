#include "gears/gears.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "common/error.h"
#include "forward/forward.h"
#include "kernels/act.h"
#include "model/model.h"

namespace gb {
namespace {

constexpr int kPlanVersion = 2;  // 2: AVX2 tiles are real (MR x NC), grouped attention scratch

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

uint64_t fnv64(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

const Matrix& matrix_of(const Model& m, int kind) {
  const LayerWeights& L = m.weights->layers[0];
  switch (kind) {
    case kMatQ: return L.wq;
    case kMatK: return L.wk;
    case kMatV: return L.wv;
    case kMatO: return L.wo;
    case kMatGate: return L.w_gate;
    case kMatUp: return L.w_up;
    case kMatDown: return L.w_down;
    default: return m.weights->output;
  }
}

std::string tune_key(const Matrix& w, int64_t M) {
  return std::string(weight_format_name(w.format)) + " " + std::to_string(w.rows) + " " + std::to_string(w.cols) +
         " " + std::to_string(M);
}

void mkdirs(const std::string& dir) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); i++) {
    if (i == dir.size() || dir[i] == '/') {
      if (!cur.empty()) ::mkdir(cur.c_str(), 0755);
    }
    if (i < dir.size()) cur += dir[i];
  }
}

const char* phase_name(Phase p) { return p == Phase::Prefill ? "prefill" : "decode"; }

}  // namespace

Plan::~Plan() {
  if (arena) munmap(arena, arena_bytes);
}

GearManager::GearManager(const Model& model, const GearConfig& config, int threads)
    : model_(model), config_(config), threads_(threads) {
  auto clean = [](std::vector<int>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    v.erase(std::remove_if(v.begin(), v.end(), [](int x) { return x < 1 || x > 65536; }), v.end());
  };
  clean(config_.prefill);
  clean(config_.decode);
  if (config_.prefill.empty()) config_.prefill = {512};
  if (config_.decode.empty()) config_.decode = {1};
  for (int b : config_.prefill) entries_[{0, b}] = Entry{{Phase::Prefill, b}, nullptr, {{Phase::Prefill, b}, "cold"}, 0};
  for (int b : config_.decode) entries_[{1, b}] = Entry{{Phase::Decode, b}, nullptr, {{Phase::Decode, b}, "cold"}, 0};
  load_cache();
  // The generic plan: the largest shapes, default micro-kernels, built now (no autotune).
  generic_ = build({Phase::Prefill, -1}, false);
  builder_ = std::thread([this] { builder_loop(); });
}

GearManager::~GearManager() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (builder_.joinable()) builder_.join();
}

GearKey GearManager::key_for(int tokens, int seqs, bool decode) const {
  if (decode) {
    for (int b : config_.decode)
      if (b >= seqs) return {Phase::Decode, b};
  }
  for (int b : config_.prefill)
    if (b >= tokens) return {Phase::Prefill, b};
  return {Phase::Prefill, -1};
}

TileShape GearManager::tune(int kind, int64_t M) {
  const Matrix& w = matrix_of(model_, kind);
  const KernelSet& K = *model_.kernels;
  TileShape cands[16];
  int n = K.tile_variants(w.format, M, cands, 16);
  if (n <= 1) return n == 1 ? cands[0] : TileShape{1, 1};
  // Time each variant on a slice of the real weights (single thread: this may run beside steps).
  const int64_t rows = std::min<int64_t>(w.rows, 1024);
  std::vector<float> x(static_cast<size_t>(M * w.cols));
  std::mt19937 rng(1234);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (float& f : x) f = dist(rng);
  ActFormat af = act_format_for(w.format);
  std::vector<uint8_t> act(act_bytes(af, M, w.cols) + 64);
  K.convert_act(af, x.data(), w.cols, 0, M, M, w.cols, act.data());
  std::vector<float> y(static_cast<size_t>(M * w.rows));
  Matrix slice = w;
  slice.rows = rows;
  double best = 1e300;
  TileShape best_tile = cands[0];
  for (int i = 0; i < n; i++) {
    double t_min = 1e300;
    for (int rep = 0; rep < 3; rep++) {
      double t0 = now_ms();
      K.matmul(slice, act.data(), M, y.data(), w.rows, 0, rows, cands[i]);
      t_min = std::min(t_min, now_ms() - t0);
    }
    if (t_min < best * 0.98) {  // a variant must win clearly to replace the default
      best = t_min;
      best_tile = cands[i];
    }
  }
  return best_tile;
}

std::shared_ptr<Plan> GearManager::build(const GearKey& key, bool allow_autotune) {
  const double t0 = now_ms();
  auto plan = std::make_shared<Plan>();
  plan->key = key;
  const int max_tokens = key.bucket < 0 ? std::max(config_.prefill.back(), config_.decode.back()) : key.bucket;
  plan->max_tokens = max_tokens;
  plan->max_outputs = std::min(max_tokens, config_.decode.back());
  plan->padded = config_.padded && key.bucket > 0;
  plan->layout = plan_layout(model_, plan->max_tokens, plan->max_outputs, threads_);
  double tune_ms = 0;
  for (int kind = 0; kind < kMatKinds; kind++) {
    const Matrix& w = matrix_of(model_, kind);
    const int64_t M = kind == kMatOutput ? plan->max_outputs : plan->max_tokens;
    const std::string tk = tune_key(w, M);
    TileShape tile;
    bool found = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = tuned_.find(tk);
      if (it != tuned_.end()) {
        tile = it->second;
        found = true;
      }
    }
    if (!found) {
      if (allow_autotune && config_.autotune && key.bucket > 0) {
        const double a0 = now_ms();
        tile = tune(kind, M);
        tune_ms += now_ms() - a0;
        std::lock_guard<std::mutex> lock(mutex_);
        tuned_[tk] = tile;
        dirty_ = true;
      } else {
        TileShape c[16];
        int n = model_.kernels->tile_variants(w.format, M, c, 16);
        tile = n > 0 ? c[0] : TileShape{1, 1};
      }
    }
    plan->tiles[kind] = tile;
  }
  plan->autotune_ms = tune_ms;
  plan->compile_ms = now_ms() - t0 - tune_ms;
  // The arena: every activation buffer of the plan, committed and touched now, not on a request.
  const double w0 = now_ms();
  plan->arena_bytes = (plan->layout.total + (size_t{2} << 20) - 1) & ~((size_t{2} << 20) - 1);
  void* mem = mmap(nullptr, plan->arena_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) fail("gears: cannot allocate a %zu-byte arena", plan->arena_bytes);
#ifdef MADV_HUGEPAGE
  madvise(mem, plan->arena_bytes, MADV_HUGEPAGE);
#endif
  plan->arena = static_cast<uint8_t*>(mem);
  std::memset(plan->arena, 0, plan->arena_bytes);
  plan->warm_ms = now_ms() - w0;
  return plan;
}

void GearManager::warm_up(const std::function<void(double, const std::string&)>& progress) {
  const double t0 = now_ms();
  std::vector<GearKey> keys;
  for (int b : config_.prefill) keys.push_back({Phase::Prefill, b});
  for (int b : config_.decode) keys.push_back({Phase::Decode, b});
  if (config_.warm_all) {
    for (size_t i = 0; i < keys.size(); i++) {
      const GearKey& k = keys[i];
      if (progress)
        progress(static_cast<double>(i) / keys.size(), std::string("gear ") + phase_name(k.phase) + " " + std::to_string(k.bucket));
      auto plan = build(k, true);
      std::lock_guard<std::mutex> lock(mutex_);
      install_locked(k, std::move(plan));
    }
  }
  if (progress) progress(1.0, "gears ready");
  warmup_ms_ = now_ms() - t0;
  save_cache();
}

std::shared_ptr<const Plan> GearManager::acquire(int tokens, int seqs, bool decode) {
  const GearKey key = key_for(tokens, seqs, decode);
  std::lock_guard<std::mutex> lock(mutex_);
  (decode ? observed_decode_ : observed_prefill_)[decode ? seqs : tokens]++;
  auto it = entries_.find({static_cast<int>(key.phase), key.bucket});
  if (it != entries_.end()) {
    Entry& e = it->second;
    e.stat.real_tokens += tokens;
    if (e.plan) {
      e.stat.hits++;
      e.last_use = ++clock_;
      if (e.plan->padded) e.stat.padded_tokens += e.plan->max_tokens - tokens;
      return e.plan;
    }
    e.stat.misses++;
    if (e.stat.state != "building") {
      e.stat.state = "building";
      queue_.push_back(key);
      queue_cv_.notify_one();
    }
  }
  fallbacks_++;
  return generic_;
}

void GearManager::builder_loop() {
  for (;;) {
    GearKey key;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      queue_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      key = queue_.front();
      queue_.pop_front();
    }
    std::shared_ptr<Plan> plan;
    try {
      plan = build(key, true);
    } catch (const std::exception&) {
      std::lock_guard<std::mutex> lock(mutex_);
      entries_[{static_cast<int>(key.phase), key.bucket}].stat.state = "cold";
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      install_locked(key, std::move(plan));
    }
    save_cache();
  }
}

void GearManager::install_locked(const GearKey& key, std::shared_ptr<Plan> plan) {
  Entry& e = entries_[{static_cast<int>(key.phase), key.bucket}];
  e.stat.compile_ms = plan->compile_ms;
  e.stat.autotune_ms = plan->autotune_ms;
  e.stat.warm_ms = plan->warm_ms;
  e.stat.resident_bytes = plan->arena_bytes;
  e.stat.state = "ready";
  resident_ += plan->arena_bytes;
  e.plan = std::move(plan);
  e.last_use = ++clock_;
  evict_locked();
}

void GearManager::evict_locked() {
  while (resident_ > config_.max_resident_bytes) {
    Entry* victim = nullptr;
    for (auto& [k, e] : entries_)
      if (e.plan && (!victim || e.last_use < victim->last_use)) victim = &e;
    if (!victim) return;
    resident_ -= victim->plan->arena_bytes;
    victim->plan.reset();  // a step still holding it keeps it alive until done
    victim->stat.state = "evicted";
    victim->stat.resident_bytes = 0;
    victim->stat.evictions++;
  }
}

GearReport GearManager::report() const {
  std::lock_guard<std::mutex> lock(mutex_);
  GearReport r;
  for (const auto& [k, e] : entries_) r.gears.push_back(e.stat);
  r.fallbacks = fallbacks_;
  r.observed_prefill = observed_prefill_;
  r.observed_decode = observed_decode_;
  r.cache_status = cache_status_;
  r.warmup_ms = warmup_ms_;
  return r;
}

// ---- persistence ---------------------------------------------------------------------------
// One text file per (model shapes, ISA, threads, plan version): the autotune results and the
// layout size of each compiled gear, closed by a checksum line. A file that fails any check is
// reported and rebuilt, never trusted.

std::string GearManager::cache_path() const {
  if (config_.cache_dir.empty()) return "";
  char name[160];
  std::snprintf(name, sizeof(name), "/%016llx-%s-t%d-v%d.gears", static_cast<unsigned long long>(model_.shape_hash),
                model_.kernels->name, threads_, kPlanVersion);
  return config_.cache_dir + name;
}

void GearManager::load_cache() {
  const std::string path = cache_path();
  if (path.empty()) return;
  std::ifstream in(path);
  if (!in) {
    cache_status_ = "cold: no persisted plans";
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  auto reject = [&](const std::string& why) {
    cache_status_ = "rebuilt: " + why;
    tuned_.clear();
    std::remove(path.c_str());
  };
  const size_t cpos = text.rfind("checksum ");
  if (cpos == std::string::npos) return reject("no checksum");
  const std::string body = text.substr(0, cpos);
  char expect[32];
  std::snprintf(expect, sizeof(expect), "%016llx", static_cast<unsigned long long>(fnv64(body)));
  if (text.compare(cpos + 9, 16, expect) != 0) return reject("checksum mismatch (corrupt file)");
  std::istringstream lines(body);
  std::string line;
  int n_plans = 0;
  if (!std::getline(lines, line) || line != "gearbox-gears " + std::to_string(kPlanVersion)) return reject("stale version");
  while (std::getline(lines, line)) {
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "tile") {
      std::string fmt;
      int64_t N, K, M;
      int mr, nc;
      if (!(ls >> fmt >> N >> K >> M >> mr >> nc) || mr < 1 || mr > 64 || nc < 1 || nc > 16) return reject("bad tile line");
      tuned_[fmt + " " + std::to_string(N) + " " + std::to_string(K) + " " + std::to_string(M)] = {mr, nc};
    } else if (tag == "plan") {
      std::string phase;
      int bucket, outputs;
      size_t total;
      if (!(ls >> phase >> bucket >> outputs >> total)) return reject("bad plan line");
      ArenaLayout a = plan_layout(model_, bucket, outputs, threads_);
      if (a.total != total) return reject("plan layout differs (stale)");
      n_plans++;
    } else if (!tag.empty() && tag != "model") {
      return reject("unknown line");
    }
  }
  cache_status_ = "warm: " + std::to_string(tuned_.size()) + " tuned kernels, " + std::to_string(n_plans) + " plans";
}

void GearManager::save_cache() {
  const std::string path = cache_path();
  if (path.empty()) return;
  std::string body;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::ostringstream os;
    os << "gearbox-gears " << kPlanVersion << "\n";
    os << "model " << std::hex << model_.shape_hash << std::dec << " " << model_.kernels->name << " " << threads_ << "\n";
    for (const auto& [k, t] : tuned_) os << "tile " << k << " " << t.mr << " " << t.nc << "\n";
    for (const auto& [k, e] : entries_)
      if (e.plan)
        os << "plan " << phase_name(e.key.phase) << " " << e.plan->max_tokens << " " << e.plan->max_outputs << " "
           << e.plan->layout.total << "\n";
    body = os.str();
    dirty_ = false;
  }
  char sum[40];
  std::snprintf(sum, sizeof(sum), "checksum %016llx\n", static_cast<unsigned long long>(fnv64(body)));
  mkdirs(config_.cache_dir);
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return;  // persistence is best effort: a read-only cache dir only costs warm restarts
    out << body << sum;
    if (!out) return;
  }
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace gb
