#!/usr/bin/env python3
"""End-to-end tests of sse-hub with curl and raw sockets.

usage: test_hub.py SSE_HUB [--workers=N] [SCENARIO...]   (no SCENARIO: all)
       test_hub.py --list

--workers=N runs every hub with N event loops (default 1): the behaviour
must be the same with any N.

Each scenario starts its own hub on 127.0.0.1 (ephemeral port). Subscribers
are curl processes (curl -N) or raw sockets; every wait is bounded. Exit
status 0 on success, 1 on failure, 77 (skip) when curl is missing (a
failure instead under SSE_E2E_REQUIRE=1).
"""

import json
import os
import random
import resource
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Failure, Server, check, read_response,  # noqa: E402
                     registry, request, run_scenarios, skip)

HUB = None
HUB_ARGS = ["--workers", "1"]
SCENARIOS, scenario = registry()


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise Failure("timed out waiting for " + what)


def parse_sse(text):
    """Events of a text/event-stream, as EventSource dispatches them:
    dicts with type, id (the last event ID) and data."""
    events, last_id = [], ""
    data, etype, has_data = [], "", False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == "":
            if has_data:
                events.append({"type": etype or "message", "id": last_id,
                               "data": "\n".join(data)})
            data, etype, has_data = [], "", False
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
            has_data = True
        elif name == "event":
            etype = value
        elif name == "id" and "\0" not in value:
            last_id = value
    return events


class Curl:
    """A curl -N subscriber whose output is collected by a thread."""

    def __init__(self, url, *args, max_time=60):
        self.proc = subprocess.Popen(
            ["curl", "-sSN", "--max-time", str(max_time), *args, url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = b""
        self.ends = 0  # blank lines ("\n\n") so far: about the events
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        while True:
            chunk = self.proc.stdout.read1(1 << 16)
            if not chunk:
                return
            self.ends += (self.out[-1:] + chunk).count(b"\n\n")
            self.out += chunk

    def text(self):
        return self.out.decode("utf-8", "replace")

    def events(self):
        return parse_sse(self.text())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)
        self._t.join(10)
        return self.proc.returncode


def stats(port):
    status, _, body = request(
        port, b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    check(status == 200, "GET /stats: %d" % status)
    return json.loads(body)


def publish_curl(port, data, query=""):
    r = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}",
         "--data-binary", "@-", "http://127.0.0.1:%d/publish%s" % (port, query)],
        input=data.encode(), capture_output=True, timeout=15)
    body, _, code = r.stdout.decode().rpartition("\n")
    return int(code or 0), body[:-1] if body.endswith("\n") else body


def subscribed(port, n):
    wait_for(lambda: stats(port)["subscribers"] == n, 10,
             "%d subscriber(s)" % n)


def Hub(exe, *args, **kw):
    """sse-hub with ids from 1 (--first-id 1), so that tests can name them;
    the default (the wall clock in microseconds) is tested by restart_ids."""
    return Server(exe, "--first-id", "1", *HUB_ARGS, *args, **kw)


def ev(id, data, type="message"):
    return {"type": type, "id": id, "data": data}


@scenario
def publish_receive(hub_exe):
    """Published events reach a curl subscriber with their types, ids and
    (multi-line, empty) data; ids increase, and a larger numeric id given
    by the publisher moves the numbering on."""
    with Hub(hub_exe) as hub:
        sub = Curl(hub.base + "/events")
        subscribed(hub.port, 1)
        sent = [
            (publish_curl(hub.port, "hello\nworld", "?event=greeting"),
             ev("1", "hello\nworld", "greeting")),
            (publish_curl(hub.port, ""), ev("2", "")),
            (publish_curl(hub.port, "x", "?id=custom%2D7"), ev("custom-7", "x")),
            (publish_curl(hub.port, "y"), ev("3", "y")),
            (publish_curl(hub.port, "z", "?id=100&event=jump"),
             ev("100", "z", "jump")),
            (publish_curl(hub.port, "crlf\r\nline"), ev("101", "crlf\nline")),
        ]
        for (code, body), want in sent:
            check(code == 202 and body == want["id"],
                  "publish answered %d %r, expected 202 %r" % (code, body, want["id"]))
        wait_for(lambda: len(sub.events()) >= len(sent), 10, "the events")
        time.sleep(0.2)
        got = sub.events()
        sub.stop()
        check(got == [w for _, w in sent], "events received:\n%r" % got)
        # The response head of a subscription.
        with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as s:
            s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
        head = head.decode().lower()
        check(head.startswith("http/1.1 200"), "status: " + head[:40])
        check("content-type: text/event-stream" in head, "content type")
        check("cache-control: no-cache" in head, "cache-control")
        check("content-length" not in head and "transfer-encoding" not in head,
              "an event stream has no length and no chunking")


@scenario
def replay(hub_exe):
    """Last-Event-ID (and ?lastEventId=) replays what was missed from the
    history, then live events; an evicted or unknown id gets the resync
    event (its id: the newest event's), then live events."""
    with Hub(hub_exe, "--history", "5") as hub:
        for i in range(1, 9):
            check(publish_curl(hub.port, "event %d" % i)[0] == 202, "publish")
        cases = [
            (["-H", "Last-Event-ID: 5"], "", ["6", "7", "8"]),
            ([], "?lastEventId=6", ["7", "8"]),
            (["-H", "Last-Event-ID: 2"], "", ["8"]),
            (["-H", "Last-Event-ID: nope"], "", ["8"]),
            (["-H", "Last-Event-ID: 8"], "", []),
        ]
        subs = [Curl(hub.base + "/events" + q, *args) for args, q, _ in cases]
        subscribed(hub.port, len(subs))
        check(publish_curl(hub.port, "event 9")[0] == 202, "publish 9")
        for (args, q, want), sub in zip(cases, subs):
            want = want + ["9"]
            wait_for(lambda: len(sub.events()) >= len(want), 10,
                     "replay for %r" % (args or q))
        time.sleep(0.2)
        for (args, q, want), sub in zip(cases, subs):
            sub.stop()
            got = [e["id"] for e in sub.events()]
            check(got == want + ["9"], "%r: got ids %r, expected %r"
                  % (args or q, got, want + ["9"]))
            want_first = None
            if args and args[1] in ("Last-Event-ID: 2", "Last-Event-ID: nope"):
                last = args[1].split(": ")[1]
                want_first = ev("8", json.dumps(
                    {"reason": "evicted" if last == "2" else "unknown",
                     "last_event_id": last}, separators=(",", ":")),
                    "sse-resync")
                check(sub.events()[0] == want_first,
                      "resync event: %r" % sub.events()[0])
            check(all(e["data"] == "event " + e["id"]
                      for e in sub.events()[1 if want_first else 0:]),
                  "replayed data")


