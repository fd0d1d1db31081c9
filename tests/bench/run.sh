#!/usr/bin/env bash
# The performance comparison of issue 7 in one go: builds sse-bench (Release,
# -O2), runs the shared benchmark folder (corpora, line-scan and memcpy
# limits, eventsource-parser) with sse-bench plugged in, then sse-bench's own
# modes (1-byte feeds, one huge event, iovec encoding, memory; broadcast,
# blocked streams, stream memory, partial writes, replay), and prints one
# table of ratios against the targets.
#
# Environment (all optional):
#   SSE_SHARED_BENCH  the shared benchmark folder (read-only; copied to a
#                     temporary directory). Default: ../shared/bench next to
#                     the repository.
#   SIZE_MIB          corpus size in MiB (default 64, as the shared folder)
#   REPS              repetitions per benchmark (default 5)
#   HUGE_MIB          size of the one-event test (default 8)
#   CORPUS_DIR        where corpora are generated and reused
#                     (default /tmp/sse-corpus-$SIZE_MIB)
#   SKIP              shared groups to skip (default "go python"; "node"
#                     drops the eventsource-parser comparison)
#   MARKDOWN=1        print the table as Markdown
#   KEEP=1            keep the temporary directory (raw results, build)
# Exit status: 0 when the run completed (targets may be missed: the table
# says), 1 on a failure, including benchmark output that does not match the
# corpus manifest.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SSE_SHARED_BENCH:-$REPO/../shared/bench}
SIZE_MIB=${SIZE_MIB:-64}
REPS=${REPS:-5}
HUGE_MIB=${HUGE_MIB:-8}
CORPUS_DIR=${CORPUS_DIR:-/tmp/sse-corpus-$SIZE_MIB}
SKIP=${SKIP-go python}
CORPORA="tokens json large multiline crlf"
log() { echo "[bench] $*" >&2; }

if [ ! -f "$SHARED/run.sh" ] || [ ! -f "$SHARED/summarize.py" ]; then
  echo "bench: no shared benchmark folder at $SHARED (set SSE_SHARED_BENCH)" >&2
  exit 1
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sse-bench.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
  log "keeping $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi
cp -r "$SHARED" "$WORK/shared"
chmod -R u+w "$WORK/shared"

case " $SKIP " in
*" node "*) ;;
*)
  if command -v node >/dev/null && command -v npm >/dev/null; then
    log "installing the node peers (package-lock.json)"
    (cd "$WORK/shared/node" && npm ci --no-audit --no-fund --loglevel=error >&2)
  else
    log "node or npm missing: no eventsource-parser comparison"
    SKIP="$SKIP node"
  fi
  ;;
esac

log "building sse-bench"
cmake -S "$REPO" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DSSE_BUILD_BENCH=ON \
  -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$WORK/build" -j2 --target sse-bench >/dev/null
BENCH=$WORK/build/tests/bench/sse-bench

log "shared benchmarks (SIZE_MIB=$SIZE_MIB REPS=$REPS SKIP='$SKIP')"
(cd "$WORK/shared" && CORPUS_DIR="$CORPUS_DIR" BUILD_DIR="$WORK/out" \
  SIZE_MIB="$SIZE_MIB" REPS="$REPS" SKIP="$SKIP" EXTRA_BENCHES="$BENCH" \
  ./run.sh >"$WORK/shared-summary.txt")
SHARED_RESULTS=$(ls "$WORK"/out/results-*.txt)

log "sse-bench modes: 1-byte feeds, one huge event, iovec encoding, memory, streams"
OWN=$WORK/own.txt
{
  echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  for c in $CORPORA; do
    "$BENCH" decode "$CORPUS_DIR/$c.sse" "$c" "$REPS" 1
  done
  "$BENCH" encode-iov "$CORPUS_DIR/encode_payloads.txt" "$REPS"
  "$BENCH" huge "$HUGE_MIB" "$REPS"
  "$BENCH" memory "$CORPUS_DIR/tokens.sse"
  "$BENCH" broadcast "$REPS"
  "$BENCH" broadcast-blocked "$REPS"
  "$BENCH" stream-memory
  "$BENCH" partial "$REPS"
  "$BENCH" replay "$REPS"
  echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OWN"

echo
grep -m1 '^# machine' "$SHARED_RESULTS" || true
echo "# corpora: $SIZE_MIB MiB each, $REPS repetitions, medians;" \
  "$(grep -m1 '^# gcc' "$SHARED_RESULTS" | sed 's/^# //')"
python3 "$REPO/tests/bench/ratios.py" "$WORK/shared" "$CORPUS_DIR/manifest.json" \
  "$SHARED_RESULTS" "$OWN" ${MARKDOWN:+--markdown}
