#!/usr/bin/env python3
"""Many subscribers across several nodes sharing one Redis: sse-hub --redis
against nginx+nchan with its Redis storage, side by side in one run.

usage: tests/bench/hub_cluster.py --hub SSE_HUB [options]   (see --help)

For each system it starts Debian's redis-server and NODES servers on
127.0.0.1 (sse-hub nodes, or nginx instances with nchan_redis_url), then:

1. cross-node resume: a subscriber on node 1 reads events published on
   node 0, leaves, misses some, and comes back on node 2 with Last-Event-ID;
   the events it gets are compared with those it missed (lost, duplicated);
2. load: one loadgen process per node (the fan-out harness' loadgen.c,
   built from --fanout) holds SUBS/NODES subscribers on it and publishes
   MSGS events on it at RATE/s; every event reaches every node, so each
   subscriber gets NODES x MSGS events (its own loadgen's ones are timed).
   Reported: subscribers reached, deliveries/s, p50/p99 latency (own
   events), memory per connection, the nodes' CPU and Redis's CPU, and CPU
   per delivery.

A process may hold at most `ulimit -Hn` descriptors here; each loadgen needs
its subscribers + 100, each node as many. Not a test: every step is bounded
in time, everything runs on 127.0.0.1.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CLK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def tree(pid):
    """pid and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def cpu_s(pids):
    t = 0
    for p in pids:
        for q in tree(p):
            try:
                with open("/proc/%d/stat" % q) as f:
                    parts = f.read().rsplit(")", 1)[1].split()
                t += int(parts[11]) + int(parts[12])
            except (OSError, IndexError):
                pass
    return t / CLK


