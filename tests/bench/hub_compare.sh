#!/usr/bin/env bash
# sse-hub of this tree against sse-hub of another commit, in one run of the
# fan-out harness (../shared/fanout): deliveries/s, latency, the hub's CPU
# per delivery and memory per connection, the two builds interleaved REPEAT
# times. The hub runs on CPU 0 with one worker, loadgen on the last CPU.
# Run by hand (not in CI), everything on 127.0.0.1.
#
# usage: tests/bench/hub_compare.sh REV [FANOUT_DIR]   (default /work/shared/fanout)
# env:   SIZES="10000" MSGS=400 RATE=200 PAYLOAD=100 REPEAT=3
set -euo pipefail
cd "$(dirname "$0")/../.."
rev=${1:?usage: tests/bench/hub_compare.sh REV [FANOUT_DIR]}
src=${2:-/work/shared/fanout}
[ -f "$src/run.sh" ] || { echo "no fan-out harness in $src" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build() { # SRC DIR
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DSSE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$2" -j2 --target sse-hub >/dev/null
}
mkdir "$work/base-src"
git archive "$rev" | tar -x -C "$work/base-src"
build "$work/base-src" "$work/base"
build . "$work/new"
mkdir -p "$work/fanout"
cp -r "$src/." "$work/fanout/"
chmod -R u+w "$work/fanout"
# The newer hub takes --workers; the older one may not.
opts() { "$1" --help 2>&1 | grep -q -- '--workers' && echo "--workers 1" || true; }
last=$(($(nproc) - 1))
export SIZES=${SIZES:-10000} MSGS=${MSGS:-400} RATE=${RATE:-200} SLOW=0
export PAYLOAD=${PAYLOAD:-100}
echo "# $(nproc) CPUs: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "# sse-hub $rev against this tree ($(git rev-parse --short HEAD)); N=$SIZES msgs=$MSGS rate=$RATE/s; hub on CPU 0, loadgen on CPU $last"
: >"$work/all.txt"
for rep in $(seq "${REPEAT:-3}"); do
  for side in base new; do
    hub=$work/$side/examples/hub/sse-hub
    out="$work/results-$side-$rep.txt"
    HUB_CMD="taskset -c 0 $hub --port {port} $(opts "$hub")" OUT="$out" REPEAT=1 \
      taskset -c "$last" "$work/fanout/run.sh" hub >/dev/null 2>&1 || true
    sed -n "s/^label=hub/label=$side/p" "$out" >>"$work/all.txt"
  done
done
awk -v rev="$rev" '
function kv(k,   i, a) { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return substr($i, length(k) + 2) } return "?" }
BEGIN { print "| hub | N | delivered % | deliveries/s | p50 ms | p99 ms | hub CPU % | hub CPU us/delivery | RSS/conn B |"
        print "|---|--:|--:|--:|--:|--:|--:|--:|--:|" }
/^label=/ {
  ex = kv("expected"); dl = kv("delivered"); d = kv("deliveries_per_s")
  l = kv("label") == "base" ? rev : "this tree"
  printf "| %s | %s | %.2f | %s | %.1f | %.1f | %s | %.3f | %s |\n", l, kv("conns"),
    (ex > 0 ? 100 * dl / ex : 0), d, kv("p50_ms"), kv("p99_ms"), kv("srv_cpu_pct"),
    (d > 0 ? kv("srv_cpu_pct") * 1e4 / d : 0), kv("rss_per_conn_b")
}' "$work/all.txt"
