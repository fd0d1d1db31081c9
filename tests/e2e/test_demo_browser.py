#!/usr/bin/env python3
"""sse-demo in a real browser: headless Chromium (Debian's `chromium`) opens
the demo page, whose EventSource lists the events; the test reads the
page's DOM through the DevTools protocol and wants at least three events
with increasing ids and the demo's JSON data. Then it closes the browser
and wants the demo to notice the client left.

usage: test_demo_browser.py SSE_DEMO
Exit status 0 on success, 1 on failure, 77 (skip) when chromium is missing
(a failure instead under SSE_E2E_REQUIRE=1).

The DevTools protocol runs over --remote-debugging-pipe (JSON messages
ended by NUL on file descriptors 3 and 4): no port, no dependency.
"""

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Server, report, skip  # noqa: E402

DEADLINE = 45  # seconds for the whole test
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe"]


class Browser:
    def __init__(self, exe, url, profile):
        to_chrome, self._w = os.pipe()
        self._r, from_chrome = os.pipe()

        def fds():  # the protocol's fixed descriptors in the child
            a, b = os.dup(to_chrome), os.dup(from_chrome)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [exe, *FLAGS, "--user-data-dir=" + profile, url],
            preexec_fn=fds, pass_fds=(3, 4), stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=self.log)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buf = b""
        self._id = 0

    def call(self, method, params=None, session=None, timeout=10):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._r], [], [], left)[0]:
                    raise TimeoutError("no answer to " + method)
                chunk = os.read(self._r, 1 << 16)
                if not chunk:
                    raise ConnectionError("chromium closed the pipe")
                self._buf += chunk
            raw, self._buf = self._buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply["result"]

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        os.close(self._w)
        os.close(self._r)

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


# The events the page lists: [lastEventId, text] per item.
READ_DOM = """JSON.stringify({
  status: document.getElementById('status').textContent,
  events: [...document.querySelectorAll('#events li')].map(
      li => [li.dataset.id, li.textContent])})"""


def main():
    exe = shutil.which("chromium")
    if not exe:
        skip("chromium not installed (apt-get install chromium)")
    t0 = time.monotonic()
    with Server(sys.argv[1], "--interval-ms", "150") as demo, \
            tempfile.TemporaryDirectory() as profile:
        browser = Browser(exe, demo.base + "/", profile)
        state = None
        try:
            targets = browser.call("Target.getTargets")["targetInfos"]
            page = next(t for t in targets if t["type"] == "page")
            session = browser.call("Target.attachToTarget", {
                "targetId": page["targetId"], "flatten": True})["sessionId"]
            while time.monotonic() - t0 < DEADLINE - 10:
                res = browser.call("Runtime.evaluate", {
                    "expression": READ_DOM, "returnByValue": True}, session)
                value = res["result"].get("value")
                state = json.loads(value) if value else None
                if state and len(state["events"]) >= 3:
                    break
                time.sleep(0.1)
        finally:
            browser.close()
        # The demo notices the browser left and stops its clock.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            demo._err.seek(0)
            if b"client disconnected (0 connected)" in demo._err.read():
                break
            time.sleep(0.05)
        status = demo.stop()
    log = demo.stderr
    print("page:", json.dumps(state)[:600])
    print("demo log:", log.strip().replace("\n", " | ")[:400])
    failures = []
    if not state or len(state["events"]) < 3:
        failures.append("fewer than three events on the page")
        print(browser.output()[-2000:])
    else:
        ids = [int(i) for i, _ in state["events"]]
        if ids != sorted(set(ids)) or ids[0] < 1:
            failures.append("ids do not increase: %r" % ids)
        for i, text in state["events"]:
            data = json.loads(text.split(" ", 1)[1])
            if data.get("message") != "Hello from the server!" or \
                    not isinstance(data.get("timestamp"), int) or \
                    abs(data["timestamp"] - time.time() * 1000) > 60000:
                failures.append("unexpected data for id %s: %r" % (i, text))
        if state["status"] != "open":
            failures.append("connection status %r, not open" % state["status"])
    if "client connected" not in log:
        failures.append("the demo did not log the browser's connection")
    if "client disconnected (0 connected)" not in log:
        failures.append("the demo did not notice the browser leaving")
    if status != 0:
        failures.append("sse-demo exited with %s after SIGTERM" % status)
    return report(failures, t0)


if __name__ == "__main__":
    sys.exit(main())
