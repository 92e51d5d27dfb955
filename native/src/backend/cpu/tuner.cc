#include "backend/cpu/tuner.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "kernels/act.h"

namespace gb {
namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string TileTuner::key(const Matrix& w, int64_t M) {
  return std::string(weight_format_name(w.format)) + " " + std::to_string(w.rows) + " " + std::to_string(w.cols) +
         " " + std::to_string(M);
}

TileShape TileTuner::choose(const Matrix& w, int64_t M, bool tune, double* tune_ms) {
  const std::string k = key(w, M);
  TileShape c[16];
  const int n = kernels_.tile_variants(w.format, M, c, 16);
  {
    // A choice restored from a file written by an older build may be a tile this build no longer
    // offers (decode's 1 x 2 before kDecodeTile): it is dropped and chosen again, so an upgrade
    // takes effect without deleting the plan cache.
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = tuned_.find(k);
    if (it != tuned_.end()) {
      for (int i = 0; i < n; i++)
        if (c[i].mr == it->second.mr && c[i].nc == it->second.nc) return it->second;
      tuned_.erase(it);
      generation_++;
    }
  }
  if (!tune) return n > 0 ? c[0] : TileShape{1, 1};
  const double t0 = now_ms();
  const TileShape tile = time_variants(w, M);
  if (tune_ms) *tune_ms += now_ms() - t0;
  std::lock_guard<std::mutex> lock(mutex_);
  tuned_[k] = tile;
  generation_++;
  return tile;
}

TileShape TileTuner::time_variants(const Matrix& w, int64_t M) const {
  const KernelSet& K = kernels_;
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

TileTuner::Choices TileTuner::choices() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return tuned_;
}

void TileTuner::restore(Choices choices) {
  std::lock_guard<std::mutex> lock(mutex_);
  tuned_ = std::move(choices);
}

uint64_t TileTuner::generation() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return generation_;
}

}  // namespace gb
