/* The decoder (lib/decoder.c, decoder_api.c, decoder_fast.h): every rule of
 * the standard's parsing and interpretation, each vector decoded whole, at
 * every split point, one byte at a time and at chunk sizes 2, 3, 7 and 64;
 * pause, abort, limits, incremental data, UTF-8 decoding, reset; the 1.0
 * API contract; edge cases at boundaries; the fast paths; allocation
 * failure at every allocation; memory bounded by the limits over a
 * gigabyte; separate decoders on separate threads. Records come from
 * support.c (test_decode) and harness.c (harness_decode). */
#define _POSIX_C_SOURCE 200809L /* getrusage, clock_gettime */

#ifdef SSE_TEST_THREADS
#  include <pthread.h>
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"
#include "unit.h"

/* ---- the standard, limits, pause and reset ---------------------------- */

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

/* The decoder's 1.0 contract, black-box through the public API:
 *  - reset and finish report a pending event through on_discard whatever
 *    the sticky state (an on_data client drops the pieces it holds);
 *  - sse_decoder_set_limits applies from the next line, at every chunking
 *    and when called from a callback;
 *  - SSE_E_NOMEM is recoverable: *consumed is exact, feeding the rest again
 *    continues as if nothing had failed. */

/* An on_data client as an application writes one: it gathers the pieces
 * and takes them as the event's data at on_event, dropping them at
 * on_discard. It also records everything it sees. */
typedef struct client {
  sse_decoder *d;
  test_log pieces; /* the pending event's data */
  test_log log;
  int data_rc;     /* what on_data returns */
  size_t set_line; /* when nonzero, on_comment or on_data (once) sets these */
  size_t set_event;
  int set_from_data;
} client;

static int c_event(void *u, const sse_event *ev) {
  client *c = u;
  test_log_add(&c->log, "event ", 6);
  harness_log_str(&c->log, ev->type, ev->type_len);
  test_log_add(&c->log, "|", 1);
  if (ev->data)
    harness_log_str(&c->log, ev->data, ev->data_len);
  else
    harness_log_str(&c->log, c->pieces.p, c->pieces.len);
  test_log_add(&c->log, "\n", 1);
  c->pieces.len = 0;
  return SSE_OK;
}

static int c_data(void *u, const char *s, size_t n) {
  client *c = u;
  test_log_add(&c->pieces, s, n);
  if (c->set_from_data && c->set_line) {
    assert_int_equal(sse_decoder_set_limits(c->d, c->set_line, c->set_event),
                     SSE_OK);
    c->set_line = 0;
  }
  return c->data_rc;
}

static int c_comment(void *u, const char *s, size_t n) {
  client *c = u;
  test_log_add(&c->log, "comment ", 8);
  harness_log_str(&c->log, s, n);
  test_log_add(&c->log, "\n", 1);
  if (!c->set_from_data && c->set_line) {
    assert_int_equal(sse_decoder_set_limits(c->d, c->set_line, c->set_event),
                     SSE_OK);
    c->set_line = 0;
  }
  return SSE_OK;
}

static int c_discard(void *u, int reason) {
  client *c = u;
  test_log_printf(&c->log, "discard %s\n", sse_error_name(reason));
  c->pieces.len = 0;
  return SSE_OK;
}

static void client_open(client *c, int pieces) {
  sse_decoder_callbacks cb;
  memset(c, 0, sizeof *c);
  memset(&cb, 0, sizeof cb);
  cb.on_event = c_event;
  cb.on_comment = c_comment;
  cb.on_discard = c_discard;
  if (pieces)
    cb.on_data = c_data;
  assert_int_equal(sse_decoder_new(&c->d, &cb, c, NULL), SSE_OK);
}

static void client_close(client *c) {
  sse_decoder_free(c->d);
  test_log_free(&c->pieces);
  test_log_free(&c->log);
}

/* Feeds s[0..n) in chunks of `chunk` bytes (0: whole); returns the first
 * code other than SSE_OK, and logs it. */
static int feed_chunks(client *c, const char *s, size_t n, size_t chunk) {
  size_t at = 0;
  while (at < n) {
    size_t k = chunk && n - at > chunk ? chunk : n - at, used = 0;
    int rc = sse_decoder_feed(c->d, s + at, k, &used);
    if (rc != SSE_OK) {
      test_log_printf(&c->log, "feed %s\n", sse_error_name(rc));
      return rc;
    }
    assert_int_equal(used, k);
    at += k;
  }
  return SSE_OK;
}

/* ---- reset and finish report the pending event --------------------------- */

/* An on_data client reconnects after an error in the middle of an event:
 * reset must tell it to drop the pieces it holds, at every split of the
 * first connection's bytes, for a limit error and a callback abort. */
static void reset_after_error_reports_pending(void **state) {
  static const char first[] = "data: abc\ndata: defghijklmnopqrstuvwxyz\n";
  static const char second[] = "data: next\n\n";
  size_t n = sizeof first - 1, split;
  int why;
  (void)state;
  for (why = 0; why < 2; why++) {
    for (split = 0; split <= n; split++) {
      client c;
      int rc;
      client_open(&c, 1);
      if (why == 0)
        assert_int_equal(sse_decoder_set_limits(c.d, 0, 12), SSE_OK);
      else
        c.data_rc = 12345; /* the first piece aborts */
      rc = feed_chunks(&c, first, split, 0);
      if (rc == SSE_OK)
        rc = feed_chunks(&c, first + split, n - split, 0);
      assert_int_equal(rc, why == 0 ? SSE_E_EVENT_TOO_LARGE : SSE_E_CALLBACK);
      assert_int_equal(sse_decoder_reset(c.d), SSE_OK);
      c.data_rc = SSE_OK;
      assert_int_equal(feed_chunks(&c, second, sizeof second - 1, 0), SSE_OK);
      test_log_add(&c.log, "", 1);
      if (strstr(c.log.p, "discard SSE_E_TRUNCATED\nevent message|next\n") ==
          NULL)
        fail_msg("%s, split %zu: %s", why ? "abort" : "limit", split,
                 c.log.p);
      client_close(&c);
    }
  }
}

/* finish after a sticky error reports the pending event once, returns the
 * error, and a later reset does not report it again. Assembled delivery
 * too. */
static void finish_after_error_reports_pending(void **state) {
  int pieces;
  (void)state;
  for (pieces = 0; pieces <= 1; pieces++) {
    client c;
    client_open(&c, pieces);
    assert_int_equal(sse_decoder_set_limits(c.d, 8, 0), SSE_OK);
    assert_int_equal(feed_chunks(&c, "data: a\ndata: 0123456789\n", 25, 0),
                     pieces ? SSE_OK : SSE_E_LINE_TOO_LONG);
    if (pieces) /* data lines in pieces have no line limit: a comment */
      assert_int_equal(feed_chunks(&c, ":0123456789\n", 12, 0),
                       SSE_E_LINE_TOO_LONG);
    assert_int_equal(sse_decoder_finish(c.d), SSE_E_LINE_TOO_LONG);
    assert_int_equal(sse_decoder_finish(c.d), SSE_E_LINE_TOO_LONG);
    assert_int_equal(sse_decoder_reset(c.d), SSE_OK);
    test_log_add(&c.log, "", 1);
    assert_string_equal(c.log.p, "feed SSE_E_LINE_TOO_LONG\n"
                                 "discard SSE_E_TRUNCATED\n");
    client_close(&c);
  }
}

/* Nothing pending, nothing reported: after a dispatched event, after an
 * error on a line that is not a data line in a block without data, and
 * after a block being skipped (already reported). */
static void nothing_pending_nothing_reported(void **state) {
  client c;
  (void)state;
  client_open(&c, 1);
  assert_int_equal(sse_decoder_set_limits(c.d, 8, 0), SSE_OK);
  assert_int_equal(feed_chunks(&c, "data: a\n\nevent: 0123456789\n", 27, 1),
                   SSE_E_LINE_TOO_LONG);
  assert_int_equal(sse_decoder_reset(c.d), SSE_OK);
  assert_int_equal(sse_decoder_set_options(c.d, SSE_DECODER_SKIP_OVERSIZE),
                   SSE_OK);
  assert_int_equal(feed_chunks(&c, "data: a\n:0123456789\n", 20, 0), SSE_OK);
  assert_int_equal(sse_decoder_reset(c.d), SSE_OK);
  test_log_add(&c.log, "", 1);
  assert_string_equal(c.log.p, "event message|a\nfeed SSE_E_LINE_TOO_LONG\n"
                               "discard SSE_E_LINE_TOO_LONG\n");
  client_close(&c);
}

/* An unfinished last line counts once "data:" arrived, at any chunking. */
static void unfinished_data_line_is_pending(void **state) {
  static const char *const tails[] = {"data", "data:", "data: x", "dat"};
  size_t t, chunk;
  (void)state;
  for (t = 0; t < 4; t++) {
    for (chunk = 0; chunk <= 2; chunk++) {
      client c;
      int want = t == 1 || t == 2;
      client_open(&c, 0);
      assert_int_equal(feed_chunks(&c, tails[t], strlen(tails[t]), chunk),
                       SSE_OK);
      assert_int_equal(sse_decoder_finish(c.d), SSE_OK);
      test_log_add(&c.log, "", 1);
      assert_string_equal(c.log.p, want ? "discard SSE_E_TRUNCATED\n" : "");
      client_close(&c);
    }
  }
}

/* ---- set_limits applies from the next line ------------------------------ */

