#!/usr/bin/env bash
# Compiles every engine source for aarch64 with Debian's cross compiler (g++-aarch64-linux-gnu),
# the way node-gyp builds them there (no x86 kernel flags: those files reduce to stubs).
# Exit 0: all compiled; 1: a compile error; 3: no cross compiler on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${CXX_AARCH64:-aarch64-linux-gnu-g++}
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "check-aarch64: $CXX not found (apt-get install g++-aarch64-linux-gnu)" >&2
  exit 3
fi
NODE_INCLUDE=$(node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
[ -f "$NODE_INCLUDE/node_api.h" ] || NODE_INCLUDE=/usr/include/node
NAPI_INCLUDE=$(node -p "require('node-addon-api').include_dir")
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
status=0
for src in $(find src -name '*.cc' | sort); do
  obj="$OUT/$(echo "$src" | tr '/' '_').o"
  if ! "$CXX" -std=gnu++17 -O2 -fPIC -fexceptions -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
      -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_ENABLE_TYPE_CHECK_ON_AS \
      -I"$NODE_INCLUDE" -I"$NAPI_INCLUDE" -Isrc -c "$src" -o "$obj"; then
    echo "check-aarch64: $src failed" >&2
    status=1
  fi
done
if [ $status -eq 0 ]; then
  # Link the objects into a shared object too: catches missing symbols on that architecture.
  "$CXX" -shared -o "$OUT/gearbox.node" "$OUT"/*.o -lpthread
  echo "check-aarch64: all $(find src -name '*.cc' | wc -l) sources compile and link for aarch64"
fi
exit $status
