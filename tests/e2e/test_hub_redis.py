#!/usr/bin/env python3
"""End-to-end tests of sse-hub --redis: several hub nodes sharing one Redis
stream (Debian's redis-server, started here on 127.0.0.1 with an ephemeral
port and its files in a temporary directory).

usage: test_hub_redis.py SSE_HUB [SCENARIO...]   (no SCENARIO: all of them)
       test_hub_redis.py --list

Subscribers are curl processes; every wait is bounded. Exit status 0 on
success, 1 on failure, 77 (skip) when curl or redis-server is missing, or the
hub was built without hiredis (a failure instead under SSE_E2E_REQUIRE=1).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Server, skip  # noqa: E402
from test_hub import (Curl, Failure, check, parse_sse,  # noqa: E402
                      publish_curl, stats, wait_for)

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    """redis-server on 127.0.0.1: append-only file fsynced at every write
    (so a stop and a start on the same port keep the stream), no RDB."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="sse-redis-")
        self.extra = extra
        self.proc = None
        for _ in range(5):  # the port could be taken between probe and bind
            self.port = free_port()
            if self.start():
                return
        raise RuntimeError("redis-server did not start")

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always",
             "--dir", self.dir, "--daemonize", "no", *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.command(b"PING") == b"+PONG":
                return True
            time.sleep(0.05)
        self.stop()
        return False

    def command(self, *args):
        """One command; the first line of its reply (None when down)."""
        req = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(req)
                buf = b""
                while b"\r\n" not in buf:
                    chunk = s.recv(4096)
                    if not chunk:
                        return None
                    buf += chunk
                return buf.split(b"\r\n")[0]
        except OSError:
            return None

    def kill_readers(self, want):
        """Waits for want connections blocked in XREAD (the nodes' readers)
        and CLIENT KILLs them: they reconnect after their backoff."""
        def raw(*args):
            req = b"*%d\r\n" % len(args) + b"".join(
                b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(req)
                buf = b""
                while True:  # a bulk string ($N) or a one-line reply
                    if b"\r\n" in buf:
                        first = buf.split(b"\r\n", 1)[0]
                        if not first.startswith(b"$") or \
                                len(buf) >= len(first) + 4 + int(first[1:]):
                            break
                    chunk = s.recv(65536)
                    check(chunk, "Redis answered")
                    buf += chunk
            return buf.decode(errors="replace")
        def readers():
            return [f.split("=", 1)[1]
                    for line in raw(b"CLIENT", b"LIST").split("\n")
                    if "cmd=xread" in line
                    for f in line.split() if f.startswith("id=")]
        wait_for(lambda: len(readers()) == want, 10,
                 "%d readers blocked in XREAD" % want)
        for i in readers():
            raw(b"CLIENT", b"KILL", b"ID", i.encode())

    def xadd(self, data):
        """XADD sse-hub * d DATA straight into Redis; the entry id."""
        args = [b"XADD", b"sse-hub", b"*", b"d", data.encode()]
        req = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(req)
            buf = b""
            while buf.count(b"\r\n") < 2:
                chunk = s.recv(4096)
                check(chunk, "XADD answered")
                buf += chunk
        return buf.split(b"\r\n")[1].decode()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SHUTDOWN: the append-only file is complete
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Nodes:
    """Hub nodes sharing one Redis; stopped (SIGTERM) on exit."""

    def __init__(self, hub_exe, redis, n, *args, per_node=None):
        self.nodes = []
        try:
            for i in range(n):
                more = per_node[i] if per_node else ()
                self.nodes.append(Server(hub_exe, "--redis", redis.url(),
                                         "--redis-backoff-max-ms", "400",
                                         *args, *more))
        except Exception:
            self.close()
            raise
        for node in self.nodes:  # both connections up, the cache filled
            wait_for(lambda: node_up(node), 10, "the nodes' Redis connections")

    def close(self):
        bad = []
        for node in self.nodes:
            killed = node.proc.poll() == -signal.SIGKILL
            rc = node.stop()
            if not killed and (rc != 0 or "runtime error" in node.stderr or
                               "Sanitizer" in node.stderr):
                bad.append("exit %s: %s" % (rc, node.stderr[-2000:]))
        return bad

    def __enter__(self):
        return self.nodes

    def __exit__(self, exc_type, *exc):
        bad = self.close()
        if bad and exc_type is None:  # a clean stop of every node
            raise Failure("a node did not stop cleanly: " + bad[0])


def node_up(node):
    node._err.seek(0)
    err = node._err.read().decode(errors="replace")
    return "redis reader connection up" in err and \
        "redis command connection up" in err


def headers_in(sub, timeout=10):
    """Waits for the subscription's 200: curl -N prints the ':' preamble
    that leaves with the response head."""
    wait_for(lambda: sub.out.startswith(b":"), timeout, "the response head")


def ids(sub):
    return [e["id"] for e in sub.events() if e["type"] != "sse-resync"]


def settle(subs, want, timeout=15):
    for s in subs:
        wait_for(lambda: len(s.events()) >= want, timeout,
                 "%d events (have %d)" % (want, len(s.events())))
    time.sleep(0.3)  # nothing more may come


@scenario
def three_nodes(hub_exe):
    """Events published on A (and some on B and C) reach subscribers on A, B
    and C exactly once and in the same order, the stream's; the ids are the
    entry ids; a subscriber gets every event published after its response
    head arrived, even on another node; topics are kept apart."""
    with Redis() as redis, Nodes(hub_exe, redis, 3) as (a, b, c):
        subs = [Curl(n.base + "/events") for n in (a, b, c) for _ in range(2)]
        topical = [Curl(n.base + "/events?topic=t") for n in (a, b, c)]
        for s in subs + topical:
            headers_in(s)  # no wait for /stats: the head is enough
        sent, sent_t = [], []
        for i in range(30):
            node = (a, a, b, a, c)[i % 5]
            topic = "?topic=t" if i % 3 == 0 else ""
            code, body = publish_curl(node.port, "event %d" % i, topic)
            check(code == 202, "publish %d: %d %s" % (i, code, body))
            check(len(body.split("-")) == 2 and all(p.isdigit() for p in body.split("-")),
                  "the id is a stream entry id: %r" % body)
            (sent_t if topic else sent).append((body, "event %d" % i))
        settle(subs, len(sent))
        settle(topical, len(sent_t))
        for s in subs:
            got = [(e["id"], e["data"]) for e in s.events()]
            check(got == sent, "a default-topic subscriber got %r, expected %r"
                  % (got[:5], sent[:5]))
        for s in topical:
            got = [(e["id"], e["data"]) for e in s.events()]
            check(got == sent_t, "a topic-t subscriber got %r" % got[:5])
        order = [i for i, _ in sent]
        check(order == sorted(order, key=lambda x: tuple(map(int, x.split("-")))),
              "ids increase")
        for s in subs + topical:
            s.stop()
        for n in (a, b, c):
            st = stats(n.port)
            check(st["events"] == len(sent) + len(sent_t),
                  "every node fanned out every event once: %r" % st)


@scenario
def failover_resume(hub_exe):
    """kill -9 of node B: its subscribers reconnect to C with the last id
    they had and get exactly the events they missed, then live ones; from
    C's small cache where it holds the id, from Redis (XRANGE) where not."""
    with Redis() as redis, Nodes(hub_exe, redis, 3,
                                 per_node=[(), (), ("--history", "4")]) as (a, b, c):
        on_b = [Curl(b.base + "/events"), Curl(b.base + "/events?topic=x"),
                Curl(b.base + "/events")]
        for s in on_b:
            headers_in(s)
        sent = []
        for i in range(6):
            topic = "?topic=x" if i % 2 else ""
            code, body = publish_curl(a.port, "before %d" % i, topic)
            check(code == 202, "publish")
            sent.append((body, topic, "before %d" % i))
        settle([on_b[0], on_b[2]], 3)
        settle([on_b[1]], 3)
        b.proc.kill()  # SIGKILL: no goodbye
        b.proc.wait(5)
        for s in on_b:
            s.proc.wait(10)
        # Missed: 10 events, more than C's cache of 4 for the first two.
        for i in range(10):
            topic = "?topic=x" if i % 2 else ""
            code, body = publish_curl(a.port, "missed %d" % i, topic)
            check(code == 202, "publish")
            sent.append((body, topic, "missed %d" % i))
        # The third subscriber got only the first default event: pretend it
        # had read up to the 8th event overall (in C's cache).
        last = [ids(on_b[0])[-1], ids(on_b[1])[-1], sent[-3][0]]
        queries = ["", "?topic=x", ""]
        again = [Curl(c.base + "/events" + q, "-H", "Last-Event-ID: " + l)
                 for q, l in zip(queries, last)]
        for s in again:
            headers_in(s)
        code, body = publish_curl(a.port, "live", "?topic=x")
        sent.append((body, "?topic=x", "live"))
        for s, q, l in zip(again, queries, last):
            pos = [x[0] for x in sent].index(l)
            want = [(i, d) for i, t, d in sent[pos + 1:] if t == q]
            settle([s], len(want))
            got = [(e["id"], e["data"]) for e in s.events()]
            check(got == want, "resumed after %s%s: got %r, expected %r"
                  % (l, q, got, want))
            s.stop()
        st = stats(c.port)
        check(st["resyncs"] == 0, "no resync")
        check(st["redis_replays"] == 2, "two resumes read from Redis, one "
              "from the cache: %r" % st)


@scenario
def redis_outage(hub_exe):
    """Redis stopped for 5 s while a publisher goes on: subscribers keep
    their connections and heartbeats; every publish answered 202 is
    delivered once, in order, to every subscriber; the others got 503 with
    Retry-After; the nodes reconnect and go on after the last entry."""
    with Redis() as redis, Nodes(hub_exe, redis, 2, "--heartbeat-ms", "300",
                                 "--redis-timeout-ms", "1000") as (a, b):
        subs = [Curl(n.base + "/events") for n in (a, b)]
        for s in subs:
            headers_in(s)
        results, stop = [], threading.Event()

        def publisher():
            i = 0
            while not stop.is_set() and i < 400:
                r = subprocess.run(
                    ["curl", "-sS", "--max-time", "5", "-D", "-",
                     "--data-binary", "n%d" % i,
                     "http://127.0.0.1:%d/publish" % (a, b)[i % 2].port],
                    capture_output=True, timeout=10)
                out = r.stdout.decode(errors="replace")
                code = int(out.split(" ", 2)[1]) if out.startswith("HTTP/") else 0
                results.append((code, out.rstrip().rsplit("\n", 1)[-1],
                                "retry-after: 1" in out.lower()))
                i += 1
                time.sleep(0.03)

        t = threading.Thread(target=publisher, daemon=True)
        t.start()
        time.sleep(1.5)
        redis.stop()
        down_at = len(subs[0].out)
        time.sleep(5)
        beats = subs[0].out[down_at:].count(b":\n")
        check(redis.start(), "redis-server restarted")
        time.sleep(2.5)
        stop.set()
        t.join(30)
        ok = [body for code, body, _ in results if code == 202]
        bad = [(code, ra) for code, _, ra in results if code != 202]
        check(len(ok) > 10 and bad, "some publishes were refused: %d ok, %d "
              "refused" % (len(ok), len(bad)))
        check(all(code == 503 and ra for code, ra in bad),
              "refused with 503 and Retry-After: %r" % bad[:5])
        check(results[-1][0] == 202, "publishing works again after the outage")
        check(sum(stats(n.port)["redis_refused"] for n in (a, b)) == len(bad),
              "the nodes count the refusals")
        print("redis_outage: %d publishes answered 202, %d answered 503, %d "
              "heartbeats while Redis was down" % (len(ok), len(bad), beats))
        check(beats >= 3, "heartbeats during the outage: %d" % beats)
        for s in subs:
            check(s.proc.poll() is None, "the subscriber is still connected")
        settle(subs, len(ok))
        for s in subs:
            got = ids(s)
            check(len(got) == len(set(got)), "no duplicate")
            check(set(ok) <= set(got), "every 202 delivered: missing %r"
                  % sorted(set(ok) - set(got))[:5])
            # An XADD in flight when Redis went away may have been applied
            # though its answer was lost (the hub said 503): at most that.
            check(len(got) - len(ok) <= 2, "only acknowledged events (%d "
                  "extra)" % (len(got) - len(ok)))
            check(got == sorted(got, key=lambda x: tuple(map(int, x.split("-")))),
                  "stream order")
            s.stop()


@scenario
def resume_ahead(hub_exe):
    """A client resuming on node B with an id B may not have read yet (the
    entry went into Redis an instant before; then again while B's reader is
    cut off and reconnecting, so B learns from Redis that the id exists
    before its reader passes it, and waits for that): nothing twice,
    nothing of before, then the live events."""
    with Redis() as redis, Nodes(hub_exe, redis, 2) as (a, b):
        for i in range(20):
            eid = redis.xadd("ahead %d" % i)
            s = Curl(b.base + "/events", "-H", "Last-Event-ID: " + eid)
            headers_in(s)
            code, live = publish_curl(a.port, "live %d" % i)
            check(code == 202, "publish")
            wait_for(lambda: len(s.events()) >= 1, 10, "the live event")
            time.sleep(0.1)
            s.stop()
            got = [(e["id"], e["data"]) for e in s.events()]
            check(got == [(live, "live %d" % i)], "after %s: %r" % (eid, got))
        # The readers cut: B learns from Redis that the id exists before its
        # reader is back, so it waits for the reader to pass it.
        # (A raw socket: quicker than B's reader comes back, 100 ms.)
        for i in range(5):
            redis.kill_readers(2)
            eid = redis.xadd("while B's reader is away %d" % i)
            with socket.create_connection(("127.0.0.1", b.port), timeout=10) as s:
                s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n"
                          b"Last-Event-ID: %s\r\n\r\n" % eid.encode())
                out = s.recv(65536)  # the head (after B's reader passed eid)
                code, live = publish_curl(a.port, "after %d" % i)
                check(code == 202, "publish")
                end = time.monotonic() + 10
                while live.encode() not in out and time.monotonic() < end:
                    out += s.recv(65536)
                time.sleep(0.2)
                s.settimeout(0.2)
                try:
                    out += s.recv(65536)
                except socket.timeout:
                    pass
            check(out.startswith(b"HTTP/1.1 200"), "200: %r" % out[:40])
            got = [(e["id"], e["data"])
                   for e in parse_sse(out.split(b"\r\n\r\n", 1)[1].decode())]
            check(got == [(live, "after %d" % i)], "after %s: %r" % (eid, got))


