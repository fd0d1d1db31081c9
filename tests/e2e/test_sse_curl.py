#!/usr/bin/env python3
"""End-to-end tests of sse-curl against the scripted server in sse_server.py.

usage: test_sse_curl.py SSE_CURL [SCENARIO...]   (no SCENARIO: all of them)
       test_sse_curl.py --list

Each scenario starts its own server on 127.0.0.1 (ephemeral port), runs
sse-curl with a time limit, and checks its standard output (the ssecat
JSON lines), its exit status and what the server saw (requests, headers,
timing). Timing checks are lower bounds, plus upper bounds far above what
is expected, so that a loaded machine does not make them flaky.
"""

import email.utils
import json
import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, registry, run_scenarios  # noqa: E402
from sse_server import SSEServer  # noqa: E402

SSE_CURL = None
RUN_TIMEOUT = 30  # seconds, per client run
SCENARIOS, scenario = registry()


def run_client(url, *args):
    t0 = time.monotonic()
    run = subprocess.run([SSE_CURL, *args, url], capture_output=True,
                         text=True, timeout=RUN_TIMEOUT)
    run.elapsed = time.monotonic() - t0
    return run


def lines(run):
    return [json.loads(line) for line in run.stdout.splitlines()]


def ev(id, data, type="message"):
    return {"type": type, "data": data, "id": id}


def gap(records, i):
    """Seconds between the end of request i and the start of request i+1."""
    return records[i + 1].t_start - records[i].t_end


# Fast reconnection for scenarios that are not about the delays.
FAST = ["--reconnect-time", "0.05", "--backoff", "0.01", "--reset-after", "0"]

HISTORY = [(str(i), "event %d" % i) for i in range(1, 7)]


def replay_after(req, last, count=None):
    """Sends the HISTORY events after id last; returns the last id sent."""
    start = 0
    if last is not None:
        start = [i for i, _ in HISTORY].index(last) + 1
    sent = last
    for id, data in HISTORY[start:start + count if count else None]:
        req.event(data, id=id)
        sent = id
    return sent


