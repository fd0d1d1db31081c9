#!/usr/bin/env bash
# Debian packages: libsse1, libsse-dev and sse-tools built with CPack
# (lib/cmake/package.cmake) in a fresh build directory, checked by lintian (no
# errors), installed with apt-get, then used: the consumer in tests/downstream
# built against the installed files through pkg-config (shared and static) and
# find_package, ssecat run, and sse-hub started through its unit (systemctl
# when systemd runs, else the unit's ExecStart run directly as nobody), asked
# for /healthz and one event end to end, and stopped. The packages are purged
# at the end, and the list of installed packages must be what it was before.
set -euo pipefail
sh .ci/deps lintian dpkg-dev file pkg-config curl util-linux
start=$(date +%s)
build="build-deb"
tmp=$(mktemp -d)
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
phase() { echo "-- $1 ($(($(date +%s) - start))s)"; }
has() { grep "$@" >/dev/null; } # reads all its input: no SIGPIPE under pipefail
quiet() { "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; return 1; }; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
apt_get() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 -y -q "$@"; }

pkgs="libsse1 libsse-dev sse-tools"
installed() { dpkg-query -W -f='${Status}\n' "$@" 2>/dev/null | has 'ok installed'; }
for p in $pkgs; do
  if installed "$p"; then
    echo "FAIL: $p is installed already; this check installs and purges it (apt-get purge $pkgs)" >&2
    exit 1
  fi
done
dpkg-query -W -f='${Package} ${Version} ${Status}\n' | sort >"$tmp/before"