static const char limits_stream[] =
    "data: 0123456789\n: comment 0123\r\nevent: abcdefghijkl\rdata: x\n\n"
    "data: short\n\ndata: 01234567890123\n\n";

/* Decodes limits_stream with its first k bytes fed in chunks of c1, then
 * set_limits(ml, me), then the rest in chunks of c2; finish. */
static void limits_run(test_log *out, int pieces, size_t k, size_t c1,
                       size_t c2, size_t ml, size_t me) {
  client c;
  size_t n = sizeof limits_stream - 1;
  int rc;
  client_open(&c, pieces);
  rc = feed_chunks(&c, limits_stream, k, c1);
  assert_int_equal(sse_decoder_set_limits(c.d, ml, me), SSE_OK);
  if (rc == SSE_OK)
    rc = feed_chunks(&c, limits_stream + k, n - k, c2);
  if (rc == SSE_OK)
    test_log_printf(&c.log, "finish %s\n",
                    sse_error_name(sse_decoder_finish(c.d)));
  test_log_add(out, c.log.p, c.log.len);
  test_log_add(out, "", 1);
  client_close(&c);
}

/* The line where a byte offset falls: the index of the line that holds
 * byte `at`, counting a line's terminator as its own (so "from the next
 * line" means the first line starting at or after `at`). */
static size_t first_line_from(size_t at) {
  size_t i, line = 0, n = sizeof limits_stream - 1;
  for (i = 0; i < at && i < n; i++) {
    char ch = limits_stream[i];
    if (ch == '\n' || (ch == '\r' && limits_stream[i + 1] != '\n'))
      line++;
  }
  /* `at` inside a line: that line keeps the old limits. */
  if (at > 0 && at <= n && limits_stream[at - 1] != '\n' &&
      !(limits_stream[at - 1] == '\r' && limits_stream[at] != '\n'))
    line++;
  return line;
}

/* The same split gives the same record at every chunking, whatever the
 * delivery mode, and the record is exactly what the rule says: the stream
 * decoded with the old limits up to the split, then lines starting after
 * it with the new ones. Checked by comparing with a run that gets the new
 * limits at the same line start. */
static void set_limits_from_next_line(void **state) {
  static const size_t chunks[] = {0, 1, 2, 3, 7};
  static const size_t limits[][2] = {{10, 0}, {0, 8}, {100, 100}, {15, 30}};
  size_t n = sizeof limits_stream - 1, k, a, b, l;
  int pieces;
  (void)state;
  for (pieces = 0; pieces <= 1; pieces++)
    for (l = 0; l < 4; l++)
      for (k = 0; k <= n; k++) {
        test_log want = {0};
        size_t line = first_line_from(k), start = 0, i, seen = 0;
        /* The reference: the split moved forward to that line's start. */
        for (i = 0; i < n && seen < line; i++)
          if (limits_stream[i] == '\n' ||
              (limits_stream[i] == '\r' && limits_stream[i + 1] != '\n')) {
            seen++;
            start = i + 1;
          }
        if (seen < line)
          start = n;
        limits_run(&want, pieces, start, 0, 0, limits[l][0], limits[l][1]);
        for (a = 0; a < 5; a++)
          for (b = 0; b < 5; b++) {
            test_log got = {0};
            limits_run(&got, pieces, k, chunks[a], chunks[b], limits[l][0],
                       limits[l][1]);
            if (strcmp(got.p, want.p) != 0)
              fail_msg("pieces %d, limits %zu/%zu set after %zu bytes, "
                       "chunks %zu then %zu:\n%s\nwant (set at the line "
                       "start %zu):\n%s",
                       pieces, limits[l][0], limits[l][1], k, chunks[a],
                       chunks[b], got.p, start, want.p);
            test_log_free(&got);
          }
        test_log_free(&want);
      }
}

/* The rule pinned by hand: the line in progress keeps its limits, lowered
 * or raised; the next line gets the new ones. */
static void set_limits_line_in_progress(void **state) {
  client c;
  (void)state;
  client_open(&c, 0);
  assert_int_equal(feed_chunks(&c, "data: 012345678", 15, 0), SSE_OK);
  assert_int_equal(sse_decoder_set_limits(c.d, 8, 0), SSE_OK);
  assert_int_equal(feed_chunks(&c, "9\n\ndata: 0123456789\n", 20, 0),
                   SSE_E_LINE_TOO_LONG);
  test_log_add(&c.log, "", 1);
  assert_string_equal(c.log.p, "event message|0123456789\n"
                               "feed SSE_E_LINE_TOO_LONG\n");
  client_close(&c);

  client_open(&c, 0);
  assert_int_equal(sse_decoder_set_limits(c.d, 8, 0), SSE_OK);
  assert_int_equal(feed_chunks(&c, "data: 01", 8, 0), SSE_OK);
  assert_int_equal(sse_decoder_set_limits(c.d, 100, 0), SSE_OK);
  assert_int_equal(feed_chunks(&c, "23456789\n\n", 10, 0), SSE_E_LINE_TOO_LONG);
  assert_int_equal(sse_decoder_reset(c.d), SSE_OK); /* now 100 */
  assert_int_equal(feed_chunks(&c, "data: 0123456789\n\n", 18, 0), SSE_OK);
  client_close(&c);
}

/* From a callback: a comment lowering max_line does not affect its own
 * line but the next; on_data lowering max_event mid-line lets that line
 * finish and fails the next. */
static void set_limits_from_callbacks(void **state) {
  client c;
  size_t chunk;
  (void)state;
  for (chunk = 0; chunk <= 1; chunk++) {
    client_open(&c, 0);
    c.set_line = 4;
    assert_int_equal(
        feed_chunks(&c, ": long comment\ndata: x\n\ndata: long\n", 35, chunk),
        SSE_E_LINE_TOO_LONG);
    test_log_add(&c.log, "", 1);
    assert_string_equal(c.log.p, "comment long comment\n"
                                 "feed SSE_E_LINE_TOO_LONG\n");
    client_close(&c);

    client_open(&c, 1);
    c.set_line = 100;
    c.set_event = 4;
    c.set_from_data = 1;
    assert_int_equal(feed_chunks(&c, "data: 0123456789\n\ndata: 0123\n\n", 30,
                                 chunk),
                     SSE_E_EVENT_TOO_LARGE);
    test_log_add(&c.log, "", 1);
    assert_string_equal(c.log.p, "event message|0123456789\n"
                                 "feed SSE_E_EVENT_TOO_LARGE\n");
    client_close(&c);
  }
}

/* ---- SSE_E_NOMEM is recoverable ------------------------------------------- */

/* One allocation fails: feed returns SSE_E_NOMEM with an exact count, the
 * caller feeds the rest, and the events are those of a run without
 * failure; other calls keep working meanwhile. */
static void nomem_then_feed_the_rest(void **state) {
  static const char in[] = "event: tick\ndata: first line\ndata: second\n"
                           ": c\nid: 7\n\ndata: ok\n\n";
  size_t n = sizeof in - 1, split;
  (void)state;
  for (split = 1; split < n; split++) {
    test_alloc a;
    sse_allocator mem;
    sse_decoder_callbacks cb;
    client c;
    size_t used = 0, at = 0;
    int rc, failures = 0;
    memset(&a, 0, sizeof a);
    mem = test_alloc_hooks(&a);
    memset(&c, 0, sizeof c);
    memset(&cb, 0, sizeof cb);
    cb.on_event = c_event;
    cb.on_comment = c_comment;
    cb.on_discard = c_discard;
    assert_int_equal(sse_decoder_new(&c.d, &cb, &c, &mem), SSE_OK);
    /* The first part leaves values pointing into it; the next allocation
     * (copying them) fails. */
    a.fail_at = a.calls + 1;
    rc = sse_decoder_feed(c.d, in, split, &used);
    if (rc == SSE_E_NOMEM) {
      failures++;
      assert_true(used <= split);
      assert_int_equal(sse_decoder_feed(c.d, "", 0, NULL), SSE_OK);
    } else {
      assert_int_equal(rc, SSE_OK);
      assert_int_equal(used, split);
    }
    at = used;
    a.fail_at = 0;
    assert_int_equal(sse_decoder_feed(c.d, in + at, n - at, &used), SSE_OK);
    assert_int_equal(used, n - at);
    assert_int_equal(sse_decoder_finish(c.d), SSE_OK);
    test_log_add(&c.log, "", 1);
    assert_string_equal(c.log.p, "comment c\nevent tick|first line\\nsecond\n"
                                 "event message|ok\n");
    {
      size_t idn;
      const char *id = sse_decoder_get_last_event_id(c.d, &idn);
      assert_int_equal(idn, 1);
      assert_memory_equal(id, "7", 1);
    }
    (void)failures;
    client_close(&c);
    assert_int_equal(a.live, 0);
  }
}

/* Decoder edge cases found by the hardening work (fuzzing, coverage): each
 * test pins a behaviour at a boundary the main suite does not reach.
 * Records come from tests/harness.c. */

/* Decodes `in` with run r at every two-way split and whole, and checks each
 * record equals `want`. */
static void expect_all_splits(const harness_run *base, const char *in,
                              const char *want) {
  size_t n = strlen(in), cut;
  for (cut = 0; cut <= n; cut++) {
    harness_run r = *base;
    test_log log = {0};
    int violations = 0;
    r.cuts = &cut;
    r.ncuts = cut < n ? 1 : 0;
    r.violations = &violations;
    harness_decode(&r, in, n, &log);
    if (strcmp(log.p, want) != 0 || violations)
      fail_msg("split at %zu:\n%s\nwant:\n%s", cut, log.p, want);
    test_log_free(&log);
  }
}

