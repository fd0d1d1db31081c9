#!/usr/bin/env bash
# The same fuzz targets built for AFL++ (afl-clang-fast, persistent mode,
# ASan+UBSan) from the same sources, each run briefly from the seed corpus:
# proves the AFL++ build works and finds nothing in AFL_SECONDS (20).
set -euo pipefail
start=$(date +%s)
sh .ci/deps afl++ clang libclang-rt-14-dev
dir=build-afl
secs=${AFL_SECONDS:-20}
CC=afl-clang-fast cmake -S . -B "$dir" -DSSE_BUILD_FUZZERS=ON -DSSE_FUZZ_ENGINE=afl \
  -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
AFL_QUIET=1 cmake --build "$dir" -j2 >/dev/null
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
  AFL_NO_AFFINITY=1 AFL_QUIET=1 ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0
read -r -a targets <<<"$(sed -n 's/^set(SSE_FUZZ_TARGETS \(.*\))/\1/p' tests/fuzz/CMakeLists.txt)"
out=$(mktemp -d)
i=0
for t in "${targets[@]}"; do
  afl-fuzz -i "tests/fuzz/corpus/$t" -o "$out/$t" -x tests/fuzz/sse.dict -V "$secs" \
    -t 10000 -m none -- "$dir/tests/fuzz/fuzz_$t" >"$out/$t.log" 2>&1 &
  i=$((i + 1))
  [ $((i % 2)) -eq 0 ] && wait
done
wait
fail=0
for t in "${targets[@]}"; do
  s="$out/$t/default/fuzzer_stats"
  if [ ! -f "$s" ]; then
    echo "afl $t: no stats"; tail -n 30 "$out/$t.log"; fail=1; continue
  fi
  get() { sed -n "s/^$1 *: *//p" "$s"; }
  crashes=$(get saved_crashes); [ -n "$crashes" ] || crashes=$(get unique_crashes)
  printf 'afl %-10s %ss  %s execs  %s exec/s  corpus %s  crashes %s  hangs %s\n' "$t" "$secs" \
    "$(get execs_done)" "$(get execs_per_sec)" "$(get corpus_count)" "$crashes" "$(get saved_hangs)"
  for f in "$out/$t"/default/crashes/id*; do
    [ -e "$f" ] || continue
    fail=1
    echo "==== AFL++ crash in fuzz_$t, hex:"; od -An -v -tx1 "$f" | tr -d ' \n' | fold -w 64; echo
    "$dir/tests/fuzz/fuzz_${t}" <"$f" 2>&1 | tail -n 30 || true
  done
done
echo "afl++: $([ $fail = 0 ] && echo clean || echo FAILED) in $(( $(date +%s) - start )) s"
exit $fail
