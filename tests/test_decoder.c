/* Decoder: every rule of the standard's parsing and interpretation, each
 * vector decoded whole, at every split point, one byte at a time and at
 * chunk sizes 2, 3, 7 and 64; plus pause, abort, limits, incremental data,
 * UTF-8 decoding, reset and the memory contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

typedef struct vector {
  const char *name;
  const char *in;
  size_t len; /* 0: strlen(in) */
  const char *want; /* the log, "result SSE_OK\n" appended by the checker */
} vector;

#define V(name, in, want) {name, in, sizeof(in) - 1, want}

static const vector VECTORS[] = {
    V("lf", "data: hello\n\n", "event message|hello|\n"),
    V("cr", "data: hello\r\r", "event message|hello|\n"),
    V("crlf", "data: hello\r\n\r\n", "event message|hello|\n"),
    V("mixed endings", "data: a\rdata: b\ndata: c\r\ndata: d\n\r\n",
      "event message|a\nb\nc\nd|\n"),
    V("cr cr lf is one blank line", "data: one\r\r\n",
      "event message|one|\n"),
    V("crlf lines then blank", "data: A\r\ndata: B\r\n\r\n",
      "event message|A\nB|\n"),
    V("two events", "data: 1\n\ndata: 2\n\n",
      "event message|1|\nevent message|2|\n"),
    V("blank lines only", "\n\n\r\n\r\r\n", ""),
    V("bom stripped", "\xEF\xBB\xBF" "data: x\n\n", "event message|x|\n"),
    V("second bom kept", "\xEF\xBB\xBF\xEF\xBB\xBF" "data: 1\n\ndata: 2\n\n",
      "event message|2|\n"),
    V("bom then blank line", "\xEF\xBB\xBF\ndata: x\n\n",
      "event message|x|\n"),
    V("bom not at start", "\n\xEF\xBB\xBF" "data: x\n\ndata: y\n\n",
      "event message|y|\n"),
    V("partial bom is content", "\xEF\xBB" "data: x\n\ndata: y\n\n",
      "event message|y|\n"),
    V("comment", ": hi\ndata: x\n\n", "comment hi\nevent message|x|\n"),
    V("comment inside event", "data: 1\n: c\ndata: 2\n\n",
      "comment c\nevent message|1\n2|\n"),
    V("comment no space", ":x\n:\n:  two\n\n", "comment x\ncomment \ncomment  two\n"),
    V("no space after colon", "data:x\n\n", "event message|x|\n"),
    V("only one space stripped", "data:  x\n\n", "event message| x|\n"),
    V("single space value", "data: \n\n", "event message||\n"),
    V("tab not stripped", "data:\tx\n\n", "event message|\tx|\n"),
    V("no colon data twice", "data\ndata\n\n", "event message|\n|\n"),
    V("data no colon", "data\n\n", "event message||\n"),
    V("leading space field unknown", " data: x\n\ndata: y\n\n",
      "event message|y|\n"),
    V("case sensitive",
      "DATA: a\nEvent: b\nID: c\nRetry: 1000\ndata: y\n\n",
      "event message|y|\n"),
    V("unknown fields", "data:abc\n data\ndata\nfoobar:xxx\njustsometext\n"
                        ":thisisacommentyay\ndata:123\n\ndata:456\n\n",
      "comment thisisacommentyay\nevent message|abc\n\n123|\n"
      "event message|456|\n"),
    V("field name with suffix", "database: 1\ndata2: 2\nidx: 3\neventual: 4\n"
                                "retryable: 5\ndata: ok\n\n",
      "event message|ok|\n"),
    V("trailing empty data line", "data: a\ndata:\n\n",
      "event message|a\n|\n"),
    V("many blank lines after", "data: x\n\n\n\n\n", "event message|x|\n"),
    V("type resets", "event: add\ndata: 1\n\ndata: 2\n\n",
      "event add|1|\nevent message|2|\n"),
    V("empty type is message", "event\ndata: x\n\n", "event message|x|\n"),
    V("type one space stripped", "event:  sp\ndata: x\n\n",
      "event  sp|x|\n"),
    V("type after data", "data: x\nevent: late\n\n", "event late|x|\n"),
    V("type without data not kept", "event: t\n\ndata: x\n\n",
      "event message|x|\n"),
    V("eof discards", "data: a\n\ndata: b\n",
      "event message|a|\ndiscard SSE_E_TRUNCATED\n"),
    V("eof partial line", "data: a\n\ndata: b",
      "event message|a|\ndiscard SSE_E_TRUNCATED\n"),
    V("cr as last byte ends line", "data: a\r\rdata: b\r",
      "event message|a|\ndiscard SSE_E_TRUNCATED\n"),
    V("id persists", "id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n",
      "event message|1|1\nevent message|2|2\nevent message|3|2\n"),
    V("empty id resets", "id: 1\ndata: a\n\nid: \ndata: b\n\n",
      "event message|a|1\nevent message|b|\n"),
    V("id no colon resets", "id: 1\ndata: a\n\nid\ndata: b\n\n",
      "event message|a|1\nevent message|b|\n"),
    V("last id in block wins", "id: 1\ndata: a\nid: 2\n\n",
      "event message|a|2\n"),
    V("id with nul ignored", "id: 7\ndata: a\n\nid: \0\0\ndata: b\n\n",
      "event message|a|7\nevent message|b|7\n"),
    V("id with inner nul ignored", "id: a\0b\ndata: x\n\n",
      "event message|x|\n"),
    V("id in undispatched block", "data: a\n\nid: 5\n",
      "event message|a|\n"),
    V("id committed by empty block", "id: 9\n\ndata: x\n\n",
      "event message|x|9\n"),
    V("id case sensitive", "Id: 5\ndata: x\n\n", "event message|x|\n"),
    V("retry", "retry:1500\ndata: x\n\n", "retry 1500\nevent message|x|\n"),
    V("retry zero", "retry: 0\n", "retry 0\n"),
    V("retry bogus", "retry:  1000\nretry: -1\nretry: +1\nretry: 1e3\n"
                     "retry: 12a\nretry:\nretry\nretry: \n",
      ""),
    V("retry without dispatch", "data: a\n\nretry: 1200\ndata: b\n",
      "event message|a|\nretry 1200\ndiscard SSE_E_TRUNCATED\n"),
    V("retry u64 max", "retry: 18446744073709551615\n",
      "retry 18446744073709551615\n"),
    V("retry saturates", "retry: 18446744073709551616\n"
                         "retry: 99999999999999999999999999\n",
      "retry 18446744073709551615\nretry 18446744073709551615\n"),
    V("retry leading zeros", "retry: 000000000000000000000000042\n",
      "retry 42\n"),
    V("nul in data kept", "data: a\0b\n\n", "event message|a\0b|\n"),
    V("utf8 passes through", "data: \xE2\x82\xAC\xF0\x9F\x8E\x89\n\n",
      "event message|\xE2\x82\xAC\xF0\x9F\x8E\x89|\n"),
    V("json", "data: {\"a\":1,\"b\":[true,null]}\n\n",
      "event message|{\"a\":1,\"b\":[true,null]}|\n"),
    V("llm stream",
      "event: delta\r\ndata: {\"t\":\"Hel\"}\r\n\r\nevent: delta\r\n"
      "data: {\"t\":\"lo\"}\r\n\r\n: ping\r\n\r\ndata: [DONE]\r\n\r\n",
      "event delta|{\"t\":\"Hel\"}|\nevent delta|{\"t\":\"lo\"}|\n"
      "comment ping\nevent message|[DONE]|\n"),
    V("unicode line separators are content",
      "data: a\xE2\x80\xA8" "b\xC2\x85" "c\x0B\x0C\n\n",
      "event message|a\xE2\x80\xA8" "b\xC2\x85" "c\x0B\x0C|\n"),
};

