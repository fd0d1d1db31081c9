#!/usr/bin/env bash
# Same-run comparison of this tree's sse-bench with another commit's: the
# decoder on the five corpora (whole buffers), the encoder, and broadcast to
# 100 .. 100,000 idle streams. Both builds run in turns, ROUNDS times of REPS
# repetitions each, and the table shows
# the best of all rounds for each side (this VM's memory bandwidth swings:
# best-of-N of both sides, measured side by side, is what compares).
#
#   tests/bench/compare.sh REV        e.g. tests/bench/compare.sh HEAD~1
#
# Environment: ROUNDS (default 5), REPS (default 3), KEEP=1 (keep the raw
# results), SIZE_MIB (corpus size, default 32),
# CORPUS_DIR (default /tmp/sse-corpus-$SIZE_MIB, generated with the shared
# folder's gen_corpus.py when missing), SSE_SHARED_BENCH (the shared bench
# folder, default ../shared/bench next to the repository).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
REV=${1:?usage: tests/bench/compare.sh REV}
ROUNDS=${ROUNDS:-5}
REPS=${REPS:-3}
SIZE_MIB=${SIZE_MIB:-32}
CORPUS_DIR=${CORPUS_DIR:-/tmp/sse-corpus-$SIZE_MIB}
SHARED=${SSE_SHARED_BENCH:-$REPO/../shared/bench}
CORPORA="tokens json large multiline crlf"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sse-compare.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
log() { echo "[compare] $*" >&2; }

if [ ! -f "$CORPUS_DIR/manifest.json" ]; then
  log "generating $SIZE_MIB MiB corpora into $CORPUS_DIR"
  python3 "$SHARED/gen_corpus.py" "$CORPUS_DIR" --size-mib "$SIZE_MIB" >&2
fi

build() { # build SRC DIR
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DSSE_BUILD_BENCH=ON \
    -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$2" -j2 --target sse-bench >/dev/null
}
[ "${KEEP:-0}" = 1 ] && log "keeping $WORK"
log "building $REV and this tree"
mkdir "$WORK/base-src"
git -C "$REPO" archive "$REV" | tar -x -C "$WORK/base-src"
build "$WORK/base-src" "$WORK/base"
build "$REPO" "$WORK/new"

run() { # run SIDE: one round of every benchmark, RESULT/BROADCAST lines
  local b=$WORK/$1/tests/bench/sse-bench c
  for c in $CORPORA; do "$b" decode "$CORPUS_DIR/$c.sse" "$c" "$REPS"; done
  "$b" encode "$CORPUS_DIR/encode_payloads.txt" "$REPS"
  "$b" broadcast "$REPS"
}
for i in $(seq "$ROUNDS"); do
  log "round $i of $ROUNDS (load $(cut -d' ' -f1 /proc/loadavg))"
  run base >>"$WORK/base.txt"
  run new >>"$WORK/new.txt"
done

python3 - "$WORK/base.txt" "$WORK/new.txt" "$REV" <<'PY'
import re, sys
def best(path):
    out = {}
    for line in open(path):
        m = re.match(r'RESULT impl=(\S+) corpus=(\S+) .*bytes=(\d+) .*seconds=(\S+)', line)
        if m and m.group(1) in ('libsse', 'libsse-enc'):
            k = ('decode ' if m.group(1) == 'libsse' else '') + m.group(2)
            v = int(m.group(3)) / float(m.group(4)) / 1e6  # MB/s
            out[k] = max(out.get(k, 0), v)
        m = re.match(r'BROADCAST streams=(\d+) order=(\S+) .*? ns_per_delivery=(\S+)', line)
        if m:
            k = 'broadcast %s %s' % (m.group(1), m.group(2))
            v = float(m.group(3))
            out[k] = min(out.get(k, v), v)
    return out
base, new = best(sys.argv[1]), best(sys.argv[2])
print('| benchmark | %s | this tree | speed vs %s (>1: faster) |' % (sys.argv[3], sys.argv[3]))
print('|---|---|---|---|')
for k in base:
    if k not in new:
        continue
    unit = 'ns/delivery' if k.startswith('broadcast') else 'MB/s'
    # a ratio above 1 is better for the new tree either way
    r = base[k] / new[k] if unit == 'ns/delivery' else new[k] / base[k]
    print('| %s | %.2f %s | %.2f %s | %.3f |' % (k, base[k], unit, new[k], unit, r))
PY
