#!/usr/bin/env bash
# A clean ABI and self-contained public headers:
#  - the shared library exports exactly the SSE_API functions of the headers,
#    all named sse_ (never the internal sse__), has soname libsse.so.<major>
#    and needs nothing but libc;
#  - the static library holds no writable data (no global mutable state);
#  - every public header compiles alone as C99 and as C++11 (extern "C"
#    links), warning-free, includes only standard or public headers, and
#    documents every declaration with a comment (functions declared one
#    after the other may share one);
#  - the ABI has not changed incompatibly since the committed baseline
#    lib/abi/libsse.so.<major>.abi (libabigail's abidiff on a -g build; see
#    .ci/abi-baseline.sh): removed or changed functions, variables or public
#    types fail, additions are printed. lib/abi/libsse.abignore lists the
#    changes that are compatible by the headers' rules (members appended to
#    sse_event, which only the library allocates).
set -euo pipefail
sh .ci/deps g++ binutils abigail-tools
start=$(date +%s)
build="build-abi"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSSE_BUILD_TESTS=OFF \
      -DSSE_BUILD_EXAMPLES=OFF -UBUILD_SHARED_LIBS -DSSE_WERROR=ON >/dev/null
cmake --build "$build" -j2 >/dev/null
so=$(find "$build" -maxdepth 1 -name 'libsse.so.*.*.*' | head -n1)
ar="$build/libsse.a"
if [ ! -f "$so" ] || [ ! -f "$ar" ]; then
  echo "FAIL: $build lacks libsse.so.X.Y.Z or libsse.a" >&2
  exit 1
fi

# --- the shared library ------------------------------------------------------
major=$(sed -n 's/^#define SSE_VERSION_MAJOR \([0-9]*\).*/\1/p' include/sse/common.h)
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libsse.so.$major" ] || fail "soname is '$soname', expected libsse.so.$major"
needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
[ "$needed" = "libc.so.6 " ] || fail "libsse.so needs '$needed', expected libc.so.6 only"

nm -D --defined-only "$so" | awk '{print $NF}' | sort -u >"$tmp/exported"
if grep -v '^sse_[a-z0-9]' "$tmp/exported" >"$tmp/bad"; then
  fail "exported symbols without the sse_ prefix, or internal sse__ ones:"
  sed 's/^/  /' "$tmp/bad" >&2
fi

# --- the public headers: declarations, comments, includes ---------------------
python3 - include "$tmp/declared" <<'EOF' || fails=$((fails + 1))
import os, re, sys
root, out = sys.argv[1], sys.argv[2]
std = set("""assert.h complex.h ctype.h errno.h fenv.h float.h inttypes.h iso646.h
limits.h locale.h math.h setjmp.h signal.h stdarg.h stdbool.h stddef.h stdint.h
stdio.h stdlib.h string.h tgmath.h time.h wchar.h wctype.h""".split())
declared, problems = set(), []
headers = sorted(os.path.join(d, f) for d, _, fs in os.walk(root)
                 for f in fs if f.endswith(".h"))
