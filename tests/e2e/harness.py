"""What the end-to-end tests share (standard library only): skipping, checks
and failures, the scenario registry and runner, a free port, the closing
report of the browser tests, and Server, which starts sse-demo, sse-hub or
an example for a test.

Each server binds 127.0.0.1 on an ephemeral port (--port 0) and prints
"...listening on http://127.0.0.1:PORT/..." as its first line; Server reads
it. Every wait is bounded; stop() ends the server with SIGTERM (SIGKILL after
a grace period) and returns its exit status.
"""

import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref

SKIP = 77  # CTest SKIP_RETURN_CODE: a tool the test needs is missing


def skip(why):
    """Exits with the skip code, or fails when SSE_E2E_REQUIRE=1 (CI)."""
    if os.environ.get("SSE_E2E_REQUIRE") == "1":
        print("FAIL (SSE_E2E_REQUIRE=1): " + why)
        sys.exit(1)
    print("SKIP: " + why)
    sys.exit(SKIP)


class Failure(Exception):
    pass


def check(cond, what, detail=None):
    """Raises Failure(what) unless cond. detail, when given, is appended:
    a finished process as its exit status, stdout and stderr; anything else
    as its text, indented."""
    if not cond:
        if detail is not None and hasattr(detail, "returncode"):
            what += "\n  exit status: %s\n  stdout:\n%s\n  stderr:\n%s" % (
                detail.returncode, indent(detail.stdout), indent(detail.stderr))
        elif detail is not None:
            what += "\n" + "".join("    %s\n" % line for line in
                                   str(detail).splitlines())
        raise Failure(what)


def indent(text):
    return "".join("    " + line + "\n" for line in text.splitlines())


def registry():
    """A scenario table and its decorator: SCENARIOS, scenario = registry();
    @scenario registers a function under its name (listed by --list, one
    CTest test each)."""
    table = {}

    def scenario(fn):
        table[fn.__name__] = fn
        return fn
    return table, scenario


def run_scenarios(scenarios, names, call, width=26):
    """Runs the named scenarios (all when names is empty) through call(fn);
    prints ok or FAIL with the time of each. Returns the exit status: 0, 1
    when one failed, 2 for an unknown name."""
    failed = 0
    for name in names or list(scenarios):
        if name not in scenarios:
            print("unknown scenario %s" % name, file=sys.stderr)
            return 2
        t0 = time.monotonic()
        try:
            call(scenarios[name])
            print("ok   %-*s %.2f s" % (width, name, time.monotonic() - t0))
        except (Failure, subprocess.TimeoutExpired) as e:
            failed += 1
            print("FAIL %-*s %s" % (width, name, e))
    return 1 if failed else 0


def free_port():
    """A port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def report(failures, t0):
    """Prints each failure and the verdict with the time since t0; returns
    the exit status."""
    for f in failures:
        print("FAIL:", f)
    print("%s in %.1fs" % ("FAIL" if failures else "ok", time.monotonic() - t0))
    return 1 if failures else 0


class Server:
    def __init__(self, exe, *args, timeout=10):
        self.stderr = ""
        self._err = tempfile.TemporaryFile()  # a pipe could fill and block it
        self.proc = subprocess.Popen(
            [exe, "--port", "0", *args], stdout=subprocess.PIPE,
            stderr=self._err)
        line = b""
        deadline = time.monotonic() + timeout
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                self.stop()
                raise RuntimeError("%s did not start" % exe)
            ch = os.read(self.proc.stdout.fileno(), 1)
            if not ch:
                self.stop()
                raise RuntimeError("%s exited: %s" % (exe, self.stderr))
            line += ch
        m = re.search(rb"127\.0\.0\.1:(\d+)/", line)
        if not m:
            self.stop()
            raise RuntimeError("no port in %r" % line)
        self.port = int(m.group(1))
        self.base = "http://127.0.0.1:%d" % self.port

    def alive(self):
        return self.proc.poll() is None

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, grace=5):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if not self.proc.stdout.closed:
            self._err.seek(0)
            self.stderr = self._err.read().decode(errors="replace")
            self._err.close()
            self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def request(port, raw, timeout=5):
    """Sends raw bytes, returns (status, headers dict, body) of the answer,
    reading until the server closes or Content-Length is complete."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        if raw:
            s.sendall(raw)
        return read_response(s, timeout)


_LEFT = weakref.WeakKeyDictionary()  # bytes read past a response, per socket


def read_response(s, timeout=5):
    """Reads one response from s; bytes after it are kept for the next call
    (pipelined responses)."""
    deadline = time.monotonic() + timeout
    data = _LEFT.pop(s, b"")
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1").split("\r\n")
            status = int(head[0].split()[1])
            hdrs = {}
            for h in head[1:]:
                k, _, v = h.partition(":")
                hdrs[k.strip().lower()] = v.strip()
            body = data[head_end + 4:]
            n = int(hdrs.get("content-length", "-1"))
            if status == 100:
                data = body
                continue
            if n >= 0 and len(body) >= n:
                if body[n:]:
                    _LEFT[s] = body[n:]
                return status, hdrs, body[:n]
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete response: %r" % data[:200])
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            if head_end >= 0:
                return status, hdrs, body
            raise ConnectionError("closed without a response: %r" % data[:200])
        data += chunk
