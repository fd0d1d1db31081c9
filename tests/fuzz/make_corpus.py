#!/usr/bin/env python3
"""Generates the seed corpus of the fuzz targets: tests/fuzz/corpus/<target>/.

Sources: the spec vectors (tests/data/spec_cases.json), LLM-style token
streams, keep-alive and retry streams, line-end and BOM variants, and limit
probes (lines and events right at and right past the tight limits the
harness header can set). Each stream is written under several headers
(options, chunking plans, pauses, limits) in the input format of its target
(see fuzz.h and each fuzz_<target>.c).

Files are named seed-<sha1 of content>; other files in the corpus folders
(regress-*: inputs of past findings) are left alone.

  make_corpus.py            rewrite the seed files
  make_corpus.py --check    exit 1 if the committed seeds differ from these
"""
import hashlib
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "data", "spec_cases.json")
MAX_SEED = 4096

# Header flags of fuzz_decoder_setup (fuzz.h).
UTF8, SKIP, COMMENTS, PIECES, TIGHT, LASTID, NOFINISH, PAUSE = (
    1, 2, 4, 8, 16, 32, 64, 128)


def plan(mode, param=0):
    return (param << 3) | mode


def dec_header(flags=0, plan_byte=0, line=0, event=0, idlen=0):
    return bytes([flags, plan_byte, line, event, idlen])


# ---- streams ------------------------------------------------------------------

def spec_streams():
    with open(SPEC, encoding="utf-8") as f:
        cases = json.load(f)
    out = []
    for c in cases:
        raw = (bytes.fromhex(c["input_hex"]) if c.get("input_hex")
               else c["input"].encode("utf-8"))
        if len(raw) <= MAX_SEED - 16:
            out.append(raw)
    return out, cases


def llm_streams():
    chat = b"".join(
        b'data: {"id":"c1","choices":[{"delta":{"content":"%s"}}]}\r\n\r\n'
        % tok for tok in [b"Hel", b"lo", b",", b" wor", b"ld", b"\\n", b"!"])
    chat += b"data: [DONE]\r\n\r\n"
    typed = (b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
             b"event: content_block_delta\ndata: {\"delta\":{\"text\":\"Hi\"}}\n\n"
             b": ping\n\n"
             b"event: content_block_delta\ndata: {\"delta\":{\"text\":\" there\"}}\n\n"
             b"event: message_stop\ndata: {}\n\n")
    return [
        chat,
        typed,
        typed.replace(b"\n", b"\r"),
        b"\xef\xbb\xbf" + chat,
        b"retry: 3000\n\nid: 1\ndata: a\n\nid: 2\ndata: b\n\nid:\ndata: c\n\n",
        b":\n\n: keepalive\n\n:\n\n" * 4,
        b"id: 42\nevent: update\ndata: line one\ndata: line two\ndata:\n\n",
        b"data: " + b"x" * 3000 + b"\n\n",
        b"event: error\ndata: {\"error\":\"overloaded\"}\n\n",
        b"data: unterminated event at the end",
        b"data: a\r\ndata: b\rdata: c\n\r\n",
        b"id: \x00bad\ndata: nul in id\n\nid: ok\x00\ndata: x\n\n",
        b"retry: 18446744073709551616\nretry: 1e3\nretry: -1\nretry:  5\nretry\n\n",
        b"DATA: no\nData: no\ndata : no\n data: no\ndata\n\n",
    ]


def limit_probes():
    """Streams meant for the tight limits of the header: max_line = 1 + L,
    max_event = 1 + 4 * E. Returns (header, payload) pairs."""
    out = []
    for line in (5, 6, 7, 16, 64):
        max_line = 1 + line
        for flags in (TIGHT, TIGHT | SKIP, TIGHT | PIECES, TIGHT | SKIP | PIECES):
            for extra in (0, 1):
                value = b"v" * (max_line - 6 + extra)
                body = b"data: " + value + b"\n\n" + b": " + b"c" * (max_line - 2 + extra) + b"\n"
                body += b"id: " + b"i" * (max_line - 4 + extra) + b"\n\ndata: after\n\n"
                out.append((dec_header(flags, plan(1, 2), line, 255), body))
    for event in (0, 1, 3, 10):
        max_event = 1 + 4 * event
        for flags in (TIGHT, TIGHT | SKIP, TIGHT | PIECES):
            for extra in (0, 1):
                n = max_event + extra
                out.append((dec_header(flags, plan(1, 6), 200, event),
                            b"data\n" * n + b"\ndata: next\n\n"))
                value = max(0, max_event - 1 + extra)
                out.append((dec_header(flags, plan(4, 1), 200, event),
                            b"data: " + b"d" * value + b"\r\n\r\n"))
    # Many empty data lines: the event limit counts one byte per line.
    out.append((dec_header(TIGHT, plan(2, 7), 10, 100), b"data:\n" * 600 + b"\n"))
    out.append((dec_header(TIGHT | SKIP, plan(3, 2), 10, 100),
                b"data\r" * 700 + b"\r" + b"data: ok\r\r"))
    # A never-ending line, event and comment.
    out.append((dec_header(TIGHT, plan(3, 4), 40, 40), b"x" * 3000))
    out.append((dec_header(TIGHT | SKIP, plan(2, 9), 40, 40), b"data: yy\n" * 300))
    out.append((dec_header(TIGHT | COMMENTS, plan(1, 31), 40, 40), b":" + b"z" * 3000))
    return out