#define NVEC (sizeof VECTORS / sizeof VECTORS[0])

static const test_run COMMENTS = {0, 0, 0, 1, 0, 1};

static void check_log(const test_log *got, const char *want, size_t wlen,
                      const char *what) {
  if (got->len != wlen || memcmp(got->p, want, wlen) != 0) {
    print_error("%s\n--- want\n%.*s--- got\n%.*s", what, (int)wlen, want,
                (int)got->len, got->p);
    fail();
  }
}

/* Runs one input at every chunking the decoder must not care about. */
static void check_all_chunkings(const test_run *run, const char *in,
                                size_t len, const char *want, size_t wlen,
                                const char *name) {
  static const size_t CHUNKS[] = {0, 1, 2, 3, 7, 64};
  char what[160];
  size_t i, j;
  for (i = 0; i < sizeof CHUNKS / sizeof CHUNKS[0]; i++) {
    test_log got = test_decode(run, in, len, CHUNKS[i]);
    snprintf(what, sizeof what, "%s, chunk %zu", name, CHUNKS[i]);
    check_log(&got, want, wlen, what);
    test_log_free(&got);
  }
  for (i = 1; i < len; i++) { /* every 2-way split */
    test_log got = test_decode_split(run, in, len, &i, 1);
    snprintf(what, sizeof what, "%s, split at %zu", name, i);
    check_log(&got, want, wlen, what);
    test_log_free(&got);
  }
  if (len <= 40) /* every 3-way split of short inputs */
    for (i = 1; i < len; i++)
      for (j = i + 1; j < len; j++) {
        size_t cuts[2];
        test_log got;
        cuts[0] = i;
        cuts[1] = j;
        got = test_decode_split(run, in, len, cuts, 2);
        snprintf(what, sizeof what, "%s, split at %zu and %zu", name, i, j);
        check_log(&got, want, wlen, what);
        test_log_free(&got);
      }
}

