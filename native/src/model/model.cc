#include "model/model.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "gguf/gguf.h"

namespace gb {
namespace {

uint64_t fnv(uint64_t h, const void* p, size_t n) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

ModelFile::ModelFile(const std::string& path) {
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
  try {
    gguf_ = std::make_unique<GgufFile>(data_, size_);
    model_.path = path;
    model_.file_bytes = size_;
    model_.config = LlamaConfig::from_gguf(*gguf_);
  } catch (...) {
    munmap(const_cast<uint8_t*>(data_), size_);
    throw;
  }
  const LlamaConfig& c = model_.config;
  uint64_t h = 1469598103934665603ull;
  const int64_t dims[] = {c.n_vocab, c.n_embd, c.n_layer, c.n_head, c.n_head_kv, c.head_dim, c.n_ff};
  h = fnv(h, dims, sizeof(dims));
  for (const GgufTensorInfo& t : gguf_->tensors()) {
    h = fnv(h, t.name.data(), t.name.size());
    h = fnv(h, &t.type, sizeof(t.type));
    h = fnv(h, t.ne, sizeof(t.ne));
  }
  model_.shape_hash = h;
}

ModelFile::~ModelFile() {
  gguf_.reset();
  munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace gb
