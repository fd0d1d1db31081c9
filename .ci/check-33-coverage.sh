#!/usr/bin/env bash
# Line and branch coverage of lib/ by the unit tests and the corpus replays
# (gcc --coverage, gcovr). Fails under 95% of lines or 90% of branches, in
# total or for any file of lib/.
set -euo pipefail
start=$(date +%s)
sh .ci/deps gcovr
min_lines=${MIN_LINES:-95}
min_branches=${MIN_BRANCHES:-90}
dir=build-coverage
rm -rf "$dir"
CC=gcc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS="--coverage -O0 -fprofile-update=atomic" -DSSE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$dir" -j2 >/dev/null
SSE_MEMBOUND_BYTES=$((64 << 20)) ctest --test-dir "$dir" -j2 --output-on-failure | tail -n 3
gcovr -r . --filter 'lib/' --branches "$dir" | sed -n '/^File/,$p'
gcovr -r . --filter 'lib/' "$dir" | sed -n '/^File/,$p'
gcovr -r . --filter 'lib/' --json-summary "$dir/coverage.json" "$dir" >/dev/null
python3 - "$dir/coverage.json" "$min_lines" "$min_branches" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
lo, bo = float(sys.argv[2]), float(sys.argv[3])
bad = []
for f in d["files"] + [dict(d, filename="TOTAL")]:
    lp, bp = f["line_percent"], f["branch_percent"]
    if f["line_total"] and lp < lo: bad.append("%s lines %.1f%% < %s%%" % (f["filename"], lp, lo))
    if f["branch_total"] and bp < bo: bad.append("%s branches %.1f%% < %s%%" % (f["filename"], bp, bo))
print("coverage of lib/: %.1f%% of %d lines, %.1f%% of %d branches (required: %s%% / %s%%)"
      % (d["line_percent"], d["line_total"], d["branch_percent"], d["branch_total"], lo, bo))
for b in bad: print("coverage too low:", b)
sys.exit(1 if bad else 0)
PY
echo "coverage: done in $(( $(date +%s) - start )) s"
