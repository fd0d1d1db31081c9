#!/usr/bin/env bash
# sse-bench builds warning-free and its modes run: a few seconds of smoke,
# not a measurement (tests/bench/run.sh is the comparison; see docs/performance.md).
set -euo pipefail
dir=build-bench
cmake -S . -B "$dir" -DSSE_WERROR=ON -DSSE_BUILD_BENCH=ON -DSSE_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
cmake --build "$dir" -j2 --target sse-bench
bench=$dir/tests/bench/sse-bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# 20,000 token-sized payloads and a stream of the same events.
python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
with open(d + "/payloads.txt", "w") as p, open(d + "/stream.sse", "w") as s:
    for i in range(20000):
        v = '{"choices":[{"delta":{"content":" token %d"}}]}' % i
        p.write(v + "\n")
        s.write(("id: %d\n" % i if i % 5 == 0 else "") + "data: " + v + "\n\n")
PY
"$bench" decode "$tmp/stream.sse" smoke 2 | tee "$tmp/out.txt"
"$bench" decode "$tmp/stream.sse" smoke 1 1 | tee -a "$tmp/out.txt"
grep -c 'events=20000 ' "$tmp/out.txt" | grep -qx 3
"$bench" encode "$tmp/payloads.txt" 2
"$bench" encode-iov "$tmp/payloads.txt" 2 | tee "$tmp/iov.txt"
grep -q '^ZEROCOPY .* copied=0 .* ok$' "$tmp/iov.txt"
"$bench" huge 1 1
"$bench" memory "$tmp/stream.sse"
# Streams, frames, history: every size, small counts. A failed check (a
# line ending in FAIL: allocations per event, calls per flush, idle memory
# after traffic) makes the mode exit 1.
"$bench" broadcast 1 100000 200000 | tee "$tmp/stream.txt"
"$bench" broadcast-blocked 1 100000 200000 | tee -a "$tmp/stream.txt"
"$bench" stream-memory 10000 | tee -a "$tmp/stream.txt"
"$bench" partial 1 256 | grep -v '^RESULT' | tee -a "$tmp/stream.txt"
"$bench" replay 1 1024 100000 | tee -a "$tmp/stream.txt"
grep -c '^BROADCAST .* allocations_per_event=1.000 allocations_per_delivery=0.000 .* ok$' \
  "$tmp/stream.txt" | grep -qx 8
grep -c '^ONEWRITE .* ok$' "$tmp/stream.txt" | grep -qx 10
echo "sse-bench smoke: ok"
