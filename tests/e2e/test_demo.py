#!/usr/bin/env python3
"""sse-demo over plain sockets: the stream's format and ids (from the wall
clock in microseconds), Last-Event-ID replay from the history, live events
only after an id from before a restart, the page.

usage: test_demo.py SSE_DEMO
Exit status 0 on success, 1 on failure.
"""

import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, Server, check, request  # noqa: E402



def fresh_ms(ts):
    """A timestamp in milliseconds since the epoch, within a minute of now."""
    return isinstance(ts, int) and abs(ts - time.time() * 1000) < 60000


def events(port, count, last_id=None, timeout=10):
    """Subscribes, reads count events, disconnects: [(id, data dict)]."""
    extra = b"Last-Event-ID: %s\r\n" % last_id.encode() if last_id else b""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            check(chunk, "the stream ended")
            buf += chunk
            head, _, body = buf.partition(b"\r\n\r\n")
            blocks = body.split(b"\n\n")
            out = []
            for b in blocks[:-1]:
                fields = dict(line.split(": ", 1) for line in b.decode().split("\n")
                              if ": " in line)
                if "data" in fields:
                    out.append((int(fields["id"]), json.loads(fields["data"])))
            if len(out) >= count:
                check(head.startswith(b"HTTP/1.1 200") and
                      b"text/event-stream" in head, "response head %r" % head)
                check(body.startswith(b":\nretry: 1000\n\n"), "preamble")
                return out[:count]
    raise Failure("timed out after %d of %d events" % (len(out), count))


def wait_log(demo, text, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        demo._err.seek(0)
        if text.encode() in demo._err.read():
            return
        time.sleep(0.02)
    raise Failure("the demo did not log %r" % text)


def main():
    failures = 0
    # 100 ms: the history (100 events) evicts nothing while this runs, so
    # an old id below this run's is unknown, not evicted.
    t_start = time.time()
    with Server(sys.argv[1], "--interval-ms", "100") as demo:
        try:
            status, hdrs, page = request(
                demo.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            check(status == 200 and hdrs["content-type"].startswith("text/html") and
                  b"new EventSource('/events')" in page, "the page")
            first = events(demo.port, 4)
            ids = [i for i, _ in first]
            check(ids == list(range(ids[0], ids[0] + 4)), "ids %r" % ids)
            check(t_start * 1e6 - 1e6 < ids[0] < time.time() * 1e6 + 1e6,
                  "ids from the wall clock in microseconds: %r" % ids)
            for _, d in first:
                check(d["message"] == "Hello from the server!" and
                      fresh_ms(d["timestamp"]), "data %r" % d)
            wait_log(demo, "client disconnected (0 connected)")
            # Last-Event-ID replays what the history has, then live events.
            again = events(demo.port, 6, last_id=str(ids[0]))
            check([i for i, _ in again] == list(range(ids[0] + 1, ids[0] + 7)),
                  "replay after %d: %r" % (ids[0], [i for i, _ in again]))
            check(again[:3] == first[1:], "replayed events are the same events")
            # An id from before a restart (a run a second earlier): unknown,
            # so live events from now, never this run's history after it.
            old = ids[0] - 1000000
            t0 = time.time() * 1000
            later = events(demo.port, 2, last_id=str(old))
            check([i for i, _ in later][0] > again[-1][0] and
                  all(d["timestamp"] >= t0 - 5 for _, d in later),
                  "after %d: %r, not live" % (old, later))
            bad = request(demo.port, b"GET /events HTTP/1.1\r\nHost: x\r\n"
                          b"Last-Event-ID: " + b"1" * 2000 + b"\r\n\r\n")[0]
            check(bad == 400, "an oversized Last-Event-ID: %d" % bad)
            print("ok: ids %s; replay, and live only after an old id" % ids)
        except Failure as e:
            failures += 1
            print("FAIL:", e)
        status = demo.stop()
    if status != 0:
        failures += 1
        print("FAIL: exit status %s after SIGTERM" % status)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
