// aarch64 NEON attention (to be written).
#include "kernels/attention.h"
namespace gb {
const AttentionKernels* attention_neon() { return nullptr; }
}  // namespace gb
