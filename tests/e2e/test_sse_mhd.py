#!/usr/bin/env python3
"""End-to-end tests of sse-mhd (examples/microhttpd) with curl and ssecat.

usage: test_sse_mhd.py SSE_MHD CURL SSECAT [SCENARIO...]   (no SCENARIO: all)
       test_sse_mhd.py --list

Each scenario starts its own sse-mhd on 127.0.0.1 (ephemeral port, short
event interval), runs `curl -N` against it with a time limit, decodes what
curl received with ssecat, and checks the events, the response headers and
the server's log on stderr (it logs every client's arrival and departure
with the number of live clients). Timing checks are lower bounds, plus upper
bounds far above what is expected, so that a loaded machine does not make
them flaky. Every process is bounded in time and killed at the end.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
from harness import Failure, check, registry, run_scenarios  # noqa: E402

SSE_MHD = CURL = SSECAT = None
SCENARIOS, scenario = registry()


class Server:
    """sse-mhd in the background; its stderr is collected line by line."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [SSE_MHD, "--port", "0", *args], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        m = self.wait_for(r"serving http://127\.0\.0\.1:(\d+)/events", 10)
        if not m:
            self.close()
            raise Failure("sse-mhd did not start:\n" + self.log())
        self.url = "http://127.0.0.1:%s/events" % m.group(1)

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # end of the log
            self.cond.notify_all()

    def wait_for(self, pattern, timeout, start=0):
        """The first log line from index start that matches pattern, as a
        match object, or None after timeout seconds."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    line = self.lines[i]
                    if line is None:
                        return None
                    m = rx.search(line)
                    if m:
                        return m
                    i += 1
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.lines)

    def live(self):
        """The live-client count of the newest log line that has one."""
        with self.cond:
            for line in reversed(self.lines):
                m = line and re.search(r"\(live: (\d+)\)", line)
                if m:
                    return int(m.group(1))
        return 0

    def log(self):
        with self.cond:
            return "\n".join(l for l in self.lines if l is not None)

    def stop(self, timeout=5):
        """SIGTERM, then the exit status (killed after timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
            self.reader.join(5)  # the log up to its end, before anyone reads it
            return rc
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("sse-mhd did not stop within %d s" % timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Fetch:
    """One `curl -N` run: status, headers, raw body and the body decoded by
    ssecat (records: events, retry and comments)."""

    def __init__(self, url, *args, max_time=1.0):
        with tempfile.TemporaryDirectory() as tmp:
            head = os.path.join(tmp, "head")
            self.t_start = time.time()
            run = subprocess.run(
                [CURL, "-sS", "-N", "-D", head, "--max-time", str(max_time),
                 *args, url], capture_output=True, timeout=max_time + 20)
            self.rc, self.body = run.returncode, run.stdout
            self.stderr = run.stderr.decode(errors="replace")
            text = open(head, encoding="latin-1", newline="").read() \
                if os.path.exists(head) else ""
        lines = text.split("\r\n")
        self.status = lines[0]
        self.headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                self.headers[name.strip().lower()] = value.strip()
        dec = subprocess.run([SSECAT, "--comments"], input=self.body,
                             capture_output=True, timeout=20)
        check(dec.returncode == 0, "ssecat decodes curl's output", dec.stderr)
        self.records = [json.loads(l) for l in dec.stdout.splitlines()]
        self.events = [r for r in self.records if "type" in r]
        self.ids = [int(e["id"]) for e in self.events]

    def describe(self):
        return "curl exit %d, %s\nstderr: %s\nbody:\n%s" % (
            self.rc, self.status, self.stderr.strip(),
            self.body.decode(errors="replace")[:3000])


def consecutive(ids):
    return all(b == a + 1 for a, b in zip(ids, ids[1:]))


def wall(ts):
    """An event's timestamp (ms since the epoch) as seconds."""
    return ts / 1000


def start_curl(url, *args, max_time=20):
    """curl -N in the background (stdout discarded); killed by the caller."""
    return subprocess.Popen([CURL, "-sS", "-N", "--max-time", str(max_time),
                             *args, url], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@scenario
def stream():
    """Events every 100 ms with increasing ids, the JSON message with a
    timestamp, the preamble, and the recommended response headers."""
    with Server("--interval-ms", "100") as srv:
        f = Fetch(srv.url, max_time=1.2)
    check(f.rc == 28, "curl ran until its --max-time", f.describe())
    check(f.status.startswith("HTTP/1.1 200"), "status 200", f.describe())
    check(f.headers.get("content-type") == "text/event-stream",
          "Content-Type: text/event-stream", f.describe())
    cache = [v.strip() for v in f.headers.get("cache-control", "").split(",")]
    check("no-cache" in cache, "Cache-Control: no-cache", f.describe())
    check(f.headers.get("x-accel-buffering") == "no", "X-Accel-Buffering: no",
          f.describe())
    check(f.headers.get("transfer-encoding") == "chunked",
          "chunked (MHD frames the unknown-length body)", f.describe())
    check(f.records[:2] == [{"comment": ""}, {"retry": 3000}],
          "preamble: ':' then retry: 3000", f.describe())
    check(len(f.events) >= 4, "at least 4 events in 1.2 s, got %d"
          % len(f.events), f.describe())
    check(f.ids[0] >= 1 and consecutive(f.ids),
          "ids increase by one: %s" % f.ids, f.describe())
    for e in f.events:
        check(e["type"] == "message", "type message", e)
        data = json.loads(e["data"])
        check(data.get("message") == "Hello from the server!", "message", e)
        check(isinstance(data.get("timestamp"), int), "timestamp in ms", e)


@scenario
def resume():
    """A client that comes back with Last-Event-ID gets the events it
    missed (from the history), then the live ones: no gap, no duplicate."""
    with Server("--interval-ms", "100") as srv:
        a = Fetch(srv.url, max_time=0.8)
        check(len(a.ids) >= 2 and consecutive(a.ids), "first client: %s"
              % a.ids, a.describe())
        time.sleep(0.6)  # about 6 events go by while it is away
        b = Fetch(srv.url, "-H", "Last-Event-ID: %d" % a.ids[-1],
                  max_time=0.8)
        log = srv.log()
    check(b.status.startswith("HTTP/1.1 200"), "status 200", b.describe())
    check(b.ids and b.ids[0] == a.ids[-1] + 1,
          "resumes right after %d, got %s" % (a.ids[-1], b.ids), b.describe())
    check(consecutive(b.ids), "no gap or duplicate: %s" % b.ids, b.describe())
    replayed = [e for e in b.events
                if wall(json.loads(e["data"])["timestamp"]) < b.t_start]
    check(len(replayed) >= 3, "at least 3 events from before the reconnection"
          " were replayed, got %d" % len(replayed), b.describe())
    check(len(b.events) > len(replayed), "then live events", b.describe())
    check("unknown" not in log and "too old" not in log, "no gap logged", log)


@scenario
def unknown_id():
    """An id the server never sent: the stream starts from now."""
    with Server("--interval-ms", "100") as srv:
        time.sleep(0.3)
        f = Fetch(srv.url, "-H", "Last-Event-ID: not-an-id", max_time=0.7)
        logged = srv.wait_for(r"client 1: Last-Event-ID unknown", 2)
    check(f.status.startswith("HTTP/1.1 200"), "status 200", f.describe())
    check(f.events, "events", f.describe())
    first = wall(json.loads(f.events[0]["data"])["timestamp"])
    check(first >= f.t_start - 0.01, "nothing replayed", f.describe())
    check(logged, "the server logged the unknown id")


@scenario
def bad_requests():
    """404, 405 and a hostile Last-Event-ID (400); the server keeps going."""
    with Server("--interval-ms", "100") as srv:
        base = srv.url[:-len("/events")]
        for args, url, want in (
                ([], base + "/nope", "404"),
                (["-X", "POST", "-d", "x"], srv.url, "405"),
                (["-H", "Last-Event-ID: " + "7" * 2000], srv.url, "400")):
            run = subprocess.run([CURL, "-sS", "-o", "/dev/null", "-w",
                                  "%{http_code}", "--max-time", "5", *args,
                                  url], capture_output=True, text=True,
                                 timeout=20)
            check(run.stdout == want, "%s for %s %s, got %r"
                  % (want, url, args[:2], run.stdout), run.stderr)
        f = Fetch(srv.url, max_time=0.6)
        check(len(f.events) >= 2, "still serving", f.describe())
        check(srv.proc.poll() is None, "still running", srv.log())


@scenario
def disconnect():
    """Ten clients go away: the server notices each (at its next write),
    frees them (live count back to 0), and a new client is served (the
    per-address limit raised from 8 for them)."""
    with Server("--interval-ms", "100", "--per-ip", "16") as srv:
        clients = [start_curl(srv.url) for _ in range(10)]
        try:
            ok = srv.wait_for(r"\(live: 10\)", 10)
        finally:
            for c in clients:
                c.kill()
                c.wait()
        check(ok, "ten live clients", srv.log())
        mark = srv.mark()
        check(srv.wait_for(r"gone \(live: 0\)", 5, mark),
              "every client freed within 5 s of leaving", srv.log())
        f = Fetch(srv.url, max_time=0.6)
        check(len(f.events) >= 2 and consecutive(f.ids),
              "a new client is served", f.describe())
        check(srv.wait_for(r"gone \(live: 0\)", 5, mark + 10),
              "and freed in turn", srv.log())
        check(srv.proc.poll() is None, "still running", srv.log())


@scenario
def heartbeat():
    """No events for a long while: keep-alive comments every 200 ms, and
    they are also what finds out that a client has left."""
    with Server("--interval-ms", "60000", "--heartbeat-ms", "200") as srv:
        f = Fetch(srv.url, max_time=1.1)
        check(f.events == [], "no events", f.describe())
        pings = f.records[2:]
        check(3 <= len(pings) <= 6 and all(r == {"comment": ""}
                                           for r in pings),
              "about five ':' keep-alives in 1.1 s, got %d" % len(pings),
              f.describe())
        check(srv.wait_for(r"client 1 gone \(live: 0\)", 5),
              "the client that left was freed at a heartbeat", srv.log())


@scenario
def shutdown():
    """SIGTERM: the server ends every stream cleanly (curl sees the end of
    the chunked body and exits 0) and exits 0."""
    with Server("--interval-ms", "100") as srv:
        c = subprocess.Popen([CURL, "-sS", "-N", "--max-time", "20", srv.url],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            check(srv.wait_for(r"\(live: 1\)", 10), "connected", srv.log())
            time.sleep(0.3)
            t0 = time.monotonic()
            rc = srv.stop()
            out, err = c.communicate(timeout=10)
        finally:
            if c.poll() is None:
                c.kill()
                c.wait()
        check(rc == 0, "exit status 0, got %s" % rc, srv.log())
        check(time.monotonic() - t0 < 3, "stopped within 3 s", srv.log())
        check(c.returncode == 0, "curl saw a clean end (exit %d)"
              % c.returncode, err)
        check(out.endswith(b"\n\n") and b"id: " in out,
              "the body ends after a whole event", out[-200:])
        check("gone (live: 0)" in srv.log(), "the client was freed", srv.log())


@scenario
def slowloris():
    """1,100 connections from 127.0.0.2 that send half a request and wait
    do not starve the server: the per-address limit refuses most, the
    connection timeout (10 s) cuts the rest, and a client from 127.0.0.1 is
    served meanwhile."""
    import resource
    import socket
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1300:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    with Server("--interval-ms", "100") as srv:
        port = int(srv.url.split(":")[2].split("/")[0])
        socks = []
        try:
            for _ in range(1100):
                s = socket.socket()
                s.bind(("127.0.0.2", 0))
                s.settimeout(2)
                try:
                    s.connect(("127.0.0.1", port))
                    s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n")
                except OSError:
                    pass
                socks.append(s)
            t0 = time.monotonic()
            f = Fetch(srv.url, max_time=1.0)
            served = time.monotonic() - t0
            check(len(f.events) >= 3, "a client from 127.0.0.1 is served while "
                  "1,100 slow connections wait", f.describe())
            # every slow connection is closed by the server within ~10 s
            deadline = time.monotonic() + 20
            open_ = list(socks)
            while open_ and time.monotonic() < deadline:
                still = []
                for s in open_:
                    s.settimeout(0.001)
                    try:
                        if s.recv(4096) != b"":
                            still.append(s)
                    except socket.timeout:
                        still.append(s)
                    except OSError:
                        pass
                open_ = still
                time.sleep(0.2)
            check(not open_, "%d slow connections still open after 20 s"
                  % len(open_))
        finally:
            for s in socks:
                s.close()
        check(srv.proc.poll() is None, "still running", srv.log())
    print("     (served in %.2f s during the attack)" % served)


@scenario
def usage():
    """Bad command lines exit with status 2; --help with 0."""
    for args in (["--port", "70000"], ["--interval-ms", "0"], ["--bogus"],
                 ["--bind", "localhost"], ["--port"], ["--heartbeat-ms", "x"]):
        run = subprocess.run([SSE_MHD, *args], capture_output=True, text=True,
                             timeout=20)
        check(run.returncode == 2, "exit status 2 for %r" % args, run.stderr)
        check(run.stderr.strip(), "a message for %r" % args)
    run = subprocess.run([SSE_MHD, "--help"], capture_output=True, text=True,
                         timeout=20)
    check(run.returncode == 0 and "usage" in run.stdout, "--help", run)


def main(argv):
    global SSE_MHD, CURL, SSECAT
    if argv[1:] == ["--list"]:
        print("\n".join(SCENARIOS))
        return 0
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    SSE_MHD, CURL, SSECAT = argv[1:4]
    return run_scenarios(SCENARIOS, argv[4:], lambda fn: fn(), width=14)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