@scenario
def slow_consumer(hub_exe):
    """A subscriber that never reads is cut at --max-pending, while a curl
    subscriber gets every event, in order; the hub's memory stays bounded.
    The publisher keeps at most two events ahead of the curl subscriber, so
    that one can never fall --max-pending behind, however busy the machine."""
    size = 16384
    with Hub(hub_exe, "--max-pending", "262144", "--max-body", "20000") as hub:
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", hub.port))
        slow.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        normal = Curl(hub.base + "/events")
        subscribed(hub.port, 2)
        # An event whose frame would not fit half of max-pending (20,000
        # empty lines: one "data:" line each) is refused, not broadcast.
        code, _ = publish_curl(hub.port, "\n" * 19999)
        check(code == 413, "oversized frame: %d, expected 413" % code)
        rss0 = hub.rss_kb()
        pub = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
        body = b"x" * size
        post = (b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                % size) + body
        sent = cut_at = 0
        t0 = time.monotonic()
        # Publish until the hub cuts the slow one (the kernel buffers a few
        # MB first), then a few more; at most 4000 events (64 MB).
        while sent < 4000:
            wait_for(lambda: normal.ends >= sent - 2, 10, "the curl subscriber")
            pub.sendall(post)
            status, _, _ = read_response(pub)
            check(status == 202, "publish: %d" % status)
            sent += 1
            if sent % 50 == 0 and stats(hub.port)["cut"] >= 1:
                cut_at = sent
                break
        for _ in range(5):
            wait_for(lambda: normal.ends >= sent - 2, 10, "the curl subscriber")
            pub.sendall(post)
            check(read_response(pub)[0] == 202, "publish after the cut")
            sent += 1
        pub.close()
        wait_for(lambda: len(normal.events()) >= sent, 30,
                 "all %d events at the normal subscriber" % sent)
        elapsed = time.monotonic() - t0
        st = stats(hub.port)
        rss1 = hub.rss_kb()
        normal.stop()
        got = normal.events()
        check([e["id"] for e in got] == [str(i) for i in range(1, sent + 1)],
              "the normal subscriber missed or reordered events")
        check(all(len(e["data"]) == size for e in got), "event sizes")
        check(st["cut"] == 1 and st["subscribers"] == 1,
              "stats after the cut: %r" % st)
        # The hub closed the slow socket (a reset: what its kernel buffers
        # held for it is dropped too).
        check(closes(slow, 10), "the slow subscriber's connection stays open")
        slow.close()
        print("published %d x %d B in %.2fs; the slow subscriber was cut after "
              "about %d (%.1f MB offered); hub RSS %d -> %d KB"
              % (sent, size, elapsed, cut_at, cut_at * size / 1e6, rss0, rss1))
        check(rss1 - rss0 < 16 * 1024, "hub memory grew by %d KB" % (rss1 - rss0))


