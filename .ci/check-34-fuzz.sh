#!/usr/bin/env bash
# Every fuzz target for 90 s (FUZZ_SECONDS) under ASan+UBSan with libFuzzer,
# from the committed seed corpus, two at a time. Any crash, leak, timeout or
# out-of-memory fails; its reproducer is printed in hex (tests/fuzz/run.sh).
set -euo pipefail
start=$(date +%s)
sh .ci/deps clang libclang-rt-14-dev python3
python3 tests/fuzz/make_corpus.py --check
KEEP=0 tests/fuzz/run.sh "${FUZZ_SECONDS:-90}"
echo "fuzz: all targets clean in $(( $(date +%s) - start )) s"
