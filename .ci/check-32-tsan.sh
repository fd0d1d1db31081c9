#!/usr/bin/env bash
# ThreadSanitizer: separate decoders (and the stateless encoder) used on
# separate threads at once, sharing one thread-safe allocator.
set -euo pipefail
start=$(date +%s)
sh .ci/deps clang libclang-rt-14-dev
dir=build-tsan
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="-fsanitize=thread -g -O1" -DSSE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$dir" -j2 --target test_threads >/dev/null
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$dir/tests/test_threads" | grep -E '^threads:|PASSED|FAILED'
echo "tsan: no data race in $(( $(date +%s) - start )) s"