HOST = b"Host: 127.0.0.1\r\n"
BAD = [
    ("not HTTP", b"HELLO\r\n\r\n", 400),
    ("no version", b"GET /events\r\n\r\n", 400),
    ("HTTP/2.0", b"GET /events HTTP/2.0\r\n" + HOST + b"\r\n", 505),
    ("absolute form", b"GET http://x/events HTTP/1.1\r\n" + HOST + b"\r\n", 400),
    ("two spaces", b"GET  /events HTTP/1.1\r\n" + HOST + b"\r\n", 400),
    ("non-ASCII target", b"GET /\xff HTTP/1.1\r\n" + HOST + b"\r\n", 400),
    ("no Host", b"GET /events HTTP/1.1\r\n\r\n", 400),
    ("two Hosts", b"GET /events HTTP/1.1\r\n" + HOST + HOST + b"\r\n", 400),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("no colon", b"GET / HTTP/1.1\r\n" + HOST + b"Oops\r\n\r\n", 400),
    ("folded field", b"GET / HTTP/1.1\r\n" + HOST + b"X: a\r\n b\r\n\r\n", 400),
    ("NUL in a value", b"GET / HTTP/1.1\r\n" + HOST + b"X: a\0b\r\n\r\n", 400),
    ("CR in a value", b"GET / HTTP/1.1\r\n" + HOST + b"X: a\rb\r\n\r\n", 400),
    ("length and chunked", b"POST /publish HTTP/1.1\r\n" + HOST +
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello", 400),
    ("chunked upload", b"POST /publish HTTP/1.1\r\n" + HOST +
     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411),
    ("bad length", b"POST /publish HTTP/1.1\r\n" + HOST +
     b"Content-Length: abc\r\n\r\n", 400),
    ("negative length", b"POST /publish HTTP/1.1\r\n" + HOST +
     b"Content-Length: -1\r\n\r\n", 400),
    ("two lengths", b"POST /publish HTTP/1.1\r\n" + HOST +
     b"Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400),
    ("body too large", b"POST /publish HTTP/1.1\r\n" + HOST +
     b"Content-Length: 70000\r\n\r\n", 413),
    ("huge length", b"POST /publish HTTP/1.1\r\n" + HOST +
     b"Content-Length: 99999999999999999999999999\r\n\r\n", 413),
    ("too large, 100-continue", b"POST /publish HTTP/1.1\r\n" + HOST +
     b"Expect: 100-continue\r\nContent-Length: 1000000\r\n\r\n", 413),
    ("unknown expectation", b"POST /publish HTTP/1.1\r\n" + HOST +
     b"Expect: magic\r\nContent-Length: 1\r\n\r\nx", 417),
    ("head too large", b"GET / HTTP/1.1\r\n" + HOST + b"X: " + b"a" * 9000 +
     b"\r\n\r\n", 431),
    ("request line too long", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" +
     HOST + b"\r\n", 414),
    ("too many fields", b"GET / HTTP/1.1\r\n" + HOST +
     b"".join(b"X-%d: 1\r\n" % i for i in range(80)) + b"\r\n", 431),
    ("Last-Event-ID too long", b"GET /events HTTP/1.1\r\n" + HOST +
     b"Last-Event-ID: " + b"7" * 2000 + b"\r\n\r\n", 400),
    ("two Last-Event-IDs", b"GET /events HTTP/1.1\r\n" + HOST +
     b"Last-Event-ID: 1\r\nLast-Event-ID: 2\r\n\r\n", 400),
    ("bad lastEventId escape", b"GET /events?lastEventId=%zz HTTP/1.1\r\n" +
     HOST + b"\r\n", 400),
    ("id with CR", b"POST /publish?id=a%0Db HTTP/1.1\r\n" + HOST +
     b"Content-Length: 1\r\n\r\nx", 400),
    ("empty id", b"POST /publish?id= HTTP/1.1\r\n" + HOST +
     b"Content-Length: 1\r\n\r\nx", 400),
    ("event type with LF", b"POST /publish?event=a%0Ab HTTP/1.1\r\n" + HOST +
     b"Content-Length: 1\r\n\r\nx", 400),
    ("unknown path", b"GET /nope HTTP/1.1\r\n" + HOST + b"\r\n", 404),
    ("wrong method", b"DELETE /events HTTP/1.1\r\n" + HOST + b"\r\n", 405),
    ("GET /publish", b"GET /publish HTTP/1.1\r\n" + HOST + b"\r\n", 405),
]


def closes(s, timeout=5):
    """True when the server closes s (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def healthy(hub):
    """The hub still subscribes, publishes and delivers."""
    check(hub.alive(), "the hub died")
    n = stats(hub.port)["subscribers"]
    sub = Curl(hub.base + "/events")
    wait_for(lambda: stats(hub.port)["subscribers"] == n + 1 or
             sub.proc.poll() is not None, 10, "a new subscriber")
    code, id = publish_curl(hub.port, "still here")
    check(code == 202, "publish after the abuse: %d" % code)
    wait_for(lambda: sub.events(), 10, "the event after the abuse")
    sub.stop()
    check(sub.events()[0] == ev(id, "still here"), "event after the abuse")


@scenario
def malformed(hub_exe):
    """Malformed and oversized requests get 400/404/405/411/413/414/417/431/
    505 and (for errors) a closed connection; slow heads get 408; random
    garbage never crashes or stalls the hub."""
    with Hub(hub_exe, "--request-timeout-ms", "500") as hub:
        for name, raw, want in BAD:
            with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as s:
                s.sendall(raw)
                status, hdrs, _ = read_response(s)
                check(status == want, "%s: %d, expected %d" % (name, status, want))
                if want not in (404, 405):
                    check(hdrs.get("connection") == "close" and closes(s),
                          "%s: the connection stays open" % name)
        print("%d malformed requests answered as expected" % len(BAD))

        # Keep-alive, pipelining and 100-continue on one connection.
        with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as s:
            get = b"GET /stats HTTP/1.1\r\n" + HOST + b"\r\n"
            s.sendall(get + b"\r\n" + get)  # a stray CRLF between is allowed
            check(read_response(s)[0] == 200 and read_response(s)[0] == 200,
                  "pipelined requests")
            s.sendall(b"POST /publish HTTP/1.1\r\n" + HOST +
                      b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
            s.settimeout(5)
            cont = s.recv(64)
            check(cont.startswith(b"HTTP/1.1 100"), "100 Continue: %r" % cont)
            s.sendall(b"hello")
            check(read_response(s)[0] == 202, "publish after 100 Continue")
            s.sendall(b"POST /publish HTTP/1.1\r\n" + HOST +
                      b"Content-Length: 3\r\n\r\nabc")
            check(read_response(s)[0] == 202, "a second publish, kept alive")

        # Slow requests: nothing, a partial head, a partial body.
        slow = [b"", b"GET /stats HTTP/1.1\r\nHo",
                b"POST /publish HTTP/1.1\r\n" + HOST +
                b"Content-Length: 10\r\n\r\nhalf"]
        socks = []
        t0 = time.monotonic()
        for raw in slow:
            s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
            s.sendall(raw)
            socks.append(s)
        for raw, s in zip(slow, socks):
            status, _, _ = read_response(s, timeout=5)
            check(status == 408, "slow request %r: %d" % (raw[:20], status))
            check(closes(s), "slow request %r: not closed" % raw[:20])
            s.close()
        took = time.monotonic() - t0
        check(0.4 <= took < 4, "slow requests timed out after %.2fs" % took)

        # Random garbage, with and without a blank line ending it.
        rng = random.Random(4)
        alphabet = [b"GET ", b"POST ", b"/events", b"/publish", b" HTTP/1.1",
                    b"\r\n", b"\n", b"\r", b":", b" ", b"Host: x", b"\0",
                    b"Content-Length: ", b"Last-Event-ID: ", b"Expect: ",
                    b"100-continue", b"9", b"\xff", b"%", b"?id=", b"a" * 100]
        socks = []
        for i in range(300):
            raw = b"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
            if i % 10:
                raw += b"\r\n\r\n"
            s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
            try:
                s.sendall(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass
            socks.append(s)
            if len(socks) == 50:
                for s in socks:
                    try:
                        s.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    check(closes(s, 5), "a garbage connection hangs")
                    s.close()
                socks = []
        print("300 garbage requests handled")
        healthy(hub)
        st = stats(hub.port)
        check(st["events"] >= 3, "stats: %r" % st)


@scenario
def many_subscribers(hub_exe):
    """10,000 concurrent subscribers each receive a published event; prints
    the hub's memory per subscriber."""
    n = 10000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 200
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            skip("RLIMIT_NOFILE hard limit %d is below %d" % (hard, want))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    with Hub(hub_exe) as hub:
        rss0 = hub.rss_kb()
        t0 = time.monotonic()
        sel = selectors.DefaultSelector()
        socks = []
        req = b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n"
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
            s.sendall(req)
            s.setblocking(False)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, i)
        subscribed(hub.port, n)
        t_conn = time.monotonic() - t0
        rss1 = hub.rss_kb()
        marker = "fan-out %d" % os.getpid()
        t1 = time.monotonic()
        check(publish_curl(hub.port, marker)[0] == 202, "publish")
        bufs = [b""] * n
        done = 0
        deadline = time.monotonic() + 30
        needle = ("data: " + marker + "\n\n").encode()
        while done < n and time.monotonic() < deadline:
            for key, _ in sel.select(1):
                i = key.data
                try:
                    chunk = socks[i].recv(65536)
                except BlockingIOError:
                    continue
                bufs[i] += chunk
                if needle in bufs[i] or not chunk:
                    sel.unregister(socks[i])
                    done += needle in bufs[i]
        t_fan = time.monotonic() - t1
        got = sum(needle in b for b in bufs)
        for s in socks:  # reset: no TIME_WAIT left behind on 10,000 ports
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.close()
        per = (rss1 - rss0) * 1024 / n
        print("%d subscribers connected in %.1fs; one event reached %d of them "
              "in %.2fs; hub RSS %d -> %d KB (%.0f B per subscriber)"
              % (n, t_conn, got, t_fan, rss0, rss1, per))
        check(got == n, "only %d of %d subscribers got the event" % (got, n))
        check(per < 4096, "%.0f bytes per subscriber" % per)
        wait_for(lambda: stats(hub.port)["subscribers"] == 0, 20,
                 "the hub to notice %d clients leaving" % n)


@scenario
def burst_churn(hub_exe):
    """Bursts of pipelined publishes (more events in one loop turn than the
    fan-out ring holds) reach 3,000 subscribers, a fan-out that spans loop
    turns, while a sixth of them leave mid-burst: every remaining subscriber
    gets every event exactly once, in order."""
    n, events, leave = 3000, 300, 500
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 200, hard), hard))
    with Hub(hub_exe) as hub:
        sel = selectors.DefaultSelector()
        socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
            s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            s.setblocking(False)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, i)
        subscribed(hub.port, n)
        pub = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
        posts = [b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                 b"\r\n%s" % (len(b"e%d" % k), b"e%d" % k)
                 for k in range(1, events + 1)]
        rng = random.Random(7)
        gone = set(rng.sample(range(n), leave))
        bufs = [b""] * n
        end = ("id: %d\ndata: e%d\n\n" % (events, events)).encode()

        def read_some(timeout):
            for key, _ in sel.select(timeout):
                i = key.data
                try:
                    chunk = socks[i].recv(1 << 16)
                except BlockingIOError:
                    continue
                bufs[i] += chunk
                if not chunk or end in bufs[i]:
                    sel.unregister(socks[i])

        # Three bursts; after each, a third of the leavers go (the last third
        # in waves, while the hub's last fan-out walk is under way).
        leavers = sorted(gone)
        for part in range(3):
            pub.sendall(b"".join(posts[part * 100:(part + 1) * 100]))
            mine = leavers[part::3]
            for w in range(10 if part == 2 else 1):
                for i in mine[w::10 if part == 2 else 1]:
                    sel.unregister(socks[i])
                    socks[i].close()
                time.sleep(0.0005)
            read_some(0.05)
        for _ in range(events):
            check(read_response(pub, 10)[0] == 202, "publish")
        deadline = time.monotonic() + 30
        while sel.get_map() and time.monotonic() < deadline:
            read_some(0.5)
        want = [ev(str(k), "e%d" % k) for k in range(1, events + 1)]
        bad = [i for i in range(n) if i not in gone and
               parse_sse(bufs[i].decode()) != want]
        for i in range(n):
            if i not in gone:
                socks[i].close()
        st = stats(hub.port)
        print("%d events to %d subscribers (%d left mid-burst): %d deliveries"
              % (events, n, leave, st["deliveries"]))
        check(not bad, "%d subscribers got the wrong events, e.g. %r"
              % (len(bad), parse_sse(bufs[bad[0]].decode())[:3] if bad else 0))


