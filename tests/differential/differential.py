#!/usr/bin/env python3
"""Differential check: ssecat (libsse) against the npm package
eventsource-parser on a few thousand random streams, valid and invalid,
generated from a fixed seed.

  differential.py SSECAT NODE_DIR [--count N] [--seed S]

NODE_DIR holds peer.mjs with eventsource-parser installed beside it (npm ci
from this folder's package-lock.json). Every stream is decoded by both, each
at a chunk size drawn from the seed; the records (events with type, data and
last event ID, retries, comments) must be equal, except where the package's
documented deviations from the spec apply. Those are listed below by the
names of the conformance cases that document them
(shared conformance cases.json, "DEVIATION:" notes), and each is accepted
only when the difference is exactly the documented one:

  retry-huge-u64-max      retry values above 2^53 lose precision (the
                          package reports a JavaScript number)
  bom-double-second-kept  through a default TextDecoder a second leading BOM
                          is stripped too (the decoder takes the first, the
                          parser the second)

Prints the figures; exits 1 on any other difference, showing the stream in
hex and both outputs.
"""
import json
import os
import random
import subprocess
import sys
import tempfile

BOM = b"\xef\xbb\xbf"
DEVIATIONS = ("retry-huge-u64-max", "bom-double-second-kept")

# ---- stream generation --------------------------------------------------------

WORDS = ["hello", "world", "token", "caf\u00e9", "\u4e2d\u6587", "\U0001F600",
         "[DONE]", '{"a":1}', "  spaced ", "tab\there", "", "x" * 40]
TYPES = ["message", "update", "error", "ping", "content_block_delta", "",
         " lead", "\u00e9v\u00e9nement", "a:b"]
ENDS = [b"\n", b"\r\n", b"\r"]


def text(rng, words=4):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, words)))


def valid_stream(rng):
    style = rng.choice(["lf", "crlf", "cr", "mixed"])

    def end():
        if style == "mixed":
            return rng.choice(ENDS)
        return {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}[style]

    r = rng.random()
    out = bytearray(BOM + BOM if r < 0.01 else BOM if r < 0.1 else b"")
    for _ in range(rng.randint(0, 12)):
        if rng.random() < 0.2:
            out += b":" + text(rng).encode() + end()
        if rng.random() < 0.15:
            ms = rng.choice([0, 1, 3000, 2**31, 2**53 - 1])
            if rng.random() < 0.05:
                ms = rng.choice([2**53 + 1, 2**64 - 1, 10**25])
            out += b"retry: " + str(ms).encode() + end()
        if rng.random() < 0.5:
            out += b"event: " + rng.choice(TYPES).encode() + end()
        if rng.random() < 0.4:
            out += b"id: " + text(rng, 2).encode() + end()
        for _ in range(rng.randint(0 if rng.random() < 0.1 else 1, 5)):
            sep = rng.choice([b"data: ", b"data:", b"data:  "])
            out += sep + text(rng).encode() + end()
        out += end()
    if rng.random() < 0.2:  # cut short
        out = out[: rng.randint(0, len(out))]
    return bytes(out)


SOUP = [b"data", b"data:", b"data: ", b"event:", b"event: ", b"id:", b"id: ",
        b"retry:", b"retry: ", b":", b": ", b"\n", b"\r", b"\r\n", b"\n\n",
        b" ", b"x", b"caf\xc3\xa9", b"\x00", b"\xff", b"\xc3", b"\x80",
        b"\xf0\x9f\x98\x80", b"\xed\xa0\x80", BOM, b"DATA:", b"Data:", b"id",
        b"retry", b"event", b"12", b"999999999999999999999", b"-1", b"1e3",
        b"[DONE]", b"{", b"}", b"\t", b"\x0b", b"\xc2\x85", b"\xe2\x80\xa8"]


def invalid_stream(rng):
    kind = rng.random()
    if kind < 0.5:
        return b"".join(rng.choice(SOUP) for _ in range(rng.randint(0, 120)))
    base = bytearray(valid_stream(rng))
    for _ in range(rng.randint(1, 8)):
        if not base:
            break
        at = rng.randrange(len(base))
        op = rng.random()
        if op < 0.4:
            base[at] = rng.randrange(256)
        elif op < 0.7:
            base[at:at] = rng.choice(SOUP)
        else:
            del base[at : at + rng.randint(1, 6)]
    return bytes(base)


