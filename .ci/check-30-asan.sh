#!/usr/bin/env bash
# All unit tests (and the corpus replays) under AddressSanitizer (with
# LeakSanitizer) and UndefinedBehaviorSanitizer, any report fatal.
set -euo pipefail
start=$(date +%s)
sh .ci/deps clang libclang-rt-14-dev
dir=build-asan
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DSSE_WERROR=ON \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$dir" -j2 >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$dir" --output-on-failure -j2 | tail -n 4
echo "asan+ubsan: all tests passed in $(( $(date +%s) - start )) s"
