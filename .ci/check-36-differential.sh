#!/usr/bin/env bash
# Differential check: ssecat against the npm package eventsource-parser
# (pinned by tests/differential/package-lock.json, installed with npm ci)
# on 3000 random valid and invalid streams from a fixed seed.
set -euo pipefail
start=$(date +%s)
sh .ci/deps python3
command -v npm >/dev/null || sh .ci/deps nodejs npm
cmake -S . -B build >/dev/null && cmake --build build -j2 --target ssecat >/dev/null
node_dir=$(mktemp -d)
cp tests/differential/package.json tests/differential/package-lock.json \
  tests/differential/peer.mjs "$node_dir/"
(cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
echo "differential: node $(node --version), eventsource-parser $(node -p "require('$node_dir/node_modules/eventsource-parser/package.json').version")"
python3 tests/differential/differential.py build/examples/ssecat "$node_dir" --count "${DIFF_COUNT:-3000}"
rm -rf "$node_dir"
echo "differential: done in $(( $(date +%s) - start )) s"
