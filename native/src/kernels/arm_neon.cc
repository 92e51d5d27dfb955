// aarch64 NEON kernels (to be written): plain NEON and the dot-product extension (SDOT), chosen at
// run time with getauxval(AT_HWCAP). Elsewhere the sets do not exist.
#include "kernels/kernels.h"
namespace gb {
const KernelSet* kernels_neon() { return nullptr; }
const KernelSet* kernels_neon_dotprod() { return nullptr; }
}  // namespace gb