@scenario
def heartbeat_shutdown(hub_exe):
    """Idle streams get keep-alive comments every --heartbeat-ms; SIGTERM
    ends the hub gracefully (status 0) and closes the streams."""
    hub = Hub(hub_exe, "--heartbeat-ms", "200", "--retry-ms", "1500")
    try:
        sub = Curl(hub.base + "/events")
        subscribed(hub.port, 1)
        time.sleep(1.1)
        text = sub.text()
        beats = text.count(":\n") - 1  # minus the opening ":\n"
        check(text.startswith(":\nretry: 1500\n\n"), "preamble: %r" % text[:40])
        check(3 <= beats <= 8, "%d keep-alives in 1.1s at 200 ms" % beats)
        t0 = time.monotonic()
        status = hub.stop()
        took = time.monotonic() - t0
        check(status == 0, "exit status %s after SIGTERM" % status)
        check(took < 3, "shutdown took %.1fs" % took)
        check(sub.proc.wait(5) == 0 or sub.proc.returncode == 18,
              "curl did not see the stream end: %s" % sub.proc.returncode)
        sub.stop()
        print("%d keep-alives; shutdown in %.2fs" % (beats, took))
    finally:
        hub.stop()


# ---- issue 12: defects ----------------------------------------------------


def get(port, path, headers=b"", admin=False):
    return request(port, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   + headers + b"Connection: close\r\n\r\n")


def post(port, path, body=b"", headers=b"", host=b"127.0.0.1"):
    return request(port, b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + host + b"\r\n"
                   + headers + b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                   % len(body) + body)