/* Appends "result SSE_OK\n" to an expected log. */
static char *with_result(const char *want, size_t wlen, int code,
                         size_t *outlen) {
  char *s = malloc(wlen + 32);
  assert_non_null(s);
  memcpy(s, want, wlen);
  *outlen = wlen + (size_t)sprintf(s + wlen, "result %s\n", sse_error_name(code));
  return s;
}

/* Expected logs contain NUL bytes in two vectors: measure them by hand. */
static size_t want_len(const vector *v) {
  if (!strcmp(v->name, "nul in data kept"))
    return sizeof("event message|a\0b|\n") - 1;
  return strlen(v->want);
}

/* Every vector at every chunking, data assembled or (pieces) incremental:
 * the logs are the same either way. */
static void run_vectors(int pieces) {
  test_run run = COMMENTS;
  size_t i;
  run.pieces = pieces;
  for (i = 0; i < NVEC; i++) {
    size_t wlen;
    char *want = with_result(VECTORS[i].want, want_len(&VECTORS[i]), 0, &wlen);
    check_all_chunkings(&run, VECTORS[i].in, VECTORS[i].len, want, wlen,
                        VECTORS[i].name);
    free(want);
  }
}

static void test_vectors(void **state) {
  (void)state;
  run_vectors(0);
}

static void test_vectors_in_pieces(void **state) {
  (void)state;
  run_vectors(1);
}

/* A vector the chunkings above cannot reach: long lines across chunks. */
static void test_long_lines(void **state) {
  size_t n = 50000, i;
  char *in = malloc(3 * n + 64), *want = malloc(3 * n + 128);
  size_t len = 0, wlen = 0;
  (void)state;
  len += (size_t)sprintf(in, "event: big\ndata: ");
  for (i = 0; i < n; i++)
    in[len++] = (char)('a' + i % 26);
  len += (size_t)sprintf(in + len, "\rdata:");
  for (i = 0; i < n; i++)
    in[len++] = (char)('A' + i % 26);
  len += (size_t)sprintf(in + len, "\r\n\r\n");
  wlen += (size_t)sprintf(want, "event big|");
  for (i = 0; i < n; i++)
    want[wlen++] = (char)('a' + i % 26);
  want[wlen++] = '\n';
  for (i = 0; i < n; i++)
    want[wlen++] = (char)('A' + i % 26);
  wlen += (size_t)sprintf(want + wlen, "|\nresult SSE_OK\n");
  {
    static const size_t chunks[] = {0, 1, 5, 7, 4096, 65536};
    test_run run = COMMENTS;
    int pieces;
    for (pieces = 0; pieces < 2; pieces++)
      for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        test_log got;
        run.pieces = pieces;
        got = test_decode(&run, in, len, chunks[i]);
        check_log(&got, want, wlen, "long lines");
        test_log_free(&got);
      }
  }
  free(in);
  free(want);
}

/* ---- limits ---------------------------------------------------------- */

static void expect_all(const test_run *run, const char *in, const char *want) {
  check_all_chunkings(run, in, strlen(in), want, strlen(want), in);
}

