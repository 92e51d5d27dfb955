#include "backend/cpu/plan_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace gb {
namespace {

// 3: only tile choices are stored (v2 also stored plan layout sizes, which were checked but unused).
constexpr int kStoreVersion = 3;

uint64_t fnv64(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
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

}  // namespace

PlanStore::PlanStore(std::string dir, uint64_t shape_hash, std::string kernels, int threads) : dir_(std::move(dir)) {
  if (dir_.empty()) return;
  char name[160];
  std::snprintf(name, sizeof(name), "/%016llx-%s-t%d-v%d.gears", static_cast<unsigned long long>(shape_hash),
                kernels.c_str(), threads, kStoreVersion);
  path_ = dir_ + name;
  std::ostringstream h;
  h << "model " << std::hex << shape_hash << std::dec << " " << kernels << " " << threads;
  header_ = h.str();
}

TileTuner::Choices PlanStore::load(std::string* status) const {
  TileTuner::Choices tiles;
  if (path_.empty()) {
    *status = "none";
    return tiles;
  }
  std::ifstream in(path_);
  if (!in) {
    *status = "cold: no persisted plans";
    return tiles;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  auto reject = [&](const std::string& why) {
    *status = "rebuilt: " + why;
    std::remove(path_.c_str());
    return TileTuner::Choices{};
  };
  const size_t cpos = text.rfind("checksum ");
  if (cpos == std::string::npos) return reject("no checksum");
  const std::string body = text.substr(0, cpos);
  char expect[32];
  std::snprintf(expect, sizeof(expect), "%016llx", static_cast<unsigned long long>(fnv64(body)));
  if (text.compare(cpos + 9, 16, expect) != 0) return reject("checksum mismatch (corrupt file)");
  std::istringstream lines(body);
  std::string line;
  if (!std::getline(lines, line) || line != "gearbox-gears " + std::to_string(kStoreVersion)) return reject("stale version");
  while (std::getline(lines, line)) {
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "tile") {
      std::string fmt;
      int64_t N, K, M;
      int mr, nc;
      if (!(ls >> fmt >> N >> K >> M >> mr >> nc) || mr < 1 || mr > 64 || nc < 1 || nc > 16) return reject("bad tile line");
      tiles[fmt + " " + std::to_string(N) + " " + std::to_string(K) + " " + std::to_string(M)] = {mr, nc};
    } else if (tag == "model") {
      if (line != header_) return reject("written for another model or kernel set");
    } else if (!tag.empty()) {
      return reject("unknown line");
    }
  }
  *status = "warm: " + std::to_string(tiles.size()) + " tuned kernels";
  return tiles;
}

void PlanStore::save(const TileTuner::Choices& choices) const {
  if (path_.empty()) return;
  std::ostringstream os;
  os << "gearbox-gears " << kStoreVersion << "\n" << header_ << "\n";
  for (const auto& [k, t] : choices) os << "tile " << k << " " << t.mr << " " << t.nc << "\n";
  const std::string body = os.str();
  char sum[40];
  std::snprintf(sum, sizeof(sum), "checksum %016llx\n", static_cast<unsigned long long>(fnv64(body)));
  mkdirs(dir_);
  const std::string tmp = path_ + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return;
    out << body << sum;
    if (!out) return;
  }
  std::rename(tmp.c_str(), path_.c_str());
}

}  // namespace gb
