#!/usr/bin/env bash
# Warning-free under gcc and clang: -Werror builds, tests run with each.
set -euo pipefail
sh .ci/deps clang
for cc in gcc clang; do
  dir=build-werror-$cc
  CC=$cc cmake -S . -B "$dir" -DSSE_WERROR=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$dir" -j2
  ctest --test-dir "$dir" --output-on-failure -j2
done