for path in headers:
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    rel = os.path.relpath(path, root)
    # Includes: a C standard header, or another public header.
    for n, line in enumerate(lines, 1):
        m = re.match(r'\s*#\s*include\s*([<"])([^>"]+)[>"]', line)
        if not m:
            continue
        name = m.group(2)
        here = os.path.join(os.path.dirname(path), name)
        if m.group(1) == '"' and os.path.isfile(here):
            continue
        if os.path.isfile(os.path.join(root, name)) or (m.group(1) == "<" and name in std):
            continue
        problems.append(f"{rel}:{n}: includes {name}, neither a C standard nor a public header")
    # Function declarations: every sse_x( outside comments, directives and
    # typedefs must be an SSE_API declaration.
    code = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    code = re.sub(r"(?m)^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", lambda m: re.sub(r"[^\n]", " ", m.group(0)), code)
    for m in re.finditer(r"\b(sse_\w+)\s*\(", code):
        start = max(code.rfind(c, 0, m.start()) for c in ";{}") + 1
        decl = code[start:m.start()]
        line = code.count("\n", 0, m.start()) + 1
        if re.match(r"\s*typedef\b", decl):
            continue  # a function type, not a function
        if not re.search(r"\bSSE_API\b", decl):
            problems.append(f"{rel}:{line}: {m.group(1)} is declared without SSE_API")
        declared.add(m.group(1))
    # Doc comments: each top-level declaration follows a comment (a run of
    # #defines, or of SSE_API functions, shares one), or carries one on its line.
    for n, line in enumerate(lines):
        if not re.match(r"(SSE_API\b|typedef\b|enum\b|struct\b|#define SSE_)", line):
            continue
        prev = lines[n - 1].rstrip() if n else ""
        if line.startswith("#define") and re.match(r"#ifndef\s+" + line.split()[1] + r"\s*$", prev):
            continue  # include guard
        k = n - 1
        if line.startswith("#define"):
            while k >= 0 and lines[k].startswith("#define"):
                k -= 1
        elif line.startswith("SSE_API"):
            # Functions declared one after the other share one comment.
            while k >= 0 and not lines[k].rstrip().endswith("*/") and (
                    lines[k].startswith("SSE_API") or
                    (lines[k][:1] in " \t" and lines[k].strip())):
                k -= 1
        if "/*" in line or (k >= 0 and lines[k].rstrip().endswith("*/")):
            continue
        problems.append(f"{rel}:{n + 1}: no doc comment before '{line.strip()}'")
for p in problems:
    print("FAIL: " + p, file=sys.stderr)
open(out, "w").write("".join(s + "\n" for s in sorted(declared)))
print(f"headers: {len(headers)} public headers, {len(declared)} SSE_API functions")
sys.exit(1 if problems else 0)
EOF
if ! diff <(sort "$tmp/declared") "$tmp/exported" >"$tmp/diff"; then
  fail "exported symbols differ from the SSE_API declarations (< declared only, > exported only):"
  grep '^[<>]' "$tmp/diff" | sed 's/^/  /' >&2
fi
echo "exported: $(wc -l <"$tmp/exported") symbols; soname $soname; needs $needed"

# --- the static library: no writable data ------------------------------------
# Read-only data with relocations (.data.rel.ro) is constant after loading.
nm -f sysv --defined-only "$ar" 2>/dev/null |
  awk -F'|' 'NF >= 7 { sec = $7; gsub(/ /, "", sec); name = $1; gsub(/ /, "", name)
    if ((sec ~ /^\.(t?data|t?bss|sdata|sbss)(\.|$)/ && sec !~ /^\.data\.rel\.ro/) || sec == "*COM*")
      print name " in " sec }' >"$tmp/writable"
if [ -s "$tmp/writable" ]; then
  fail "libsse.a has writable data (global or static mutable state):"
  sed 's/^/  /' "$tmp/writable" >&2
fi
echo "static: $(nm --defined-only "$ar" | grep -c ' [A-Za-z] ') defined symbols, $(wc -l <"$tmp/writable") writable"