static void test_line_limit_boundary(void **state) {
  test_run run = COMMENTS;
  (void)state;
  run.max_line = 8;
  /* exactly 8 bytes: accepted, whatever the line's kind */
  expect_all(&run, "data: ab\n\n", "event message|ab|\nresult SSE_OK\n");
  expect_all(&run, ":comment\n", "comment comment\nresult SSE_OK\n");
  expect_all(&run, "xxxxxxxx\ndata:1\n\n", "event message|1|\nresult SSE_OK\n");
  /* 9 bytes: the limit error, with the events before it delivered */
  expect_all(&run, "data:1\n\ndata: abc\n\n", "event message|1|\nresult SSE_E_LINE_TOO_LONG\n");
  expect_all(&run, ":commentx\n", "result SSE_E_LINE_TOO_LONG\n");
  expect_all(&run, "event: abc\n", "result SSE_E_LINE_TOO_LONG\n");
  expect_all(&run, "xxxxxxxxx\n", "result SSE_E_LINE_TOO_LONG\n");
  /* a line that never ends hits the limit too */
  expect_all(&run, "data: abcdefgh", "result SSE_E_LINE_TOO_LONG\n");
}

static void test_event_limit_boundary(void **state) {
  test_run run = COMMENTS;
  (void)state;
  /* the data buffer counts each value plus one LF */
  run.max_event = 4;
  expect_all(&run, "data: abc\n\n", "event message|abc|\nresult SSE_OK\n");
  expect_all(&run, "data: abcd\n\n", "result SSE_E_EVENT_TOO_LARGE\n");
  expect_all(&run, "data: a\ndata: b\n\n", "event message|a\nb|\nresult SSE_OK\n");
  expect_all(&run, "data: a\ndata: bc\n\n", "result SSE_E_EVENT_TOO_LARGE\n");
  /* empty data lines count: four fit, five do not */
  expect_all(&run, "data\ndata\ndata\ndata\n\n",
             "event message|\n\n\n|\nresult SSE_OK\n");
  expect_all(&run, "data\ndata\ndata\ndata\ndata\n\n", "result SSE_E_EVENT_TOO_LARGE\n");
  /* the limit is per event */
  expect_all(&run, "data: abc\n\ndata: abc\n\n",
             "event message|abc|\nevent message|abc|\nresult SSE_OK\n");
}

static void test_limit_skip_policy(void **state) {
  test_run run = COMMENTS;
  (void)state;
  run.options = SSE_DECODER_SKIP_OVERSIZE;
  run.max_line = 10;
  run.max_event = 8;
  /* the oversize block is dropped with its id, type and retry; decoding
   * resumes after the next blank line */
  expect_all(&run,
             "id: 1\ndata: a\n\nid: 2\nevent: t\ndata: 0123456789\nretry: 5\n"
             "data: x\n\ndata: b\n\n",
             "event message|a|1\ndiscard SSE_E_LINE_TOO_LONG\nevent message|b|1\nresult SSE_OK\n");
  expect_all(&run, "data: 1234\ndata: 5678\n\ndata: ok\n\n",
             "discard SSE_E_EVENT_TOO_LARGE\nevent message|ok|\nresult SSE_OK\n");
  /* a never-ending line is skipped without being held */
  expect_all(&run, "data: 0123456789abcdef\ndata: x\n",
             "discard SSE_E_LINE_TOO_LONG\nresult SSE_OK\n");
  /* in pieces too */
  run.pieces = 1;
  expect_all(&run, "data: 1234\ndata: 5678\n\ndata: ok\n\n",
             "discard SSE_E_EVENT_TOO_LARGE\nevent message|ok|\nresult SSE_OK\n");
}

static void test_limit_sticky_and_reset(void **state) {
  sse_decoder *d;
  size_t used;
  (void)state;
  assert_int_equal(sse_decoder_new(&d, NULL, NULL, NULL), SSE_OK);
  assert_int_equal(sse_decoder_set_limits(d, 4, 0), SSE_OK);
  assert_int_equal(sse_decoder_feed(d, "data: x\n", 8, &used),
                   SSE_E_LINE_TOO_LONG);
  assert_int_equal(sse_decoder_feed(d, "\n", 1, &used), SSE_E_LINE_TOO_LONG);
  assert_int_equal(used, 0);
  assert_int_equal(sse_decoder_finish(d), SSE_E_LINE_TOO_LONG);
  assert_int_equal(sse_decoder_reset(d), SSE_OK);
  assert_int_equal(sse_decoder_feed(d, "data\n\n", 6, &used), SSE_OK);
  assert_int_equal(used, 6);
  /* 0 selects the defaults, never "unlimited" */
  assert_int_equal(sse_decoder_set_limits(d, 0, 0), SSE_OK);
  sse_decoder_free(d);
}

/* With on_data, data lines are not held, so max_line does not bind them;
 * max_event still does. */
