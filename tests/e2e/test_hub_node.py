#!/usr/bin/env python3
"""Runs node/hub_eventsource.mjs and node/hub_features.mjs (the
`eventsource` npm package against sse-hub), each with a time limit.

usage: test_hub_node.py SSE_HUB
Exit status: the script's (0 on success), or 77 (skip) when node or the
installed packages (`npm ci` in tests/e2e/node) are missing; a failure
instead under SSE_E2E_REQUIRE=1.
"""

import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import skip  # noqa: E402


def main():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        skip("node not installed (apt-get install nodejs npm)")
    pkg = os.path.join(HERE, "node")
    if not os.path.isdir(os.path.join(pkg, "node_modules", "eventsource")):
        skip("eventsource not installed (cd tests/e2e/node && npm ci)")
    rc = 0
    for script in ("hub_eventsource.mjs", "hub_features.mjs"):
        try:
            r = subprocess.run([node, os.path.join(pkg, script), sys.argv[1]],
                               timeout=60).returncode
        except subprocess.TimeoutExpired:
            print("FAIL: %s did not end within 60 s" % script)
            r = 1
        rc = rc or r
    return rc


if __name__ == "__main__":
    sys.exit(main())
