#!/usr/bin/env bash
# sse-bench builds warning-free and its modes run: a few seconds of smoke,
# not a measurement (tests/bench/run.sh is the comparison; see README).
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
echo "sse-bench smoke: ok"