static void test_pieces_exempt_from_line_limit(void **state) {
  test_run run = COMMENTS;
  (void)state;
  run.pieces = 1;
  run.max_line = 4;
  run.max_event = 64;
  expect_all(&run, "data: 0123456789\n\n",
             "event message|0123456789|\nresult SSE_OK\n");
  expect_all(&run, "event: long\n", "result SSE_E_LINE_TOO_LONG\n");
  run.max_event = 8;
  expect_all(&run, "data: 0123456789\n\n", "result SSE_E_EVENT_TOO_LARGE\n");
}

/* ---- callbacks: pause, abort, re-entrancy ------------------------------ */

typedef struct pauser {
  sse_decoder *d;
  int events;
  int pause_every;
  int abort_at;
  int reentry_rc;
  char seen[256];
  size_t seen_len;
} pauser;

static int p_event(void *u, const sse_event *ev) {
  pauser *p = u;
  p->events++;
  if (p->seen_len + ev->data_len + 1 < sizeof p->seen) {
    memcpy(p->seen + p->seen_len, ev->data, ev->data_len);
    p->seen_len += ev->data_len;
    p->seen[p->seen_len++] = ',';
  }
  if (p->d)
    p->reentry_rc = sse_decoder_feed(p->d, "x", 1, NULL);
  if (p->abort_at && p->events == p->abort_at)
    return 12345;
  return p->pause_every && p->events % p->pause_every == 0 ? SSE_PAUSE
                                                           : SSE_OK;
}

static void test_pause_resume(void **state) {
  static const char in[] = "data: 1\n\ndata: 2\r\n\r\ndata: 3\r\rdata: 4\n\n";
  sse_decoder_callbacks cb = {0};
  pauser p = {0};
  sse_decoder *d;
  size_t off = 0, used;
  int rc, pauses = 0;
  (void)state;
  cb.on_event = p_event;
  p.pause_every = 1;
  assert_int_equal(sse_decoder_new(&d, &cb, &p, NULL), SSE_OK);
  while (off < sizeof in - 1) {
    rc = sse_decoder_feed(d, in + off, sizeof in - 1 - off, &used);
    assert_true(rc == SSE_OK || rc == SSE_PAUSE);
    if (rc == SSE_PAUSE) {
      pauses++;
      /* exactly one event per pause, delivered at its blank line */
      assert_int_equal(p.events, pauses);
    }
    off += used;
  }
  assert_int_equal(pauses, 4);
  assert_int_equal(p.seen_len, 8);
  assert_memory_equal(p.seen, "1,2,3,4,", 8);
  sse_decoder_free(d);
}

static void test_pause_consumed_position(void **state) {
  static const char in[] = "data: 1\r\n\r\ndata: 2\n\n";
  sse_decoder_callbacks cb = {0};
  pauser p = {0};
  sse_decoder *d;
  size_t used;
  (void)state;
  cb.on_event = p_event;
  p.pause_every = 1;
  assert_int_equal(sse_decoder_new(&d, &cb, &p, NULL), SSE_OK);
  assert_int_equal(sse_decoder_feed(d, in, sizeof in - 1, &used), SSE_PAUSE);
  assert_int_equal(used, 11); /* through the CRLF of the blank line */
  assert_int_equal(sse_decoder_feed(d, in + used, sizeof in - 1 - used, &used),
                   SSE_PAUSE);
  assert_int_equal(used, sizeof in - 1 - 11);
  sse_decoder_free(d);
}

static void test_abort_is_sticky(void **state) {
  sse_decoder_callbacks cb = {0};
  pauser p = {0};
  sse_decoder *d;
  size_t used;
  (void)state;
  cb.on_event = p_event;
  p.abort_at = 1;
  assert_int_equal(sse_decoder_new(&d, &cb, &p, NULL), SSE_OK);
  assert_int_equal(sse_decoder_feed(d, "data: 1\n\ndata: 2\n\n", 18, &used),
                   SSE_E_CALLBACK);
  assert_int_equal(p.events, 1);
  assert_int_equal(sse_decoder_feed(d, "data: 3\n\n", 9, &used),
                   SSE_E_CALLBACK);
  assert_int_equal(p.events, 1);
  assert_int_equal(sse_decoder_reset(d), SSE_OK);
  p.abort_at = 0;
  assert_int_equal(sse_decoder_feed(d, "data: 3\n\n", 9, &used), SSE_OK);
  assert_int_equal(p.events, 2);
  sse_decoder_free(d);
}

