#!/usr/bin/env python3
"""ssecat end to end: spec cases at several chunkings, comments, counting,
encoding (round trip and errors), limits, exit statuses.

usage: test_ssecat.py SSECAT DATA_DIR
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

CHUNKS = [None, 1, 2, 3, 7, 64]
failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL", what)


def run(ssecat, args, data=b""):
    p = subprocess.run([ssecat] + args, input=data, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def lines(out):
    # split on LF only: ssecat escapes every other line separator
    text = out.decode("utf-8")
    check(all(sep not in text for sep in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
          f"raw line separator in output {out!r}")
    return [json.loads(l) for l in text.split("\n") if l.strip()]


def case_bytes(case):
    if "input_b64" in case:
        return base64.b64decode(case["input_b64"])
    if "input_hex" in case:
        return bytes.fromhex(case["input_hex"])
    return case["input"].encode("utf-8", "surrogatepass")


def spec_cases(ssecat, path):
    for case in json.load(open(path, encoding="utf-8")):
        data = case_bytes(case)
        want = [{"type": e.get("type", "message"), "data": e["data"], "id": e.get("id", "")}
                for e in case["expect"]]
        want_retry = case.get("retry")
        if want_retry is not None:
            want_retry = min(want_retry, 2**64 - 1)
        for chunk in CHUNKS:
            args = [] if chunk is None else ["--chunk-size", str(chunk)]
            rc, out, err = run(ssecat, args, data)
            objs = lines(out)
            events = [o for o in objs if "retry" not in o]
            retries = [o["retry"] for o in objs if "retry" in o]
            what = f"{os.path.basename(path)}:{case['name']} chunk={chunk}"
            check(rc == 0, f"{what}: exit {rc} {err}")
            check(events == want, f"{what}: events {events} != {want}")
            check((retries[-1] if retries else None) == want_retry,
                  f"{what}: retry {retries} != {want_retry}")


def decode_features(ssecat):
    data = b": hello\ndata: 1\n\n:\xff\nretry: 10\n"
    rc, out, _ = run(ssecat, ["--comments"], data)
    check(rc == 0 and lines(out) == [{"comment": "hello"},
                                      {"type": "message", "data": "1", "id": ""},
                                      {"comment": "\ufffd"}, {"retry": 10}],
          f"--comments: {out!r}")
    rc, out, _ = run(ssecat, ["--count"], b"data: abc\n\ndata: de\ndata: f\n\n")
    check(rc == 0 and lines(out) == [{"events": 2, "data_bytes": 7}], f"--count: {out!r}")
    # control characters and quotes are escaped; output is valid JSON
    rc, out, _ = run(ssecat, [], b'data: "\\\x01\x7f\t\x00\n\n')
    check(rc == 0 and lines(out)[0]["data"] == '"\\\x01\x7f\t\x00', f"escapes: {out!r}")
    # files are one stream, read in turn
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        open(a, "wb").write(b"data: sp")
        open(b, "wb").write(b"lit\n\n")
        rc, out, _ = run(ssecat, [a, b])
        check(rc == 0 and lines(out)[0]["data"] == "split", f"two files: {out!r}")
        rc, out, err = run(ssecat, [os.path.join(tmp, "missing")])
        check(rc == 1 and "missing" in err, f"missing file: {rc} {err}")


def limits(ssecat):
    rc, out, err = run(ssecat, ["--max-line", "8"], b"data: 1\n\ndata: 123456\n\n")
    check(rc == 1 and lines(out) == [{"type": "message", "data": "1", "id": ""}]
          and "line too long" in err and len(err.splitlines()) == 1,
          f"--max-line: {rc} {out!r} {err}")
    rc, out, err = run(ssecat, ["--max-event", "4", "--chunk-size", "1"],
                       b"data: ab\ndata: cd\n\n")
    check(rc == 1 and "event data too large" in err, f"--max-event: {rc} {err}")
    # a never-ending line stops at the limit, it is not buffered forever
    rc, out, err = run(ssecat, ["--max-line", "1000"], b"data: " + b"x" * 200000)
    check(rc == 1 and "line too long" in err, f"endless line: {rc} {err}")


def usage(ssecat):
    for args in (["--bogus"], ["--chunk-size"], ["--chunk-size", "0"],
                 ["--chunk-size", "-3"], ["--max-line", "x"], ["--encode", "--count"]):
        rc, _, err = run(ssecat, args)
        check(rc == 2 and err.strip(), f"usage {args}: exit {rc}")


def encode(ssecat, cases_path):
    # decode -> encode -> decode is the identity on every spec case's output
    for case in json.load(open(cases_path, encoding="utf-8")):
        rc, out1, _ = run(ssecat, [], case_bytes(case))
        rc2, wire, err = run(ssecat, ["--encode"], out1)
        rc3, out2, _ = run(ssecat, [], wire)
        check(rc2 == 0 and lines(out1) == lines(out2),
              f"round trip {case['name']}: {rc2} {err} {out1!r} vs {out2!r}")
    src = (b'{"type":"update","data":"a\\nb","id":"1"}\n'
           b'\n'
           b'{"comment":"keep\\nalive"}\n'
           b'{"retry":5000}\n'
           b'{"data":"\\u00e9\\ud83c\\udf89 \\u0000x","id":"1"}\n'
           b'{"data":"","id":""}\n')
    rc, wire, err = run(ssecat, ["--encode"], src)
    check(rc == 0 and wire == (b"event: update\nid: 1\ndata: a\ndata: b\n\n"
                               b": keep\n: alive\n"
                               b"retry: 5000\n\n"
                               b"data: \xc3\xa9\xf0\x9f\x8e\x89 \x00x\n\n"
                               b"id: \ndata: \n\n"), f"encode output: {rc} {err} {wire!r}")
    # errors: line number on stderr, exit 1, everything before it written
    for bad, why in ((b'{"data":"ok"}\n{"data":"ok2"}\n{"data":\n', "bad JSON"),
                     (b'{"data":"ok"}\n{"data":"ok2"}\n{"type":"a\\nb","data":"x"}\n', "newline in type"),
                     (b'{"data":"ok"}\n{"data":"ok2"}\n{"id":"a\\u0000b","data":"x"}\n', "NUL in id"),
                     (b'{"data":"ok"}\n{"data":"ok2"}\n{"nope":1}\n', "unknown key"),
                     (b'{"data":"ok"}\n{"data":"ok2"}\n{"retry":-1}\n', "negative retry"),
                     (b'{"data":"ok"}\n{"data":"ok2"}\n[1]\n', "not an object")):
        rc, wire, err = run(ssecat, ["--encode"], bad)
        check(rc == 1 and ":3:" in err and wire == b"data: ok\n\ndata: ok2\n\n",
              f"encode error ({why}): {rc} {err!r} {wire!r}")


def main():
    ssecat, data_dir = sys.argv[1], sys.argv[2]
    for name in sorted(os.listdir(data_dir)):
        if name.endswith("_cases.json"):
            spec_cases(ssecat, os.path.join(data_dir, name))
    decode_features(ssecat)
    limits(ssecat)
    usage(ssecat)
    encode(ssecat, os.path.join(data_dir, "spec_cases.json"))
    print(f"{checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
