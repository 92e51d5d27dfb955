#include "model/model.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "gguf/gguf.h"
#include "threads/pool.h"

namespace gb {
namespace {

// Read-only private mapping of a whole file, unmapped on scope exit.
class FileMap {
 public:
  explicit FileMap(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open model file '%s': %s", path.c_str(), std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      fail("model path '%s' is not a regular file", path.c_str());
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ < 24) {
      ::close(fd);
      fail("GGUF: file '%s' is too small (%zu bytes) to be a GGUF file", path.c_str(), size_);
    }
    void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) fail("cannot map model file '%s': %s", path.c_str(), std::strerror(errno));
    data_ = static_cast<const uint8_t*>(p);
  }
  ~FileMap() { munmap(const_cast<uint8_t*>(data_), size_); }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

uint64_t fnv(uint64_t h, const void* p, size_t n) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path, int64_t max_positions, const KernelSet& kernels,
                                   ThreadPool& pool, const std::function<void(double)>& progress) {
  FileMap map(path);
  GgufFile file(map.data(), map.size());
  auto m = std::make_unique<Model>();
  m->path = path;
  m->file_bytes = map.size();
  m->config = LlamaConfig::from_gguf(file);
  m->kernels = &kernels;
  m->weights = std::make_unique<Weights>(file, m->config, kernels, pool, progress);
  const LlamaConfig& c = m->config;

  uint64_t h = 1469598103934665603ull;
  const int64_t dims[] = {c.n_vocab, c.n_embd, c.n_layer, c.n_head, c.n_head_kv, c.head_dim, c.n_ff};
  h = fnv(h, dims, sizeof(dims));
  for (const GgufTensorInfo& t : file.tensors()) {
    h = fnv(h, t.name.data(), t.name.size());
    h = fnv(h, &t.type, sizeof(t.type));
    h = fnv(h, t.ne, sizeof(t.ne));
  }
  m->shape_hash = h;

  // ---- RoPE table, computed exactly as ggml_rope_cache_init (iterated theta scale, float math)
  m->max_positions = max_positions;
  const int64_t half = c.head_dim / 2;
  m->rope_cos.resize(static_cast<size_t>(max_positions * half));
  m->rope_sin.resize(static_cast<size_t>(max_positions * half));
  const float theta_scale = std::pow(c.rope_theta, -2.0f / static_cast<float>(c.head_dim));
  const float* ff = m->weights->rope_freqs;
  for (int64_t p = 0; p < max_positions; p++) {
    float theta = static_cast<float>(p);
    for (int64_t i = 0; i < half; i++) {
      const float f = ff ? ff[i] : 1.0f;
      const float t = c.rope_freq_scale * (theta / f);
      m->rope_cos[static_cast<size_t>(p * half + i)] = std::cos(t);
      m->rope_sin[static_cast<size_t>(p * half + i)] = std::sin(t);
      theta *= theta_scale;
    }
  }
  return m;
}

}  // namespace gb
