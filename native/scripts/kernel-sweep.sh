#!/usr/bin/env bash
# Builds native/test/kernel_sweep.cc (kernels/*.cc + gguf/ggml_type.cc + common/error.cc, no addon)
# and runs it on every CPU it can:
#   native   this machine's compiler and CPU (x86-64: portable, AVX2, AVX-512 where present)
#   aarch64  Debian's cross compiler (g++-aarch64-linux-gnu), static, run under qemu-aarch64
#            (qemu-user): -cpu max (has the dot-product extension: neon-dotprod must be selected),
#            -cpu cortex-a53 (plain ARMv8-A: neon must be selected), and -cpu max with
#            GEARBOX_ISA=neon (forcing the plain set on a dotprod CPU; a shorter sweep).
# Usage: kernel-sweep.sh [native|aarch64|all]   (default all)
# Exit 0: every sweep passed; 1: a sweep failed; 3: a needed tool is missing (the message says which).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
FLAGS=(-std=gnu++17 -O2 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Isrc)
SRCS=(src/gguf/ggml_type.cc src/common/error.cc test/kernel_sweep.cc)
for f in src/kernels/*.cc; do
  case "$f" in
    */x86_*|*/attention_avx*) ;;
    *) SRCS+=("$f") ;;
  esac
done

# build CXX OUTFILE EXTRA_FLAGS... : one object per source (per-file ISA flags on x86), then a link.
build() {
  local cxx=$1 out=$2
  shift 2
  local objs=() arch
  arch=$("$cxx" -dumpmachine)
  for src in "${SRCS[@]}"; do
    local obj="$OUT/$arch-$(echo "$src" | tr '/' '_').o"
    "$cxx" "${FLAGS[@]}" "$@" -c "$src" -o "$obj"
    objs+=("$obj")
  done
  if [[ $arch == x86_64* ]]; then
    local avx2=(-DGB_BUILD_AVX2 -mavx2 -mfma -mf16c)
    local avx512=(-DGB_BUILD_AVX512 -Wno-maybe-uninitialized -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni
      -mavx512bf16 -mfma -mf16c)
    for src in src/kernels/x86_avx2.cc src/kernels/attention_avx2.cc; do
      "$cxx" "${FLAGS[@]}" "$@" "${avx2[@]}" -c "$src" -o "$OUT/$arch-$(basename "$src").o"
      objs+=("$OUT/$arch-$(basename "$src").o")
    done
    "$cxx" "${FLAGS[@]}" "$@" "${avx2[@]}" -DGB_AVX2_VNNI -mavxvnni -c src/kernels/x86_avx2.cc -o "$OUT/$arch-x86_avx2_vnni.o"
    objs+=("$OUT/$arch-x86_avx2_vnni.o")
    for src in src/kernels/x86_avx512.cc src/kernels/attention_avx512.cc; do
      "$cxx" "${FLAGS[@]}" "$@" "${avx512[@]}" -c "$src" -o "$OUT/$arch-$(basename "$src").o"
      objs+=("$OUT/$arch-$(basename "$src").o")
    done
  else
    for src in src/kernels/x86_*.cc src/kernels/attention_avx*.cc; do  # stubs off x86
      "$cxx" "${FLAGS[@]}" "$@" -c "$src" -o "$OUT/$arch-$(basename "$src").o"
      objs+=("$OUT/$arch-$(basename "$src").o")
    done
  fi
  "$cxx" "$@" -o "$out" "${objs[@]}"
}

status=0
run() {  # label, command...
  local label=$1
  shift
  local t0=$SECONDS
  echo "== $label"
  if "$@"; then echo "== $label: passed in $((SECONDS - t0)) s"; else echo "== $label: FAILED"; status=1; fi
}

if [[ $what == native || $what == all ]]; then
  CXX=${CXX:-g++}
  build "$CXX" "$OUT/sweep-native"
  expect=portable
  if [[ $(uname -m) == x86_64 ]]; then
    flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
    has() { [[ " $flags " == *" $1 "* ]]; }
    if has avx512f && has avx512bw && has avx512vl && has avx512dq && has avx512_vnni && has fma && has f16c; then
      if has avx512_bf16; then expect=avx512-vnni; else expect=avx512-vnni-nobf16; fi
    elif has avx2 && has fma && has f16c; then
      if has avx_vnni; then expect=avx2-vnni; else expect=avx2; fi
    fi
  fi
  run "native $(uname -m), expect $expect" env -u GEARBOX_ISA "$OUT/sweep-native" --expect "$expect"
  if [[ $expect != portable ]]; then
    run "native $(uname -m), GEARBOX_ISA=portable" env GEARBOX_ISA=portable "$OUT/sweep-native" --expect portable --quick
  fi
fi

if [[ $what == aarch64 || $what == all ]]; then
  XCXX=${CXX_AARCH64:-aarch64-linux-gnu-g++}
  QEMU=${QEMU_AARCH64:-qemu-aarch64}
  if ! command -v "$XCXX" >/dev/null 2>&1; then
    echo "kernel-sweep: $XCXX not found (apt-get install g++-aarch64-linux-gnu)" >&2
    exit 3
  fi
  if ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "kernel-sweep: $QEMU not found (apt-get install qemu-user)" >&2
    exit 3
  fi
  build "$XCXX" "$OUT/sweep-aarch64" -static
  run "aarch64 qemu -cpu max, expect neon-dotprod" env -u GEARBOX_ISA "$QEMU" -cpu max "$OUT/sweep-aarch64" --expect neon-dotprod
  run "aarch64 qemu -cpu cortex-a53, expect neon" env -u GEARBOX_ISA "$QEMU" -cpu cortex-a53 "$OUT/sweep-aarch64" --expect neon
  run "aarch64 qemu -cpu max, GEARBOX_ISA=neon" env GEARBOX_ISA=neon "$QEMU" -cpu max "$OUT/sweep-aarch64" --expect neon --quick
fi
if [[ $status -eq 0 ]]; then echo "kernel-sweep: all sweeps passed"; else echo "kernel-sweep: some sweeps FAILED"; fi
exit $status
