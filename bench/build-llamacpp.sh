#!/usr/bin/env bash
# Builds llama.cpp's own llama-bench and llama-batched-bench from the llama.cpp source that
# node-llama-cpp ships (a git bundle inside the package), for one instruction set, so the anchors of
# bench/engine.ts can be re-measured on any machine with one command and no network:
#
#   bash bench/build-llamacpp.sh [--isa avx2|avx2-vnni|avx512|native|portable] [--jobs N]
#
# Binaries land in .cache/llama.cpp/build-<isa>/bin/. `avx2` is llama.cpp's "haswell" level
# (AVX2 + FMA + F16C, no AVX-512) whatever the CPU has, so the AVX2 paths of both engines can be
# compared on an AVX-512 machine too. `avx2-vnni` adds AVX-VNNI (GGML_AVX_VNNI), the anchor for
# gearbox's avx2-vnni kernel set.
set -euo pipefail
cd "$(dirname "$0")/.."
isa=native
jobs=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --isa) isa="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    *) echo "usage: bash bench/build-llamacpp.sh [--isa avx2|avx2-vnni|avx512|native|portable] [--jobs N]" >&2; exit 2 ;;
  esac
done
bundle=node_modules/node-llama-cpp/llama/gitRelease.bundle
[ -f "$bundle" ] || { echo "no $bundle: run npm ci first" >&2; exit 1; }
command -v cmake >/dev/null || { echo "cmake is needed (apt-get install cmake)" >&2; exit 1; }
src=.cache/llama.cpp/src
if [ ! -d "$src/.git" ]; then
  mkdir -p .cache/llama.cpp
  git -c advice.detachedHead=false clone -q "$bundle" "$src"
fi
case "$isa" in
  native) flags=(-DGGML_NATIVE=ON) ;;
  avx2) flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF) ;;
  avx2-vnni) flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_AVX_VNNI=ON -DGGML_FMA=ON -DGGML_F16C=ON
    -DGGML_BMI2=ON -DGGML_AVX512=OFF) ;;
  avx512) flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
    -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX512_VBMI=ON) ;;
  portable) flags=(-DGGML_NATIVE=OFF -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF) ;;
  *) echo "unknown --isa $isa" >&2; exit 2 ;;
esac
build=.cache/llama.cpp/build-$isa
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_OPENMP=ON "${flags[@]}" >/dev/null
cmake --build "$build" --config Release -j "$jobs" --target llama-bench llama-batched-bench >/dev/null
echo "$build/bin/llama-bench"
echo "$build/bin/llama-batched-bench"
