/* Decoder edge cases found by the hardening work (fuzzing, coverage): each
 * test pins a behaviour at a boundary the main suite does not reach.
 * Records come from tests/harness.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

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


int main(void) {
  const struct CMUnitTest tests[] = {
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
