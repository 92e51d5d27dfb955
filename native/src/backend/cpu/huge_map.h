// Anonymous memory for the CPU backend's large buffers (weights, gear arenas, the KV cache): one
// private mapping that starts on a 2 MiB boundary and is advised for transparent huge pages.
//
// The kernel backs only 2 MiB-aligned 2 MiB ranges of a THP-enabled mapping with huge pages. Only
// recent kernels (6.7 on) place large anonymous mappings on such a boundary themselves; on older
// ones, as the 4.19-5.10 kernels of many server distributions (Ascend hosts' openEuler among them),
// a mapping starts wherever it falls and its first and last partial 2 MiB stay on 4 KiB pages: for
// a gear arena of a few MiB that can be most of it. So the mapping is made up to 2 MiB larger, and
// the unaligned head and the tail past the buffer are unmapped again.
#pragma once
#include <cstddef>
#include <cstdint>

namespace gb {

class HugeMap {
 public:
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugeMap() = default;
  // Maps `bytes` rounded up to 2 MiB. `lazy`: reserve without committing swap or memory up front
  // (MAP_NORESERVE), for a budget that fills as it is used. Throws a gb::Error naming `what`.
  HugeMap(size_t bytes, bool lazy, const char* what);
  ~HugeMap();
  HugeMap(HugeMap&& o) noexcept;
  HugeMap& operator=(HugeMap&& o) noexcept;
  HugeMap(const HugeMap&) = delete;
  HugeMap& operator=(const HugeMap&) = delete;

  uint8_t* data() const { return data_; }
  // The usable bytes: the requested size rounded up to 2 MiB.
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace gb