class Procs:
    """Processes started here; stopped by pid (SIGTERM, then SIGKILL)."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                             stderr=kw.pop("stderr", subprocess.DEVNULL), **kw)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self.procs = []


NCHAN_CONF = """daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile %(fds)d;
pid nginx.pid;
error_log stderr error;
load_module modules/ngx_nchan_module.so;
events { use epoll; worker_connections %(fds)d; multi_accept on; }
http {
  access_log off;
  default_type text/plain;
  client_body_temp_path tmp/client_body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  client_body_buffer_size 64k;
  client_max_body_size 1m;
  keepalive_requests 100000;
  tcp_nodelay on;
  nchan_shared_memory_size 64M;
  nchan_redis_url "redis://127.0.0.1:%(redis)d";
  server {
    listen 127.0.0.1:%(port)d backlog=4096;
    location = /events {
      nchan_subscriber eventsource;
      nchan_channel_id fanout;
      nchan_use_redis on;
      nchan_subscriber_first_message newest;
      nchan_subscriber_timeout 0;
    }
    location = /publish {
      nchan_publisher http;
      nchan_channel_id fanout;
      nchan_use_redis on;
      nchan_message_buffer_length %(history)d;
      nchan_message_timeout 600s;
    }
  }
}
"""


def start_system(kind, args, procs, tmp):
    """Redis and the nodes; returns (redis pid, [(port, pid)])."""
    rport = free_port()
    r = procs.start(["redis-server", "--bind", "127.0.0.1", "--port", str(rport),
                     "--save", "", "--appendonly", "no", "--maxclients", "1000",
                     "--dir", tmp])
    if not wait_port(rport):
        raise RuntimeError("redis-server did not start")
    nodes = []
    for i in range(args.nodes):
        port = free_port()
        if kind == "hub":
            p = procs.start([args.hub, "--port", str(port), "--redis",
                             "redis://127.0.0.1:%d" % rport, "--workers", "1",
                             "--history", str(args.history),
                             "--heartbeat-ms", "15000"])
        else:
            pre = os.path.join(tmp, "nginx%d" % i)
            os.makedirs(os.path.join(pre, "modules"))
            os.makedirs(os.path.join(pre, "tmp"))
            os.symlink(args.nchan_so, os.path.join(pre, "modules",
                                                   "ngx_nchan_module.so"))
            conf = os.path.join(pre, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NCHAN_CONF % {"fds": args.fds, "redis": rport,
                                      "port": port, "history": args.history})
            p = procs.start(["nginx", "-p", pre + "/", "-c", conf, "-e", "stderr"])
        if not wait_port(port):
            raise RuntimeError("%s node %d did not start" % (kind, i))
        nodes.append((port, p.pid))
    time.sleep(1)  # connections to Redis up
    return r.pid, nodes


# ---- cross-node resume -------------------------------------------------------

class Sub:
    def __init__(self, port, last_id=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        head = b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if last_id:
            head += b"Last-Event-ID: " + last_id.encode() + b"\r\n"
        self.s.sendall(head + b"\r\n")
        self.buf = b""
        self.events = []
        self.status = None
        end = time.monotonic() + 5
        while b"\r\n\r\n" not in self.buf and time.monotonic() < end:
            self._recv(end)
        if b"\r\n\r\n" in self.buf:
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self.status = int(head.split()[1])
            self.chunked = b"transfer-encoding: chunked" in head.lower()

    def _recv(self, end):
        self.s.settimeout(max(0.01, end - time.monotonic()))
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return
        if d:
            self.buf += d

    def read(self, want, timeout):
        end = time.monotonic() + timeout
        while len(self.events) < want and time.monotonic() < end:
            self._recv(end)
            self._parse()
        return self.events

    def _parse(self):
        text = self.buf.decode(errors="replace").replace("\r\n", "\n")
        if self.chunked:  # keep only the chunk payloads (hex size lines)
            text = "\n".join(l for l in text.split("\n")
                             if not all(c in "0123456789abcdefABCDEF" for c in l) or not l)
        self.events, last, data = [], None, None
        for block in text.split("\n\n")[:-1]:
            data = None
            for line in block.split("\n"):
                k, _, v = line.partition(":")
                v = v[1:] if v.startswith(" ") else v
                if k == "id":
                    last = v
                elif k == "data":
                    data = v if data is None else data + "\n" + v
            if data is not None:
                self.events.append((last, data))

    def close(self):
        self.s.close()


def publish(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                  b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(data), data.encode()))
        r = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            r += d
    return int(r.split()[1]) if r.startswith(b"HTTP/") else 0


def resume_check(nodes, rounds):
    """Lost and duplicated events over rounds of: read on node 1, leave,
    miss some, resume on node 2."""
    pa, pb, pc = nodes[0][0], nodes[1 % len(nodes)][0], nodes[2 % len(nodes)][0]
    lost = dup = bad = 0
    for rnd in range(rounds):
        tag = "resume-%d-%d" % (os.getpid(), rnd)
        s1 = Sub(pb)
        if s1.status != 200:
            bad += 1
            continue
        for i in range(5):
            publish(pa, "%s-before-%d" % (tag, i))
        got = [e for e in s1.read(5, 5) if e[1].startswith(tag)]
        s1.close()
        if len(got) < 5:
            bad += 1
            continue
        last = got[-1][0]
        missed = ["%s-missed-%d" % (tag, i) for i in range(5)]
        for d in missed:
            publish(pa, d)
        time.sleep(0.3)
        s2 = Sub(pc, last)
        publish(pa, tag + "-live")
        want = missed + [tag + "-live"]
        s2.read(len(want) + 10, 3)
        got2 = [d for _, d in s2.events if d.startswith(tag)]
        s2.close()
        lost += sum(1 for w in want if w not in got2)
        dup += len(got2) - len(set(got2))
    return lost, dup, bad


# ---- load ------------------------------------------------------------------

def kv(line):
    return dict(x.split("=", 1) for x in line.split() if "=" in x)


def load(kind, args, nodes, redis_pid, loadgen):
    per = args.subs // len(nodes)
    pids = [pid for _, pid in nodes]
    c0, r0, t0 = cpu_s(pids), cpu_s([redis_pid]), time.monotonic()
    lgs = []
    for i, (port, pid) in enumerate(nodes):
        lgs.append(subprocess.Popen(
            [loadgen, "--port", str(port), "--server-pid", str(pid),
             "--conns", str(per), "--msgs", str(args.msgs), "--rate", str(args.rate),
             "--size", str(args.size), "--timeout", "15", "--ramp-timeout", "60",
             "--settle-ms", str(args.settle_ms), "--label", "%s-%d" % (kind, i)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
    lines = []
    for p in lgs:
        try:
            out, _ = p.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        lines += [l for l in out.splitlines() if l.startswith("label=")]
    wall = time.monotonic() - t0
    c1, r1 = cpu_s(pids), cpu_s([redis_pid])
    rows = [kv(l) for l in lines]
    if not rows:
        return None
    conns = sum(int(r["conns_ok"]) for r in rows)
    own = sum(int(r["delivered"]) for r in rows)
    exp = sum(int(r["expected"]) for r in rows)
    total = own + sum(int(r["foreign"]) for r in rows)
    span = max(float(r["deliver_s"]) for r in rows) or 1
    rss = [int(r["rss_per_conn_b"]) for r in rows if int(r["rss_per_conn_b"]) > 0]
    return {
        "system": kind, "subscribers": conns, "own_pct": 100.0 * own / exp if exp else 0,
        "deliveries": total, "per_s": total / span,
        "p50": max(float(r["p50_ms"]) for r in rows),
        "p99": max(float(r["p99_ms"]) for r in rows),
        "rss": sum(rss) / len(rss) if rss else -1,
        "node_cpu": c1 - c0, "redis_cpu": r1 - r0, "wall": wall,
        "us_per": 1e6 * (c1 - c0) / total if total else 0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hub", required=True)
    ap.add_argument("--fanout", default="/work/shared/fanout")
    ap.add_argument("--systems", default="hub,nchan")
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--subs", type=int, default=20000, help="in all")
    ap.add_argument("--msgs", type=int, default=20, help="per node")
    ap.add_argument("--rate", type=float, default=1.0, help="per node, events/s")
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--history", type=int, default=1024)
    ap.add_argument("--settle-ms", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=5, help="resume checks")
    args = ap.parse_args()
    hard = __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)[1]
    args.fds = min(hard, 65536) if hard > 0 else 65536
    if args.subs // args.nodes + 200 > args.fds:
        sys.exit("%d subscribers per node need more than %d descriptors"
                 % (args.subs // args.nodes, args.fds))
    args.nchan_so = "/usr/lib/nginx/modules/ngx_nchan_module.so"
    tmp = tempfile.mkdtemp(prefix="sse-cluster-")
    loadgen = os.path.join(tmp, "loadgen")
    subprocess.run(["cc", "-O2", "-o", loadgen, os.path.join(args.fanout, "loadgen.c")],
                   check=True)
    results = []
    try:
        for kind in args.systems.split(","):
            if kind == "nchan" and not (shutil.which("nginx") and os.path.exists(args.nchan_so)):
                print("# nchan skipped: apt-get install nginx libnginx-mod-nchan")
                continue
            procs = Procs()
            d = os.path.join(tmp, kind)
            os.makedirs(d)
            try:
                rpid, nodes = start_system(kind, args, procs, d)
                lost, dup, bad = resume_check(nodes, args.rounds)
                res = load(kind, args, nodes, rpid, loadgen)
                if res:
                    res.update(lost=lost, dup=dup, bad=bad)
                    results.append(res)
            finally:
                procs.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("# %d CPUs; %d nodes, %d subscribers in all, %d events of %d B per node at "
          "%g/s; resume: %d rounds of 5 missed + 1 live"
          % (os.cpu_count(), args.nodes, args.subs, args.msgs, args.size, args.rate,
             args.rounds))
    print("| system | subscribers | own events delivered % | deliveries | deliveries/s "
          "| p50 ms | p99 ms | RSS/conn B | nodes CPU s | Redis CPU s | CPU us/delivery "
          "(nodes) | resume: lost | duplicated | failed rounds |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        print("| %(system)s | %(subscribers)d | %(own_pct).2f | %(deliveries)d | %(per_s).0f "
              "| %(p50).1f | %(p99).1f | %(rss).0f | %(node_cpu).2f | %(redis_cpu).2f "
              "| %(us_per).2f | %(lost)d | %(dup)d | %(bad)d |" % r)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