def preamble(port, path="/events", headers=b"", want=b"\n\n"):
    """Opens a stream and returns (head, what followed it up to want)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            i = data.find(b"\r\n\r\n")
            if i >= 0 and want in data[i + 4:]:
                return data[:i].decode("latin-1"), data[i + 4:].decode("latin-1")
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    raise Failure("no stream preamble: %r" % data[:300])


@scenario
def bad_ids(hub_exe):
    """Ids a client could not send back in Last-Event-ID unchanged (control
    bytes %01 %1b %7f, non-ASCII, leading or trailing spaces) are refused at
    publish with 400 and the reason; inner spaces are fine, and a client
    resumes from such an id."""
    with Hub(hub_exe) as hub:
        for q in ["a%01", "a%1b", "a%7f", "%C3%A9", "%20a", "a%20", "a+", "+"]:
            status, _, body = post(hub.port, "/publish?id=" + q, b"x")
            check(status == 400 and b"Last-Event-ID" in body,
                  "id %s: %d %r" % (q, status, body))
        check(stats(hub.port)["events"] == 0, "a refused id was published")
        code, id = publish_curl(hub.port, "one", "?id=a+b")
        check(code == 202 and id == "a b", "inner space: %d %r" % (code, id))
        publish_curl(hub.port, "two")
        sub = Curl(hub.base + "/events", "-H", "Last-Event-ID: a b")
        wait_for(lambda: sub.events(), 10, "the replay after 'a b'")
        time.sleep(0.2)
        sub.stop()
        check(sub.events() == [ev("1", "two")], "replay: %r" % sub.events())


@scenario
def restart_ids(hub_exe):
    """By default ids start at the wall clock in microseconds: a second run
    numbers above the first, and an id of the first run reads as unknown
    (the resync event) instead of resuming after the wrong event."""
    with Server(hub_exe, *HUB_ARGS) as hub:
        ids1 = [publish_curl(hub.port, "run 1 #%d" % i)[1] for i in range(3)]
    with Server(hub_exe, *HUB_ARGS) as hub:
        ids2 = [publish_curl(hub.port, "run 2 #%d" % i)[1] for i in range(3)]
        check(all(i.isdigit() for i in ids1 + ids2), "ids: %r %r" % (ids1, ids2))
        check([int(i) for i in ids1 + ids2] == sorted({int(i) for i in ids1 + ids2}),
              "ids do not increase across the restart: %r then %r" % (ids1, ids2))
        sub = Curl(hub.base + "/events", "-H", "Last-Event-ID: " + ids1[0])
        wait_for(lambda: sub.events(), 10, "the resync event")
        time.sleep(0.2)
        sub.stop()
        got = sub.events()
        check(len(got) == 1 and got[0]["type"] == "sse-resync" and
              json.loads(got[0]["data"]) == {"reason": "unknown",
                                             "last_event_id": ids1[0]} and
              got[0]["id"] == ids2[-1], "after a restart: %r" % got)
        print("run 1 ids %s, run 2 ids %s" % (ids1, ids2))


def tcp_mem_pages():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()
                return int(parts[parts.index("mem") + 1])
    raise Failure("no TCP line in /proc/net/sockstat")


@scenario
def kernel_memory(hub_exe):
    """Subscribers that never read, each replaying a 512 KB history, pin at
    most --sndbuf (128 KiB) of kernel memory each (TCP memory from
    /proc/net/sockstat), and are cut after --stall-timeout-ms, which gives
    the memory back."""
    n, size = 200, 16000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 100, hard), hard))
    with Hub(hub_exe, "--stall-timeout-ms", "2000", "--max-body", "20000") as hub:
        for i in range(32):  # 32 x 16 KB: the history holds ~512 KB
            check(publish_curl(hub.port, "h" * size)[0] == 202, "publish")
        page = os.sysconf("SC_PAGE_SIZE")
        mem0 = tcp_mem_pages()
        socks = []
        for i in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", hub.port))
            s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n\r\n")
            socks.append(s)
        subscribed(hub.port, n)
        time.sleep(0.5)
        mem1 = tcp_mem_pages()
        per = (mem1 - mem0) * page / n
        print("%d stalled subscribers: TCP memory %d -> %d pages (%.0f KB each)"
              % (n, mem0, mem1, per / 1024))
        # Bound: the hub's 128 KiB send buffer, the client's small receive
        # buffer and per-socket overhead; autotuning would let each pin the
        # whole ~512 KB replay.
        # (Machine-wide: CTest runs this test alone; 256 KB leaves room for
        # other sockets' noise and still fails without the bound, ~680 KB.)
        check(per < 256 * 1024, "%.0f KB of kernel memory per stalled subscriber"
              % (per / 1024))
        wait_for(lambda: stats(hub.port)["cut_stall"] == n, 10,
                 "the stall cut of %d subscribers" % n)
        check(all(closes(s, 5) for s in socks[:5]), "a stalled socket stays open")
        for s in socks:
            s.close()
        time.sleep(0.5)
        mem2 = tcp_mem_pages()
        print("after the stall cut: %d pages" % mem2)
        check(mem2 - mem0 < (mem1 - mem0) / 4, "memory not given back: %d -> %d -> %d"
              % (mem0, mem1, mem2))
        healthy(hub)


@scenario
def body_total(hub_exe):
    """Request bodies being received share --max-body-total: beyond it 503,
    and the bytes come back when a request ends."""
    mib = 1 << 20
    with Hub(hub_exe, "--max-body", str(mib), "--max-pending", str(4 * mib),
             "--max-body-total",
             str(mib * 5 // 2)) as hub:
        head = (b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                % mib)
        socks = []
        for i in range(2):
            s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
            s.sendall(head + b"x" * 1000)
            socks.append(s)
        time.sleep(0.3)
        s3 = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
        s3.sendall(head + b"x" * 1000)
        status, _, body = read_response(s3)
        check(status == 503, "third upload: %d, expected 503" % status)
        s3.close()
        socks[0].sendall(b"y" * (mib - 1000))
        check(read_response(socks[0], 10)[0] == 202, "the first upload completes")
        s4 = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
        s4.sendall(head + b"z" * mib)
        check(read_response(s4, 10)[0] == 202, "room again after one ended")
        for s in socks + [s4]:
            s.close()


@scenario
def signals(hub_exe):
    """SIGHUP and SIGUSR1 do not stop the hub (SIGUSR1 prints its counters);
    SIGQUIT stops it gracefully, like SIGTERM."""
    import signal as sig
    hub = Hub(hub_exe)
    try:
        sub = Curl(hub.base + "/events")
        subscribed(hub.port, 1)
        for s in (sig.SIGHUP, sig.SIGUSR1, sig.SIGHUP):
            hub.proc.send_signal(s)
            time.sleep(0.2)
            check(hub.alive(), "signal %d killed the hub" % s)
        healthy(hub)
        hub.proc.send_signal(sig.SIGQUIT)
        check(hub.proc.wait(5) == 0, "exit status after SIGQUIT: %s"
              % hub.proc.returncode)
        sub.stop()
        hub.stop()
        check("1 subscribers" in hub.stderr or "subscribers," in hub.stderr,
              "SIGUSR1 printed nothing: %r" % hub.stderr)
    finally:
        hub.stop()


# ---- issue 12: features ---------------------------------------------------


@scenario
def topics(hub_exe):
    """?topic= on both sides: each subscriber gets exactly the events of its
    topics (several per connection; none = the default topic); ids are one
    sequence; a resume replays exactly the missed events of its topics."""
    with Hub(hub_exe, "--resync-event", "gap") as hub:
        subs = {name: Curl(hub.base + "/events" + q) for name, q in
                [("a", "?topic=a"), ("b", "?topic=b"),
                 ("ab", "?topic=a&topic=b"), ("none", "")]}
        subscribed(hub.port, 4)
        plan = [("?topic=a", "to a"), ("?topic=b", "to b"),
                ("?topic=a&topic=b", "to a and b"), ("", "to default"),
                ("?topic=c", "to c")]
        ids = [publish_curl(hub.port, d, q)[1] for q, d in plan]
        check(ids == ["1", "2", "3", "4", "5"], "ids: %r" % ids)
        want = {"a": ["1", "3"], "b": ["2", "3"], "ab": ["1", "2", "3"],
                "none": ["4"]}
        for name, sub in subs.items():
            wait_for(lambda: len(sub.events()) >= len(want[name]), 10, name)
        time.sleep(0.3)
        for name, sub in subs.items():
            sub.stop()
            check([e["id"] for e in sub.events()] == want[name],
                  "%s got %r" % (name, sub.events()))
        # Resume per topic: a client of a, at id 1, missed 3 (a and b) and 6
        # (a); 4, 5, 7 are not its topics.
        publish_curl(hub.port, "a again", "?topic=a")
        publish_curl(hub.port, "b again", "?topic=b")
        sub = Curl(hub.base + "/events?topic=a", "-H", "Last-Event-ID: 1")
        subscribed(hub.port, 1)
        publish_curl(hub.port, "live a", "?topic=a")
        wait_for(lambda: len(sub.events()) >= 3, 10, "the resume")
        time.sleep(0.2)
        sub.stop()
        check([(e["id"], e["data"]) for e in sub.events()] ==
              [("3", "to a and b"), ("6", "a again"), ("8", "live a")],
              "resume on a: %r" % sub.events())
        head, body = preamble(hub.port, "/events?topic=a", b"Last-Event-ID: 999\r\n")
        check("event: gap\n" in body and '"reason":"unknown"' in body,
              "--resync-event: %r" % body)
        for q in ["?topic=", "?topic=%0a", "?" + "&".join(["topic=t%d" % i for i in range(17)])]:
            check(get(hub.port, "/events" + q)[0] == 400, "bad topics %r" % q[:30])


def b64u(b):
    import base64
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def der_to_raw(der):
    """An ECDSA signature in DER (openssl dgst) as JWS wants it: r || s."""
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0")
        i += 2 + n
    return out


def make_token(claims, key, alg="HS256", header=None):
    """A JWT made here (hmac, or the openssl command for RS256/ES256 with a
    private key file), so the test needs no JWT package."""
    import hashlib
    import hmac
    h = header or {"alg": alg, "typ": "JWT"}
    signing = (b64u(json.dumps(h).encode()) + b"." +
               b64u(json.dumps(claims).encode()))
    if alg == "HS256":
        sig = hmac.new(key, signing, hashlib.sha256).digest()
    elif alg == "none":
        sig = b""
    else:
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                             input=signing, capture_output=True, check=True).stdout
        if alg == "ES256":
            sig = der_to_raw(sig)
    return (signing + b"." + b64u(sig)).decode()


def auth(tok):
    return ("Authorization: Bearer %s\r\n" % tok).encode()


@scenario
def jwt(hub_exe):
    """JWT: sse.publish / sse.subscribe claims (topic lists or "*") from a
    Bearer header, the sse_token cookie or ?access_token=; 401 for a
    missing, malformed, expired, not-yet-valid, alg none, wrong-algorithm or
    badly signed token, 403 for a topic not covered; RS256 and ES256 with a
    public key; --anonymous-subscribers; SIGHUP reloads the key files; no
    token in the hub's output."""
    import signal as sig
    import tempfile
    if not shutil.which("openssl"):
        skip("openssl not installed")
    with tempfile.TemporaryDirectory() as d:
        secret = os.path.join(d, "secret")
        with open(secret, "wb") as f:
            f.write(b"s3cret-key-for-tests-0123456789ab\n")
        key = b"s3cret-key-for-tests-0123456789ab"
        now = int(time.time())
        good = make_token({"sse": {"publish": ["a", ""], "subscribe": ["a"]},
                           "exp": now + 600}, key)
        star = make_token({"sse": {"publish": ["*"], "subscribe": ["*"]}}, key)
        hub = Hub(hub_exe, "--jwt-secret-file", secret)
        try:
            cases = [
                ("no token", "/publish?topic=a", b"", 401),
                ("malformed", "/publish?topic=a", auth("abc.def"), 401),
                ("not Bearer", "/publish?topic=a", b"Authorization: Basic eDp5\r\n", 401),
                ("expired", "/publish?topic=a", auth(make_token(
                    {"sse": {"publish": ["*"]}, "exp": now - 5}, key)), 401),
                ("not yet valid", "/publish?topic=a", auth(make_token(
                    {"sse": {"publish": ["*"]}, "nbf": now + 300}, key)), 401),
                ("alg none", "/publish?topic=a", auth(make_token(
                    {"sse": {"publish": ["*"]}}, key, "none")), 401),
                ("alg none, HS256 signature", "/publish?topic=a", auth(make_token(
                    {"sse": {"publish": ["*"]}}, key, "HS256",
                    {"alg": "none"})), 401),
                ("bad signature", "/publish?topic=a", auth(make_token(
                    {"sse": {"publish": ["*"]}}, b"another key")), 401),
                ("RS256 without a public key", "/publish?topic=a", auth(
                    good.replace(good.split(".")[0], b64u(
                        b'{"alg":"RS256"}').decode())), 401),
                ("topic not allowed", "/publish?topic=b", auth(good), 403),
                ("one of two not allowed", "/publish?topic=a&topic=b", auth(good), 403),
                ("no publish claim", "/publish?topic=a", auth(make_token(
                    {"sse": {"subscribe": ["*"]}}, key)), 403),
                ("allowed", "/publish?topic=a", auth(good), 202),
                ("default topic allowed", "/publish", auth(good), 202),
                ("star", "/publish?topic=zz", auth(star), 202),
                ("cookie", "/publish?topic=a", b"Cookie: x=1; sse_token=" +
                 good.encode() + b"; y=2\r\n", 202),
                ("query", "/publish?topic=a&access_token=" + good, b"", 202),
            ]
            for name, path, hdrs, want in cases:
                status, h, body = post(hub.port, path, b"x", hdrs)
                check(status == want, "%s: %d %r, expected %d" % (name, status, body, want))
                if want == 401:
                    check(h.get("www-authenticate") == "Bearer", name + ": WWW-Authenticate")
            for name, path, hdrs, want in [
                    ("subscribe without token", "/events?topic=a", b"", 401),
                    ("subscribe to b", "/events?topic=b", auth(good), 403),
                    ("subscribe, expired", "/events?topic=a", auth(make_token(
                        {"sse": {"subscribe": ["*"]}, "exp": now - 1}, key)), 401)]:
                check(get(hub.port, path, hdrs)[0] == want, name)
            sub = Curl(hub.base + "/events?topic=a&access_token=" + good)
            subscribed(hub.port, 1)
            publish_curl(hub.port, "secret a", "?topic=a&access_token=" + star)
            wait_for(lambda: sub.events(), 10, "the event with a token")
            sub.stop()
            # SIGHUP: a new secret; old tokens fail, new ones work.
            with open(secret, "wb") as f:
                f.write(b"rotated-secret-0123456789abcdefgh")
            hub.proc.send_signal(sig.SIGHUP)
            time.sleep(0.3)
            check(post(hub.port, "/publish?topic=a", b"x", auth(good))[0] == 401,
                  "the old key still works after SIGHUP")
            check(post(hub.port, "/publish?topic=a", b"x", auth(make_token(
                {"sse": {"publish": ["a"]}}, b"rotated-secret-0123456789abcdefgh")))[0]
                  == 202, "the new key after SIGHUP")
        finally:
            hub.stop()
        check(good not in hub.stderr and key.decode() not in hub.stderr,
              "a token or key in the hub's output")
        # RS256 and ES256 with a public key; anonymous subscribers.
        for alg, gen in [("RS256", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                         ("ES256", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])]:
            priv, pub = os.path.join(d, alg + ".key"), os.path.join(d, alg + ".pub")
            subprocess.run(["openssl", "genpkey", *gen, "-out", priv], check=True,
                           capture_output=True)
            subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub],
                           check=True, capture_output=True)
            with Hub(hub_exe, "--jwt-public-key-file", pub,
                     "--anonymous-subscribers") as hub:
                tok = make_token({"sse": {"publish": ["a"]}}, priv, alg)
                check(post(hub.port, "/publish?topic=a", b"x", auth(tok))[0] == 202,
                      alg + " publish")
                forged = make_token({"sse": {"publish": ["a"]}},
                                    open(pub, "rb").read(), "HS256")
                check(post(hub.port, "/publish?topic=a", b"x", auth(forged))[0] == 401,
                      alg + ": HS256 signed with the public key accepted")
                h, _ = preamble(hub.port, "/events?topic=a", want=b":\n")
                check(h.startswith("HTTP/1.1 200"), "anonymous subscriber: " + h[:30])
                check(get(hub.port, "/events?topic=a", auth("x.y.z"))[0] == 401,
                      "a bad token sent by an anonymous subscriber")
        print("%d publish cases, 3 subscribe cases, SIGHUP rotation, RS256, ES256"
              % len(cases))


