#!/usr/bin/env bash
# Warning-free under gcc and clang: -Werror builds of everything. The gcc
# tests ran in the README command; clang runs the unit tests here (and every
# test again under ASan+UBSan in check-30), so no suite runs twice per
# compiler without a reason.
set -euo pipefail
sh .ci/deps clang
for cc in gcc clang; do
  dir=build-werror-$cc
  CC=$cc cmake -S . -B "$dir" -DSSE_WERROR=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$dir" -j2
done
ctest --test-dir build-werror-clang -L unit --output-on-failure -j2 | tail -n 3
