#!/usr/bin/env python3
"""The ratio table of issue 7 from RESULT lines (sse-bench, the shared limit
kernels and peers, all from the same run).

usage: ratios.py SHARED_BENCH_DIR MANIFEST RESULTS... [--markdown]

Medians over repetitions. The decode limit per corpus is the faster of the
shared CR/LF line-end kernels (as the shared summarize.py defines it); the
encode limit is c-limit-enc-memcpy. Work counts are checked against the
manifest with the shared summarize.py. Non-RESULT lines starting with
ZEROCOPY or MEMORY are read too. Exit status 1 when a work count mismatches
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


def tagged(paths, tag):
    rows = []
    for path in paths:
        with open(path) as f:
            for line in f:
                if line.startswith(tag + " "):
                    rows.append(dict(t.split("=", 1) for t in line.split()[1:] if "=" in t))
    return rows


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
        if m.get("state") == "idle":
            b = int(m["bytes"])
            row("bytes per idle decoder", "-", "%d B" % b, "%s allocation(s)" % m["allocations"], "-",
                "<= %d B" % DECODER_BYTES, b <= DECODER_BYTES)
        elif m.get("state") == "after-decode":
            row("  decoder memory after decoding %s" % os.path.basename(m["file"]), "-",
                "%s B peak" % m["peak_bytes"], "%s allocation calls" % m["allocation_calls"], "-", "-", None)

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
