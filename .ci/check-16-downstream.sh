#!/usr/bin/env bash
# Downstream use: libsse installed into a temporary prefix, then the consumer
# in tests/downstream built against it with pkg-config (shared), pkg-config
# --static (libsse.a), find_package(sse) (shared and static components, and a
# version it must refuse), and through add_subdirectory of the source tree
# (static, and shared under BUILD_SHARED_LIBS=ON). A shared-only and a
# static-only build installed into one prefix must also coexist. Every
# consumer runs and must succeed.
set -euo pipefail
sh .ci/deps pkg-config binutils
start=$(date +%s)
src=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
quiet() { "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; return 1; }; }

version=$(sed -n 's/^#define SSE_VERSION_STRING "\(.*\)"/\1/p' include/sse/common.h)
major=${version%%.*}

# needs_libsse EXE yes|no: whether EXE has libsse.so.<major> as a dependency,
# and if so that it resolves (ldd) to the expected place.
needs_libsse() {
  local exe=$1 want=$2 got=no
  readelf -d "$exe" | grep -q "(NEEDED).*\[libsse\.so\.$major\]" && got=yes
  [ "$got" = "$want" ] || { fail "$exe: needs libsse.so.$major: $got, expected $want"; return 1; }
  if [ "$want" = no ] && ldd "$exe" | grep -q 'libsse'; then
    fail "$exe: ldd lists libsse"; return 1
  fi
  if [ "$want" = yes ] && ldd "$exe" | grep -q 'libsse.*not found'; then
    fail "$exe: libsse.so.$major not found at run time"; return 1
  fi
}
run() { # run NAME EXE
  local out
  if out=$("$2" 2>&1); then echo "$1: $out"; else fail "$1: consumer failed: $out"; fi
}

# --- install ------------------------------------------------------------------
quiet cmake -S . -B build-downstream -DCMAKE_BUILD_TYPE=Release -DSSE_BUILD_TESTS=OFF \
      -DSSE_BUILD_EXAMPLES=ON -UBUILD_SHARED_LIBS
quiet cmake --build build-downstream -j2
quiet cmake --install build-downstream --prefix "$prefix"
libdir=$(dirname "$(find "$prefix" -name sse.pc)")
libdir=${libdir%/pkgconfig}
for f in "$libdir/libsse.a" "$libdir/libsse.so.$version" "$libdir/libsse.so.$major" \
         "$libdir/libsse.so" "$libdir/pkgconfig/sse.pc" "$libdir/cmake/sse/sse-config.cmake" \
         "$libdir/cmake/sse/sse-config-version.cmake" "$prefix/bin/ssecat" \
         "$prefix/share/man/man1/ssecat.1"; do
  [ -e "$f" ] || fail "not installed: ${f#"$prefix"/}"
done
[ "$(readlink "$libdir/libsse.so")" = "libsse.so.$major" ] || fail "libsse.so does not link to libsse.so.$major"
while IFS= read -r h; do
  cmp -s "$h" "$prefix/$h" || fail "header not installed: $h"
done < <(find include -name '*.h')
events=$("$prefix/bin/ssecat" examples/sample.sse | grep -c '"type"') || true
[ "$events" = 3 ] || fail "installed ssecat decoded $events events of sample.sse, expected 3"
echo "installed: $(find "$prefix" -type f | wc -l) files, $(find "$prefix/include" -name '*.h' | wc -l) headers; ssecat runs"

# --- pkg-config -------------------------------------------------------------------
export PKG_CONFIG_PATH=$libdir/pkgconfig
[ "$(pkg-config --modversion sse)" = "$version" ] || fail "sse.pc version is not $version"
[ "$(pkg-config --variable=prefix sse)" = "$prefix" ] || fail "sse.pc prefix is not $prefix"
[ "$(pkg-config --variable=libdir sse)" = "$libdir" ] || fail "sse.pc libdir is not $libdir"
[ "$(pkg-config --variable=includedir sse)" = "$prefix/include" ] || fail "sse.pc includedir is wrong"
cflags="-std=c99 -Wall -Wextra -Wpedantic -Werror"
# shellcheck disable=SC2046,SC2086
cc $cflags tests/downstream/consumer.c -o "$tmp/pc-shared" $(pkg-config --cflags --libs sse) \
   -Wl,-rpath,"$(pkg-config --variable=libdir sse)" || fail "pkg-config build failed"
[ -x "$tmp/pc-shared" ] && needs_libsse "$tmp/pc-shared" yes && run "pkg-config" "$tmp/pc-shared"
# Static: Libs.private joins Libs; -Bstatic makes the linker take libsse.a
# although libsse.so is beside it, while libc stays shared.
# shellcheck disable=SC2046,SC2086
cc $cflags tests/downstream/consumer.c -o "$tmp/pc-static" $(pkg-config --static --cflags sse) \
   -Wl,-Bstatic $(pkg-config --static --libs sse) -Wl,-Bdynamic || fail "pkg-config --static build failed"
[ -x "$tmp/pc-static" ] && needs_libsse "$tmp/pc-static" no && run "pkg-config --static" "$tmp/pc-static"

# --- find_package -----------------------------------------------------------------
consumer() { # consumer NAME LIBSSE(yes|no) cmake args...
  local name=$1 want=$2 dir=$tmp/$1
  shift 2
  if quiet cmake -S tests/downstream -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" &&
     quiet cmake --build "$dir" -j2; then
    needs_libsse "$dir/consumer" "$want" && run "$name" "$dir/consumer"
  else
    fail "$name: consumer did not configure or build"
  fi
}
consumer "find_package" yes -DCMAKE_PREFIX_PATH="$prefix"
consumer "find_package static" no -DCMAKE_PREFIX_PATH="$prefix" -DSSE_COMPONENT=static
if cmake -S tests/downstream -B "$tmp/fp-major" -DCMAKE_PREFIX_PATH="$prefix" \
         -DSSE_VERSION_WANTED=$((major + 1)).0 >"$tmp/log" 2>&1 ||
   ! grep -q "sse-config.cmake, version: $version" "$tmp/log"; then
  fail "find_package(sse $((major + 1)).0) was not refused for its version ($version installed)"
else
  echo "find_package(sse $((major + 1)).0): refused, as it should be"
fi

# --- add_subdirectory -------------------------------------------------------------
consumer "add_subdirectory" no -DSSE_SOURCE_DIR="$src"
consumer "add_subdirectory shared" yes -DSSE_SOURCE_DIR="$src" -DBUILD_SHARED_LIBS=ON

# --- a shared-only and a static-only build in one prefix --------------------------
both=$tmp/both
for shared in ON OFF; do
  quiet cmake -S . -B "$tmp/lib-$shared" -DCMAKE_BUILD_TYPE=Release -DSSE_BUILD_TESTS=OFF \
        -DSSE_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=$shared
  quiet cmake --build "$tmp/lib-$shared" -j2
  quiet cmake --install "$tmp/lib-$shared" --prefix "$both"
done
consumer "split install, find_package" yes -DCMAKE_PREFIX_PATH="$both"
consumer "split install, find_package static" no -DCMAKE_PREFIX_PATH="$both" -DSSE_COMPONENT=static

echo "downstream check: $(($(date +%s) - start))s, $fails failure(s)"
[ "$fails" -eq 0 ]