@scenario
def evicted_unknown(hub_exe):
    """An id older than the stream keeps gets the resync event "evicted";
    a well-formed id the stream never had, or a malformed one, "unknown";
    ?id= is refused with --redis."""
    with Redis("--stream-node-max-entries", "4") as redis, \
            Nodes(hub_exe, redis, 2, per_node=[("--history", "8"),
                                              ("--history", "2")]) as (a, b):
        first = publish_curl(a.port, "first")[1]
        for i in range(40):
            check(publish_curl(a.port, "e%d" % i)[0] == 202, "publish")
        code, body = publish_curl(a.port, "x", "?id=7")
        check(code == 400 and "Redis" in body, "?id= refused: %d %s" % (code, body))
        newest = publish_curl(a.port, "newest")[1]
        oldest = redis.command(b"XINFO", b"STREAM", b"sse-hub")
        check(oldest is not None, "XINFO")
        ms = newest.split("-")[0]
        cases = [(first, "evicted"), ("1-0", "evicted"),
                 (ms + "-999", "unknown"), ("nonsense", "unknown")]
        for node in (a, b):
            for last, reason in cases:
                s = Curl(node.base + "/events", "-H", "Last-Event-ID: " + last)
                headers_in(s)
                wait_for(lambda: len(s.events()) >= 1, 10, "the resync event")
                s.stop()
                e = s.events()[0]
                check(e["type"] == "sse-resync" and e["id"] == newest and
                      '"reason":"%s"' % reason in e["data"],
                      "%s on port %d: %r, expected %s" % (last, node.port, e, reason))


def main(argv):
    if argv[1:2] == ["--list"]:
        print("\n".join(SCENARIOS))
        return 0
    if not shutil.which("curl"):
        skip("curl not installed (apt-get install curl)")
    if not shutil.which("redis-server"):
        skip("redis-server not installed (apt-get install redis-server)")
    hub = argv[1]
    h = subprocess.run([hub, "--redis", "nonsense"], capture_output=True,
                       text=True, timeout=10)
    if "built without Redis support" in h.stderr:
        skip("sse-hub built without hiredis (apt-get install libhiredis-dev)")
    failed = 0
    for name in argv[2:] or list(SCENARIOS):
        t0 = time.monotonic()
        try:
            SCENARIOS[name](hub)
            print("ok   %s (%.1fs)" % (name, time.monotonic() - t0))
        except Failure as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main(sys.argv))