# --- each header alone, as C99 and as C++11 ----------------------------------
cflags=(-std=c99 -pedantic -Wall -Wextra -Werror -Wundef -Wstrict-prototypes -Wshadow)
cxxflags=(-std=c++11 -pedantic -Wall -Wextra -Werror -Wundef -Wshadow)
ccs=(gcc); cxxs=(g++)
command -v clang >/dev/null && ccs+=(clang)
command -v clang++ >/dev/null && cxxs+=(clang++)
n=0
while IFS= read -r h; do
  h=${h#include/}
  printf '#include <%s>\n#include <%s>\ntypedef int sse_check_nonempty;\n' "$h" "$h" >"$tmp/one.h.c"
  for cc in "${ccs[@]}"; do
    "$cc" "${cflags[@]}" -Iinclude -fsyntax-only -x c "$tmp/one.h.c" || fail "$h alone as C99 ($cc)"
  done
  for cxx in "${cxxs[@]}"; do
    "$cxx" "${cxxflags[@]}" -Iinclude -fsyntax-only -x c++ "$tmp/one.h.c" || fail "$h alone as C++11 ($cxx)"
  done
  n=$((n + 1))
done < <(find include -name '*.h' | sort)
echo "headers: $n compiled alone with ${ccs[*]} (C99) and ${cxxs[*]} (C++11)"

# extern "C": a C++ program links against the C library and runs.
cat >"$tmp/link.cpp" <<'EOF'
#include <sse.h>
#include <cstdio>
#include <cstring>
int main() {
  char buf[64];
  size_t len = 0;
  sse_decoder *d = nullptr;
  if (sse_version() != SSE_VERSION_NUMBER || std::strcmp(sse_version_string(), SSE_VERSION_STRING))
    return 1;
  if (sse_decoder_new(&d, nullptr, nullptr, nullptr) != SSE_OK)
    return 1;
  sse_decoder_free(d);
  if (sse_encode_retry(buf, sizeof buf, 1000, &len) != SSE_OK || len != 13)
    return 1;
  std::printf("C++ link: %s, %s\n", sse_version_string(), sse_strerror(SSE_E_NOMEM));
  return 0;
}
EOF
if g++ "${cxxflags[@]}" -Iinclude "$tmp/link.cpp" "$ar" -o "$tmp/link"; then
  "$tmp/link" || fail "the C++ program linked against libsse.a failed"
else
  fail "a C++ program does not link against libsse.a (extern \"C\"?)"
fi

# --- the ABI against the committed baseline ----------------------------------
baseline=lib/abi/libsse.so.$major.abi
regen="bash .ci/abi-baseline.sh, review 'git diff $baseline' and commit it"
if [ ! -f "$baseline" ]; then
  if [ "$major" = 0 ]; then
    echo "abidiff: no $baseline: a 0.x version promises no ABI (1.x is checked against lib/abi/libsse.so.1.abi)"
  else
    fail "no ABI baseline $baseline for libsse.so.$major: create it with $regen"
  fi
elif ! bash .ci/abi-baseline.sh --out "$tmp/current.abi" >/dev/null; then
  fail "the ABI of the -g build could not be written (bash .ci/abi-baseline.sh --out FILE)"
else
  abi=(abidiff --no-default-suppression --suppressions lib/abi/libsse.abignore
       "$baseline" "$tmp/current.abi")
  # Exit status bits: 1 error, 2 usage error, 4 a change, 8 an incompatible
  # change (a removed symbol, another soname). abidiff flags a function whose
  # parameter or return type changed only with 4, like an added function:
  # the second run leaves the additions out, so 4 there is such a change.
  rc=0; "${abi[@]}" >"$tmp/abidiff" 2>&1 || rc=$?
  rc_changed=0; "${abi[@]}" --no-added-syms >/dev/null 2>&1 || rc_changed=$?
  summary=$(grep -E '^(Functions|Variables) changes summary' "$tmp/abidiff" | tr '\n' ' ' || true)
  stale="If $(sed -n 's/^#define SSE_VERSION_STRING "\(.*\)"/\1/p' include/sse/common.h) is not released yet and the change is meant, regenerate the baseline: $regen. A released ABI must not change: restore it, or start a new major version."
  if [ $((rc & 3)) -ne 0 ] || [ $((rc_changed & 3)) -ne 0 ]; then
    cat "$tmp/abidiff" >&2
    fail "abidiff could not compare $baseline with the library (exit $rc, $rc_changed); if the baseline is from another libabigail or is damaged, regenerate it: $regen"
  elif [ $((rc & 8)) -ne 0 ] || [ $((rc_changed & 4)) -ne 0 ]; then
    sed 's/^/  /' "$tmp/abidiff" >&2
    fail "the ABI of libsse.so.$major is incompatible with $baseline: $summary
  $stale"
  elif [ $((rc & 4)) -ne 0 ]; then
    echo "abidiff: compatible with $baseline; additions (regenerate the baseline to include them: $regen):"
    sed -n '/^[0-9]* Added/,$p' "$tmp/abidiff" | sed 's/^/  /'
  else
    echo "abidiff: libsse.so.$major is the ABI of $baseline ($(grep -c '<elf-symbol ' "$baseline") symbols)"
  fi
fi

echo "abi check: $((  $(date +%s) - start ))s, $fails failure(s)"
[ "$fails" -eq 0 ]
