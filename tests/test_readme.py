#!/usr/bin/env python3
"""Compiles and runs every C snippet of README.md, so the docs stay true.

usage: test_readme.py CC README.md INCLUDE_DIR LIBSSE [FLAGS]
FLAGS: the build's compiler and linker flags, as one string (sanitizer
builds need them to link against their library).
A snippet without main() is wrapped into one. Prints 'N passed, M failed'.
"""
import os
import re
import subprocess
import sys
import tempfile


def main():
    cc, readme, include, lib = sys.argv[1:5]
    flags = sys.argv[5].split() if len(sys.argv) > 5 else []
    blocks = re.findall(r"```c\n(.*?)```", open(readme, encoding="utf-8").read(), re.S)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, code in enumerate(blocks):
            if "main(" not in code:
                code = "#include <sse.h>\n#include <stdio.h>\nint main(void) {\n" + code + "\nreturn 0;\n}\n"
            src, exe = os.path.join(tmp, f"s{i}.c"), os.path.join(tmp, f"s{i}")
            open(src, "w").write(code)
            c = subprocess.run([cc] + flags + ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                                "-I", include, src, lib, "-o", exe]
                               + (["-Wl,-rpath," + os.path.dirname(os.path.abspath(lib))] if ".so" in lib else []), capture_output=True, text=True)
            r = c.returncode == 0 and subprocess.run([exe], capture_output=True, timeout=30).returncode == 0
            if r:
                passed += 1
            else:
                failed += 1
                print(f"FAIL snippet {i}:\n{code}\n{c.stderr}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
