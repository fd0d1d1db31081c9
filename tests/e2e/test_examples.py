#!/usr/bin/env python3
"""The teaching examples (sse-demo, sse-epoll, sse-uv, sse-mhd, sse-h2) with
real clients: the same checks for each.

usage: test_examples.py EXE MODE SCENARIO    MODE: http1, h2c or h2tls
       test_examples.py --list

Every example serves GET /events: {"message":...,"timestamp":<ms>} every
--interval-ms with increasing ids (from the wall clock in microseconds at
start, so a restart never reuses one), replays what a client missed after
its Last-Event-ID, cuts a client that falls --max-pending bytes behind, and
exits 0 on SIGTERM. http1 talks HTTP/1.1 over a plain socket (chunked or
close-delimited bodies); h2c and h2tls run `curl --http2-prior-knowledge`
and `curl --http2` over TLS (a self-signed certificate made with openssl).
Every wait is bounded; servers bind 127.0.0.1.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, Server, check, registry, skip  # noqa: E402

SCENARIOS, scenario = registry()


def make_cert(tmp):
    """A self-signed certificate for 127.0.0.1 (openssl req)."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out",
                    cert], check=True, capture_output=True, timeout=30)
    return cert, key


class Parser:
    """Splits an event-stream body into events: [(id, data)], for the
    simple streams these servers send (one data line per event)."""

    def __init__(self):
        self.buf = b""
        self.events = []
        self.comments = 0

    def feed(self, data):
        self.buf += data
        while b"\n\n" in self.buf:
            block, self.buf = self.buf.split(b"\n\n", 1)
            fields = {}
            for line in block.split(b"\n"):
                if line.startswith(b":"):
                    self.comments += 1
                    continue
                k, _, v = line.partition(b":")
                fields[k.decode()] = v[1:].decode() if v.startswith(b" ") \
                    else v.decode()
            if "data" in fields:
                self.events.append((int(fields["id"]), json.loads(fields["data"])))


class Http1Stream:
    """GET /events over a socket; the body de-chunked when it is chunked."""

    def __init__(self, port, last_id=None, rcvbuf=None):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(10)
        self.s.connect(("127.0.0.1", port))
        extra = b"Last-Event-ID: %s\r\n" % last_id.encode() if last_id else b""
        self.s.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra +
                       b"\r\n")
        self.p = Parser()
        self.head = None
        self.raw = b""
        self.chunked = False
        self.eof = False

    def _body(self, data):
        if not self.chunked:
            self.p.feed(data)
            return
        self.raw += data
        while True:
            line, sep, rest = self.raw.partition(b"\r\n")
            if not sep:
                return
            size = int(line.split(b";")[0], 16)
            if size == 0:
                self.eof = True
                return
            if len(rest) < size + 2:
                return
            self.p.feed(rest[:size])
            self.raw = rest[size + 2:]

    def pump(self, timeout):
        """Reads what arrives within timeout; False at the end of stream."""
        self.s.settimeout(max(timeout, 0.01))
        try:
            chunk = self.s.recv(1 << 16)
        except socket.timeout:
            return True
        except OSError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        if self.head is None:
            self.raw += chunk
            if b"\r\n\r\n" not in self.raw:
                return True
            self.head, _, rest = self.raw.partition(b"\r\n\r\n")
            self.raw = b""
            check(self.head.startswith(b"HTTP/1.1 200"), "status: %r" % self.head)
            check(b"text/event-stream" in self.head.lower(), "content type")
            self.chunked = b"transfer-encoding: chunked" in self.head.lower()
            self._body(rest)
        else:
            self._body(chunk)
        return not self.eof

    def close(self):
        self.s.close()