hub_pid=""
cleanup() {
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null || true
  if [ -d /run/systemd/system ] && systemctl is-active -q sse-hub 2>/dev/null; then
    $SUDO systemctl stop sse-hub || true
  fi
  local left=""
  for p in $pkgs; do installed "$p" && left="$left $p"; done
  # shellcheck disable=SC2086
  [ -z "$left" ] || apt_get purge $left >/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

version=$(sed -n 's/^#define SSE_VERSION_STRING "\(.*\)"/\1/p' include/sse/common.h)
major=${version%%.*}
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$multiarch

# --- build ---------------------------------------------------------------------
phase "build"
rm -rf "$build"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
  quiet cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
        -DSSE_PACKAGE_DEB=ON -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_EXAMPLES=ON -DSSE_HUB_JWT=ON \
        -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON -UBUILD_SHARED_LIBS
# Only what the packages hold (not every example): cpack then builds nothing.
quiet cmake --build "$build" -j2 --target sse sse_shared ssecat sse-hub
(cd "$build" && quiet cpack -G DEB)
debs=()
for p in $pkgs; do
  f=$(find "$build/packages" -maxdepth 1 -name "${p}_*.deb")
  if [ -n "$f" ]; then debs+=("$f"); else fail "no package $p"; fi
done
[ "${#debs[@]}" -eq 3 ] || exit 1
for f in "${debs[@]}"; do
  echo "$(basename "$f"): $(dpkg-deb -f "$f" Depends)"
  dpkg-deb -c "$f" | awk '{print "  " $6 ($7 ? " " $7 " " $8 : "")}' | grep -v '/$'
done

# --- what the packages declare -------------------------------------------------------
phase "packages built"
lib_deb=${debs[0]} dev_deb=${debs[1]}
dpkg-deb --ctrl-tarfile "$lib_deb" | tar -x -O ./shlibs >"$tmp/shlibs" 2>/dev/null || true
grep -qx "libsse $major libsse1 (>= $version-[0-9]*)" "$tmp/shlibs" ||
  fail "libsse1: shlibs is '$(cat "$tmp/shlibs")'"
dpkg-deb --ctrl-tarfile "$lib_deb" | tar -x -O ./triggers 2>/dev/null | has -x 'activate-noawait ldconfig' ||
  fail "libsse1: no ldconfig trigger"
dpkg-deb -f "$dev_deb" Depends | has -x "libsse1 (= $(dpkg-deb -f "$lib_deb" Version))" ||
  fail "libsse-dev does not depend on exactly this libsse1"

# --- lintian ---------------------------------------------------------------------------
phase "lintian"
lintian --fail-on error --tag-display-limit 0 "${debs[@]}" >"$tmp/lintian" 2>&1 || lintian_rc=$?
grep -v 'running with root privileges' "$tmp/lintian" || true
[ "${lintian_rc:-0}" -eq 0 ] || fail "lintian reports errors"
echo "lintian: $(grep -c '^E:' "$tmp/lintian" || true) errors, $(grep -c '^W:' "$tmp/lintian" || true) warnings"

# --- install -----------------------------------------------------------------------------
phase "install"
# ./ makes apt-get take files; it installs their dependencies too (none are
# missing here: the build needed their -dev packages).
quiet apt_get install --no-install-recommends "${debs[@]/#/$PWD/}"
soname=$(readelf -d "$libdir/libsse.so.$major" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libsse.so.$major" ] || fail "installed libsse.so.$major has soname '$soname'"
# (with /lib a link to /usr/lib, the cache and ldd may name either path)
ldconfig -p | has -E "libsse\.so\.$major .*=> (/usr)?/lib/$multiarch/libsse\.so\.$major\$" ||
  fail "the linker cache does not list libsse.so.$major (ldconfig trigger)"
for f in /usr/include/sse.h "$libdir/libsse.a" "$libdir/pkgconfig/sse.pc" \
         "$libdir/cmake/sse/sse-config.cmake" /usr/bin/ssecat /usr/bin/sse-hub \
         /usr/share/man/man1/ssecat.1.gz /usr/share/man/man1/sse-hub.1.gz \
         /lib/systemd/system/sse-hub.service; do
  [ -e "$f" ] || fail "not installed: $f"
done
if ! out=$(SYSTEMD_LOG_LEVEL=err systemd-analyze verify /lib/systemd/system/sse-hub.service 2>&1) ||
   [ -n "$out" ]; then
  fail "systemd-analyze verify sse-hub.service: $out"
fi
events=$(/usr/bin/ssecat examples/sample.sse | grep -c '"type"') || true
[ "$events" = 3 ] || fail "installed ssecat decoded $events events of sample.sse, expected 3"

# --- downstream: pkg-config and find_package against /usr --------------------------------
phase "downstream"
run() { # run NAME EXE LIBSSE(yes|no)
  local out got=no
  readelf -d "$2" | has "(NEEDED).*\[libsse\.so\.$major\]" && got=yes
  [ "$got" = "$3" ] || { fail "$1: needs libsse.so.$major: $got, expected $3"; return; }
  if [ "$got" = yes ] &&
     ! ldd "$2" | has -E "libsse\.so\.$major => (/usr)?/lib/$multiarch/libsse\.so\.$major "; then
    fail "$1: libsse.so.$major does not resolve to $libdir"; return
  fi
  if out=$("$2" 2>&1); then echo "$1: $out"; else fail "$1: consumer failed: $out"; fi
}
[ "$(pkg-config --modversion sse)" = "$version" ] || fail "pkg-config: sse is not $version"
[ "$(pkg-config --variable=libdir sse)" = "$libdir" ] || fail "pkg-config: libdir is not $libdir"
cflags="-std=c99 -Wall -Wextra -Wpedantic -Werror"
# shellcheck disable=SC2046,SC2086
if cc $cflags tests/downstream/consumer.c -o "$tmp/pc-shared" $(pkg-config --cflags --libs sse); then
  run "pkg-config" "$tmp/pc-shared" yes
else
  fail "pkg-config build failed"
fi
# shellcheck disable=SC2046,SC2086
if cc $cflags tests/downstream/consumer.c -o "$tmp/pc-static" $(pkg-config --static --cflags sse) \
      -Wl,-Bstatic $(pkg-config --static --libs sse) -Wl,-Bdynamic; then
  run "pkg-config --static" "$tmp/pc-static" no
else
  fail "pkg-config --static build failed"
fi
for comp in shared static; do
  dir=$tmp/fp-$comp
  if quiet cmake -S tests/downstream -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSSE_COMPONENT=$comp &&
     quiet cmake --build "$dir"; then
    grep -qx "sse_DIR:PATH=$libdir/cmake/sse" "$dir/CMakeCache.txt" ||
      fail "find_package $comp: found $(grep '^sse_DIR' "$dir/CMakeCache.txt")"
    want=yes
    [ $comp = static ] && want=no
    run "find_package $comp" "$dir/consumer" $want
  else
    fail "find_package $comp: consumer did not configure or build"
  fi
done

# --- sse-hub through its unit ------------------------------------------------------------
phase "sse-hub"
unit=/lib/systemd/system/sse-hub.service
port=8080
hub_log=$tmp/hub.log
if [ -d /run/systemd/system ]; then
  echo "sse-hub: started by systemd"
  $SUDO systemctl start sse-hub
else
  # The unit's ExecStart with an empty SSE_HUB_OPTS, as an unprivileged user;
  # if another program holds 8080, a later --port 0 wins (as the unit allows).
  read -r -a cmd <<<"$(sed -n 's/^ExecStart=//p' "$unit" | sed 's/\$SSE_HUB_OPTS//')"
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
    cmd+=(--port 0)
  fi
  echo "sse-hub: no systemd; running: ${cmd[*]}"
  setpriv --reuid=nobody --regid=nogroup --clear-groups -- "${cmd[@]}" >"$hub_log" 2>&1 &
  hub_pid=$!
  for _ in $(seq 50); do
    grep -q 'listening on' "$hub_log" && break
    kill -0 "$hub_pid" 2>/dev/null || break
    sleep 0.1
  done
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$hub_log")
  [ -n "$port" ] || { cat "$hub_log" >&2; fail "sse-hub did not start"; exit 1; }
fi
base=http://127.0.0.1:$port
ok=""
for _ in $(seq 50); do
  ok=$(curl -s --max-time 2 "$base/healthz" || true)
  [ -n "$ok" ] && break
  sleep 0.1
done
[ "$ok" = ok ] || fail "sse-hub: /healthz answered '$ok'"
curl -sN --max-time 10 "$base/events?topic=deb" >"$tmp/events" &
sub=$!
for _ in $(seq 50); do
  curl -s --max-time 2 "$base/stats" | has '"subscribers":1' && break
  sleep 0.1
done
id=$(curl -s --max-time 5 -d 'hello from the package' "$base/publish?topic=deb&event=greeting")
for _ in $(seq 50); do
  grep -q '^data: hello from the package' "$tmp/events" && break
  sleep 0.1
done
kill "$sub" 2>/dev/null || true
wait "$sub" 2>/dev/null || true
if grep -q '^data: hello from the package' "$tmp/events" && grep -q '^event: greeting' "$tmp/events"; then
  echo "sse-hub: /healthz ok, event $id published and received on $base"
else
  fail "sse-hub: the event did not arrive: $(cat "$tmp/events")"
fi
if [ -n "$hub_pid" ]; then
  kill -TERM "$hub_pid"
  for _ in $(seq 50); do kill -0 "$hub_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$hub_pid" 2>/dev/null; then
    fail "sse-hub did not stop within 5 s of SIGTERM"
  else
    wait "$hub_pid" || fail "sse-hub exited with status $? on SIGTERM"
  fi
  hub_pid=""
else
  $SUDO systemctl stop sse-hub
  systemctl is-active -q sse-hub && fail "sse-hub still active after systemctl stop"
fi

# --- purge ---------------------------------------------------------------------------------
phase "purge"
# shellcheck disable=SC2086
quiet apt_get purge $pkgs
dpkg-query -W -f='${Package} ${Version} ${Status}\n' | sort >"$tmp/after"
diff "$tmp/before" "$tmp/after" >&2 || fail "the installed packages differ from before the check"
for f in /usr/include/sse.h "$libdir/libsse.so.$major" /usr/bin/sse-hub /lib/systemd/system/sse-hub.service; do
  [ ! -e "$f" ] || fail "left behind: $f"
done
ldconfig -p | has "libsse.so.$major" && fail "the linker cache still lists libsse.so.$major"

echo "deb check: $(($(date +%s) - start))s, $fails failure(s)"
[ "$fails" -eq 0 ]