/* Regression: with on_data, a callback that paused on the LF joining two
 * data lines lost the value of the second line (whole-line path), and a
 * pause while a partial line was being classified as data lost the rest
 * of the chunk. Pausing must never change what is delivered. */
static void pause_in_data_pieces(void **state) {
  harness_run r;
  size_t every;
  (void)state;
  for (every = 1; every <= 4; every++) {
    memset(&r, 0, sizeof r);
    r.pieces = 1;
    r.pause_every = every;
    expect_all_splits(&r, "data:a\ndata::lhlo\ndata: xyz\n\n",
                      "event message|a\\n:lhlo\\nxyz|\nlast \nresult SSE_OK\n");
    expect_all_splits(&r, "data::lhlo\n\n",
                      "event message|:lhlo|\nlast \nresult SSE_OK\n");
    expect_all_splits(&r, "data\ndata\ndata:12345678\r\n\r\n",
                      "event message|\\n\\n12345678|\nlast \nresult SSE_OK\n");
  }
}

/* Regression: max_event counts the data buffer exactly (values plus one LF
 * each): a buffer of exactly max_event bytes passes, one more fails, for a
 * first line and a later line, at every chunking (a later line, and any
 * line cut by a chunk boundary, used to be refused one byte early). */
static void max_event_is_exact(void **state) {
  harness_run r;
  int pieces;
  (void)state;
  for (pieces = 0; pieces <= 1; pieces++) {
    memset(&r, 0, sizeof r);
    r.pieces = pieces;
    r.max_event = 5; /* "abcd\n" */
    expect_all_splits(&r, "data: abcd\n\n",
                      "event message|abcd|\nlast \nresult SSE_OK\n");
    expect_all_splits(&r, "data: a\ndata: bc\n\n",
                      "event message|a\\nbc|\nlast \nresult SSE_OK\n");
    expect_all_splits(&r, "data\ndata\ndata\ndata\ndata\n\n",
                      "event message|\\n\\n\\n\\n|\nlast \nresult SSE_OK\n");
    r.max_event = 4;
    expect_all_splits(&r, "data: abcd\n\n", "discard SSE_E_TRUNCATED\nlast \nresult SSE_E_EVENT_TOO_LARGE\n");
    expect_all_splits(&r, "data: a\ndata: bc\n\n", "discard SSE_E_TRUNCATED\nlast \nresult SSE_E_EVENT_TOO_LARGE\n");
    expect_all_splits(&r, "data\ndata\ndata\ndata\ndata\n\n",
                      "discard SSE_E_TRUNCATED\nlast \nresult SSE_E_EVENT_TOO_LARGE\n");
  }
}

/* Regression: a data line over both max_line and max_event gave
 * SSE_E_LINE_TOO_LONG when whole in one chunk but SSE_E_EVENT_TOO_LARGE
 * when cut (the event limit was met on the first bytes). Buffered data
 * lines now meet max_event as they end, so the code is the same at every
 * chunking; streamed data (on_data) has no line limit. */
static void limit_code_does_not_depend_on_chunking(void **state) {
  static const char line[] = "data:0123456789abcdefghij\n\n";
  harness_run r;
  (void)state;
  memset(&r, 0, sizeof r);
  r.max_line = 11;
  r.max_event = 1;
  expect_all_splits(&r, line, "discard SSE_E_TRUNCATED\nlast \nresult SSE_E_LINE_TOO_LONG\n");
  r.options = SSE_DECODER_SKIP_OVERSIZE;
  expect_all_splits(&r, line, "discard SSE_E_LINE_TOO_LONG\nlast \nresult SSE_OK\n");
  r.pieces = 1;
  expect_all_splits(&r, line, "discard SSE_E_EVENT_TOO_LARGE\nlast \nresult SSE_OK\n");
  r.options = 0;
  expect_all_splits(&r, line, "discard SSE_E_TRUNCATED\nlast \nresult SSE_E_EVENT_TOO_LARGE\n");
  r.pieces = 0;
  r.max_line = 100;
  r.max_event = 20;
  expect_all_splits(&r, "data: 0123456789\ndata: 012345678\n\n",
                    "discard SSE_E_TRUNCATED\nlast \nresult SSE_E_EVENT_TOO_LARGE\n");
  r.max_event = 21;
  expect_all_splits(&r, "data: 0123456789\ndata: 012345678\n\n",
                    "event message|0123456789\\n012345678|\nlast \n"
                    "result SSE_OK\n");
}

/* ---- direct API use ---------------------------------------------------- */

typedef struct cbstate {
  int event_rc, discard_rc, retry_rc, comment_rc, data_rc;
  size_t events, discards, retries, comments, pieces;
  int last_discard;
} cbstate;

static int e_event(void *u, const sse_event *ev) {
  cbstate *c = u;
  (void)ev;
  c->events++;
  return c->event_rc;
}
static int e_discard(void *u, int reason) {
  cbstate *c = u;
  c->discards++;
  c->last_discard = reason;
  return c->discard_rc;
}
static int e_retry(void *u, uint64_t ms) {
  cbstate *c = u;
  (void)ms;
  c->retries++;
  return c->retry_rc;
}
static int e_comment(void *u, const char *s, size_t n) {
  cbstate *c = u;
  (void)s;
  (void)n;
  c->comments++;
  return c->comment_rc;
}
static int e_data(void *u, const char *s, size_t n) {
  cbstate *c = u;
  (void)s;
  (void)n;
  c->pieces++;
  return c->data_rc;
}

static sse_decoder *make(cbstate *c, int all) {
  sse_decoder_callbacks cb;
  sse_decoder *d = NULL;
  memset(&cb, 0, sizeof cb);
  cb.on_event = e_event;
  cb.on_discard = e_discard;
  if (all) {
    cb.on_retry = e_retry;
    cb.on_comment = e_comment;
  }
  assert_int_equal(sse_decoder_new(&d, &cb, c, NULL), SSE_OK);
  return d;
}

static int feed_str(sse_decoder *d, const char *s) {
  size_t used = 0;
  return sse_decoder_feed(d, s, strlen(s), &used);
}

/* NULL objects and bad arguments get SSE_E_INVALID_ARGUMENT, never a
 * crash. */
