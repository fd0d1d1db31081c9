#!/usr/bin/env bash
# sse-hub with 1 and 2 workers (--workers) in one run of the fan-out harness
# (../shared/fanout): deliveries/s, latency, and the hub's CPU per delivery.
# loadgen is pinned to the last CPU; the hub runs on CPU 0 ("pinned": both
# worker counts share one core, so only the cost of the threads shows) and
# on every CPU ("free": the second worker may use the loadgen's core too).
# Run by hand (not in CI), everything on 127.0.0.1; about 2 minutes.
#
# usage: tests/bench/hub_workers.sh [FANOUT_DIR]   (default /work/shared/fanout)
# env:   SIZES="10000" MSGS=400 RATE=200 PAYLOAD=100 REPEAT=4 WORKERS="1 2"
#        (REPEAT: rounds of all four configurations, interleaved)
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-/work/shared/fanout}
[ -f "$src/run.sh" ] || { echo "no fan-out harness in $src" >&2; exit 2; }
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSSE_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target sse-hub >/dev/null
hub=$PWD/build-bench/examples/hub/sse-hub
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/." "$work/"
chmod -R u+w "$work"
last=$(($(nproc) - 1))
export SIZES=${SIZES:-10000} MSGS=${MSGS:-400} RATE=${RATE:-200} SLOW=0
export PAYLOAD=${PAYLOAD:-100}
echo "# $(nproc) CPUs: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "# sse-hub $(git rev-parse --short HEAD 2>/dev/null || echo '?'); N=$SIZES msgs=$MSGS rate=$RATE/s; loadgen on CPU $last"
: >"$work/all.txt"
for rep in $(seq "${REPEAT:-4}"); do
  for place in pinned free; do
    cpus=0
    [ $place = free ] && cpus=0-$last
    for w in ${WORKERS:-1 2}; do
      out="$work/results/w$w-$place-$rep.txt"
      mkdir -p "$work/results"
      # run.sh and loadgen inherit the last CPU; the hub gets its own set.
      HUB_CMD="taskset -c $cpus $hub --port {port} --workers $w" OUT="$out" REPEAT=1 \
        taskset -c "$last" "$work/run.sh" hub >/dev/null 2>&1 || true
      sed -n "s/^label=hub/label=w$w-$place/p" "$out" >>"$work/all.txt"
    done
  done
done
[ -n "${RAW:-}" ] && cp "$work/all.txt" "$RAW"
awk '
function kv(k,   i, a) { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return substr($i, length(k) + 2) } return "?" }
BEGIN { print "| hub | N | delivered % | deliveries/s | p50 ms | p99 ms | hub CPU % | hub CPU us/delivery | RSS/conn B |"
        print "|---|--:|--:|--:|--:|--:|--:|--:|--:|" }
/^label=/ {
  ex = kv("expected"); dl = kv("delivered"); d = kv("deliveries_per_s")
  printf "| %s | %s | %.2f | %s | %.1f | %.1f | %s | %.3f | %s |\n", kv("label"), kv("conns"),
    (ex > 0 ? 100 * dl / ex : 0), d, kv("p50_ms"), kv("p99_ms"), kv("srv_cpu_pct"),
    (d > 0 ? kv("srv_cpu_pct") * 1e4 / d : 0), kv("rss_per_conn_b")
}' "$work/all.txt"
