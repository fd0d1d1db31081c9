#!/usr/bin/env bash
# ThreadSanitizer: separate decoders (and the stateless encoder) used on
# separate threads at once, sharing one thread-safe allocator (the threads
# test of test_decoder, run alone); and the frame tests, whose shared-frame
# test puts the same frames in the queues of streams owned by four threads,
# which release them concurrently with the creator (a frame is freed by
# whichever thread drops the last reference: its count must be atomic with
# acquire-release ordering, or TSan reports a race).
set -euo pipefail
start=$(date +%s)
sh .ci/deps clang libclang-rt-14-dev curl
dir=build-tsan
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="-fsanitize=thread -g -O1" -DSSE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$dir" -j2 --target test_decoder test_frame >/dev/null
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
out=$("$dir/tests/test_decoder" '*_on_separate_threads' 2>&1) ||
  { tail -n 80 <<<"$out"; echo "tsan: test_decoder (threads) FAILED"; exit 1; }
grep -E '^threads:|PASSED|FAILED' <<<"$out"
grep -q 'OK \] separate_decoders_on_separate_threads' <<<"$out" ||
  { echo "tsan: the decoder thread test did not run"; exit 1; }
out=$("$dir/tests/test_frame" 2>&1) ||
  { tail -n 80 <<<"$out"; echo "tsan: test_frame FAILED"; exit 1; }
grep -E 'test_frames_across_threads|PASSED|FAILED' <<<"$out" | sed 's/^/frame: /'
grep -q 'OK \] test_frames_across_threads' <<<"$out" ||
  { echo "tsan: the shared-frame thread test did not run"; exit 1; }
# sse-hub with two workers (threads sharing the history, the frames and the
# counters): the hub suite's scenarios that publish, replay, fan out, count
# and stop; any report fails.
hub=$dir-hub
CC=clang cmake -S . -B "$hub" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="-fsanitize=thread -g -O1" >/dev/null
cmake --build "$hub" -j2 --target sse-hub >/dev/null
rm -rf "$hub/tsan" && mkdir -p "$hub/tsan"
TSAN_OPTIONS="log_path=$PWD/$hub/tsan/report" SSE_E2E_REQUIRE=1 python3 tests/e2e/test_hub.py \
  "$hub/examples/hub/sse-hub" --workers=2 publish_receive replay burst_churn \
  heartbeat_shutdown signals metrics body_total topics | sed 's/^/hub --workers 2: /'
if ls "$hub/tsan"/report* >/dev/null 2>&1; then
  head -n 60 "$hub"/tsan/report*
  echo "tsan: sse-hub --workers 2 FAILED"
  exit 1
fi
echo "tsan: no data race in $(( $(date +%s) - start )) s"
