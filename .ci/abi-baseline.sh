#!/usr/bin/env bash
# Writes the ABI of libsse.so as libabigail XML: by default the committed
# baseline lib/abi/libsse.so.<major>.abi (major from include/sse/common.h),
# which .ci/check-15-abi.sh compares the library against with abidiff.
#
#   bash .ci/abi-baseline.sh            regenerate the baseline, then commit it
#   bash .ci/abi-baseline.sh --out F    write the current ABI to F instead
#
# Regenerate it when a release line starts (a new major version) and when
# the public headers of an unreleased version change on purpose; never to
# silence the check for a released version.
#
# The library is built with debug information (Debug, -g) and only the types
# of the public headers under include/ count: a type the headers only
# declare (sse_decoder, sse_stream, ...) stays opaque, so its private layout
# is not part of the ABI. Source paths are mapped to "." and no locations or
# compilation directories are written: the XML does not depend on where the
# tree is checked out or built, nor on line numbers in the headers.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
major=$(sed -n 's/^#define SSE_VERSION_MAJOR \([0-9]*\).*/\1/p' include/sse/common.h)
out=lib/abi/libsse.so.$major.abi
case ${1-} in
  --out) out=${2:?--out needs a file name} ;;
  "") ;;
  *) echo "usage: bash .ci/abi-baseline.sh [--out FILE]" >&2; exit 2 ;;
esac
sh .ci/deps abigail-tools
build=${SSE_ABI_BUILD_DIR:-build-abi-debug}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DBUILD_SHARED_LIBS=ON \
  -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_EXAMPLES=OFF -DSSE_INSTALL=OFF \
  -DCMAKE_C_FLAGS="-g -fdebug-prefix-map=$src=." >/dev/null
cmake --build "$build" -j2 >/dev/null
so=$build/libsse.so.$major
[ -f "$so" ] || { echo "abi-baseline: $so was not built (soname major $major?)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
abidw --headers-dir include --drop-private-types --drop-undefined-syms \
  --no-corpus-path --no-comp-dir-path --no-show-locs --type-id-style hash \
  --out-file "$out" "$so"
echo "abi-baseline: $(grep -c '<elf-symbol ' "$out") symbols of $(basename "$so") ($(abidw --version)) -> $out"
