#!/usr/bin/env bash
# Every unit test binary and corpus replay under valgrind memcheck: zero
# errors and zero leaks of any kind. The memory-bound test streams 64 MiB
# here instead of 1 GiB (its RSS check is meaningless under valgrind).
set -uo pipefail
start=$(date +%s)
sh .ci/deps valgrind || exit 1
dir=build-valgrind
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="-O1 -g" >/dev/null || exit 1
cmake --build "$dir" -j2 >/dev/null || exit 1
export SSE_MEMBOUND_BYTES=$((64 << 20)) SSE_MEMBOUND_NO_RSS=1
logs=$(mktemp -d)

vg() { # name, command...
  local name=$1
  shift
  valgrind --tool=memcheck --leak-check=full --show-leak-kinds=all \
    --errors-for-leak-kinds=all --error-exitcode=99 --track-origins=yes -q \
    "$@" >"$logs/$name.out" 2>"$logs/$name.err"
  echo $? >"$logs/$name.rc"
}

names=()
i=0
for t in "$dir"/tests/test_* "$dir"/tests/fuzz/fuzz_*_replay; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  args=()
  case $name in
    fuzz_*_replay) target=${name#fuzz_}; args=("tests/fuzz/corpus/${target%_replay}") ;;
  esac
  names+=("$name")
  vg "$name" "$t" "${args[@]}" &
  i=$((i + 1))
  [ $((i % 2)) -eq 0 ] && wait
done
wait

fail=0
for name in "${names[@]}"; do
  code=$(cat "$logs/$name.rc")
  reports=$(grep -c '^==[0-9]*== ' "$logs/$name.err")
  printf 'valgrind %-24s exit %s, %s valgrind report lines\n' "$name" "$code" "$reports"
  if [ "$code" != 0 ] || [ "$reports" != 0 ]; then
    fail=1
    tail -n 60 "$logs/$name.err" "$logs/$name.out"
  fi
done
rm -rf "$logs"
echo "valgrind: ${#names[@]} binaries, $([ $fail = 0 ] && echo "0 errors, 0 leaks" || echo FAILED) in $(( $(date +%s) - start )) s"
exit $fail
