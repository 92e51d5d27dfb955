#include <cstdlib>
#include <cstring>
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include "kernels/kernels.h"

namespace gb {
namespace {

// AVX-512 with VNNI (Cascade Lake, Ice Lake, Sapphire Rapids, Zen 4 and later). BF16 is a separate
// question: Cascade Lake and Ice Lake lack it and still get every other AVX-512 kernel.
bool cpu_has_avx512_vnni() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

bool cpu_has_avx512_bf16() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

bool cpu_has_avx2_set() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

// AVX-VNNI: the VEX-coded 256-bit vpdpbusd (Alder Lake and later, Sierra Forest, Zen 5).
bool cpu_has_avx_vnni() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return cpu_has_avx2_set() && __builtin_cpu_supports("avxvnni");
#else
  return false;
#endif
}

bool cpu_has_dotprod() {
#if defined(__aarch64__) && defined(__linux__)
  return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
  return false;
#endif
}

}  // namespace

int available_kernel_sets(const KernelSet** out, int cap) {
  int n = 0;
  if (n < cap) out[n++] = kernels_portable();
  if (n < cap && cpu_has_avx2_set() && kernels_avx2()) out[n++] = kernels_avx2();
  if (n < cap && cpu_has_avx_vnni() && kernels_avx2_vnni()) out[n++] = kernels_avx2_vnni();
  // Both AVX-512 tables where the CPU has BF16, so the kernel tests check the one without it too.
  if (n < cap && cpu_has_avx512_vnni() && kernels_avx512_nobf16()) out[n++] = kernels_avx512_nobf16();
  if (n < cap && cpu_has_avx512_vnni() && cpu_has_avx512_bf16() && kernels_avx512()) out[n++] = kernels_avx512();
  if (n < cap && kernels_neon()) out[n++] = kernels_neon();  // Advanced SIMD is part of ARMv8-A
  if (n < cap && cpu_has_dotprod() && kernels_neon_dotprod()) out[n++] = kernels_neon_dotprod();
  return n;
}

const KernelSet* kernels_by_name(const char* name) {
  const KernelSet* sets[8];
  int n = available_kernel_sets(sets, 8);
  // Best first, so "avx512" means the best AVX-512 table this CPU runs.
  for (int i = n - 1; i >= 0; i--)
    if (std::strcmp(sets[i]->name, name) == 0 ||
        (std::strcmp(name, "avx512") == 0 && std::strncmp(sets[i]->name, "avx512", 6) == 0))
      return sets[i];
  return nullptr;
}

const KernelSet& kernels() {
  static const KernelSet* chosen = [] {
    const char* forced = std::getenv("GEARBOX_ISA");
    if (forced && *forced) {
      if (const KernelSet* k = kernels_by_name(forced)) return k;
    }
    const KernelSet* sets[8];
    int n = available_kernel_sets(sets, 8);
    return sets[n - 1];
  }();
  return *chosen;
}

}  // namespace gb