def variants(stream):
    """Header variants for a decoder-format stream."""
    return [
        dec_header(0, plan(0)),
        dec_header(COMMENTS, plan(1, 0)),              # one byte at a time
        dec_header(UTF8 | COMMENTS, plan(4, 3)),       # cuts around CR/LF
        dec_header(PIECES | PAUSE, plan(2, 5)),        # random, pausing
        dec_header(UTF8 | PIECES, plan(5, 31)),        # BOM / "data: " cuts
        dec_header(LASTID | NOFINISH, plan(7, 9), idlen=3) + b"abc",
    ]


# ---- roundtrip records ----------------------------------------------------------

def rt_string(b):
    if len(b) < 255:
        return bytes([len(b)]) + b
    return b"\xff" + struct.pack("<H", len(b)) + b


def rt_event(typ=None, id_=None, data=None):
    tag = 0
    body = b""
    if typ is not None:
        tag |= 4
        body += rt_string(typ)
    if id_ is not None:
        tag |= 8
        body += rt_string(id_)
    if data is not None:
        tag |= 16
        body += rt_string(data)
    return bytes([tag]) + body


def rt_retry(ms):
    return bytes([1 | (2 << 2)]) + struct.pack("<Q", ms)


def rt_comment(text):
    return bytes([2]) + rt_string(text)


def roundtrip_seeds(cases):
    seeds = []
    for c in cases:
        recs = b""
        if len(c["input"].encode("utf-8")) > MAX_SEED:
            continue
        for ev in c["expect"]:
            typ = ev["type"].encode("utf-8")
            recs += rt_event(None if typ == b"message" else typ,
                             ev["id"].encode("utf-8") or None,
                             ev["data"].encode("utf-8"))
        if c.get("retry") is not None:
            recs += rt_retry(min(int(c["retry"]), 2**64 - 1))
        if recs and len(recs) < MAX_SEED:
            seeds.append(bytes([plan(1, 0), 2]) + recs)
    injections = [
        rt_event(b"x\revent: spoofed", None, b"a"),
        rt_event(None, b"abc\ndata: injected\n\nid: next", b"b"),
        rt_event(None, b"nul\x00id", b"c"),
        rt_event(b"ok", b"1", b"x\revent: foo"),
        rt_event(b"ok", b"2", b"a\r\nb\rc\nd\r\n"),
        rt_comment(b"ok\ndata: x"),
        rt_comment(b""),
        rt_event(b"", b"", b""),
        rt_event(None, b"only-id", None),
        rt_event(b" lead", b" space", b" both"),
        rt_event(b"t", None, b"\x00\xff\xfe binary \x00"),
        rt_retry(0),
        rt_retry(2**64 - 1),
        rt_event(None, None, b"y" * 600),
    ]
    seeds.append(bytes([plan(0), 2]) + b"".join(injections))
    seeds.append(bytes([plan(4, 3), 3 | 4]) + b"".join(injections))
    seeds.append(bytes([plan(2, 3), 1]) + b"".join(reversed(injections)))
    return seeds


# ---- output -----------------------------------------------------------------------

def corpus():
    specs, cases = spec_streams()
    streams = specs + llm_streams()
    decoder, reference, alloc = [], [], []
    for s in streams:
        for i, h in enumerate(variants(s)):
            decoder.append(h + s)
            if i in (0, 2, 3, 4):
                reference.append(h + s)
        alloc.append(bytes([len(s) % 7, 0, 0]) + dec_header(COMMENTS, plan(1, 6)) + s)
        alloc.append(bytes([len(s) % 11 + 3, 0, 1]) + dec_header(UTF8 | PIECES | PAUSE, plan(2, 3)) + s)
    for h, s in limit_probes():
        decoder.append(h + s)
        alloc.append(bytes([5, 0, 0]) + h + s)
    return {
        "decoder": decoder,
        "reference": reference,
        "alloc": alloc,
        "roundtrip": roundtrip_seeds(cases),
    }


def name(content):
    return "seed-" + hashlib.sha1(content).hexdigest()


def main():
    check = "--check" in sys.argv[1:]
    bad = 0
    for target, seeds in sorted(corpus().items()):
        d = os.path.join(HERE, "corpus", target)
        want = {name(s): s for s in seeds if len(s) <= MAX_SEED + 64}
        have = set(f for f in os.listdir(d) if f.startswith("seed-")) if os.path.isdir(d) else set()
        if check:
            missing = set(want) - have
            extra = have - set(want)
            if missing or extra:
                print("%s: %d seeds missing, %d stale" % (target, len(missing), len(extra)))
                bad = 1
            continue
        os.makedirs(d, exist_ok=True)
        for f in have - set(want):
            os.remove(os.path.join(d, f))
        for f, s in want.items():
            with open(os.path.join(d, f), "wb") as out:
                out.write(s)
        print("%s: %d seeds, %d bytes" % (target, len(want), sum(map(len, want.values()))))
    return bad


if __name__ == "__main__":
    sys.exit(main())
