#!/usr/bin/env bash
# End-to-end tests with real clients (CTest label e2e): headless Chromium on
# sse-demo's page, Node's eventsource package (npm ci, pinned by
# tests/e2e/node/package-lock.json) and curl against sse-hub, and sse-hub
# behind nginx (TLS, HTTP/2) in Chromium, and hub nodes sharing Debian's
# redis-server; sse-hub is built with JWT and Redis. Installs what
# they need; here no test may be skipped (SSE_E2E_REQUIRE=1 turns a missing
# tool into a failure, and the summary is checked for skips).
set -euo pipefail
start=$(date +%s)
sh .ci/deps chromium curl nodejs nginx openssl libjwt-dev libjansson-dev \
  redis-server libhiredis-dev
command -v npm >/dev/null || sh .ci/deps npm
(cd tests/e2e/node && timeout 300 npm ci --no-audit --no-fund)
cmake -S . -B build -DSSE_HUB_JWT=ON -DSSE_HUB_REDIS=ON >/dev/null
cmake --build build -j2
registered=$(ctest --test-dir build -N -L e2e | sed -n 's/^Total Tests: //p')
[ "${registered:-0}" -ge 39 ] || { echo "only ${registered:-0} e2e tests registered (the examples need libuv1-dev, libnghttp2-dev, libssl-dev)" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
SSE_E2E_REQUIRE=1 ctest --test-dir build -L e2e --output-on-failure -j2 | tee "$log"
if grep -Eq 'Skipped|Not Run' "$log"; then
  echo "e2e: a test was skipped" >&2
  exit 1
fi
echo "e2e check: $registered tests, $(($(date +%s) - start))s"
