#!/usr/bin/env python3
"""The ratio table of issue 7 from RESULT lines (sse-bench, the shared limit
kernels and peers, all from the same run).

usage: ratios.py SHARED_BENCH_DIR MANIFEST RESULTS... [--markdown]

Medians over repetitions. The decode limit per corpus is the faster of the
shared CR/LF line-end kernels (as the shared summarize.py defines it); the
encode limit is c-limit-enc-memcpy. Work counts are checked against the
manifest with the shared summarize.py. Non-RESULT lines starting with
ZEROCOPY or MEMORY are read too, and the stream modes' BROADCAST, BLOCKED,
WRITES, FLAT, ONEWRITE and REPLAY lines (their figures are already medians). Exit status 1 when a work count mismatches
(a benchmark that did the wrong work proves nothing); missed targets are
shown in the table, not turned into a failure.
"""
import os
import statistics
import sys
from collections import defaultdict

CORPORA = ["tokens", "json", "large", "multiline", "crlf"]
LIMIT_FRACTION = {"tokens": 1 / 3, "crlf": 1 / 3, "multiline": 1 / 3, "json": 1 / 2, "large": 1 / 2}
PEER = "node-esp-bytes"
PEER_FACTOR = 8
ENC_FRACTION = 1 / 2
ONE_BYTE_FACTOR = 4
DECODER_BYTES = 128
STREAM_BYTES = 256
FLAT = 1.5  # largest over smallest cost that still reads as flat


class Tagged(dict):
    line_ok = None  # the line ends in "ok" (a check passed)


def tagged(paths, tag):
    rows = []
    for path in paths:
        with open(path) as f:
            for line in f:
                if line.startswith(tag + " "):
                    r = Tagged(t.split("=", 1) for t in line.split()[1:] if "=" in t)
                    r.line_ok = line.split()[-1] == "ok"
                    rows.append(r)
    return rows


