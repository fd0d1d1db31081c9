#!/usr/bin/env python3
"""Keeps the documentation true: compiles and runs its C snippets, checks its
links and the library names it uses.

usage: test_readme.py CC README.md INCLUDE_DIR LIBSSE [FLAGS]
FLAGS: the build's compiler and linker flags, as one string (sanitizer
builds need them to link against their library).

1. Every ```c block of README.md and docs/*.md compiles (C99, -Wall -Wextra
   -Wpedantic -Werror) against the headers and the library, and runs with
   exit status 0. A block without main() is wrapped into one. ```c-sketch
   blocks (outlines with parts left out) are not compiled.
2. Every relative link of the repository's guides (README.md, CHANGELOG.md,
   docs/*.md, examples/*/README.md, tests/fuzz/README.md) points to a file
   or folder that exists, and an #anchor to a heading of its page.
3. The library names in the guides this repository's docs own (README.md,
   docs/ but hub.md, tests/fuzz/README.md) exist in include/: no stale
   function, type or constant. (CHANGELOG.md names the old ones on purpose.)
4. README.md stays an orientation: at most 12 KiB, and its test command is
   the one .ci/run runs verbatim.
Prints what failed and 'N passed, M failed'.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

README_MAX_BYTES = 12 * 1024


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def snippets(text):
    return re.findall(r"^```c\n(.*?)^```", text, re.S | re.M)


def without_code(text):
    """The text with fenced blocks and inline code removed."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading):
    """GitHub's anchor for a heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(text):
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return {slug(h) for h in re.findall(r"^#{1,6} +(.*?) *#*$", text, re.M)}


def check_snippets(cc, root, include, lib, flags, tmp):
    fails = []
    files = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    count = 0
    for path in files:
        for i, code in enumerate(snippets(read(path))):
            count += 1
            name = "%s snippet %d" % (os.path.relpath(path, root), i + 1)
            if "main(" not in code:
                code = "#include <sse.h>\n#include <stdio.h>\nint main(void) {\n" + code + "\nreturn 0;\n}\n"
            src, exe = os.path.join(tmp, "s%d.c" % count), os.path.join(tmp, "s%d" % count)
            with open(src, "w") as f:
                f.write(code)
            rpath = ["-Wl,-rpath," + os.path.dirname(os.path.abspath(lib))] if ".so" in lib else []
            c = subprocess.run([cc] + flags + ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                                               "-I", include, src, lib, "-o", exe] + rpath,
                               capture_output=True, text=True)
            if c.returncode != 0:
                fails.append("%s does not compile:\n%s\n%s" % (name, code, c.stderr))
                continue
            r = subprocess.run([exe], capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                fails.append("%s exits %d:\n%s\n%s%s" % (name, r.returncode, code, r.stdout, r.stderr))
    return count, fails


def check_links(root):
    fails = []
    pages = [os.path.join(root, p) for p in ("README.md", "CHANGELOG.md")]
    pages += sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    pages += sorted(glob.glob(os.path.join(root, "examples", "*", "README.md")))
    pages += [os.path.join(root, "tests", "fuzz", "README.md")]
    count = 0
    for page in pages:
        if not os.path.exists(page):
            continue
        text = read(page)
        for target in re.findall(r"\]\(([^)\s]+)\)", without_code(text)):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            count += 1
            path, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            where = "%s: link %s" % (os.path.relpath(page, root), target)
            if not os.path.exists(dest):
                fails.append(where + ": no such file")
            elif anchor and dest.endswith(".md") and anchor not in anchors(read(dest)):
                fails.append(where + ": no such heading")
    return count, fails


def header_names(include):
    """Names the headers declare, and the build's target names (sse_docs)."""
    root = os.path.dirname(os.path.abspath(include))
    files = glob.glob(os.path.join(include, "**", "*.h"), recursive=True)
    files += [os.path.join(root, "CMakeLists.txt")] + glob.glob(os.path.join(root, "lib", "cmake", "*.cmake"))
    names = set()
    for f in files:
        names |= set(re.findall(r"\b(?:sse|SSE)_\w+", read(f)))
    return names


def check_names(root, include):
    known = header_names(include)
    fails = []
    pages = [os.path.join(root, "README.md"), os.path.join(root, "tests", "fuzz", "README.md")]
    pages += [p for p in sorted(glob.glob(os.path.join(root, "docs", "*.md")))
              if os.path.basename(p) != "hub.md"]
    count = 0
    for page in filter(os.path.exists, pages):
        # sse_ names not followed by a file suffix or a hyphen (sse_bench.c,
        # sse_Runtime are not library names); the header constants' prefixes.
        text = read(page)
        used = set(re.findall(r"\bsse_[a-z0-9_]+\b(?![.\-/])", text))
        used |= set(re.findall(r"\bSSE_(?:(?:E|DEFAULT|STREAM|DECODER|HTTP|RECONNECT|VERSION)_[A-Z0-9_]*[A-Z0-9]"
                               r"|NO_DEADLINE|MAX_PADDING|PAUSE|OK)\b", text))
        for name in sorted(used):
            count += 1
            if name not in known:
                fails.append("%s: %s is not declared in include/" % (os.path.relpath(page, root), name))
    return count, fails


def check_readme(root):
    fails = []
    readme = os.path.join(root, "README.md")
    size = os.path.getsize(readme)
    if size > README_MAX_BYTES:
        fails.append("README.md is %d bytes, more than %d: move details to docs/" % (size, README_MAX_BYTES))
    text = read(readme)
    m = re.search(r"^# run all tests\n(.*)$", text, re.M)
    ci = os.path.join(root, ".ci", "run")
    if not m:
        fails.append("README.md: no '# run all tests' command")
    elif os.path.exists(ci) and m.group(1) not in read(ci):
        fails.append("README.md's test command is not the one .ci/run runs: " + m.group(1))
    return 2, fails


def main():
    cc, readme, include, lib = sys.argv[1:5]
    flags = sys.argv[5].split() if len(sys.argv) > 5 else []
    root = os.path.dirname(os.path.abspath(readme))
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        results = [("snippets", check_snippets(cc, root, include, lib, flags, tmp)),
                   ("links", check_links(root)),
                   ("names", check_names(root, include)),
                   ("readme", check_readme(root))]
    for what, (count, fails) in results:
        for f in fails:
            print("FAIL %s: %s" % (what, f))
        print("%s: %d checked, %d failed" % (what, count, len(fails)))
        passed += count - len(fails)
        failed += len(fails)
    print("%d passed, %d failed" % (passed, failed))
    snippet_count = results[0][1][0]
    return 1 if failed or not snippet_count else 0


if __name__ == "__main__":
    sys.exit(main())
