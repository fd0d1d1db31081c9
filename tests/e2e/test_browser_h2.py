#!/usr/bin/env python3
"""Twelve EventSources on one page in headless Chromium: over HTTP/2 (sse-h2
with TLS, a self-signed certificate made here with openssl) all twelve get
events; over HTTP/1.1 (sse-demo) only six do, the browser's limit of
connections per origin.

usage: test_browser_h2.py SSE_H2 SSE_DEMO
Exit status 0 on success, 1 on failure, 77 (skip) when chromium or openssl
is missing (a failure instead under SSE_E2E_REQUIRE=1).
"""

import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Server, report, skip  # noqa: E402
import test_demo_browser  # noqa: E402
from test_demo_browser import Browser  # noqa: E402
from test_examples import make_cert  # noqa: E402

# The test's self-signed certificate (the one Chromium gets from this server).
test_demo_browser.FLAGS.append("--ignore-certificate-errors")

# Closes the page's own EventSource, opens twelve, counts their events.
OPEN_12 = """
source.close();
window.counts = []; window.opened = [];
for (let i = 0; i < 12; i++) {
  const es = new EventSource('/events');
  counts.push(0); opened.push(false);
  es.onopen = () => { opened[i] = true; };
  es.onmessage = () => { counts[i]++; };
}
'ok'"""
STATE = """JSON.stringify({counts: window.counts, opened: window.opened,
  protocol: performance.getEntriesByType('navigation')[0].nextHopProtocol})"""


def twelve(exe, url, profile, want_all):
    """Opens the page, then twelve EventSources; returns the final state."""
    browser = Browser(exe, url, profile)
    state = None
    try:
        targets = browser.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        session = browser.call("Target.attachToTarget", {
            "targetId": page["targetId"], "flatten": True})["sessionId"]
        def evaluate(expression):
            """The value of expression in the page, or None while the page
            has no execution context yet (it is still loading)."""
            try:
                res = browser.call("Runtime.evaluate", {
                    "expression": expression, "returnByValue": True}, session)
            except RuntimeError as e:
                if "execution context" in str(e):
                    return None
                raise
            return res["result"].get("value")

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the page and its script loaded
            if evaluate("typeof source") == "object":
                break
            time.sleep(0.1)
        while evaluate(OPEN_12) is None and time.monotonic() < deadline:
            time.sleep(0.1)  # no context: the script did not run; again
        deadline = time.monotonic() + 30
        settled = None
        while time.monotonic() < deadline:
            value = evaluate(STATE)
            state = json.loads(value) if value else None
            if not state or not isinstance(state.get("counts"), list):
                time.sleep(0.2)  # not opened yet
                continue
            live = sum(1 for n in state["counts"] if n >= 2)
            if want_all and live == 12:
                break
            if not want_all and live >= 6:
                # wait a while longer: no seventh may start
                settled = settled or time.monotonic()
                if time.monotonic() - settled > 3:
                    break
            time.sleep(0.2)
    finally:
        browser.close()
    return state


def main():
    exe = shutil.which("chromium")
    if not exe:
        skip("chromium not installed (apt-get install chromium)")
    if not shutil.which("openssl"):
        skip("openssl not installed (apt-get install openssl)")
    sse_h2, sse_demo = sys.argv[1:3]
    failures = []
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_cert(tmp)
        with Server(sse_h2, "--cert", cert, "--key", key,
                    "--interval-ms", "200") as srv:
            url = "https://127.0.0.1:%d/" % srv.port
            h2 = twelve(exe, url, os.path.join(tmp, "p1"), True)
            if not srv.alive():  # e.g. killed by a SIGPIPE from TLS
                failures.append("sse-h2 died: %r" % srv.proc.poll())
            srv.stop()
            if not h2 or sum(1 for n in h2.get("counts") or [] if n >= 2) != 12:
                print("sse-h2's log:\n" + srv.stderr)
        print("HTTP/2:", json.dumps(h2))
        if not h2 or h2["protocol"] != "h2":
            failures.append("the page did not come over h2: %r" % h2)
        elif sum(1 for n in h2["counts"] if n >= 2) != 12:
            failures.append("over HTTP/2 not all 12 EventSources got events")
        with Server(sse_demo, "--interval-ms", "200") as demo:
            h1 = twelve(exe, demo.base + "/", os.path.join(tmp, "p2"), False)
            demo.stop()
        print("HTTP/1.1:", json.dumps(h1))
        if not h1 or h1["protocol"] != "http/1.1":
            failures.append("the demo page did not come over HTTP/1.1")
        elif sum(1 for n in h1["counts"] if n > 0) != 6:
            failures.append("over HTTP/1.1 %d EventSources got events, not 6"
                            % sum(1 for n in h1["counts"] if n > 0))
    return report(failures, t0)


if __name__ == "__main__":
    sys.exit(main())
