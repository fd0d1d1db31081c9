#!/usr/bin/env bash
# sse-hub against nginx+nchan and the Node/Express tutorial server, in one run
# of the fan-out harness (../shared/fanout, see its README): deliveries/s,
# p50/p99 latency, server CPU, memory per connection, and the slow-consumer
# case. Run by hand (not in CI); it takes about 3 minutes per server with
# the defaults, everything on 127.0.0.1.
#
# usage: tests/bench/hub_fanout.sh [FANOUT_DIR]     (default /work/shared/fanout)
# env:   SERVERS="hub nchan express"  SIZES="1000 10000 19000"
#        INSTALL=1: install nginx, libnginx-mod-nchan and nodejs/npm if missing
#        and any run.sh variable (MSGS RATE PAYLOAD SLOW REPEAT PIN ...)
#
# The harness is copied to a temporary directory (its folder is read-only,
# and nothing of it belongs in this repository); sse-hub is built in
# build-bench (Release). Subscribers per run are bounded by the descriptor
# limit (loadgen needs N + 100) and the ephemeral port range (about 28,000).
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-/work/shared/fanout}
[ -f "$src/run.sh" ] || { echo "no fan-out harness in $src" >&2; exit 2; }
servers=${SERVERS:-hub nchan express}
if [ "${INSTALL:-0}" = 1 ]; then
  sh .ci/deps nginx libnginx-mod-nchan nodejs
  command -v npm >/dev/null || sh .ci/deps npm
fi

cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSSE_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target sse-hub >/dev/null
hub=$PWD/build-bench/examples/hub/sse-hub

# The largest N the descriptor limit allows (loadgen: N + 100 + slack).
hard=$(ulimit -Hn)
max=19000
if [ "$hard" != unlimited ] && [ "$hard" -lt $((max + 500)) ]; then max=$((hard - 500)); fi
export SIZES=${SIZES:-1000 10000 $max}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/." "$work/"
chmod -R u+w "$work"
echo "# $(nproc) CPUs: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(uname -sr)"
echo "# sse-hub $(git rev-parse --short HEAD 2>/dev/null || echo '?'); N = $SIZES"
# sse-hub through a wrapper that keeps its exit line ("... deliveries in N
# writes ...": system calls per delivery) from every run.
mkdir -p "$work/results"
printf '#!/bin/sh\nexec "%s" "$@" 2>>"%s"\n' "$hub" "$work/results/hub-all.log" >"$work/hub.sh"
chmod +x "$work/hub.sh"
# shellcheck disable=SC2086
HUB_CMD="$work/hub.sh --port {port}" "$work/run.sh" $servers
if [ -s "$work/results/hub-all.log" ]; then
  echo
  echo "sse-hub, per run (in the order above):"
  grep 'stopped after' "$work/results/hub-all.log" |
    awk '{ printf "  %s; %.3f writev per delivery\n", $0, ($6 > 0 ? $9 / $6 : 0) }'
fi
