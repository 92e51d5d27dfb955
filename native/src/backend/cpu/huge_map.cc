#include "backend/cpu/huge_map.h"

#include <sys/mman.h>
#include <unistd.h>

#include <utility>

#include "common/error.h"

namespace gb {

HugeMap::HugeMap(size_t bytes, bool lazy, const char* what) {
  if (bytes == 0) bytes = 1;
  if (bytes > SIZE_MAX - 2 * kHugePage) fail("%s: cannot allocate %zu bytes", what, bytes);
  const size_t size = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  // mmap returns page-aligned addresses, so 2 MiB less one page of slack always holds an aligned
  // start. (And a length that is not a multiple of 2 MiB is one that recent kernels leave where it
  // falls, so this code places it on every kernel, the same way.)
  const long page_size = sysconf(_SC_PAGESIZE);
  const size_t page = page_size > 0 && static_cast<size_t>(page_size) < kHugePage ? static_cast<size_t>(page_size) : 0;
  const size_t mapped = size + kHugePage - page;
  void* mem = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (lazy ? MAP_NORESERVE : 0),
                   -1, 0);
  if (mem == MAP_FAILED) fail("%s: cannot allocate %zu bytes", what, size);
  const uintptr_t lo = reinterpret_cast<uintptr_t>(mem);
  const uintptr_t start = (lo + kHugePage - 1) & ~uintptr_t{kHugePage - 1};
  // Give back the slack on both sides (page-aligned, since mmap's result and `start` are).
  if (start > lo) munmap(mem, start - lo);
  if (lo + mapped > start + size) munmap(reinterpret_cast<void*>(start + size), lo + mapped - (start + size));
#ifdef MADV_HUGEPAGE
  madvise(reinterpret_cast<void*>(start), size, MADV_HUGEPAGE);  // advice only: fine to fail
#endif
  data_ = reinterpret_cast<uint8_t*>(start);
  size_ = size;
}

HugeMap::~HugeMap() {
  if (data_) munmap(data_, size_);
}

HugeMap::HugeMap(HugeMap&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

HugeMap& HugeMap::operator=(HugeMap&& o) noexcept {
  if (this != &o) {
    if (data_) munmap(data_, size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

}  // namespace gb