def stream_rows(paths, row):
    """Rows of the stream modes (sse-bench broadcast, broadcast-blocked,
    stream-memory, partial, replay)."""
    flat = {f["mode"]: f for f in tagged(paths, "FLAT")}

    def flat_row(measure, mode, unit):
        f = flat.get(mode)
        if f:
            r = float(f["ratio"])
            row(measure, "%s vs %s" % (f["to"], f["from"]), "%.1f %s" % (float(f["last"]), unit),
                "%.1f %s" % (float(f["first"]), unit), "%.2fx" % r, "flat (<= %.1fx)" % FLAT, r <= FLAT)

    bc = tagged(paths, "BROADCAST")
    for order, what in (("heap", "broadcast to idle streams: ns per delivery"),
                        ("random", "  same, streams in random heap order")):
        for b in bc:
            if b.get("order") == order:
                row(what, "streams%s" % b["streams"], "%.1f ns" % float(b["ns_per_delivery"]),
                    "%.0f M deliveries/s" % (float(b["deliveries_per_s"]) / 1e6), "-", "-", None)
        flat_row("  per-delivery cost, most vs fewest streams", "broadcast" if order == "heap"
                 else "broadcast-random", "ns")
    if bc:
        ok = all(b.line_ok and b.get("allocations_per_event") == "1.000" and
                 b.get("allocations_per_delivery") == "0.000" for b in bc)
        row("  allocations per event / per delivery", "all",
            "%s / %s" % (bc[0]["allocations_per_event"], bc[0]["allocations_per_delivery"]),
            "%s calls/delivery, %s in place" % (bc[0]["calls_per_delivery"], bc[0]["in_place_per_delivery"]),
            "-", "1 / 0: one encode + a reference", ok)
    bl = tagged(paths, "BLOCKED")
    for b in bl:
        row("blocked streams, %s frames each: queue / flush ns per delivery" % b["queue"],
            "streams%s" % b["streams"],
            "%.1f / %.1f ns" % (float(b["queue_ns_per_delivery"]), float(b["flush_ns_per_delivery"])),
            "%s call(s) of %s pieces per flush" % (b["flush_calls_per_stream"], b["pieces_per_flush_call"]),
            "-", "1 call per flush", b.line_ok and b["flush_calls_per_stream"] == "1.00")
    if bl:
        row("  allocations per delivery while blocked (queue growth)", "-",
            bl[-1]["allocations_per_delivery"], "%s B queued per stream" % bl[-1]["queued_bytes_per_stream"],
            "-", "-", None)
    flat_row("  queueing cost, most vs fewest streams", "queue", "ns")
    flat_row("  flush cost, most vs fewest streams", "flush", "ns")
    mem = tagged(paths, "MEMORY")
    heap = [m for m in mem if m.get("state") == "idle-many-heap"]
    for m in mem:
        if m.get("object") == "stream" and m.get("state") == "idle":
            b = int(m["bytes"])
            row("bytes per idle stream", "-", "%d B" % b, "%s allocation%s" % (
                m["allocations"], ", %s B of glibc heap" % heap[0]["heap_bytes_per_stream"] if heap else ""),
                "-", "<= %d B" % STREAM_BYTES, b <= STREAM_BYTES)
        elif m.get("object") == "stream" and m.get("state") == "after-traffic":
            row("  idle stream after traffic (1,000 frames queued, drained)", "-", "%s B" % m["bytes"],
                "%s B while queued" % m["queue_1000_frames_bytes"], "-", "as idle", m.line_ok)
        elif m.get("object") == "frame":
            row("  shared frame: bytes beyond its encoded text", "-", "%s B" % m["overhead"],
                "%s B encoded" % m["encoded"], "-", "-", None)
    writes = tagged(paths, "WRITES")
    for cb in ("writev", "write"):
        for k in ("1", "7", "64", "4096"):
            ws = [w for w in writes if w["callback"] == cb and w["k"] == k and w["corpus"].startswith("queue")]
            if not ws:
                continue
            mid = ws[len(ws) // 2]
            big = [w for w in writes if w["callback"] == cb and w["k"] == k and w["corpus"].startswith("frame")]
            f = flat.get("partial-%s-k%s" % (cb, k))
            r = float(f["ratio"]) if f else None
            row("partial writes, %s, %s B per call" % (cb, k),
                "queue%s..%s" % (ws[0]["frames"], ws[-1]["frames"]),
                "%.0f MB/s, %.2f calls/frame, %.0f pieces/call" % (
                    float(mid["MB_per_s"]), float(mid["calls_per_frame"]), float(mid["pieces_per_call"])),
                "one %s frame: %s ns/call" % (big[0]["corpus"][5:], big[0]["ns_per_call"]) if big else "-",
                "best ns/byte %.2fx at %dx the queue" % (r, int(ws[-1]["frames"]) // int(ws[0]["frames"]))
                if r else "-", "flat (<= %.1fx)" % FLAT, r <= FLAT if r else None)
    one = tagged(paths, "ONEWRITE")
    for cb in ("writev", "write"):
        os_ = [o for o in one if o["callback"] == cb]
        if os_:
            row("queued frames, callback calls to flush them (%s)" % cb,
                "queued " + ", ".join(o["queued"] for o in os_),
                "calls " + ", ".join(o["calls"] for o in os_),
                "expected " + ", ".join(o["expected_calls"] for o in os_),
                "-", "1 per %s" % ("64 frames" if cb == "writev" else "1 KiB"), all(o.line_ok for o in os_))
    rp = tagged(paths, "REPLAY")
    for behind in sorted({r["behind"] for r in rp if "behind" in r}, key=int):
        by = {r["by"]: r for r in rp if r.get("behind") == behind}
        i, p = by.get("id"), by.get("position")
        if i and p:
            row("replay onto an idle stream, %s behind: by id / by position" % behind,
                "history%s" % i["history"],
                "%.0f / %.0f ns" % (float(i["ns_per_replay"]), float(p["ns_per_replay"])),
                "%.1f ns/frame, %s allocation(s), %s call(s)" % (
                    float(i["ns_per_frame"]), i["allocations_per_replay"], i["calls_per_replay"]),
                "-", "-", None)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    md = "--markdown" in sys.argv
    if len(args) < 3:
        sys.exit(__doc__)
    sys.path.insert(0, args[0])
    import summarize  # the shared one: parse() and check()

    manifest = summarize.json.load(open(args[1]))
    groups = defaultdict(list)
    for path in args[2:]:
        for r in summarize.parse(path):
            groups[(r["corpus"], r["impl"])].append(r)

    def secs(corpus, impl):
        rs = groups.get((corpus, impl))
        return statistics.median(float(r["seconds"]) for r in rs) if rs else None

    def mbps(corpus, impl):
        s = secs(corpus, impl)
        rs = groups.get((corpus, impl))
        return int(rs[0]["bytes"]) / 1e6 / s if s else None

    def limit(corpus):
        c = [mbps(corpus, i) for i in summarize.DECODE_LIMITS]
        c = [x for x in c if x]
        return max(c) if c else None

    bad = []
    for (corpus, impl), rs in groups.items():
        if impl.startswith("libsse") and corpus in CORPORA + ["encode"]:
            r = rs[0]
            st = summarize.check(manifest, corpus, impl, int(r["events"]), int(r["data"]), r["unit"])
            if st != "ok":
                bad.append("%s/%s: %s" % (corpus, impl, st))

    rows = []  # (measure, corpus, ours, reference, ratio text, target text, ok)

    def row(measure, corpus, ours, ref, ratio, target, ok):
        rows.append((measure, corpus, ours, ref, ratio, target, ok))

    def f(x, unit="MB/s"):
        return "-" if x is None else "%.0f %s" % (x, unit)

    for c in CORPORA:
        ours, lim = mbps(c, "libsse"), limit(c)
        if ours and lim:
            frac = LIMIT_FRACTION[c]
            row("decoder vs line-scan limit", c, f(ours), f(lim), "%.2f (1/%.1f)" % (ours / lim, lim / ours),
                ">= 1/%d" % round(1 / frac), ours / lim >= frac)
    for c in CORPORA:
        ours, peer = mbps(c, "libsse"), mbps(c, PEER)
        if ours and peer:
            row("decoder vs eventsource-parser", c, f(ours), f(peer), "%.1fx" % (ours / peer),
                ">= %dx" % PEER_FACTOR, ours / peer >= PEER_FACTOR)
    enc_lim = mbps("encode", "c-limit-enc-memcpy")
    for impl, what in (("libsse-enc", "encoder (buffer) vs memcpy limit"),
                       ("libsse-enc-iov", "encoder (iovec) vs memcpy limit")):
        ours = mbps("encode", impl)
        if ours and enc_lim:
            row(what, "encode", f(ours), f(enc_lim), "%.2f (1/%.1f)" % (ours / enc_lim, enc_lim / ours),
                ">= 1/2" if impl == "libsse-enc" else "-",
                ours / enc_lim >= ENC_FRACTION if impl == "libsse-enc" else None)
    for z in tagged(args[2:], "ZEROCOPY"):
        row("encoder (iovec) data bytes copied", "encode", z["copied"],
            "%s of %s in place" % (z["in_place"], z["payload_bytes"]), "-", "0",
            z["copied"] == "0" and z["in_place"] == z["payload_bytes"])
    huge = sorted({c for (c, i) in groups if c.startswith("huge") and c.endswith("m")})
    for c in huge:
        one, whole, k64 = secs(c, "libsse-1byte"), secs(c, "libsse-whole"), secs(c, "libsse")
        n = int(groups[(c, "libsse-1byte")][0]["data"]) if one else 0
        if one and whole:
            row("one %s event: 1-byte feeds vs whole" % c[4:].upper().replace("M", " MiB"), c,
                "%.1f ms" % (one * 1e3), "%.2f ms" % (whole * 1e3), "%.0fx" % (one / whole),
                "<= %dx" % ONE_BYTE_FACTOR, one / whole <= ONE_BYTE_FACTOR)
        if one and k64:
            row("  same, 1-byte vs 64 KiB feeds", c, "%.1f ms" % (one * 1e3), "%.2f ms" % (k64 * 1e3),
                "%.0fx" % (one / k64), "-", None)
        empty = secs(c, "libsse-emptyfeeds")
        if one and empty:
            row("  same, 1-byte feeds vs as many empty feed calls", c, "%.1f ms" % (one * 1e3),
                "%.1f ms" % (empty * 1e3), "%.1fx" % (one / empty), "-", None)
        # linear time: the cost per byte of 1-byte feeds at 1/8 .. 1 of the size
        per = []
        for (cc, i), rs in groups.items():
            if cc.startswith("huge") and i == "libsse-1byte":
                per.append((int(rs[0]["data"]), secs(cc, i) / int(rs[0]["data"]) * 1e9))
        per.sort()
        if len(per) > 1:
            spread = max(p for _, p in per) / min(p for _, p in per)
            row("  1-byte feeds, ns/byte at " + ", ".join("%d KiB" % (s >> 10) for s, _ in per), c,
                ", ".join("%.1f" % p for _, p in per), "-", "max/min %.2f" % spread, "flat (<= 1.5)",
                spread <= 1.5)
    for c in CORPORA:
        one, k64 = mbps(c, "libsse-1byte"), mbps(c, "libsse")
        if one and k64:
            row("decoder, 1-byte vs 64 KiB feeds", c, f(one), f(k64), "1/%.0f" % (k64 / one), "-", None)
    for m in tagged(args[2:], "MEMORY"):
        if m.get("object") != "decoder":
            continue
        if m.get("state") == "idle":
            b = int(m["bytes"])
            row("bytes per idle decoder", "-", "%d B" % b, "%s allocation(s)" % m["allocations"], "-",
                "<= %d B" % DECODER_BYTES, b <= DECODER_BYTES)
        elif m.get("state") == "after-decode":
            row("  decoder memory after decoding %s" % os.path.basename(m["file"]), "-",
                "%s B peak" % m["peak_bytes"], "%s allocation calls" % m["allocation_calls"], "-", "-", None)

    stream_rows(args[2:], row)

    head = ("measure", "corpus", "libsse", "reference", "ratio", "target", "met")
    cells = [[r[0], r[1], r[2], r[3], r[4], r[5], "-" if r[6] is None else ("yes" if r[6] else "NO")]
             for r in rows]
    if md:
        print("| " + " | ".join(head) + " |")
        print("|---|---|---:|---:|---:|---|---|")
        for c in cells:
            print("| " + " | ".join(c) + " |")
    else:
        w = [max(len(str(x[i])) for x in cells + [list(head)]) for i in range(len(head))]
        for line in [list(head)] + cells:
            print("  ".join(str(x).ljust(w[i]) for i, x in enumerate(line)).rstrip())
    if bad:
        print("\nWORK-COUNT MISMATCH: " + "; ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