@scenario
def cors(hub_exe):
    """--cors-origin: preflights answered for allowed origins (403 else),
    Access-Control-Allow-Origin/-Credentials on answers and on the stream;
    a POST /publish from another origin gets 403, from the hub's own or an
    allowed one 202."""
    with Hub(hub_exe, "--cors-origin", "https://app.example",
             "--cors-origin", "http://localhost:3000") as hub:
        opt = (b"OPTIONS /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: %s\r\n"
               b"Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n")
        status, h, _ = request(hub.port, opt % b"https://app.example")
        check(status == 204 and h.get("access-control-allow-origin") == "https://app.example"
              and h.get("access-control-allow-credentials") == "true"
              and "POST" in h.get("access-control-allow-methods", "")
              and "authorization" in h.get("access-control-allow-headers", "").lower(),
              "preflight: %d %r" % (status, h))
        check(request(hub.port, opt % b"https://evil.example")[0] == 403, "evil preflight")
        for origin, want in [(b"https://evil.example", 403), (b"null", 403),
                             (b"http://127.0.0.1:%d" % hub.port, 202),
                             (b"http://localhost:3000", 202)]:
            status, h, _ = post(hub.port, "/publish", b"x", b"Origin: " + origin + b"\r\n",
                                host=b"127.0.0.1:%d" % hub.port)
            check(status == want, "publish from %r: %d" % (origin, status))
            if origin == b"http://localhost:3000":
                check(h.get("access-control-allow-origin") == "http://localhost:3000",
                      "ACAO on publish")
        head, _ = preamble(hub.port, "/events", b"Origin: https://app.example\r\n",
                           want=b":\n")
        check("Access-Control-Allow-Origin: https://app.example" in head and
              "Access-Control-Allow-Credentials: true" in head, "stream head: " + head)
        head, _ = preamble(hub.port, "/events", b"Origin: https://evil.example\r\n",
                           want=b":\n")
        check("Access-Control-Allow-Origin" not in head, "ACAO for evil: " + head)
        check(stats(hub.port)["events"] == 2, "events: %r" % stats(hub.port))