static void test_reentry_is_busy(void **state) {
  sse_decoder_callbacks cb = {0};
  pauser p = {0};
  sse_decoder *d;
  (void)state;
  cb.on_event = p_event;
  assert_int_equal(sse_decoder_new(&d, &cb, &p, NULL), SSE_OK);
  p.d = d;
  assert_int_equal(sse_decoder_feed(d, "data: 1\n\n", 9, NULL), SSE_OK);
  assert_int_equal(p.reentry_rc, SSE_E_BUSY);
  sse_decoder_free(d);
}

/* ---- end of stream, reset, last event ID ----------------------------- */

static int count_discard(void *u, int code) {
  int *n = u;
  assert_int_equal(code, SSE_E_TRUNCATED);
  (*n)++;
  return SSE_OK;
}

static void test_finish_and_reset(void **state) {
  sse_decoder_callbacks cb = {0};
  sse_decoder *d;
  size_t len;
  int discards = 0;
  const char *id;
  (void)state;
  cb.on_discard = count_discard;
  assert_int_equal(sse_decoder_new(&d, &cb, &discards, NULL), SSE_OK);
  assert_int_equal(sse_decoder_feed(d, "id: 7\ndata: a\n\nid: 8\ndata: b", 28,
                                    NULL),
                   SSE_OK);
  assert_int_equal(sse_decoder_finish(d), SSE_OK);
  assert_int_equal(discards, 1);
  /* the uncommitted id 8 is not the last event ID */
  id = sse_decoder_get_last_event_id(d, &len);
  assert_int_equal(len, 1);
  assert_memory_equal(id, "7", 1);
  assert_int_equal(sse_decoder_feed(d, "data: c\n\n", 9, NULL), SSE_E_STATE);
  assert_int_equal(sse_decoder_finish(d), SSE_OK);
  /* reset keeps the last event ID and expects a BOM again */
  assert_int_equal(sse_decoder_reset(d), SSE_OK);
  assert_int_equal(sse_decoder_feed(d, "\xEF\xBB\xBF" "data: c\n\n", 12, NULL),
                   SSE_OK);
  id = sse_decoder_get_last_event_id(d, &len);
  assert_int_equal(len, 1);
  assert_memory_equal(id, "7", 1);
  /* a reset in the middle of an event reports it and drops it */
  assert_int_equal(sse_decoder_feed(d, "data: half", 10, NULL), SSE_OK);
  assert_int_equal(sse_decoder_reset(d), SSE_OK);
  assert_int_equal(discards, 2);
  sse_decoder_free(d);
}

typedef struct id_seen {
  char id[32];
  size_t len;
} id_seen;

static int remember_id(void *u, const sse_event *ev) {
  id_seen *s = u;
  assert_true(ev->id_len < sizeof s->id);
  memcpy(s->id, ev->id, ev->id_len);
  s->len = ev->id_len;
  return SSE_OK;
}

static void test_set_last_event_id(void **state) {
  sse_decoder_callbacks cb = {0};
  sse_decoder *d;
  id_seen seen = {{0}, 0};
  size_t len;
  (void)state;
  cb.on_event = remember_id;
  assert_int_equal(sse_decoder_new(&d, &cb, &seen, NULL), SSE_OK);
  assert_int_equal(sse_decoder_get_last_event_id(d, &len)[0], 0);
  assert_int_equal(len, 0);
  assert_int_equal(sse_decoder_set_last_event_id(d, "a\nb", 3),
                   SSE_E_INVALID_FIELD);
  assert_int_equal(sse_decoder_set_last_event_id(d, "a\0b", 3),
                   SSE_E_INVALID_FIELD);
  assert_int_equal(sse_decoder_set_last_event_id(d, "42", 2), SSE_OK);
  assert_int_equal(sse_decoder_feed(d, "data: x\n\n", 9, NULL), SSE_OK);
  assert_int_equal(seen.len, 2);
  assert_memory_equal(seen.id, "42", 2);
  assert_int_equal(sse_decoder_set_limits(d, 3, 0), SSE_OK);
  assert_int_equal(sse_decoder_set_last_event_id(d, "1234", 4),
                   SSE_E_INVALID_VALUE);
  assert_memory_equal(sse_decoder_get_last_event_id(d, &len), "42", 2);
  assert_int_equal(len, 2); /* a refused id changes nothing */
  assert_int_equal(sse_decoder_set_last_event_id(d, "123", 3), SSE_OK);
  sse_decoder_free(d);
}

