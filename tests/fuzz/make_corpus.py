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


# ---- stream scripts (fuzz_stream.c) ----------------------------------------------

(S_EVENT, S_COMMENT, S_RETRY, S_FRAME, S_SEND, S_BCAST, S_PUSH, S_REPLAY,
 S_REPLAY_FROM, S_FLUSH, S_TICK, S_OPEN, S_CAP, S_BEAT, S_CLOSE, S_MISC) = range(16)
# Callback outcomes: accept all, would-block, fail, accept k bytes.
ALL, AGAIN, FAIL, OVER = 0x00, 0xc0, 0xfa, 0xfd


def part(k):
    assert 0 <= k < 0x60
    return 0x60 + k


def s_op(what, stream=0, var=0):
    return bytes([what | (stream << 4) | (var << 6)])


def s_event(typ=None, id_=None, data=None, auto=0):
    """The tag and strings of take_event(); auto: a numeric id, skipping
    auto - 1 numbers."""
    tag = ((1 if typ is not None else 0) | (2 if id_ is not None else 0) |
           (4 if data is not None else 0) | (8 | (auto - 1) << 4 if auto else 0))
    out = bytes([tag])
    for f in (typ, None if auto else id_, data):
        if f is not None:
            out += rt_string(f)
    return out


class Script:
    """Builds a fuzz_stream input: header, operations forward, and the
    callback outcomes (in call order) reversed at the end. A wrong guess at
    when a callback runs only shifts the later outcomes, not the
    operations."""

    def __init__(self, streams=1, plain=0, hcount=0, hbytes=0, cap=0,
                 fail_at=0, forever=False):
        self.head = bytes([(streams - 1) | plain << 2, hcount, hbytes, cap])
        self.head += struct.pack("<H", fail_at | (0x8000 if forever else 0))
        self.ops = bytearray()
        self.cbs = bytearray()
        self.n = streams

    def op(self, what, stream=0, var=0, args=b"", cbs=()):
        self.ops += s_op(what, stream, var) + args
        self.cbs += bytes(cbs)
        return self

    def event(self, i, cbs=(ALL,), **ev):
        return self.op(S_EVENT, i, 0, s_event(**ev), cbs)

    def comment(self, i, text, cbs=(ALL,)):
        return self.op(S_COMMENT, i, 0, rt_string(text), cbs)

    def frame(self, slot, comment=None, **ev):
        if comment is not None:
            return self.op(S_FRAME, 1, slot, rt_string(comment))
        return self.op(S_FRAME, 0, slot, s_event(**ev))

    def flush(self, i, cbs=(ALL,)):
        return self.op(S_FLUSH, i, 0, b"", cbs)

    def bytes(self):
        return self.head + bytes(self.ops) + bytes(reversed(self.cbs))


