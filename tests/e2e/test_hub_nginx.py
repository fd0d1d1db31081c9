#!/usr/bin/env python3
"""sse-hub behind Debian's nginx (TLS, HTTP/2, proxy_buffering off), as
docs/hub.md configures it, in headless Chromium: a page served by nginx
over HTTPS opens 12 EventSources (more than the 6 connections per origin
HTTP/1.1 allows, so this needs HTTP/2), 11 on their own topics and one
resuming from an unknown id, which must first get the resync event. Every
source must receive the event published to its topic, through nginx.

usage: test_hub_nginx.py SSE_HUB
Exit status 0 on success, 1 on failure, 77 (skip) when nginx, chromium or
openssl is missing (a failure instead under SSE_E2E_REQUIRE=1). nginx runs
in the foreground on 127.0.0.1 with a certificate the test makes.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import Server, free_port, report, skip  # noqa: E402
import test_demo_browser  # noqa: E402
from test_demo_browser import Browser  # noqa: E402

# The certificate is the test's own, self-signed.
test_demo_browser.FLAGS.append("--ignore-certificate-errors")

N = 12
CONF = """
daemon off;
master_process off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    upstream sse_hub { server 127.0.0.1:%(hub)d; keepalive 32; }
    server {
        listen 127.0.0.1:%(port)d ssl http2;
        ssl_certificate %(d)s/cert.pem;
        ssl_certificate_key %(d)s/key.pem;
        location = /page.html { root %(d)s; }
        location / {
            proxy_pass http://sse_hub;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_cache off;
            gzip off;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            client_max_body_size 64k;
        }
    }
}
"""

PAGE = """<!doctype html><meta charset="utf-8"><title>hub</title><script>
window.got = [];
window.sources = [];
for (let k = 0; k < %d; k++) {
  const url = k < %d ? '/events?topic=t' + k : '/events?topic=t0&lastEventId=999';
  const es = new EventSource(url);
  window.got.push([]);
  const rec = (e) => window.got[k].push([e.type, e.lastEventId, e.data]);
  es.onmessage = rec;
  es.addEventListener('sse-resync', rec);
  window.sources.push(es);
}
</script>""" % (N, N - 1)

READ = """JSON.stringify({open: window.sources.map(s => s.readyState),
  got: window.got,
  proto: performance.getEntriesByType('navigation')[0].nextHopProtocol})"""


def main():
    tools = {t: shutil.which(t) for t in ("nginx", "chromium", "openssl")}
    if not tools["nginx"] and os.path.exists("/usr/sbin/nginx"):
        tools["nginx"] = "/usr/sbin/nginx"
    missing = [t for t, p in tools.items() if not p]
    if missing:
        skip("%s not installed (apt-get install nginx chromium openssl)" % " ".join(missing))
    t0 = time.monotonic()
    failures = []
    with tempfile.TemporaryDirectory() as d, \
            Server(sys.argv[1], "--first-id", "1", "--retry-ms", "500") as hub:
        subprocess.run([tools["openssl"], "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", d + "/key.pem", "-out", d + "/cert.pem", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        with open(d + "/page.html", "w") as f:
            f.write(PAGE)
        port = free_port()
        with open(d + "/nginx.conf", "w") as f:
            f.write(CONF % {"d": d, "hub": hub.port, "port": port})
        nginx = subprocess.Popen([tools["nginx"], "-p", d, "-c", d + "/nginx.conf"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        browser = None
        state = None
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if nginx.poll() is not None:
                        raise RuntimeError("nginx exited: %s" % nginx.stderr.read())
                    time.sleep(0.05)
            # A publish of the hub's first event (id 1), so the resync names it.
            def publish(q, data):
                req = urllib.request.Request(hub.base + "/publish" + q, data=data.encode())
                return urllib.request.urlopen(req, timeout=5).read().decode().strip()
            publish("?topic=other", "before")
            with tempfile.TemporaryDirectory() as profile:
                browser = Browser(tools["chromium"], "https://127.0.0.1:%d/page.html" % port,
                                  profile)
                targets = browser.call("Target.getTargets")["targetInfos"]
                page = next(t for t in targets if t["type"] == "page")
                session = browser.call("Target.attachToTarget", {
                    "targetId": page["targetId"], "flatten": True})["sessionId"]

                def read():
                    res = browser.call("Runtime.evaluate", {
                        "expression": READ, "returnByValue": True}, session)
                    v = res["result"].get("value")
                    return json.loads(v) if v else None

                while time.monotonic() - t0 < 40:
                    try:
                        state = read()
                    except RuntimeError:
                        state = None  # the page is not there yet
                    stats = json.loads(urllib.request.urlopen(hub.base + "/stats",
                                                              timeout=5).read())
                    if state and all(s == 1 for s in state["open"]) and \
                            stats["subscribers"] == N:
                        break
                    time.sleep(0.1)
                for k in range(N - 1):
                    publish("?topic=t%d" % k, "hello %d" % k)
                while time.monotonic() - t0 < 45:
                    state = read()
                    if all(len(g) >= 1 for g in state["got"][:N - 1]) and \
                            len(state["got"][N - 1]) >= 2:
                        break
                    time.sleep(0.1)
                time.sleep(0.3)
                state = read()
        except Exception as e:  # noqa: BLE001
            failures.append("%s: %s" % (type(e).__name__, e))
        finally:
            if browser:
                browser.close()
            nginx.terminate()
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait(5)
        if state:
            if state["proto"] != "h2":
                failures.append("page loaded over %r, not h2" % state["proto"])
            for k in range(N - 1):
                want = [["message", str(k + 2), "hello %d" % k]]
                if state["got"][k] != want:
                    failures.append("source %d got %r, expected %r" % (k, state["got"][k], want))
            last = state["got"][N - 1]
            if len(last) < 2 or last[0][0] != "sse-resync" or \
                    json.loads(last[0][2]) != {"reason": "unknown", "last_event_id": "999"} or \
                    last[1] != ["message", "2", "hello 0"]:
                failures.append("the resuming source got %r" % last)
        else:
            failures.append("no page state")
        print("page:", json.dumps(state)[:800])
    return report(failures, t0)


if __name__ == "__main__":
    sys.exit(main())