/* ---- UTF-8 decoding ---------------------------------------------------- */

static void test_utf8_option(void **state) {
  test_run run = COMMENTS;
  int pieces;
  (void)state;
  for (pieces = 0; pieces < 2; pieces++) {
  run.pieces = pieces; /* incremental data is repaired the same way */
  run.options = SSE_DECODER_UTF8;
  /* stray continuation bytes: one U+FFFD each */
  expect_all(&run, "data: \x80\x80\n\n",
             "event message|\xEF\xBF\xBD\xEF\xBF\xBD|\nresult SSE_OK\n");
  /* an encoded surrogate: three U+FFFD */
  expect_all(&run, "data: \xED\xA0\x80\n\n",
             "event message|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\nresult SSE_OK\n");
  /* a truncated sequence before a line end: one U+FFFD, then the LF */
  expect_all(&run, "data: \xE2\x82\ndata: x\n\n",
             "event message|\xEF\xBF\xBD\nx|\nresult SSE_OK\n");
  /* type, id and comments too */
  expect_all(&run, "event: t\xFF\nid: i\xC0\n: c\xF5\ndata: x\n\n",
             "comment c\xEF\xBF\xBD\nevent t\xEF\xBF\xBD|x|i\xEF\xBF\xBD\n"
             "result SSE_OK\n");
  /* valid text, noncharacters included, is untouched */
  expect_all(&run, "data: \xEF\xBF\xBF\xEF\xBF\xBE\xEF\xB7\x90\n\n",
             "event message|\xEF\xBF\xBF\xEF\xBF\xBE\xEF\xB7\x90|\nresult SSE_OK\n");
  /* sequences cut by chunks, by the line end and by the end of a line
   * that goes on in the next chunk */
  expect_all(&run, "data: \xF0\x9F\x8E\x89\xE2\x82\xAC\ndata: \xF0\x9F\n\n",
             "event message|\xF0\x9F\x8E\x89\xE2\x82\xAC\n\xEF\xBF\xBD|\n"
             "result SSE_OK\n");
  expect_all(&run, "data: \xC3\xA9\xC3\ndata: \xA9\n\n",
             "event message|\xC3\xA9\xEF\xBF\xBD\n\xEF\xBF\xBD|\nresult SSE_OK\n");
  /* without the option the bytes pass through */
  run.options = 0;
  expect_all(&run, "data: \x80\n\n", "event message|\x80|\nresult SSE_OK\n");
  }
}

/* ---- memory -------------------------------------------------------------- */

static int count_event(void *u, const sse_event *ev) {
  (void)ev;
  ++*(int *)u;
  return SSE_OK;
}

/* Events inside one chunk are handed out by pointer into the chunk, and
 * steady-state decoding allocates nothing per event. */
static int check_zero_copy(void *u, const sse_event *ev) {
  const char **chunk = u;
  assert_true(ev->data >= chunk[0] && ev->data < chunk[1]);
  assert_true(ev->type >= chunk[0] && ev->type < chunk[1]);
  return SSE_OK;
}

static void test_zero_copy(void **state) {
  static const char in[] = "event: t\ndata: hello\n\n";
  const char *bounds[2];
  sse_decoder_callbacks cb = {0};
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  sse_decoder *d;
  (void)state;
  bounds[0] = in;
  bounds[1] = in + sizeof in;
  cb.on_event = check_zero_copy;
  assert_int_equal(sse_decoder_new(&d, &cb, (void *)bounds, &a), SSE_OK);
  assert_int_equal(ta.calls, 1);
  assert_int_equal(sse_decoder_feed(d, in, sizeof in - 1, NULL), SSE_OK);
  assert_int_equal(ta.calls, 1); /* nothing buffered */
  sse_decoder_free(d);
  assert_int_equal(ta.live, 0);
}

