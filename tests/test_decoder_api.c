/* The decoder's 1.0 contract, black-box through the public API:
 *  - reset and finish report a pending event through on_discard whatever
 *    the sticky state (an on_data client drops the pieces it holds);
 *  - sse_decoder_set_limits applies from the next line, at every chunking
 *    and when called from a callback;
 *  - SSE_E_NOMEM is recoverable: *consumed is exact, feeding the rest again
 *    continues as if nothing had failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reset_after_error_reports_pending),
      cmocka_unit_test(finish_after_error_reports_pending),
      cmocka_unit_test(nothing_pending_nothing_reported),
      cmocka_unit_test(unfinished_data_line_is_pending),
      cmocka_unit_test(set_limits_from_next_line),
      cmocka_unit_test(set_limits_line_in_progress),
      cmocka_unit_test(set_limits_from_callbacks),
      cmocka_unit_test(nomem_then_feed_the_rest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