def stream_seeds():
    seeds = []
    tokens = [b"Hel", b"lo", b",", b" wor", b"ld", b"\\n", b"!"]

    # An LLM answer: preamble (retry 3000, 2 bytes of padding), tokens as
    # events through short writes and would-blocks, then [DONE] and close.
    for plain in (0, 1):
        s = Script(1, plain)
        s.op(S_OPEN, 0, 1, struct.pack("<H", 3000) + b"\2", [ALL])
        for k, t in enumerate(tokens):
            s.event(0, [[ALL], [part(3)], [AGAIN]][k % 3],
                    data=b'{"choices":[{"delta":{"content":"%s"}}]}' % t)
            if k % 3:
                s.flush(0)
        s.event(0, typ=b"done", data=b"[DONE]")
        s.op(S_CLOSE)
        s.event(0, (), data=b"refused")
        s.flush(0, ())
        seeds.append(s.bytes())

    # Broadcast with a history: three streams (one plain), numeric ids,
    # one reader stalled, one slow; a reconnect replays what it missed.
    for hist in ((0, 0), (4, 8)):
        s = Script(3, 0b010, hcount=hist[0], hbytes=hist[1])
        for k in range(10):
            s.frame(k % 4, typ=b"tick" if k % 2 else None, auto=1,
                    data=b"payload %d\nline two" % k)
            s.op(S_PUSH, 0, k % 4)
            # stream 0 takes all, 1 is stalled (one would-block), 2 slow
            s.op(S_BCAST, 0, k % 4, b"", [ALL] + ([AGAIN] if k == 0 else []) +
                 ([part(5)] if k % 4 == 0 else []))
            if k % 4 == 3:
                s.flush(2)
        s.op(S_MISC, 1, 0)  # stream 1 reconnects
        s.op(S_REPLAY, 1, 2, b"\4", [ALL])  # Last-Event-ID: 4
        s.op(S_REPLAY, 1, 0, b"\3")  # an id 3 back: frames it already has
        s.op(S_REPLAY_FROM, 1, 1, b"\0")  # from its position: nothing new
        s.frame(0, auto=1, data=b"after the hand-over")
        s.op(S_PUSH, 0, 0)
        s.op(S_BCAST, 0, 0, b"", [ALL, ALL, ALL])
        s.op(S_REPLAY, 2, 1, rt_string(b"no-such-id"))
        s.op(S_REPLAY_FROM, 2, 3, b"\0")  # beyond the newest
        s.op(S_REPLAY_FROM, 2, 2, b"\0")  # from 0: evicted?
        seeds.append(s.bytes())

    # Eviction by count and by bytes, ids that stop being increasing
    # decimals, a frame larger than the history, replays of each kind.
    for ids in ("numeric", "mixed"):
        s = Script(2, 0, hcount=4, hbytes=16)  # 4 frames, 512 bytes
        for k in range(9):
            if ids == "mixed" and k == 5:
                s.frame(1, id_=b"abc", data=b"x")
            elif k == 3:
                s.frame(1, auto=1, data=b"o" * 600)  # larger than the history
            else:
                s.frame(1, auto=1 + k % 2, data=b"d" * (10 * k))
            s.op(S_PUSH, 0, 1)
        s.frame(2, comment=b"no id")
        s.op(S_PUSH, 0, 2)
        for back in range(6):
            s.op(S_REPLAY, back % 2, 0, bytes([back]), [ALL])
        for num in (1, 3, 9, 13, 200):
            s.op(S_REPLAY, 0, 2, bytes([num]), [AGAIN])
        s.op(S_REPLAY, 1, 3, b"\1")
        s.flush(0).flush(1)
        seeds.append(s.bytes())

    # Overflow: a small cap, a frame too big, the cap lowered under what is
    # pending, sends refused, the queue still flushed.
    s = Script(2, 0b01, cap=4)  # 64 bytes
    s.event(0, [AGAIN], data=b"a" * 20)
    s.event(0, (), data=b"b" * 20)
    s.event(0, (), data=b"c" * 40)  # over: the stream is done
    s.comment(0, b"refused", ())
    s.flush(0)
    s.event(1, [part(1)], data=b"fits")
    s.op(S_CAP, 1, 1, b"\2")
    s.event(1, (), data=b"over the lowered cap")
    s.op(S_CAP, 1, 3)
    s.flush(1)
    seeds.append(s.bytes())

    # Heartbeats: a short interval, ticks forward and backward, a
    # keep-alive blocked, one held back by pending bytes, then off.
    s = Script(1, 0)
    s.op(S_BEAT, 0, 1, b"\x32")  # 50 ms
    s.op(S_TICK, 0, 0, b"\0")
    for delta, cbs in ((10, ()), (40, [ALL]), (60, [AGAIN]), (10, ()), (0, ())):
        s.op(S_TICK, 0, 0, bytes([delta]), cbs)
    s.flush(0)
    s.event(0, [AGAIN], data=b"busy")
    s.op(S_TICK, 0, 2, b"\1")  # a second later: still busy
    s.flush(0)
    s.op(S_TICK, 0, 3, b"\x05")  # an earlier time
    s.op(S_TICK, 0, 1, b"\0\x40", [ALL])
    s.op(S_BEAT, 0, 2)
    s.op(S_TICK, 0, 2, b"\x10")
    s.op(S_CAP, 0, 1, b"\1")  # a cap below the keep-alive
    s.op(S_BEAT, 0, 1, b"\1")
    s.op(S_TICK, 0, 2, b"\x10")
    seeds.append(s.bytes())

    # Transport failures: an error in mid-frame, a callback reporting more
    # than offered; every later call refused, nothing written again.
    for bad in (FAIL, OVER, 0xfb, 0xfc):
        s = Script(2, 0b10)
        for i in (0, 1):
            s.event(i, [part(7)], id_=b"e1", data=b"first event")
            s.event(i, (), data=b"second")
            s.flush(i, [bad])
            s.event(i, (), data=b"after")
            s.flush(i, ())
            s.op(S_TICK, i, 2, b"\x20")
        seeds.append(s.bytes())

    # The preamble's rules: padding, a second open, too much padding,
    # invalid fields, NULL and multi-line comments, retries.
    s = Script(3, 0b100)
    s.op(S_OPEN, 0, 2, struct.pack("<H", 2048), [part(90)])
    s.op(S_OPEN, 0, 0, b"\2")
    s.flush(0)
    s.op(S_OPEN, 1, 2, struct.pack("<H", 0xffff))
    s.op(S_OPEN, 1, 0, b"\0")
    s.op(S_OPEN, 1, 1, b"\0\0\1", [ALL])
    s.op(S_TICK, 2, 0, b"\0")
    s.op(S_TICK, 2, 2, b"\x20", [ALL])
    s.op(S_OPEN, 2, 1, struct.pack("<H", 100) + b"\0")
    s.event(0, (), typ=b"bad\rtype", data=b"x")
    s.event(0, (), id_=b"nul\0id", data=b"x")
    s.event(0, id_=b"", data=b"")
    s.event(0, typ=b"", id_=b"only-id")
    s.event(0)
    s.op(S_COMMENT, 0, 1, b"", [ALL])
    s.comment(0, b"two\r\nlines\rthree")
    for var, val in ((0, b"\x07"), (1, b"\xff\xff"), (2, b"\xff" * 8), (3, b"")):
        s.op(S_RETRY, 2, var, val, [ALL])
    s.op(S_SEND, 1, 3)  # an empty pool slot
    seeds.append(s.bytes())

    # More than SSE_STREAM_MAX_IOV frames replayed onto an idle stream.
    s = Script(1, 0, hcount=100)
    for k in range(80):
        s.frame(0, auto=1, data=b"%d" % k)
        s.op(S_PUSH, 0, 0)
    s.op(S_REPLAY_FROM, 0, 2, b"\0", [ALL, part(9)])
    seeds.append(s.bytes())

    # Allocation failure at each of the first allocations of the broadcast
    # scenario, once and for good.
    bcast = seeds[2]
    for k in (1, 2, 3, 4, 5, 6, 8, 11, 15, 20, 30):
        for forever in (0, 1):
            seeds.append(bcast[:4] + struct.pack(
                "<H", k | (0x8000 if forever else 0)) + bcast[6:])
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
        "stream": stream_seeds(),
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