static void test_no_allocation_per_event(void **state) {
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  sse_decoder_callbacks cb = {0};
  sse_decoder *d;
  int events = 0, i;
  size_t warm;
  static const char ev[] = "id: 17\nevent: tick\ndata: a\ndata: b\n\n";
  (void)state;
  cb.on_event = count_event;
  assert_int_equal(sse_decoder_new(&d, &cb, &events, &a), SSE_OK);
  /* warm up, byte by byte so every buffer is used (twice: the id
   * buffers alternate) */
  for (i = 0; i < 2 * ((int)sizeof ev - 1); i++)
    assert_int_equal(sse_decoder_feed(d, ev + i % (sizeof ev - 1), 1, NULL),
                     SSE_OK);
  warm = ta.calls;
  for (i = 0; i < 1000; i++) {
    size_t k;
    for (k = 0; k < sizeof ev - 1; k += 5)
      assert_int_equal(sse_decoder_feed(d, ev + k,
                                        sizeof ev - 1 - k < 5 ? sizeof ev - 1 - k
                                                              : 5,
                                        NULL),
                       SSE_OK);
  }
  assert_int_equal(events, 1002);
  assert_int_equal(ta.calls, warm);
  sse_decoder_free(d);
  assert_int_equal(ta.live, 0);
}

/* Buffered memory stays within the limits for hostile never-ending input. */
static void test_memory_bounded(void **state) {
  static const char *const starts[] = {"data: ", ": ", "event: ", "zzz"};
  char chunk[4096];
  size_t s, i;
  (void)state;
  memset(chunk, 'x', sizeof chunk);
  for (s = 0; s < 4; s++) {
    test_alloc ta = {0};
    sse_allocator a = test_alloc_hooks(&ta);
    sse_decoder_callbacks cb = {0};
    sse_decoder *d;
    int rc = SSE_OK;
    cb.on_comment = NULL;
    assert_int_equal(sse_decoder_new(&d, &cb, NULL, &a), SSE_OK);
    assert_int_equal(sse_decoder_set_limits(d, 100000, 100000), SSE_OK);
    rc = sse_decoder_feed(d, starts[s], strlen(starts[s]), NULL);
    for (i = 0; i < 1000 && rc == SSE_OK; i++)
      rc = sse_decoder_feed(d, chunk, sizeof chunk, NULL);
    assert_int_equal(rc, SSE_E_LINE_TOO_LONG);
    assert_true(ta.peak_bytes < 100000 + 100000 + 1024);
    sse_decoder_free(d);
    assert_int_equal(ta.live, 0);
  }
}

/* ---- arguments ----------------------------------------------------------- */

static void test_bad_arguments(void **state) {
  sse_decoder *d;
  size_t used = 99;
  (void)state;
  assert_int_equal(sse_decoder_new(NULL, NULL, NULL, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_feed(NULL, "x", 1, &used),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(used, 0);
  assert_int_equal(sse_decoder_finish(NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_reset(NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_set_limits(NULL, 1, 1), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_set_options(NULL, 0), SSE_E_INVALID_ARGUMENT);
  sse_decoder_free(NULL);
  assert_int_equal(sse_decoder_new(&d, NULL, NULL, NULL), SSE_OK);
  assert_int_equal(sse_decoder_feed(d, NULL, 1, NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_feed(d, NULL, 0, NULL), SSE_OK);
  assert_int_equal(sse_decoder_set_options(d, 1u << 7), SSE_E_INVALID_ARGUMENT);
  /* no callbacks at all: decoding still works */
  assert_int_equal(sse_decoder_feed(d, "data: x\n\n: c\nretry: 1\n", 22, NULL),
                   SSE_OK);
  sse_decoder_free(d);
}

static void test_strerror(void **state) {
  (void)state;
  assert_string_equal(sse_strerror(SSE_E_LINE_TOO_LONG), "line too long");
  assert_string_equal(sse_strerror(12345), "unknown error");
  assert_int_equal(sse_version(), SSE_VERSION_NUMBER);
  assert_string_equal(sse_version_string(), SSE_VERSION_STRING);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors),
      cmocka_unit_test(test_vectors_in_pieces),
      cmocka_unit_test(test_long_lines),
      cmocka_unit_test(test_line_limit_boundary),
      cmocka_unit_test(test_event_limit_boundary),
      cmocka_unit_test(test_limit_skip_policy),
      cmocka_unit_test(test_limit_sticky_and_reset),
      cmocka_unit_test(test_pieces_exempt_from_line_limit),
      cmocka_unit_test(test_pause_resume),
      cmocka_unit_test(test_pause_consumed_position),
      cmocka_unit_test(test_abort_is_sticky),
      cmocka_unit_test(test_reentry_is_busy),
      cmocka_unit_test(test_finish_and_reset),
      cmocka_unit_test(test_set_last_event_id),
      cmocka_unit_test(test_utf8_option),
      cmocka_unit_test(test_zero_copy),
      cmocka_unit_test(test_no_allocation_per_event),
      cmocka_unit_test(test_memory_bounded),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_strerror),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
