#!/usr/bin/env bash
# Portability: the library, its unit tests and the fuzz corpus replays
#  - cross-built with Debian's gcc for aarch64 and for big-endian s390x
#    (.ci/toolchains/, cmocka from Debian multiarch), -Werror, the tests run
#    under qemu-user: another word order, unsigned char, no SSE2;
#  - built natively with SSE_SIMD=OFF and SSE_FAST_PATHS=OFF: the portable
#    scanners and the decoder's reference path alone pass the same tests.
# The Python tests (readme) are left out of the cross builds; the examples
# and the e2e tests are not built. The memory-bound test streams 64 MiB.
set -euo pipefail
start=$(date +%s)
sh .ci/deps qemu-user binutils gcc-aarch64-linux-gnu libcmocka-dev:arm64 \
  gcc-s390x-linux-gnu libcmocka-dev:s390x
export SSE_MEMBOUND_BYTES=$((64 << 20))
common=(-DSSE_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF -DSSE_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)

# run NAME BUILD_DIR CTEST_ARGS...: configure (with the arguments in
# $configure), build, run CTest; at least the unit tests and the five corpus
# replays must have run.
run() {
  local name=$1 dir=$2 t0 log
  shift 2
  t0=$(date +%s)
  log=$dir/ctest-portability.log
  cmake -S . -B "$dir" "${common[@]}" "${configure[@]}" >/dev/null
  cmake --build "$dir" -j2 >/dev/null
  if ! ctest --test-dir "$dir" --output-on-failure -j2 "$@" >"$log" 2>&1; then
    cat "$log"
    echo "portability: $name FAILED" >&2
    exit 1
  fi
  local total replays
  total=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\)$/\1/p' "$log")
  replays=$(grep -c 'fuzz_[a-z]*_corpus .*Passed' "$log" || true)
  if [ "${total:-0}" -lt 15 ] || [ "$replays" -lt 5 ]; then
    cat "$log"
    echo "portability: $name ran ${total:-no} tests, $replays corpus replays" >&2
    exit 1
  fi
  printf 'portability: %-28s %3s tests passed (%s corpus replays) in %3s s\n' \
    "$name" "$total" "$replays" $(($(date +%s) - t0))
}

# elf_is DIR MACHINE ENDIAN: the library really is a target binary.
elf_is() {
  local h
  h=$(readelf -h "$1/libsse.a" | sed -n 's/^ *\(Machine\|Data\): *//p' | sort -u | tr '\n' ' ')
  case $h in
    *"$2"*"$3"*|*"$3"*"$2"*) ;;
    *) echo "portability: $1/libsse.a is '$h', not $2 $3" >&2; exit 1 ;;
  esac
}

for arch in aarch64 s390x; do
  configure=(-DCMAKE_TOOLCHAIN_FILE=.ci/toolchains/$arch-linux-gnu.cmake)
  run "$arch (qemu-user)" "build-$arch" -E '^(readme|ssecat)$'
done
elf_is build-aarch64 AArch64 "little endian"
elf_is build-s390x "IBM S/390" "big endian"

configure=(-DSSE_SIMD=OFF -DSSE_FAST_PATHS=OFF)
dir=build-nosimd
run "native SIMD off, reference" "$dir"
if grep -q '^option(SSE_SIMD ' CMakeLists.txt; then
  for opt in SSE_SIMD SSE_FAST_PATHS; do
    grep -q "^$opt:BOOL=OFF" "$dir/CMakeCache.txt" ||
      { echo "portability: $opt=OFF did not reach $dir/CMakeCache.txt" >&2; exit 1; }
  done
  # SSE_SIMD=OFF builds no SSE2/AVX2 scanner: no movemask instruction at all.
  simd=$(objdump -d "$dir/libsse.a" | grep -c 'pmovmskb' || true)
  [ "$simd" = 0 ] ||
    { echo "portability: SSE_SIMD=OFF, yet libsse.a has $simd (v)pmovmskb instructions" >&2; exit 1; }
else
  echo "portability: NOTE: this CMakeLists.txt has no SSE_SIMD option yet: the native build was the default one"
fi

echo "portability: aarch64, s390x and the reference paths passed in $(($(date +%s) - start)) s"