static void api_arguments(void **state) {
  sse_decoder *d;
  cbstate c;
  size_t used = 9, n = 9;
  (void)state;
  memset(&c, 0, sizeof c);
  assert_int_equal(sse_decoder_new(NULL, NULL, NULL, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_feed(NULL, "x", 1, &used),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(used, 0);
  assert_int_equal(sse_decoder_finish(NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_reset(NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_set_limits(NULL, 1, 1), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_set_options(NULL, 0), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_set_last_event_id(NULL, "a", 1),
                   SSE_E_INVALID_ARGUMENT);
  assert_string_equal(sse_decoder_get_last_event_id(NULL, &n), "");
  assert_int_equal(n, 0);
  sse_decoder_free(NULL);

  d = make(&c, 0);
  assert_int_equal(sse_decoder_feed(d, NULL, 1, NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_feed(d, NULL, 0, NULL), SSE_OK);
  assert_int_equal(sse_decoder_set_options(d, 1u << 7), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_set_last_event_id(d, NULL, 2),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_decoder_set_last_event_id(d, "a\nb", 3),
                   SSE_E_INVALID_FIELD);
  assert_int_equal(sse_decoder_set_last_event_id(d, "a\0b", 3),
                   SSE_E_INVALID_FIELD);
  assert_int_equal(sse_decoder_set_limits(d, 2, 0), SSE_OK);
  assert_int_equal(sse_decoder_set_last_event_id(d, "abc", 3),
                   SSE_E_INVALID_VALUE);
  assert_int_equal(sse_decoder_set_last_event_id(d, "ab", 2), SSE_OK);
  assert_int_equal(sse_decoder_set_last_event_id(d, NULL, 0), SSE_OK);
  assert_string_equal(sse_decoder_get_last_event_id(d, NULL), "");
  sse_decoder_free(d);
}

/* Finish twice, feed after finish, reset after an error and after finish. */
static void api_states(void **state) {
  sse_decoder *d;
  cbstate c;
  (void)state;
  memset(&c, 0, sizeof c);
  d = make(&c, 0);
  assert_int_equal(feed_str(d, "data: x\n\ndata: pending"), SSE_OK);
  assert_int_equal(sse_decoder_finish(d), SSE_OK);
  assert_int_equal(c.discards, 1);
  assert_int_equal(c.last_discard, SSE_E_TRUNCATED);
  assert_int_equal(sse_decoder_finish(d), SSE_OK); /* again: nothing */
  assert_int_equal(c.discards, 1);
  assert_int_equal(feed_str(d, "data: y\n\n"), SSE_E_STATE);
  assert_int_equal(sse_decoder_reset(d), SSE_OK);
  assert_int_equal(feed_str(d, "data: y\n\n"), SSE_OK);
  assert_int_equal(c.events, 2);
  /* A sticky error, then reset. */
  assert_int_equal(sse_decoder_set_limits(d, 4, 0), SSE_OK);
  assert_int_equal(feed_str(d, "data: toolong\n"), SSE_E_LINE_TOO_LONG);
  assert_int_equal(sse_decoder_reset(d), SSE_OK);
  assert_int_equal(c.discards, 2); /* the data line that failed */
  assert_int_equal(c.last_discard, SSE_E_TRUNCATED);
  assert_int_equal(feed_str(d, "data\n\n"), SSE_OK);
  assert_int_equal(c.events, 3);
  /* Reset with a pending event reports it, and ignores the callback's
   * return value. */
  c.discard_rc = -77;
  assert_int_equal(feed_str(d, "data\n"), SSE_OK);
  assert_int_equal(sse_decoder_reset(d), SSE_OK);
  assert_int_equal(c.last_discard, SSE_E_TRUNCATED);
  assert_int_equal(c.discards, 3);
  /* finish with an aborting on_discard: SSE_E_CALLBACK, sticky. */
  assert_int_equal(feed_str(d, "data\n"), SSE_OK);
  assert_int_equal(sse_decoder_finish(d), SSE_E_CALLBACK);
  assert_int_equal(sse_decoder_finish(d), SSE_E_CALLBACK);
  assert_int_equal(feed_str(d, "x"), SSE_E_CALLBACK);
  sse_decoder_free(d);
}

/* A callback that returns neither SSE_OK nor SSE_PAUSE aborts the feed
 * with SSE_E_CALLBACK, sticky until reset, for every kind of callback. */
static void callbacks_abort(void **state) {
  static const char *const inputs[] = {"data: x\n\n", "retry: 5\n",
                                       ": hi\n", "data: a\ndata: b\n\n"};
  size_t i;
  (void)state;
  for (i = 0; i < 4; i++) {
    cbstate c;
    sse_decoder_callbacks cb;
    sse_decoder *d = NULL;
    memset(&c, 0, sizeof c);
    c.event_rc = c.retry_rc = c.comment_rc = c.data_rc = 42;
    memset(&cb, 0, sizeof cb);
    cb.on_event = e_event;
    cb.on_retry = e_retry;
    cb.on_comment = e_comment;
    if (i == 3)
      cb.on_data = e_data;
    assert_int_equal(sse_decoder_new(&d, &cb, &c, NULL), SSE_OK);
    assert_int_equal(feed_str(d, inputs[i]), SSE_E_CALLBACK);
    assert_int_equal(feed_str(d, "data: more\n\n"), SSE_E_CALLBACK);
    assert_int_equal(sse_decoder_reset(d), SSE_OK);
    c.event_rc = c.retry_rc = c.comment_rc = c.data_rc = SSE_OK;
    assert_int_equal(feed_str(d, inputs[i]), SSE_OK);
    sse_decoder_free(d);
  }
}

/* No callbacks at all: everything is parsed and dropped quietly. */
static void no_callbacks(void **state) {
  sse_decoder *d = NULL;
  size_t n;
  (void)state;
  assert_int_equal(sse_decoder_new(&d, NULL, NULL, NULL), SSE_OK);
  assert_int_equal(sse_decoder_set_options(d, SSE_DECODER_SKIP_OVERSIZE),
                   SSE_OK);
  assert_int_equal(sse_decoder_set_limits(d, 8, 8), SSE_OK);
  assert_int_equal(feed_str(d, "retry: 9\n: c\nid: 1\ndata: x\n\n"), SSE_OK);
  assert_int_equal(feed_str(d, "data: 0123456789\n\ndata: y\n\n"), SSE_OK);
  assert_int_equal(feed_str(d, "data: y"), SSE_OK);
  assert_int_equal(sse_decoder_finish(d), SSE_OK);
  assert_memory_equal(sse_decoder_get_last_event_id(d, &n), "1", 1);
  assert_int_equal(n, 1);
  sse_decoder_free(d);
}

/* Field names that almost match are unknown fields; the rest of the line
 * never matters. Run through every chunking against the reference. */
static void near_miss_field_names(void **state) {
  harness_run r;
  (void)state;
  memset(&r, 0, sizeof r);
  r.comments = 1;
  expect_all_splits(&r,
                    "d\nda\ndat\ndatx\ndata\ndatax:1\ndxta:2\ndaxa:3\ndatb:4\n"
                    "e\neven\neventx\nevent\nevenx:t\nid\nix:5\ni\nidx:6\n"
                    "r\nretr\nretryx:7\nretry\nretrx:8\nretry:\nretry:12a\n"
                    "z:9\n:\n\n",
                    "comment \nevent message||\nlast \nresult SSE_OK\n");
}

/* Limits at the classification of a partial line (its first six bytes),
 * and while a block is being skipped. */
static void partial_line_limits(void **state) {
  harness_run r;
  (void)state;
  memset(&r, 0, sizeof r);
  r.max_line = 3;
  expect_all_splits(&r, "data: x\n\n", "discard SSE_E_TRUNCATED\nlast \nresult SSE_E_LINE_TOO_LONG\n");
  expect_all_splits(&r, "abcdefgh\n", "last \nresult SSE_E_LINE_TOO_LONG\n");
  r.max_line = 7;
  expect_all_splits(&r, ": abcdefgh\n", "last \nresult SSE_E_LINE_TOO_LONG\n");
  r.comments = 1;
  r.options = SSE_DECODER_SKIP_OVERSIZE;
  expect_all_splits(&r,
                    "data: 0123456789\ndata: more\nid: 7\nevent: x\n: c\n\n"
                    "data:ok\n\n",
                    "discard SSE_E_LINE_TOO_LONG\nevent message|ok|\nlast \nresult SSE_OK\n");
  r.pieces = 1;
  r.max_event = 6;
  expect_all_splits(&r, "data: ab\ndata: cd\ndata: ef\n\ndata: ok\n\n",
                    "discard SSE_E_EVENT_TOO_LARGE\nevent message|ok|\nlast \nresult SSE_OK\n");
  expect_all_splits(&r, "data: abcd\ndata\ndata\n\n",
                    "discard SSE_E_EVENT_TOO_LARGE\nlast \nresult SSE_OK\n");
  r.pieces = 0;
  expect_all_splits(&r, "data:ab\ndata\ndata\ndata\ndata\n\ndata:ok\n\n",
                    "discard SSE_E_EVENT_TOO_LARGE\nevent message|ok|\nlast \nresult SSE_OK\n");
}

/* A byte order mark only at the very start, whole or cut anywhere, and
 * bytes that start like one but are not. */
static void bom_edges(void **state) {
  harness_run r;
  (void)state;
  memset(&r, 0, sizeof r);
  expect_all_splits(&r, "\xEF\xBB\xBF" "data: a\n\n",
                    "event message|a|\nlast \nresult SSE_OK\n");
  expect_all_splits(&r, "\xEF\xBB" "data: a\n\n", "last \nresult SSE_OK\n");
  expect_all_splits(&r, "\xEF" "data: a\n\n", "last \nresult SSE_OK\n");
  expect_all_splits(&r, "\xEF\xBB\n" "data: a\n\n",
                    "event message|a|\nlast \nresult SSE_OK\n");
  expect_all_splits(&r, "\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\n",
                    "last \nresult SSE_OK\n");
  expect_all_splits(&r, "\xEF\xBB\xBF", "last \nresult SSE_OK\n");
  expect_all_splits(&r, "\xEF\xBB", "last \nresult SSE_OK\n");
}

/* Under SSE_DECODER_UTF8, a valid type and an invalid id, and the
 * reverse; a comment to repair. */
static void utf8_fields(void **state) {
  harness_run r;
  (void)state;
  memset(&r, 0, sizeof r);
  r.options = SSE_DECODER_UTF8;
  r.comments = 1;
  expect_all_splits(&r, "event: caf\xC3\xA9\nid: \xFF\ndata: \xF0\x9F\x98\x80\n\n",
                    "event caf\\xc3\\xa9|\\xf0\\x9f\\x98\\x80|\\xef\\xbf\\xbd\n"
                    "last \\xff\nresult SSE_OK\n");
  expect_all_splits(&r, "event: \xE0\x80\nid: ok\ndata: \xF4\x90\x80\x80\n\n",
                    "event \\xef\\xbf\\xbd\\xef\\xbf\\xbd|\\xef\\xbf\\xbd\\xef"
                    "\\xbf\\xbd\\xef\\xbf\\xbd\\xef\\xbf\\xbd|ok\n"
                    "last ok\nresult SSE_OK\n");
  expect_all_splits(&r, ": \xF0\x90\x80\n: \xF0\x90\x80\x80\n",
                    "comment \\xef\\xbf\\xbd\ncomment \\xf0\\x90\\x80\\x80\n"
                    "last \nresult SSE_OK\n");
}

/* Decoder fast paths: generated streams that reach the paths taken for
 * speed (lines found 64 bytes at a time, the skip through long lines, data
 * lines copied in fixed 128-byte steps near buffer and chunk ends, long data
 * lines copied and scanned in one pass across chunks, bytes inside a data
 * line fed without the line machinery). Every stream is checked whole
 * against the events it was generated from, then at many chunkings against
 * the whole run, also at limits set exactly at and just below its needs. */

typedef struct gen {
  test_log in;     /* the stream */
  test_log want;   /* its log, as test_decode writes it */
  test_log data;   /* the pending event's data */
  size_t max_data; /* the largest event's data buffer: data + 1 */
  size_t max_line; /* the longest line */
  unsigned long seed;
} gen;

static unsigned next_rand(gen *g) {
  g->seed = g->seed * 1103515245u + 12345u;
  return (unsigned)((g->seed >> 16) & 0x7fff);
}

/* A line end; never an LF right after a CR that ended the line before
 * (the two would be one CRLF). */
static const char *eol(gen *g) {
  static const char *const ends[] = {"\n", "\r", "\r\n"};
  const char *e = ends[next_rand(g) % 3];
  if (g->in.len && g->in.p[g->in.len - 1] == '\r' && e[0] == '\n')
    e = "\r\n";
  return e;
}

/* A data line with a value of n bytes (no CR or LF in it). */
static void data_line(gen *g, size_t n) {
  size_t i, start;
  int space = next_rand(g) % 4 != 0;
  test_log_add(&g->in, space ? "data: " : "data:", space ? 6 : 5);
  if (g->data.p) /* a further line */
    test_log_add(&g->data, "\n", 1);
  else
    test_log_add(&g->data, "", 0); /* the event has data from now on */
  start = g->data.len;
  for (i = 0; i < n; i++) {
    char c = (char)('!' + (next_rand(g) + i) % 90);
    if (i == 0 && !space && c == ' ')
      c = '_'; /* a leading space would be stripped */
    test_log_add(&g->data, &c, 1);
  }
  test_log_add(&g->in, g->data.p + start, n);
  {
    const char *e = eol(g);
    test_log_add(&g->in, e, strlen(e));
  }
  if (n + 6 > g->max_line)
    g->max_line = n + 6;
}

static void end_event(gen *g) {
  const char *e = eol(g);
  test_log_add(&g->in, e, strlen(e));
  if (g->data.p) {
    test_log_add(&g->want, "event message|", 14);
    test_log_add(&g->want, g->data.p, g->data.len);
    test_log_add(&g->want, "|\n", 2);
    if (g->data.len + 1 > g->max_data)
      g->max_data = g->data.len + 1;
  }
  test_log_free(&g->data);
}

static void gen_free(gen *g) {
  test_log_free(&g->in);
  test_log_free(&g->want);
  test_log_free(&g->data);
}

/* Chunk sizes around the block (64), fixed-copy (128), long-path (256) and
 * chunk (64 KiB) sizes, plus a random split per stream. */
static const size_t CHUNKS[] = {1,   2,   3,   7,    63,   64,    65,
                                127, 129, 255, 257,  1000, 4096, 65536};

static void expect_same_at_every_chunking(const test_run *run, const gen *g,
                                          const char *want) {
  size_t i;
  test_log whole = test_decode(run, g->in.p, g->in.len, 0);
  if (want)
    assert_string_equal(whole.p, want);
  for (i = 0; i < sizeof CHUNKS / sizeof CHUNKS[0]; i++) {
    test_log l = test_decode(run, g->in.p, g->in.len, CHUNKS[i]);
    if (strcmp(l.p, whole.p) != 0)
      fail_msg("chunk %zu differs from the whole feed", CHUNKS[i]);
    test_log_free(&l);
  }
  {
    size_t cuts[9], k;
    unsigned long s = g->in.len;
    for (k = 0; k < 9; k++) {
      s = s * 1103515245u + 12345u;
      cuts[k] = g->in.len > 1 ? 1 + (size_t)((s >> 8) % (g->in.len - 1)) : 0;
    }
    for (k = 1; k < 9; k++) { /* insertion sort, then drop duplicates */
      size_t v = cuts[k], j = k;
      for (; j && cuts[j - 1] > v; j--)
        cuts[j] = cuts[j - 1];
      cuts[j] = v;
    }
    for (i = k = 0; k < 9; k++)
      if (cuts[k] && (!i || cuts[k] != cuts[i - 1]))
        cuts[i++] = cuts[k];
    {
      test_log l = test_decode_split(run, g->in.p, g->in.len, cuts, i);
      assert_string_equal(l.p, whole.p);
      test_log_free(&l);
    }
  }
  test_log_free(&whole);
}

/* Runs g's stream with default limits (against its generated events), with
 * limits exactly at its needs (the same), and with each one byte short (the
 * limit error, at every chunking alike). */
static void check_stream(gen *g, int pieces) {
  test_run run;
  test_log want = {0};
  memset(&run, 0, sizeof run);
  run.finish = 1;
  run.pieces = pieces;
  test_log_add(&want, g->want.p ? g->want.p : "", g->want.len);
  test_log_add(&want, "result SSE_OK\n", 14);
  expect_same_at_every_chunking(&run, g, want.p);
  run.max_event = g->max_data;
  run.max_line = g->max_line;
  expect_same_at_every_chunking(&run, g, want.p);
  run.max_event = g->max_data - 1;
  if (run.max_event) {
    test_log l = test_decode(&run, g->in.p, g->in.len, 0);
    assert_non_null(strstr(l.p, "result SSE_E_EVENT_TOO_LARGE\n"));
    test_log_free(&l);
    expect_same_at_every_chunking(&run, g, NULL);
  }
  test_log_free(&want);
}

/* Events of 1 to 40 data lines of 0 to 300 bytes. */
static void test_many_short_lines(void **state) {
  int round;
  (void)state;
  for (round = 0; round < 12; round++) {
    gen g;
    int ev;
    memset(&g, 0, sizeof g);
    g.seed = 100 + (unsigned long)round;
    for (ev = 0; ev < 40; ev++) {
      int k = 1 + (int)(next_rand(&g) % 40), i;
      for (i = 0; i < k; i++)
        data_line(&g, next_rand(&g) % (round % 2 ? 300 : 140));
      end_event(&g);
    }
    check_stream(&g, round % 4 == 3);
    gen_free(&g);
  }
}

/* Lines of every length around the 64-byte blocks and the 128-byte copy. */
static void test_lengths_around_blocks(void **state) {
  gen g;
  size_t n;
  (void)state;
  memset(&g, 0, sizeof g);
  g.seed = 7;
  for (n = 0; n < 270; n++) {
    data_line(&g, n);
    data_line(&g, 270 - n);
    if (n % 3 == 0)
      end_event(&g);
  }
  end_event(&g);
  check_stream(&g, 0);
  gen_free(&g);
}

/* Data lines longer than a 64 KiB chunk, between short ones. */
static void test_long_lines_fast_paths(void **state) {
  int round;
  (void)state;
  for (round = 0; round < 2; round++) {
    gen g;
    memset(&g, 0, sizeof g);
    g.seed = 900 + (unsigned long)round;
    data_line(&g, 5);
    end_event(&g);
    data_line(&g, 66000 + next_rand(&g));
    end_event(&g);
    data_line(&g, 3);
    data_line(&g, 70000 + 1000 * (size_t)round);
    data_line(&g, 300);
    end_event(&g);
    data_line(&g, 3000);
    end_event(&g);
    check_stream(&g, round == 1);
    gen_free(&g);
  }
}

/*
 * Allocation failure, systematically: each scenario (a stream, decoder
 * options, a chunking) is run once with a counting allocator, then again
 * failing allocation k = 1, 2, ... until a run makes fewer than k
 * allocations, in two modes:
 *  - fail once (only allocation k): the call that met it returns
 *    SSE_E_NOMEM exactly once, which is recoverable: the driver feeds the
 *    bytes not consumed again (tests/harness.c), and the record must be
 *    exactly that of the run without failure (no event lost, doubled or
 *    changed: *consumed was exact and the decoder as if fed only those);
 *  - fail forever (k and every later one): the run ends in SSE_E_NOMEM
 *    and nothing else, and the record before it is a prefix of the run
 *    without failure.
 * Always: no contract violation (tests/harness.c) and nothing live after
 * sse_decoder_free (blocks and bytes).
 *
 * The encoder allocates nothing (it writes into caller memory); its output
 * is decoded under allocation failure in the round-trip scenarios.
 */

typedef struct oom_stream {
  const char *name;
  const char *bytes;
  size_t len; /* 0: strlen */
} oom_stream;

/* Totals, printed at the end. */
static size_t n_scenarios, n_failure_points, n_runs;

static size_t first_tail(const test_log *l) {
  const char *p = strstr(l->p, "\nlast ");
  if (strncmp(l->p, "last ", 5) == 0 || strncmp(l->p, "result ", 7) == 0)
    return 0;
  if (p)
    return (size_t)(p - l->p) + 1;
  p = strstr(l->p, "\nresult ");
  return p ? (size_t)(p - l->p) + 1 : l->len;
}

typedef struct oom_ctx {
  const char *what;
  const harness_run *base;
  const char *in;
  size_t n;
  size_t calls; /* allocations without failure */
  test_log want; /* the record without failure */
} oom_ctx;

/* One run of a scenario (a test_oom_run): without failure it records the
 * run; failing once, SSE_E_NOMEM is fed again and the record must be
 * exactly the run without failure's; failing forever, the run ends in
 * SSE_E_NOMEM alone after a prefix of that record. No contract violation
 * ever. */
static size_t oom_run(void *ctx, test_alloc *a, size_t *nomem) {
  oom_ctx *c = ctx;
  harness_run r = *c->base;
  test_log got = {0};
  int violations = 0, nomems = 0;
  size_t k = a->fail_at;
  char nomem_result[32];
  snprintf(nomem_result, sizeof nomem_result, "result %s\n",
           sse_error_name(SSE_E_NOMEM));
  r.alloc = a;
  r.violations = &violations;
  if (!k) {
    harness_decode(&r, c->in, c->n, &c->want);
    if (violations)
      fail_msg("%s: violation without failure:\n%s", c->what, c->want.p);
    return c->calls = a->calls;
  }
  r.retry_on_nomem = 1;
  r.nomems = &nomems;
  harness_decode(&r, c->in, c->n, &got);
  *nomem += (size_t)nomems;
  if (violations)
    fail_msg("%s: failing allocation %zu (%s):\n%s", c->what, k,
             a->fail_forever ? "forever" : "once", got.p);
  if (!a->fail_forever) {
    if (strcmp(got.p, c->want.p) != 0)
      fail_msg("%s: failing allocation %zu once, then feeding the rest "
               "again:\n%s\nwant:\n%s",
               c->what, k, got.p, c->want.p);
  } else if (k <= c->calls) {
    size_t cut = first_tail(&got);
    const char *res = strstr(got.p + cut, "result ");
    if (!res || strcmp(res, nomem_result) != 0)
      fail_msg("%s: failing from allocation %zu on did not end in "
               "SSE_E_NOMEM alone:\n%s",
               c->what, k, got.p);
    if (cut > c->want.len || memcmp(got.p, c->want.p, cut) != 0)
      fail_msg("%s: failing from allocation %zu on, the record before "
               "the failure differs:\n%s\nwant:\n%s",
               c->what, k, got.p, c->want.p);
  }
  test_log_free(&got);
  return a->calls;
}

/* One scenario: the no-failure record, then every failure point in both
 * modes (test_oom_sweep). */
static void run_scenario(const char *what, const harness_run *base,
                         const char *in, size_t n) {
  oom_ctx c;
  size_t calls;
  memset(&c, 0, sizeof c);
  c.what = what;
  c.base = base;
  c.in = in;
  c.n = n;
  calls = test_oom_sweep(what, oom_run, &c, 0, 1);
  n_scenarios++;
  n_failure_points += calls;
  n_runs += 2 * (calls + 1);
  test_log_free(&c.want);
}

/* Every stream under every option set and chunking. */
static void sweep(const oom_stream *streams, size_t count) {
  static const struct {
    const char *name;
    unsigned options;
    int comments, pieces, pause;
    size_t max_line, max_event;
  } opts[] = {
      {"plain", 0, 0, 0, 0, 0, 0},
      {"utf8+comments", SSE_DECODER_UTF8, 1, 0, 0, 0, 0},
      {"pieces+pause", 0, 1, 1, 2, 0, 0},
      {"utf8+pieces", SSE_DECODER_UTF8, 0, 1, 0, 0, 0},
      {"tight", 0, 1, 0, 0, 24, 40},
      {"tight+skip+utf8", SSE_DECODER_SKIP_OVERSIZE | SSE_DECODER_UTF8, 1, 0,
       3, 24, 40},
  };
  static const size_t chunks[] = {0, 1, 7, 64, 512};
  size_t s, o, c;
  for (s = 0; s < count; s++) {
    size_t n = streams[s].len ? streams[s].len : strlen(streams[s].bytes);
    size_t *cuts = malloc(sizeof(size_t) * (n + 1));
    assert_non_null(cuts);
    for (o = 0; o < sizeof opts / sizeof opts[0]; o++) {
      for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        harness_run r;
        char what[160];
        memset(&r, 0, sizeof r);
        r.options = opts[o].options;
        r.comments = opts[o].comments;
        r.pieces = opts[o].pieces;
        r.pause_every = (size_t)opts[o].pause;
        r.max_line = opts[o].max_line;
        r.max_event = opts[o].max_event;
        r.cuts = cuts;
        r.ncuts = harness_fixed_cuts(n, chunks[c], cuts);
        if (s % 3 == 0) { /* some start from a stored last event ID */
          r.last_id = "stored-7";
          r.last_id_len = 8;
        }
        snprintf(what, sizeof what, "%s, %s, chunk %zu", streams[s].name,
                 opts[o].name, chunks[c]);
        run_scenario(what, &r, streams[s].bytes, n);
      }
    }
    free(cuts);
  }
}

static void oom_spec_like_streams(void **state) {
  static const oom_stream streams[] = {
      {"two events", "data: 1\n\ndata: 2\n\n", 0},
      {"mixed line ends", "data: a\rdata: b\ndata: c\r\ndata: d\n\r\n", 0},
      {"typed with ids",
       "event: add\nid: 1\ndata: x\n\nevent: del\nid: 2\ndata: y\ndata: z\n\n",
       0},
      {"bom, comments, retry",
       "\xEF\xBB\xBF: hi\nretry: 1500\n: there\ndata: after\n\n", 0},
      {"id reset and nul", "id: a\ndata: 1\n\nid\ndata: 2\n\nid: x\0y\ndata: 3\n\n",
       44},
      {"partial bom", "\xEF\xBB: not a bom\n\ndata: x\n\n", 0},
      {"unterminated", "data: one\n\ndata: pending", 0},
  };
  (void)state;
  sweep(streams, sizeof streams / sizeof streams[0]);
}

/* Writes head, then fill bytes (a repeating pattern), then tail into buf;
 * returns the length. */
static size_t build(char *buf, size_t size, const char *head,
                    const char *pattern, const char *tail) {
  size_t h = strlen(head), t = strlen(tail), p = strlen(pattern), i;
  assert_true(h + t < size);
  memcpy(buf, head, h);
  for (i = h; i < size - t; i++)
    buf[i] = pattern[(i - h) % p];
  memcpy(buf + size - t, tail, t);
  return size;
}

static void oom_growth_streams(void **state) {
  /* Lines long enough to grow every buffer several times, when chunked. */
  static char longline[2048], longtype[600], longid[700], bad[300];
  oom_stream streams[4];
  (void)state;
  streams[0].name = "long data line";
  streams[0].bytes = longline;
  streams[0].len = build(longline, sizeof longline, "data: ",
                         "abcdefghijklmnopqrstuvwxyz", "\n\n");
  streams[1].name = "long event type";
  streams[1].bytes = longtype;
  streams[1].len = build(longtype, sizeof longtype, "event: ", "t",
                         "\ndata: d\ndata: e\n\n");
  streams[2].name = "long id";
  streams[2].bytes = longid;
  streams[2].len = build(longid, sizeof longid, "id: ", "i", "\ndata: x\n\n");
  streams[3].name = "invalid UTF-8 everywhere";
  streams[3].bytes = bad;
  streams[3].len = build(bad, sizeof bad, "event: \xC0\nid: \xED\xA0\x80\ndata: ",
                         "\xE2\x82\x82", "\n:\xFF\xFE\n\n");
  sweep(streams, 4);
}

/* Encoder output, decoded under allocation failure. */
static void oom_encoder_roundtrip(void **state) {
  static const sse_message events[] = {
      {"update", 6, "line1\r\nline2\rline3\n", 19, "41", 2},
      {NULL, 0, "", 0, NULL, 0},
      {"t", 1, NULL, 0, "only-id", 7},
      {NULL, 0, " leading space", 14, "", 0},
  };
  char buf[1024];
  size_t at = 0, i, len;
  oom_stream s;
  (void)state;
  for (i = 0; i < sizeof events / sizeof events[0]; i++) {
    assert_int_equal(
        sse_encode_message(buf + at, sizeof buf - at, &events[i], &len),
        SSE_OK);
    at += len;
  }
  assert_int_equal(sse_encode_retry(buf + at, sizeof buf - at, 2500, &len),
                   SSE_OK);
  at += len;
  assert_int_equal(
      sse_encode_comment(buf + at, sizeof buf - at, "a\nb", 3, &len), SSE_OK);
  at += len;
  s.name = "encoder output";
  s.bytes = buf;
  s.len = at;
  sweep(&s, 1);
}

/* sse_decoder_new and sse_decoder_set_last_event_id on their own: a failed
 * set keeps the previous id. */
static void oom_new_and_set_id(void **state) {
  static const char longer[] = "a-much-longer-id-that-needs-the-buffer-to-"
                               "grow-past-its-first-sixty-four-bytes-0123456789";
  test_alloc a;
  sse_allocator mem;
  sse_decoder *d = NULL;
  const char *id;
  size_t n;
  (void)state;
  memset(&a, 0, sizeof a);
  a.fail_at = 1;
  mem = test_alloc_hooks(&a);
  assert_int_equal(sse_decoder_new(&d, NULL, NULL, &mem), SSE_E_NOMEM);
  assert_null(d);
  assert_int_equal(a.live, 0);
  a.fail_at = 3; /* call 2 creates, call 3 (the id) fails */
  assert_int_equal(sse_decoder_new(&d, NULL, NULL, &mem), SSE_OK);
  assert_int_equal(sse_decoder_set_last_event_id(d, "abc", 3), SSE_E_NOMEM);
  sse_decoder_get_last_event_id(d, &n);
  assert_int_equal(n, 0); /* unchanged on failure */
  assert_int_equal(sse_decoder_set_last_event_id(d, "abc", 3), SSE_OK);
  /* Growing the buffer fails: "abc" stays. */
  a.fail_at = a.calls + 1;
  assert_int_equal(
      sse_decoder_set_last_event_id(d, longer, sizeof longer - 1),
      SSE_E_NOMEM);
  id = sse_decoder_get_last_event_id(d, &n);
  assert_int_equal(n, 3);
  assert_memory_equal(id, "abc", 3);
  /* An id committed by the stream stays too. */
  assert_int_equal(sse_decoder_feed(d, "id: 42\n\n", 8, NULL), SSE_OK);
  a.fail_at = a.calls + 1;
  assert_int_equal(
      sse_decoder_set_last_event_id(d, longer, sizeof longer - 1),
      SSE_E_NOMEM);
  id = sse_decoder_get_last_event_id(d, &n);
  assert_int_equal(n, 2);
  assert_memory_equal(id, "42", 2);
  a.fail_at = 0;
  assert_int_equal(
      sse_decoder_set_last_event_id(d, longer, sizeof longer - 1), SSE_OK);
  id = sse_decoder_get_last_event_id(d, &n);
  assert_int_equal(n, sizeof longer - 1);
  assert_memory_equal(id, longer, n);
  sse_decoder_free(d);
  assert_int_equal(a.live, 0);
  assert_int_equal(a.live_bytes, 0);
}

static int oom_report(void **state) {
  (void)state;
  printf("oom: %zu scenarios, %zu failure points, %zu runs (once + forever), "
         "0 leaks\n",
         n_scenarios, n_failure_points, n_runs);
  return 0;
}

/*
 * Memory is bounded by the limits: 1 GiB (SSE_MEMBOUND_BYTES overrides) of
 * a never-ending line, a never-ending data line, a never-ending event (many
 * short data lines, no blank line) and a never-ending comment is streamed
 * through a decoder with max_line = 1 MiB and max_event = 4 MiB, in 64 KiB
 * feeds generated on the fly from one buffer (nothing of the size of the
 * stream is stored). For each:
 *  - the limit error arrives (a line's within a feed of max_line), and stays
 *    (every later feed returns it, consuming nothing); or, under
 *    SSE_DECODER_SKIP_OVERSIZE, the event is discarded once and the rest
 *    of the gigabyte is consumed with no further growth;
 *  - the peak of live bytes (counting allocator) stays within the limit it
 *    meets plus a small constant;
 *  - at the end, the process's peak RSS (getrusage) grew by no more than
 *    the largest bound plus a small constant over the baseline taken
 *    before the first scenario (skipped under sanitizers, whose shadow
 *    memory makes RSS meaningless, and when SSE_MEMBOUND_NO_RSS is set,
 *    as under valgrind).
 * Prints the figures (bytes, throughput, peak) per scenario.
 */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
      __has_feature(memory_sanitizer)
#    define SANITIZED 1
#  endif
#endif
#ifndef SANITIZED
#  define SANITIZED 0
#endif

#define MAX_LINE ((size_t)1 << 20)
#define MAX_EVENT ((size_t)4 << 20)
#define FEED ((size_t)64 << 10)
/* Room for the decoder object, small buffers and rounding. */
#define SLACK ((size_t)64 << 10)

typedef struct counts {
  size_t events, discards, comments, pieces;
  int reason;
} counts;

static int mb_event(void *u, const sse_event *ev) {
  (void)ev;
  ((counts *)u)->events++;
  return SSE_OK;
}
static int mb_discard(void *u, int reason) {
  ((counts *)u)->discards++;
  ((counts *)u)->reason = reason;
  return SSE_OK;
}
static int mb_comment(void *u, const char *s, size_t n) {
  (void)s;
  (void)n;
  ((counts *)u)->comments++;
  return SSE_OK;
}
static int mb_data(void *u, const char *s, size_t n) {
  (void)s;
  (void)n;
  ((counts *)u)->pieces++;
  return SSE_OK;
}

typedef struct scenario {
  const char *name;
  const char *head; /* the stream's first bytes */
  const char *unit; /* then this, repeated for ever */
  unsigned options;
  int pieces;       /* on_data set */
  size_t max_line, max_event; /* 0: this file's defaults */
  int want;         /* the limit error (sticky), or the discard reason */
  size_t bound;     /* peak live bytes allowed */
} scenario;

static size_t stream_bytes(void) {
  const char *e = getenv("SSE_MEMBOUND_BYTES");
  if (e && *e)
    return (size_t)strtoull(e, NULL, 10);
  return (size_t)1 << 30;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long max_rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* Fills buf with n bytes: head (if any), then unit repeated; a unit that
 * fits is never cut, so feeding the repeating part buffer after buffer
 * continues the pattern exactly. Returns the bytes used (n rounded down to
 * whole units after the head). */
static size_t fill(char *buf, size_t n, const char *head, const char *unit) {
  size_t h = head ? strlen(head) : 0, u = strlen(unit), at;
  memcpy(buf, head ? head : "", h);
  for (at = h; at + u <= n; at += u)
    memcpy(buf + at, unit, u);
  return at;
}

static void run(const scenario *sc) {
  static char first[FEED + 256], rest[FEED + 256];
  sse_decoder_callbacks cb;
  sse_allocator mem;
  test_alloc a;
  counts c;
  sse_decoder *d;
  size_t total = stream_bytes(), fed = 0, used, first_len, rest_len;
  size_t max_line = sc->max_line ? sc->max_line : MAX_LINE;
  size_t max_event = sc->max_event ? sc->max_event : MAX_EVENT;
  size_t error_at = 0;
  int rc = SSE_OK, sticky = !(sc->options & SSE_DECODER_SKIP_OVERSIZE);
  double t0;

  memset(&cb, 0, sizeof cb);
  memset(&c, 0, sizeof c);
  memset(&a, 0, sizeof a);
  cb.on_event = mb_event;
  cb.on_discard = mb_discard;
  cb.on_comment = mb_comment;
  if (sc->pieces)
    cb.on_data = mb_data;
  mem = test_alloc_hooks(&a);
  assert_int_equal(sse_decoder_new(&d, &cb, &c, &mem), SSE_OK);
  assert_int_equal(sse_decoder_set_limits(d, max_line, max_event), SSE_OK);
  assert_int_equal(sse_decoder_set_options(d, sc->options), SSE_OK);

  first_len = fill(first, FEED, sc->head, sc->unit);
  rest_len = fill(rest, FEED, NULL, sc->unit);
  t0 = now();
  while (fed < total) {
    const char *p = fed ? rest : first;
    size_t n = fed ? rest_len : first_len;
    if (n > total - fed)
      n = total - fed;
    rc = sse_decoder_feed(d, p, n, &used);
    if (rc != SSE_OK) {
      assert_true(sticky);
      if (!error_at) {
        error_at = fed + used;
        assert_int_equal(rc, sc->want);
      } else {
        assert_int_equal(rc, sc->want); /* sticky, */
        assert_int_equal(used, 0);      /* consuming nothing */
      }
    } else {
      assert_int_equal(used, n);
    }
    fed += n;
  }
  {
    double secs = now() - t0;
    if (sticky)
      printf("membound: %-40s %s at byte %zu, then %zu MiB refused "
             "(sticky); peak %zu bytes (bound %zu)\n",
             sc->name, sse_strerror(sc->want), error_at,
             (fed - error_at) >> 20, a.peak_bytes, sc->bound);
    else
      printf("membound: %-40s %zu MiB decoded in %.2f s (%.0f MiB/s), one "
             "discard (%s); peak %zu bytes (bound %zu)\n",
             sc->name, fed >> 20, secs,
             secs > 0 ? (double)(fed >> 20) / secs : 0.0,
             sse_strerror(sc->want), a.peak_bytes, sc->bound);
  }
  if (sticky) {
    /* A line limit is met within a feed of the limit (an event limit
     * counts values, not the stream's bytes). */
    assert_true(error_at > 0);
    if (sc->want == SSE_E_LINE_TOO_LONG)
      assert_true(error_at <= max_line + 2 * FEED);
    assert_int_equal(sse_decoder_finish(d), sc->want);
  } else {
    assert_int_equal(rc, SSE_OK);
    assert_int_equal(c.discards, 1);
    assert_int_equal(c.reason, sc->want);
    assert_int_equal(sse_decoder_finish(d), SSE_OK);
  }
  assert_int_equal(c.events, 0);
  assert_true(a.peak_bytes <= sc->bound);
  sse_decoder_free(d);
  assert_int_equal(a.live, 0);
  assert_int_equal(a.live_bytes, 0);
}

#define LINE_BOUND (MAX_LINE + SLACK)
#define EVENT_BOUND (MAX_EVENT + SLACK)

static const scenario scenarios[] = {
    {"never-ending line", NULL, "xxxxxxxx", 0, 0, 0, 0, SSE_E_LINE_TOO_LONG,
     LINE_BOUND},
    {"never-ending line, skip", NULL, "xxxxxxxx", SSE_DECODER_SKIP_OVERSIZE, 0,
     0, 0, SSE_E_LINE_TOO_LONG, LINE_BOUND},
    {"never-ending data line", "data: ", "0123456789abcdef", 0, 0, 0, 0,
     SSE_E_LINE_TOO_LONG, LINE_BOUND},
    {"never-ending data line, skip", "data: ", "0123456789abcdef",
     SSE_DECODER_SKIP_OVERSIZE, 0, 0, 0, SSE_E_LINE_TOO_LONG, LINE_BOUND},
    {"never-ending data line, on_data", "data: ", "0123456789abcdef", 0, 1, 0,
     0, SSE_E_EVENT_TOO_LARGE, SLACK},
    {"never-ending data line, on_data, skip", "data: ", "0123456789abcdef",
     SSE_DECODER_SKIP_OVERSIZE, 1, 0, 0, SSE_E_EVENT_TOO_LARGE, SLACK},
    {"never-ending event", NULL,
     "data: {\"choices\":[{\"delta\":{\"content\":\"token\"}}],\"n\":1}\n", 0,
     0, 0, 0, SSE_E_EVENT_TOO_LARGE, EVENT_BOUND},
    {"never-ending event, skip", NULL,
     "data: {\"choices\":[{\"delta\":{\"content\":\"token\"}}],\"n\":1}\n",
     SSE_DECODER_SKIP_OVERSIZE, 0, 0, 0, SSE_E_EVENT_TOO_LARGE, EVENT_BOUND},
    {"never-ending event of empty lines", NULL, "data\n", 0, 0, 0, 0,
     SSE_E_EVENT_TOO_LARGE, EVENT_BOUND},
    {"never-ending event, utf8", NULL, "data: caf\xC3\xA9 \xFF\r\n",
     SSE_DECODER_UTF8, 0, 0, 0, SSE_E_EVENT_TOO_LARGE, EVENT_BOUND},
    {"never-ending comment", ": ", "keep-alive ", 0, 0, 0, 0,
     SSE_E_LINE_TOO_LONG, LINE_BOUND},
    {"never-ending comment, skip", ": ", "keep-alive ",
     SSE_DECODER_SKIP_OVERSIZE, 0, 0, 0, SSE_E_LINE_TOO_LONG, LINE_BOUND},
    {"never-ending data line, default limits", "data: ", "0123456789abcdef",
     0, 0, SSE_DEFAULT_MAX_LINE, SSE_DEFAULT_MAX_EVENT, SSE_E_LINE_TOO_LONG,
     SSE_DEFAULT_MAX_LINE + SLACK},
};

static long rss_baseline;

static void membound_all(void **state) {
  size_t i, largest = 0;
  (void)state;
  rss_baseline = max_rss_kib();
  for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
    run(&scenarios[i]);
    if (scenarios[i].bound > largest)
      largest = scenarios[i].bound;
  }
  {
    long grew = max_rss_kib() - rss_baseline;
    int check = !SANITIZED && !getenv("SSE_MEMBOUND_NO_RSS");
    printf("membound: peak RSS grew by %ld KiB over the baseline (%ld KiB); "
           "largest bound %zu KiB + 8 MiB slack%s\n",
           grew, rss_baseline, largest >> 10,
           check ? "" : " (not checked in this build)");
    if (check)
      assert_true((size_t)grew * 1024 <= largest + ((size_t)8 << 20));
  }
}

/*
 * The thread rules of include/sse/common.h, exercised for ThreadSanitizer
 * (.ci/check-*-tsan.sh builds this with -fsanitize=thread; it also runs as
 * an ordinary test): there is no global mutable state, so separate objects
 * may be used on separate threads at once.
 *
 * Four threads each create their own decoder and decode the same shared,
 * read-only stream at their own chunk size, and encode their own events
 * with the (stateless) encoder; all decoders share one allocator whose
 * hooks are thread-safe (a mutex around the counters), as the allocator
 * rules require. Every thread must see exactly the events of the stream.
 *
 * When the stream object shares frames between threads, its concurrent
 * frame release belongs here too: one frame sent to streams owned by
 * different threads, released by each.
 */

#ifdef SSE_TEST_THREADS
#define THREADS 4
#define EVENTS 20000

typedef struct shared_alloc {
  pthread_mutex_t lock;
  size_t live;
  size_t calls;
} shared_alloc;

static void *s_malloc(size_t n, void *u) {
  shared_alloc *a = u;
  void *p = malloc(n);
  pthread_mutex_lock(&a->lock);
  a->calls++;
  if (p)
    a->live++;
  pthread_mutex_unlock(&a->lock);
  return p;
}
static void *s_realloc(void *p, size_t n, void *u) {
  shared_alloc *a = u;
  void *q = realloc(p, n);
  pthread_mutex_lock(&a->lock);
  a->calls++;
  if (q && !p)
    a->live++;
  pthread_mutex_unlock(&a->lock);
  return q;
}
static void s_free(void *p, void *u) {
  shared_alloc *a = u;
  if (!p)
    return;
  free(p);
  pthread_mutex_lock(&a->lock);
  a->live--;
  pthread_mutex_unlock(&a->lock);
}

typedef struct job {
  const char *stream;
  size_t len;
  size_t chunk;
  shared_alloc *alloc;
  /* results */
  size_t events;
  uint64_t checksum;
  size_t encoded;
  int rc;
} job;

static int on_event(void *u, const sse_event *ev) {
  job *j = u;
  size_t i;
  j->events++;
  for (i = 0; i < ev->data_len; i++)
    j->checksum = j->checksum * 31 + (unsigned char)ev->data[i];
  for (i = 0; i < ev->id_len; i++)
    j->checksum = j->checksum * 37 + (unsigned char)ev->id[i];
  return SSE_OK;
}

static void *work(void *arg) {
  job *j = arg;
  sse_decoder_callbacks cb;
  sse_allocator mem;
  sse_decoder *d = NULL;
  char buf[128];
  size_t at = 0, i;
  memset(&cb, 0, sizeof cb);
  cb.on_event = on_event;
  mem.malloc_fn = s_malloc;
  mem.realloc_fn = s_realloc;
  mem.free_fn = s_free;
  mem.user = j->alloc;
  j->rc = sse_decoder_new(&d, &cb, j, &mem);
  if (j->rc == SSE_OK)
    j->rc = sse_decoder_set_options(d, SSE_DECODER_UTF8);
  while (j->rc == SSE_OK && at < j->len) {
    size_t n = j->len - at < j->chunk ? j->len - at : j->chunk;
    j->rc = sse_decoder_feed(d, j->stream + at, n, NULL);
    at += n;
  }
  if (j->rc == SSE_OK)
    j->rc = sse_decoder_finish(d);
  sse_decoder_free(d);
  /* The encoder has no state: each thread formats its own frames. */
  for (i = 0; i < 1000 && j->rc == SSE_OK; i++) {
    sse_message ev;
    size_t len;
    char data[32];
    int n = snprintf(data, sizeof data, "line %zu\nnext", i);
    memset(&ev, 0, sizeof ev);
    ev.type = "tick";
    ev.type_len = 4;
    ev.data = data;
    ev.data_len = (size_t)n;
    j->rc = sse_encode_message(buf, sizeof buf, &ev, &len);
    j->encoded += len;
  }
  return NULL;
}

static void separate_decoders_on_separate_threads(void **state) {
  static const size_t chunks[THREADS] = {1, 7, 4096, 65536};
  pthread_t tid[THREADS];
  job jobs[THREADS];
  shared_alloc alloc;
  char *stream;
  size_t len = 0, cap = (size_t)EVENTS * 64, i;
  (void)state;
  stream = malloc(cap);
  assert_non_null(stream);
  for (i = 0; i < EVENTS; i++) {
    int n = snprintf(stream + len, cap - len,
                     "id: %zu\r\ndata: {\"n\":%zu}\ndata: caf\xC3\xA9\r\n\n", i,
                     i * 7);
    assert_true(n > 0 && (size_t)n < cap - len);
    len += (size_t)n;
  }
  memset(&alloc, 0, sizeof alloc);
  assert_int_equal(pthread_mutex_init(&alloc.lock, NULL), 0);
  for (i = 0; i < THREADS; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    jobs[i].stream = stream;
    jobs[i].len = len;
    jobs[i].chunk = chunks[i];
    jobs[i].alloc = &alloc;
    assert_int_equal(pthread_create(&tid[i], NULL, work, &jobs[i]), 0);
  }
  for (i = 0; i < THREADS; i++)
    assert_int_equal(pthread_join(tid[i], NULL), 0);
  for (i = 0; i < THREADS; i++) {
    assert_int_equal(jobs[i].rc, SSE_OK);
    assert_int_equal(jobs[i].events, EVENTS);
    assert_true(jobs[i].checksum == jobs[0].checksum);
    assert_int_equal(jobs[i].encoded, jobs[0].encoded);
  }
  assert_int_equal(alloc.live, 0);
  printf("threads: %d threads x %d events, chunks 1/7/4096/65536, %zu "
         "allocations through shared hooks, all records equal\n",
         THREADS, EVENTS, alloc.calls);
  pthread_mutex_destroy(&alloc.lock);
  free(stream);
}
#endif

int main(int argc, char **argv) {
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
      cmocka_unit_test(reset_after_error_reports_pending),
      cmocka_unit_test(finish_after_error_reports_pending),
      cmocka_unit_test(nothing_pending_nothing_reported),
      cmocka_unit_test(unfinished_data_line_is_pending),
      cmocka_unit_test(set_limits_from_next_line),
      cmocka_unit_test(set_limits_line_in_progress),
      cmocka_unit_test(set_limits_from_callbacks),
      cmocka_unit_test(nomem_then_feed_the_rest),
      cmocka_unit_test(pause_in_data_pieces),
      cmocka_unit_test(max_event_is_exact),
      cmocka_unit_test(limit_code_does_not_depend_on_chunking),
      cmocka_unit_test(api_arguments),
      cmocka_unit_test(api_states),
      cmocka_unit_test(callbacks_abort),
      cmocka_unit_test(no_callbacks),
      cmocka_unit_test(near_miss_field_names),
      cmocka_unit_test(partial_line_limits),
      cmocka_unit_test(bom_edges),
      cmocka_unit_test(utf8_fields),
      cmocka_unit_test(test_many_short_lines),
      cmocka_unit_test(test_lengths_around_blocks),
      cmocka_unit_test(test_long_lines_fast_paths),
      cmocka_unit_test(oom_new_and_set_id),
      cmocka_unit_test(oom_spec_like_streams),
      cmocka_unit_test(oom_growth_streams),
      cmocka_unit_test(oom_encoder_roundtrip),
      cmocka_unit_test(membound_all),
#ifdef SSE_TEST_THREADS
      cmocka_unit_test(separate_decoders_on_separate_threads),
#endif
  };
  test_filter(argc, argv);
  return cmocka_run_group_tests(tests, NULL, oom_report);
}