@scenario
def resume_after_drop(sse_curl):
    """Events, then the connection drops inside an event: the client
    reconnects with the last committed id and prints exactly what it
    missed."""
    def script(req, n):
        if n == 0:
            req.start_stream()
            replay_after(req, None, count=2)
            req.send("id: 3\ndata: event 3 cut sho")  # dropped mid-event
        elif n == 1:
            req.start_stream()
            replay_after(req, req.last_event_id)
        else:
            req.respond(204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0 after the final 204", run)
    check(lines(run) == [ev(i, d) for i, d in HISTORY],
          "every event exactly once, in order", run)
    check(len(recs) == 3, "three requests, got %d" % len(recs), run)
    check(recs[0].header("Last-Event-ID") is None,
          "no Last-Event-ID on the first request")
    check(recs[1].header("Last-Event-ID") == "2",
          "resumed from the last committed id 2, got %r"
          % recs[1].header("Last-Event-ID"))
    check(recs[2].header("Last-Event-ID") == "6", "then from 6")
    for r in recs:
        check(r.header("Accept") == "text/event-stream", "Accept header")
        check(r.header("Cache-Control") == "no-cache", "Cache-Control")
        check(r.method == "GET", "GET without --data")


@scenario
def retry_field(sse_curl):
    """retry: 400 replaces the 3 s default reconnection time."""
    def script(req, n):
        if n == 0:
            req.start_stream()
            req.send("retry: 400\n\n")
            req.event("a", id="1")
        else:
            req.respond(204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, "--reset-after", "0")
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(lines(run) == [{"retry": 400}, ev("1", "a")], "output", run)
    check(len(recs) == 2, "two requests", run)
    g = gap(recs, 0)
    check(0.39 <= g < 2.5, "reconnected after the 400 ms retry (not the 3 s "
          "default): %.3f s" % g, run)


@scenario
def retry_field_clamped(sse_curl):
    """A retry field above --max-delay is clamped to it."""
    def script(req, n):
        if n == 0:
            req.start_stream()
            req.send("retry: 600000\n\n")
        else:
            req.respond(204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, "--reset-after", "0", "--max-delay", "0.3")
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(len(recs) == 2, "two requests", run)
    g = gap(recs, 0)
    check(0.29 <= g < 2.5, "waited the 0.3 s cap: %.3f s" % g, run)


@scenario
def unavailable_retry_after(sse_curl):
    """503 with Retry-After: 1, then 200: the client waits the second."""
    def script(req, n):
        if n == 0:
            req.respond(503, [("Retry-After", "1"),
                              ("Content-Type", "text/plain")], b"busy\n")
        elif n == 1:
            req.start_stream()
            req.event("up", id="1")
        else:
            req.respond(204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(lines(run) == [ev("1", "up")], "the event after the 503", run)
    check(len(recs) == 3, "three requests", run)
    g = gap(recs, 0)
    check(0.99 <= g < 5, "Retry-After: 1 honoured: %.3f s" % g, run)
    check(recs[2].header("Last-Event-ID") == "1", "resumed from 1")


@scenario
def retry_after_date(sse_curl):
    """429 with Retry-After as an HTTP-date two seconds ahead."""
    def script(req, n):
        if n == 0:
            when = email.utils.formatdate(time.time() + 2, usegmt=True)
            req.respond(429, [("Retry-After", when)])
        else:
            req.respond(204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(len(recs) == 2, "two requests", run)
    g = gap(recs, 0)
    # the date has whole seconds: between 1 and 2 s from now
    check(0.9 <= g < 6, "waited until the date: %.3f s" % g, run)


@scenario
def no_content(sse_curl):
    """204 stops the client for good, with status 0."""
    with SSEServer(lambda req, n: req.respond(204)) as srv:
        run = run_client(srv.url, *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(run.stdout == "", "no output", run)
    check(len(recs) == 1, "one request", run)


@scenario
def not_found(sse_curl):
    """404 stops the client with an error and no retry."""
    def script(req, n):
        req.respond(404, [("Content-Type", "text/html")], b"<h1>no</h1>")

    with SSEServer(script) as srv:
        run = run_client(srv.url, *FAST)
        recs = list(srv.records)
    check(run.returncode == 1, "exit status 1", run)
    check("404" in run.stderr, "the status is reported", run)
    check(len(recs) == 1, "one request, no retry", run)
    check(run.stdout == "", "no output", run)


@scenario
def wrong_content_type(sse_curl):
    """200 text/html fails the connection, as the standard says."""
    def script(req, n):
        req.start_stream(content_type="text/html")
        req.send("data: not an event stream\n\n")

    with SSEServer(script) as srv:
        run = run_client(srv.url, *FAST)
        recs = list(srv.records)
    check(run.returncode == 1, "exit status 1", run)
    check("text/html" in run.stderr, "the type is reported", run)
    check(run.stdout == "", "nothing decoded", run)
    check(len(recs) == 1, "one request", run)


@scenario
def idle_stall(sse_curl):
    """A stream that goes silent is declared dead after the idle timeout
    and the client reconnects with its last id."""
    def script(req, n):
        if n == 0:
            req.start_stream()
            req.event("before", id="1")
            req.wait(8)  # no byte at all
        elif n == 1:
            req.start_stream()
            req.event("after", id="2")
        else:
            req.respond(204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, "--idle-timeout", "0.5", *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(lines(run) == [ev("1", "before"), ev("2", "after")], "output", run)
    check(len(recs) == 3, "three requests", run)
    g = recs[1].t_start - recs[0].t_start
    check(0.5 <= g < 4, "reconnected after the idle timeout: %.3f s" % g, run)
    check(recs[1].header("Last-Event-ID") == "1", "resumed from 1")
    check("dead" in run.stderr, "the idle timeout is reported", run)


@scenario
def silent_server(sse_curl):
    """A server that accepts the request and never answers: the idle
    timeout covers the wait for the response headers too."""
    def script(req, n):
        if n == 0:
            req.wait(8)
        else:
            req.respond(204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, "--idle-timeout", "0.5", *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(len(recs) == 2, "two requests", run)
    check("dead" in run.stderr, "the idle timeout is reported", run)
    # the client's timer starts before the request reaches the server
    g = recs[1].t_start - recs[0].t_start
    check(0.3 <= g < 4, "gave up on the first after 0.5 s: %.3f s" % g, run)


@scenario
def heartbeat_keeps_alive(sse_curl):
    """Comments every 0.2 s keep a stream with no events for 2 s alive
    under a 0.6 s idle timeout."""
    def script(req, n):
        if n == 0:
            req.start_stream()
            req.event("first", id="1")
            for _ in range(10):
                if not req.wait(0.2):
                    return
                req.send(": ping\n")
            req.event("second", id="2")
        else:
            req.respond(204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, "--idle-timeout", "0.6", "--comments",
                         *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    want = ([ev("1", "first")] + [{"comment": "ping"}] * 10 +
            [ev("2", "second")])
    check(lines(run) == want, "events and heartbeats, no reconnection", run)
    check(len(recs) == 2, "two requests (no idle reconnect), got %d"
          % len(recs), run)
    check(recs[1].header("Last-Event-ID") == "2", "resumed from 2")


@scenario
def custom_headers(sse_curl):
    """-H headers reach the server on every request; -H Last-Event-ID sets
    the id of the first one."""
    def script(req, n):
        if n == 0:
            req.start_stream()
            req.event("hello", id="42")
        else:
            req.respond(204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, "-H", "Authorization: Bearer x",
                         "--header", "X-Trace: 7", "-H",
                         "Last-Event-ID: 41", *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(lines(run) == [ev("42", "hello")], "output", run)
    check(len(recs) == 2, "two requests", run)
    for r in recs:
        check(r.header("Authorization") == "Bearer x",
              "Authorization on request %d" % r.index, run)
        check(r.header("X-Trace") == "7", "X-Trace", run)
        check(len(r.headers.get_all("Last-Event-ID") or []) == 1,
              "one Last-Event-ID header", run)
    check(recs[0].header("Last-Event-ID") == "41", "initial id 41", run)
    check(recs[1].header("Last-Event-ID") == "42", "then 42", run)


@scenario
def post_body(sse_curl):
    """LLM style: POST a JSON body, read the answer's events, stop at the
    end of the stream (--max-reconnects 0) with status 0."""
    def script(req, n):
        req.start_stream()
        req.event('{"token":"Hel"}')
        req.event('{"token":"lo"}')
        req.event("[DONE]", type="done")

    body = '{"prompt":"hi"}'
    with SSEServer(script) as srv:
        run = run_client(srv.url, "--data", body, "--max-reconnects", "0",
                         "-H", "Content-Type: application/json", *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(lines(run) == [ev("", '{"token":"Hel"}'), ev("", '{"token":"lo"}'),
                         ev("", "[DONE]", "done")], "output", run)
    check(len(recs) == 1, "one request", run)
    check(recs[0].method == "POST", "POST", run)
    check(recs[0].body == body.encode(), "the body arrived", run)
    check(recs[0].header("Content-Type") == "application/json",
          "Content-Type of the body", run)


@scenario
def redirect(sse_curl):
    """A redirect is followed and only the final response is judged."""
    def script(req, n):
        if n == 0:
            req.respond(307, [("Location", "/moved"),
                              ("Content-Type", "text/html")], b"<a>moved</a>")
        elif n == 1:
            req.start_stream()
            req.event("here", id="1")
        else:
            req.respond(204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, "--max-reconnects", "0", *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(lines(run) == [ev("1", "here")], "output", run)
    check([r.path for r in recs] == ["/events", "/moved"], "paths", run)


@scenario
def redirect_keeps_headers_same_origin(sse_curl):
    """A 307 on the same origin keeps the method, the body and -H headers."""
    def script(req, n):
        if n == 0:
            req.respond(307, [("Location", "/moved")])
        else:
            req.start_stream()
            req.event("here", id="1")

    with SSEServer(script) as srv:
        run = run_client(srv.url, "--max-reconnects", "0", "-H",
                         "X-Api-Key: secret", "--data", "q=1", *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check([r.path for r in recs] == ["/events", "/moved"], "paths", run)
    check(recs[1].header("X-Api-Key") == "secret" and recs[1].body == b"q=1"
          and recs[1].method == "POST", "same origin: key, body and POST kept",
          run)


@scenario
def redirect_cross_origin(sse_curl):
    """A redirect from 127.0.0.1 to 127.0.0.2 (another origin) carries
    neither the -H headers nor the --data body (CVE-2022-1650's class);
    Last-Event-ID, which is the protocol's own, still goes."""
    def other(req, n):
        req.start_stream()
        req.event("there", id="2")

    with SSEServer(other, host="127.0.0.2") as b:
        def first(req, n):
            req.respond(307, [("Location", b.url)])

        with SSEServer(first) as a:
            run = run_client(a.url, "--max-reconnects", "0", "-H",
                             "X-Api-Key: secret", "-H", "Authorization: Bearer t",
                             "--data", "secret body", "-H",
                             "Last-Event-ID: 1", *FAST)
            ra = list(a.records)
        rb = list(b.records)
    check(run.returncode == 0, "exit status 0", run)
    check(lines(run) == [ev("2", "there")], "the event from the other host", run)
    check(len(ra) == 1 and ra[0].header("X-Api-Key") == "secret" and
          ra[0].body == b"secret body", "the first host got key and body", run)
    check(len(rb) == 1, "one request to 127.0.0.2", run)
    check(rb[0].header("X-Api-Key") is None and
          rb[0].header("Authorization") is None,
          "no -H header crossed: %r" % dict(rb[0].headers), run)
    check(rb[0].body == b"" and rb[0].method == "GET",
          "no body crossed: %s %r" % (rb[0].method, rb[0].body), run)
    check(rb[0].header("Last-Event-ID") == "1", "Last-Event-ID still sent", run)


@scenario
def redirect_https_to_http(sse_curl):
    """https -> http is refused: nothing reaches the http server."""
    import tempfile
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_examples import make_cert
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_cert(tmp)
        with SSEServer(lambda req, n: req.respond(204)) as plain:
            def secure(req, n):
                req.respond(302, [("Location", plain.url)])

            with SSEServer(secure, tls=(cert, key)) as s:
                run = run_client(s.url, "--cacert", cert, "-H",
                                 "X-Api-Key: secret", *FAST)
                rs = list(s.records)
            rp = list(plain.records)
    check(run.returncode == 1, "exit status 1", run)
    check("https to http" in run.stderr, "the refusal is reported", run)
    check(len(rs) == 1, "one https request", run)
    check(rp == [], "no request reached the http server", run)


@scenario
def unsendable_ids(sse_curl):
    """Ids that cannot travel back unchanged in Last-Event-ID (over 1024
    bytes, non-ASCII, a trailing space) are not sent back."""
    bad = ["a" * 2000, "caf\u00e9", "x "]

    def script(req, n):
        if n < len(bad):
            req.start_stream()
            req.event("ok", id="7")
            req.send("id: %s\ndata: bad\n\n" % bad[n])
        elif n == len(bad):
            req.start_stream()
            req.event("fine", id="8")
        else:
            req.respond(204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(len(recs) == len(bad) + 2, "%d requests" % (len(bad) + 2), run)
    for i in range(1, len(bad) + 1):
        check(recs[i].header("Last-Event-ID") is None,
              "request %d without Last-Event-ID, got %r"
              % (i, (recs[i].header("Last-Event-ID") or "")[:40]), run)
    check(recs[-1].header("Last-Event-ID") == "8", "a good id goes back", run)


@scenario
def closed_stdout(sse_curl):
    """stdout closed by the reader (| head -n 1): sse-curl exits with its
    own status 3, not killed by SIGPIPE."""
    def script(req, n):
        req.start_stream()
        for i in range(200):
            if not req.event("e%d" % i, id=str(i)) or not req.wait(0.01):
                return

    with SSEServer(script) as srv:
        proc = subprocess.Popen([SSE_CURL, srv.url], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        proc.stdout.readline()
        proc.stdout.close()
        try:
            rc = proc.wait(RUN_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
        err = proc.stderr.read()
        proc.stderr.close()
    check(rc == 3, "exit status 3, got %s: %s" % (rc, err))
    check("standard output" in err, "reported: %r" % err)


@scenario
def backoff_grows(sse_curl):
    """500s in a row: the delays double (no jitter), then a 204 ends it."""
    def script(req, n):
        req.respond(500 if n < 3 else 204)

    with SSEServer(script) as srv:
        run = run_client(srv.url, "--reconnect-time", "0", "--backoff",
                         "0.15", "--jitter", "0")
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(len(recs) == 4, "four requests", run)
    gaps = [gap(recs, i) for i in range(3)]
    for i, want in enumerate([0.15, 0.3, 0.6]):
        check(want - 0.01 <= gaps[i] < want + 3,
              "delay %d is %.2f s, want %.2f s" % (i, gaps[i], want), run)


@scenario
def max_reconnects(sse_curl):
    """Always 503: --max-reconnects 2 makes three requests, then fails."""
    with SSEServer(lambda req, n: req.respond(503)) as srv:
        run = run_client(srv.url, "--max-reconnects", "2", *FAST)
        recs = list(srv.records)
    check(run.returncode == 1, "exit status 1", run)
    check(len(recs) == 3, "three requests, got %d" % len(recs), run)
    check("giving up" in run.stderr, "reported", run)


@scenario
def max_time(sse_curl):
    """--max-time ends a healthy endless stream with status 0."""
    def script(req, n):
        req.start_stream()
        req.event("x", id="1")
        while req.wait(0.1) and req.send(":\n"):
            pass

    with SSEServer(script) as srv:
        run = run_client(srv.url, "--max-time", "1", *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(lines(run) == [ev("1", "x")], "output", run)
    check(0.9 <= run.elapsed < 6, "ran about 1 s: %.2f s" % run.elapsed, run)
    check(len(recs) == 1, "one request", run)


@scenario
def max_events(sse_curl):
    """--max-events 2 prints two events of a chunk of five and stops."""
    def script(req, n):
        req.start_stream()
        req.send("".join("id: %d\ndata: %d\n\n" % (i, i) for i in range(5)))
        req.wait(8)

    with SSEServer(script) as srv:
        run = run_client(srv.url, "--max-events", "2", *FAST)
        recs = list(srv.records)
    check(run.returncode == 0, "exit status 0", run)
    check(lines(run) == [ev("0", "0"), ev("1", "1")], "two events", run)
    check(run.elapsed < 5, "stopped at once: %.2f s" % run.elapsed, run)
    check(len(recs) == 1, "one request", run)


@scenario
def decoder_limit(sse_curl):
    """An event over --max-event stops the client with an error."""
    def script(req, n):
        req.start_stream()
        req.event("ok", id="1")
        req.event("x" * 1000, id="2")

    with SSEServer(script) as srv:
        run = run_client(srv.url, "--max-event", "100", *FAST)
        recs = list(srv.records)
    check(run.returncode == 1, "exit status 1", run)
    check(lines(run) == [ev("1", "ok")], "events before the limit", run)
    check("too large" in run.stderr, "the limit is reported", run)
    check(len(recs) == 1, "no reconnection", run)


@scenario
def connection_refused(sse_curl):
    """Nothing listens: transport errors are retried, then it gives up."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # the port is now (almost certainly) closed
    run = run_client("http://127.0.0.1:%d/events" % port,
                     "--max-reconnects", "1", *FAST)
    check(run.returncode == 1, "exit status 1", run)
    check(run.stderr.count("connection failed") == 2,
          "two attempts reported", run)


@scenario
def usage_errors(sse_curl):
    """Bad command lines exit with status 2."""
    for args in ([], ["--jitter", "101", "http://x"], ["--bogus", "http://x"],
                 ["-H", "NoColon", "http://x"], ["--max-time", "-1", "http://x"],
                 ["--backoff", "9", "--backoff-max", "1", "http://x"],
                 ["http://x", "http://y"]):
        run = subprocess.run([SSE_CURL, *args], capture_output=True,
                             text=True, timeout=RUN_TIMEOUT)
        check(run.returncode == 2, "exit status 2 for %r" % (args,), run)
        check(run.stderr.strip() != "", "a message for %r" % (args,), run)


def main(argv):
    global SSE_CURL
    if argv[1:] == ["--list"]:
        print("\n".join(SCENARIOS))
        return 0
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    SSE_CURL = argv[1]
    return run_scenarios(SCENARIOS, argv[2:], lambda fn: fn(SSE_CURL))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