@scenario
def retry_jitter(hub_exe):
    """--retry-jitter-ms J: the retry of 1,000 connections spreads over
    [retry, retry + J], evenly."""
    n, base, j = 1000, 1000, 2000
    with Hub(hub_exe, "--retry-ms", str(base), "--retry-jitter-ms", str(j)) as hub:
        got = []
        for i in range(n):
            _, body = preamble(hub.port)
            m = [l for l in body.split("\n") if l.startswith("retry: ")]
            check(m, "no retry in %r" % body)
            got.append(int(m[0][7:]))
        lo, hi = min(got), max(got)
        bins = [0] * 10
        for v in got:
            bins[min(9, (v - base) * 10 // (j + 1))] += 1
        mean = sum(got) / n
        sd = (sum((v - mean) ** 2 for v in got) / n) ** 0.5
        print("retry over %d reconnects: min %d max %d mean %.0f sd %.0f, %d distinct, "
              "deciles %r" % (n, lo, hi, mean, sd, len(set(got)), bins))
        check(base <= lo and hi <= base + j, "out of range: %d..%d" % (lo, hi))
        check(all(60 <= b <= 140 for b in bins), "uneven: %r" % bins)
        check(abs(sd - j / 12 ** 0.5) < j * 0.05, "sd %.0f, uniform %.0f" % (sd, j / 12 ** 0.5))
    with Hub(hub_exe, "--retry-ms", "700") as hub:
        check(all("retry: 700\n" in preamble(hub.port)[1] for _ in range(20)),
              "without jitter the retry is fixed")


def parse_prometheus(text):
    """A strict parser of the Prometheus text format (0.0.4): HELP and TYPE
    lines, then samples name{label="value",...} number; every sample's family
    declared by a TYPE before it; names and labels well-formed. Returns
    {(name, ((label, value), ...)): float} and {name: type}."""
    import re
    name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
    sample = re.compile(r"^(%s)(\{(.*)\})? ([-+]?(?:[0-9.eE+-]+|Inf|NaN))$" % name_re)
    label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)')
    types, helps, out = {}, {}, {}
    check(text.endswith("\n"), "no final newline")
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, _, h = line[7:].partition(" ")
            check(re.fullmatch(name_re, name) and name not in helps, "HELP: " + line)
            helps[name] = h
        elif line.startswith("# TYPE "):
            name, _, t = line[7:].partition(" ")
            check(t in ("counter", "gauge", "histogram", "summary", "untyped")
                  and name not in types, "TYPE: " + line)
            types[name] = t
        else:
            m = sample.match(line)
            check(m, "not a sample: %r" % line)
            name, labels = m.group(1), ()
            check(name in types, "sample before its TYPE: " + line)
            if m.group(3):
                rest, pairs = m.group(3), []
                while rest:
                    lm = label.match(rest)
                    check(lm, "labels: " + line)
                    pairs.append((lm.group(1), lm.group(2)))
                    rest = rest[lm.end():]
                labels = tuple(pairs)
            check((name, labels) not in out, "duplicate sample: " + line)
            out[(name, labels)] = float(m.group(4))
    return out, types


@scenario
def metrics(hub_exe):
    """/metrics parses strictly as Prometheus text and its numbers follow
    what happened; /healthz answers; with --admin-bind, /stats and /metrics
    are served only there."""
    with Hub(hub_exe) as hub:
        sub = Curl(hub.base + "/events")
        subscribed(hub.port, 1)
        for i in range(3):
            publish_curl(hub.port, "m%d" % i)
        post(hub.port, "/publish?id=a%01", b"x")
        get(hub.port, "/nope")
        wait_for(lambda: len(sub.events()) == 3, 10, "the events")
        want = {("sse_hub_subscribers", ()): 1, ("sse_hub_events_total", ()): 3,
                ("sse_hub_deliveries_total", ()): 3, ("sse_hub_history_events", ()): 3,
                ("sse_hub_requests_refused_total", (("status", "400"),)): 1,
                ("sse_hub_requests_refused_total", (("status", "404"),)): 1,
                ("sse_hub_subscribers_cut_total", (("reason", "stall"),)): 0}
        # With several workers, another worker's counters are as of its
        # latest loop turn: poll briefly until they have caught up.
        deadline = time.monotonic() + 5
        while True:
            status, h, body = get(hub.port, "/metrics")
            check(status == 200 and
                  h["content-type"].startswith("text/plain; version=0.0.4"),
                  "/metrics: %d %r" % (status, h))
            m, types = parse_prometheus(body.decode())
            wrong = [(k, m.get(k), v) for k, v in want.items() if m.get(k) != v]
            if not wrong or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for k, got, v in wrong:
            check(False, "%r = %r, expected %r" % (k, got, v))
        check(m[("sse_hub_bytes_written_total", ())] > 0 and
              m[("sse_hub_history_bytes", ())] > 0, "bytes")
        check(types["sse_hub_events_total"] == "counter" and
              types["sse_hub_subscribers"] == "gauge", "types")
        sub.stop()
        check(get(hub.port, "/healthz")[:3:2] == (200, b"ok\n"), "/healthz")
    with Hub(hub_exe, "--admin-bind", "127.0.0.1:0") as hub:
        line = b""
        admin = None
        deadline = time.monotonic() + 5
        while admin is None and time.monotonic() < deadline:
            import re
            ch = os.read(hub.proc.stdout.fileno(), 1)
            line += ch
            m = re.search(rb"admin on http://127\.0\.0\.1:(\d+)/\n", line)
            if m:
                admin = int(m.group(1))
        check(admin, "no admin port printed")
        for path in ("/metrics", "/stats"):
            check(get(hub.port, path)[0] == 404, path + " on the public listener")
            check(get(admin, path)[0] == 200, path + " on the admin listener")
        check(get(admin, "/events")[0] == 404, "/events on the admin listener")
        check(get(hub.port, "/healthz")[0] == 200 and get(admin, "/healthz")[0] == 200,
              "/healthz on both")
        check(publish_curl(hub.port, "x")[0] == 202, "publish with --admin-bind")


def main(argv):
    global HUB
    if argv[1:2] == ["--list"]:
        print("\n".join(SCENARIOS))
        return 0
    if not shutil.which("curl"):
        skip("curl not installed (apt-get install curl)")
    HUB = argv[1]
    names = argv[2:]
    if names and names[0].startswith("--workers="):
        HUB_ARGS[1] = names.pop(0).split("=", 1)[1]
    return run_scenarios(SCENARIOS, names, lambda fn: fn(HUB))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
