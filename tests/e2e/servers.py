"""Starts sse-demo or sse-hub for an end-to-end test (standard library only).

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