# ---- running both -----------------------------------------------------------------

def run_ssecat(ssecat, path, chunk):
    p = subprocess.run([ssecat, "--comments", "--chunk-size", str(chunk), path],
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        return None, p.stderr.decode(errors="replace")
    # Split at LF only: U+2028 and U+0085 may stand unescaped in JSON.
    return [json.loads(line) for line in p.stdout.decode().split("\n")
            if line], ""


def deviation(records_c, records_js, stream, ssecat, tmp):
    """The names of the documented deviations that together explain the
    difference, or None when they do not."""
    names = []
    if stream.startswith(BOM + BOM):
        # Model: the package decodes the stream as if its first BOM were
        # not there and strips the next one.
        alt = os.path.join(tmp, "bom-alt")
        with open(alt, "wb") as f:
            f.write(stream[3:])
        modelled, _ = run_ssecat(ssecat, alt, 4096)
        if modelled != records_c:
            names.append("bom-double-second-kept")
            records_c = modelled
    if records_c == records_js:
        return names
    if records_c is None or len(records_c) != len(records_js):
        return None
    for a, b in zip(records_c, records_js):
        if a == b:
            continue
        # Model: the same retry field, as a double-precision number.
        if ("retry" in a and "retry" in b and a["retry"] > 2**53 and
                (b["retry"] is None or b["retry"] >= 2**53 - 1)):
            continue
        return None
    return names + ["retry-huge-u64-max"]


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__)
        return 2
    ssecat, node_dir = os.path.abspath(args[0]), os.path.abspath(args[1])
    count = int(args[args.index("--count") + 1]) if "--count" in args else 3000
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 20261125
    rng = random.Random(seed)
    chunks = [1, 2, 3, 7, 64, 4096]
    with tempfile.TemporaryDirectory() as tmp:
        streams = []
        listing = []
        for i in range(count):
            valid = i % 2 == 0
            s = valid_stream(rng) if valid else invalid_stream(rng)
            path = os.path.join(tmp, "s%05d" % i)
            with open(path, "wb") as f:
                f.write(s)
            chunk = rng.choice(chunks)
            streams.append((path, s, valid, chunk, rng.choice(chunks)))
            listing.append("%s %d" % (path, chunk))
        with open(os.path.join(tmp, "list"), "w") as f:
            f.write("\n".join(listing) + "\n")
        p = subprocess.run(["node", os.path.join(node_dir, "peer.mjs"),
                            os.path.join(tmp, "list")],
                           capture_output=True, timeout=600, cwd=node_dir)
        if p.returncode != 0:
            print("differential: the peer failed:", p.stderr.decode()[-2000:])
            return 1
        peer = [json.loads(line) for line in p.stdout.decode().split("\n")
                if line]
        assert len(peer) == count, (len(peer), count)

        agree, records, failures = 0, 0, []
        devs = dict.fromkeys(DEVIATIONS, 0)
        for (path, s, valid, _, c_chunk), js in zip(streams, peer):
            mine, err = run_ssecat(ssecat, path, c_chunk)
            if mine is None:
                failures.append((s, "ssecat failed: " + err, [], js))
                continue
            records += len(mine)
            if mine == js:
                agree += 1
                continue
            names = deviation(mine, js, s, ssecat, tmp)
            if names:
                for name in names:
                    devs[name] += 1
            else:
                failures.append((s, "outputs differ", mine, js))

    valid_n = (count + 1) // 2
    print("differential: %d streams (%d valid, %d invalid, seed %d), %d records "
          "from ssecat" % (count, valid_n, count - valid_n, seed, records))
    print("differential: %d agree, %d differ only by documented deviations "
          "(%s), %d unexplained"
          % (agree, count - agree - len(failures),
             ", ".join("%s: %d" % kv for kv in devs.items()), len(failures)))
    for s, why, mine, js in failures[:5]:
        print("---- %s; stream (%d bytes, hex):\n%s" % (why, len(s), s.hex()))
        print("ssecat:            ", json.dumps(mine)[:1500])
        print("eventsource-parser:", json.dumps(js)[:1500])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
