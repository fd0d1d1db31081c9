#!/usr/bin/env bash
# Runs the libFuzzer targets under ASan+UBSan from the seed corpus.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 90; 1800 for a release run), TARGETs default to
# all of tests/fuzz/CMakeLists.txt's SSE_FUZZ_TARGETS. JOBS targets run at
# once (default 2). Needs clang (Debian: clang libclang-rt-14-dev).
# Builds into BUILD (default build-fuzz). The grown corpus of each target is
# kept in BUILD/grown/<target> across runs (KEEP=0: start from the seeds
# every time); merge it into the seeds with
#   BUILD/tests/fuzz/fuzz_<t> -merge=1 tests/fuzz/corpus/<t> BUILD/grown/<t>
# A crash, leak, timeout or out-of-memory fails the run; the finding's report
# and the reproducer in hex go to the log, the file to BUILD/findings/<t>/.
# Prints, per target: executions, executions per second, coverage, corpus
# growth and peak RSS.
set -uo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-90}
shift || true
jobs=${JOBS:-2}
build=${BUILD:-build-fuzz}
keep=${KEEP:-1}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  read -r -a targets <<<"$(sed -n 's/^set(SSE_FUZZ_TARGETS \(.*\))/\1/p' tests/fuzz/CMakeLists.txt)"
fi
seed=${FUZZ_SEED:-$(( 0x$(git rev-parse --short=7 HEAD 2>/dev/null || echo 1) ))}

CC=clang cmake -S . -B "$build" -DSSE_BUILD_FUZZERS=ON -DSSE_BUILD_TESTS=OFF \
  -DSSE_BUILD_EXAMPLES=OFF -DSSE_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
cmake --build "$build" -j2 >/dev/null || { cmake --build "$build" -j1; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local t=$1 dir="$build/grown/$t" art="$build/findings/$t" log="$build/fuzz-$t.log"
  [ "$keep" = 1 ] || rm -rf "$dir"
  rm -rf "$art"
  mkdir -p "$dir" "$art"
  timeout $((secs + 300)) "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
    -timeout=10 -rss_limit_mb=2560 -malloc_limit_mb=256 -seed="$seed" \
    -dict=tests/fuzz/sse.dict -print_final_stats=1 -artifact_prefix="$art/" \
    "$dir" "tests/fuzz/corpus/$t" >"$log" 2>&1
  echo $? >"$log.rc"
}

# Two at a time on two cores.
i=0
for t in "${targets[@]}"; do
  run_one "$t" &
  i=$((i + 1))
  if [ $((i % jobs)) -eq 0 ]; then wait; fi
done
wait

status=0
for t in "${targets[@]}"; do
  log="$build/fuzz-$t.log"
  rc=$(cat "$log.rc")
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  printf 'fuzz %-10s %6ss  %9s execs  %6s exec/s  %s  corpus +%s  peak %s MB  exit %s\n' \
    "$t" "$secs" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
    "${cov:-cov: ?}" "$(stat new_units_added)" "$(stat peak_rss_mb)" "$rc"
  findings=$(ls "$build/findings/$t" 2>/dev/null)
  if [ "$rc" != 0 ] || [ -n "$findings" ]; then
    status=1
    echo "==== fuzz_$t FAILED (seed $seed); the end of its log:"
    grep -v '^#[0-9]' "$log" | tail -60
    for f in "$build/findings/$t"/*; do
      [ -e "$f" ] || continue
      echo "==== reproducer $(basename "$f") ($(wc -c <"$f") bytes), hex:"
      od -An -v -tx1 "$f" | tr -d ' \n' | fold -w 64
      echo
      echo "replay: $build/tests/fuzz/fuzz_$t $f"
    done
  fi
done
exit $status