class CurlStream:
    """curl --http2(-prior-knowledge) -N in the background."""

    def __init__(self, url, args, last_id=None):
        extra = ["-H", "Last-Event-ID: %s" % last_id] if last_id else []
        self.proc = subprocess.Popen(
            ["curl", "-sSN", "--max-time", "60", *args, *extra,
             "-w", "\\n:curl-http-version=%{http_version}\\n", url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.p = Parser()
        self.eof = False

    def pump(self, timeout):
        import select
        if self.eof:
            return False
        r, _, _ = select.select([self.proc.stdout], [], [], max(timeout, 0.01))
        if r:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                self.eof = True
                return False
            self.p.feed(chunk)
        return True

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()


class Example:
    def __init__(self, exe, mode, *args):
        self.mode = mode
        self.tmp = tempfile.TemporaryDirectory()
        extra = []
        if mode == "h2tls":
            cert, key = make_cert(self.tmp.name)
            extra = ["--cert", cert, "--key", key]
        self.argv = [exe, *extra, *args]
        self.srv = Server(*self.argv)
        self.port = self.srv.port

    def restart(self):
        """SIGTERM, then the same program again on the same port (the
        later --port wins); the old one's exit status."""
        rc = self.srv.stop()
        self.srv = Server(*self.argv, "--port", str(self.port))
        check(self.srv.port == self.port, "restarted on port %d, not %d"
              % (self.srv.port, self.port))
        return rc

    def open(self, last_id=None, rcvbuf=None):
        if self.mode == "http1":
            return Http1Stream(self.port, last_id, rcvbuf)
        if self.mode == "h2c":
            return CurlStream("http://127.0.0.1:%d/events" % self.port,
                              ["--http2-prior-knowledge"], last_id)
        return CurlStream("https://127.0.0.1:%d/events" % self.port,
                          ["--http2", "-k"], last_id)

    def log(self):
        if self.srv._err.closed:
            return self.srv.stderr
        self.srv._err.seek(0)
        return self.srv._err.read().decode(errors="replace")

    def wait_log(self, text, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.log():
                return True
            time.sleep(0.05)
        return False

    def close(self):
        rc = self.srv.stop()
        self.tmp.cleanup()
        return rc


def read_events(st, count, timeout=10):
    end = time.monotonic() + timeout
    while len(st.p.events) < count and time.monotonic() < end:
        if not st.pump(end - time.monotonic()):
            break
    check(len(st.p.events) >= count, "%d of %d events before %s" % (
        len(st.p.events), count, "the end of the stream" if st.eof else
        "the time limit"))
    return st.p.events


def consecutive(ids):
    return all(b == a + 1 for a, b in zip(ids, ids[1:]))


@scenario
def events(ex):
    """Events arrive with increasing ids and the tutorial's JSON."""
    st = ex.open()
    try:
        evs = read_events(st, 4)
    finally:
        st.close()
    ids = [i for i, _ in evs]
    check(ids[0] >= 1 and consecutive(ids), "ids %r" % ids)
    if ex.mode != "http1":  # HTTP/2 really, and the demo page
        scheme = "http" if ex.mode == "h2c" else "https"
        run = subprocess.run(
            ["curl", "-sS", "-k", "--http2-prior-knowledge" if ex.mode == "h2c"
             else "--http2", "-w", "\n%{http_version}", "--max-time", "10",
             "%s://127.0.0.1:%d/" % (scheme, ex.port)],
            capture_output=True, text=True, timeout=20)
        check(run.stdout.endswith("\n2") and "new EventSource('/events')" in
              run.stdout, "the page over HTTP/2: %r %r" % (run.stdout[-200:], run.stderr))
    for _, d in evs:
        check(d["message"] == "Hello from the server!", "message %r" % d)
        check(isinstance(d["timestamp"], int) and
              abs(d["timestamp"] - time.time() * 1000) < 60000,
              "timestamp in ms %r" % d)
    return "ids %s" % ids


@scenario
def resume(ex):
    """A client that comes back with Last-Event-ID gets exactly the events
    it missed: the same ones a client that stayed saw, no gap, no
    duplicate."""
    stay = ex.open()
    try:
        read_events(stay, 1)
        a = ex.open()
        first = read_events(a, 2)
        a.close()
        last = first[-1][0]
        time.sleep(0.5)  # about five events go by
        b = ex.open(last_id=str(last))
        try:
            got = read_events(b, 8)
        finally:
            b.close()
        read_events(stay, len(stay.p.events) + 1)
    finally:
        stay.close()
    ids = [i for i, _ in got]
    check(ids[0] == last + 1 and consecutive(ids),
          "resumed after %d: %r" % (last, ids))
    seen = dict(stay.p.events)
    same = [i for i, d in got if seen.get(i) == d]
    missed = [i for i in ids if i in seen]
    check(len(missed) >= 4 and same == missed,
          "replayed events equal the live ones: %r of %r" % (same, missed))
    return "resumed after %d with %s" % (last, ids)


@scenario
def slow_client(ex):
    """A client that never reads is cut at the stream cap; another client
    is not affected, and the server's memory stays bounded."""
    good = ex.open()
    slow = Http1Stream(ex.port, rcvbuf=4096) if ex.mode == "http1" else None
    try:
        read_events(good, 1)
        rss0 = ex.srv.rss_kb()
        if slow is None:  # HTTP/2: a client that stops reading (SIGSTOP)
            slow = ex.open()
            read_events(slow, 1)
            slow.proc.send_signal(19)
        t0 = time.monotonic()
        cut = ex.wait_log("too slow", 40)
        elapsed = time.monotonic() - t0
        n = len(good.p.events)
        read_events(good, n + 5)
        rss1 = ex.srv.rss_kb()
    finally:
        if slow is not None and ex.mode != "http1":
            slow.proc.send_signal(18)
        if slow is not None:
            slow.close()
        good.close()
    check(cut, "the slow client was cut:\n" + ex.log())
    good_ids = [i for i, _ in good.p.events]
    check(consecutive(good_ids), "the other client got every event")
    check(rss1 - rss0 < 32 * 1024, "memory grew by %d KiB" % (rss1 - rss0))
    return "cut after %.1f s; RSS %d -> %d KiB" % (elapsed, rss0, rss1)


@scenario
def sigterm(ex):
    """SIGTERM: exit status 0 within 3 s, the client's stream ends."""
    st = ex.open()
    try:
        read_events(st, 1)
        t0 = time.monotonic()
        rc = ex.srv.stop()
        took = time.monotonic() - t0
        end = time.monotonic() + 5
        while st.pump(end - time.monotonic()) and time.monotonic() < end:
            pass
    finally:
        st.close()
    check(rc == 0, "exit status %s" % rc)
    check(took < 3, "stopped in %.1f s" % took)
    check(st.eof, "the client saw the end of the stream")
    return "exit 0 in %.2f s" % took


@scenario
def restart_ids(ex):
    """Across a restart an id never means two events: the new run's ids are
    all greater than the old run's, and a client that comes back with the
    old run's last id gets live events only (nothing of the new run's
    history replayed as if it came after that id)."""
    st = ex.open()
    try:
        read_events(st, 2)
        rc = ex.restart()
        end = time.monotonic() + 5  # the old run's stream ends
        while st.pump(end - time.monotonic()) and time.monotonic() < end:
            pass
    finally:
        st.close()
    check(rc == 0, "exit status %s after SIGTERM" % rc)
    old = [i for i, _ in st.p.events]  # with any sent before the end
    last = old[-1]
    fresh = ex.open()
    try:
        new = read_events(fresh, 1)[0][0]
    finally:
        fresh.close()
    check(new > max(old), "the new run's first id %d is not above the old "
          "run's %r" % (new, old))
    t0 = time.time() * 1000
    back = ex.open(last_id=str(last))
    try:
        got = read_events(back, 3)
    finally:
        back.close()
    ids = [i for i, _ in got]
    check(all(i > last for i in ids) and consecutive(ids),
          "after the old run's %d: %r" % (last, ids))
    check(ids[0] > new, "live events only after the old run's %d, not the "
          "new run's history: %r (the new run had sent %d)" % (last, ids, new))
    stale = [d["timestamp"] for _, d in got if d["timestamp"] < t0 - 5]
    check(not stale, "no event from before the reconnection: %r" % stale)
    return "old run %s, new run %d, back with %d: %s" % (old, new, last, ids)


# Per scenario: the server's options.
ARGS = {
    "events": ["--interval-ms", "50"],
    "resume": ["--interval-ms", "100"],
    # big events, often, under a small cap: the kernel's socket buffers
    # (MiBs on loopback) fill in a second, then the stream's 64 KiB
    "slow_client": ["--interval-ms", "2", "--message", "x" * 8000,
                    "--max-pending", "65536"],
    "sigterm": ["--interval-ms", "50"],
    "restart_ids": ["--interval-ms", "50"],
}


def main(argv):
    if argv[1:] == ["--list"]:
        print("\n".join(SCENARIOS))
        return 0
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    exe, mode, name = argv[1:]
    if mode != "http1" and not shutil.which("curl"):
        skip("curl not installed")
    t0 = time.monotonic()
    ex = Example(exe, mode, *ARGS[name])
    try:
        what = SCENARIOS[name](ex)
        print("ok   %s %s %s (%.1f s)" % (os.path.basename(exe), name, what,
                                         time.monotonic() - t0))
        rc = 0
    except (Failure, subprocess.TimeoutExpired, OSError, RuntimeError) as e:
        print("FAIL %s %s: %s" % (os.path.basename(exe), name, e))
        print("server log:\n" + ex.log()[-3000:])
        rc = 1
    status = ex.close()
    if rc == 0 and status != 0 and name != "sigterm":
        print("FAIL: exit status %s after SIGTERM" % status)
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
