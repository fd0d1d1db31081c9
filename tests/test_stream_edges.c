/* Edge cases of the stream object's modules that the scenario tests do not
 * reach: frame getters without a length, the default cap restored, history
 * ids that only look numeric and optional outputs, a DEL inside a quoted
 * Content-Type parameter, and Retry-After dates broken in each field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stream_sink.h"

/* ---- frames ---------------------------------------------------------------- */

static void frame_getters_without_length(void **state) {
  sse_message ev = mk_event("t", "42", "d");
  sse_frame *f, *c;
  const char *p;
  size_t n = 7;
  (void)state;
  assert_int_equal(sse_frame_new_message(&f, &ev, NULL), SSE_OK);
  assert_int_equal(sse_frame_new_comment(&c, "x", 1, NULL), SSE_OK);
  /* the length pointer is optional in practice: the bytes and the id are
   * still returned */
  p = sse_frame_get_bytes(f, NULL);
  assert_non_null(p);
  assert_memory_equal(p, "event: t\nid: 42\ndata: d\n\n", 25);
  p = sse_frame_get_id(f, NULL);
  assert_non_null(p);
  assert_memory_equal(p, "42", 2);
  assert_null(sse_frame_get_id(c, NULL));
  assert_null(sse_frame_get_id(NULL, NULL));
  assert_null(sse_frame_get_bytes(NULL, NULL));
  assert_null(sse_frame_get_bytes(NULL, &n));
  assert_int_equal(n, 0);
  n = 7;
  assert_null(sse_frame_get_id(NULL, &n));
  assert_int_equal(n, 0);
  assert_null(sse_frame_retain(NULL));
  sse_frame_release(c);
  sse_frame_release(f);
}

/* ---- streams --------------------------------------------------------------- */

static void cap_zero_restores_the_default(void **state) {
  static char big[100 * 1024];
  sse_message ev;
  sse_stream *s;
  sink k;
  (void)state;
  memset(big, 'b', sizeof big - 1);
  ev = mk_event(NULL, NULL, big);
  sink_init(&k, SINK_ALL, 0);
  k.budget = 0; /* everything stays pending */
  s = sink_stream(&k, NULL);
  assert_int_equal(sse_stream_set_max_pending(s, 1000), SSE_OK);
  assert_int_equal(sse_stream_set_max_pending(s, 0), SSE_OK);
  /* 100 KiB fit under the default (1 MiB), ten times over */
  assert_int_equal(sse_stream_send_message(s, &ev), SSE_OK);
  assert_true(sse_stream_get_pending(s) > sizeof big);
  assert_int_equal(sse_stream_set_max_pending(s, 1000), SSE_OK);
  assert_int_equal(sse_stream_send_comment(s, "x", 1), SSE_E_OVERFLOW);
  k.budget = SIZE_MAX;
  sink_drain(s, &k);
  assert_int_equal(k.wire.len, sizeof big + 6 + 1);
  sse_stream_free(s);
  sink_free(&k);
}

/* ---- history --------------------------------------------------------------- */

static void push(sse_history *h, const char *id) {
  sse_message ev = mk_event(NULL, id, "x");
  sse_frame *f;
  assert_int_equal(sse_frame_new_message(&f, &ev, NULL), SSE_OK);
  assert_int_equal(sse_history_push(h, f, NULL), SSE_OK);
  sse_frame_release(f);
}

static int replay_id(sse_history *h, sse_stream *s, const char *id) {
  uint64_t pos = 0;
  return sse_history_replay(h, s, id, strlen(id), &pos);
}

static void history_ids_that_look_numeric(void **state) {
  sse_history *h;
  sse_stream *s;
  uint64_t first = 0, last = 0;
  sink k;
  int i;
  (void)state;
  sink_init(&k, SINK_ALL, 0);
  s = sink_stream(&k, NULL);
  assert_int_equal(sse_history_new(&h, 2, 0, NULL), SSE_OK);
  for (i = 1; i <= 5; i++) {
    char id[4];
    snprintf(id, sizeof id, "%d", i);
    push(h, id);
  }
  /* 1..3 evicted; only canonical decimals at or below 3 are "evicted" */
  assert_int_equal(replay_id(h, s, "1"), SSE_E_EVICTED);
  assert_int_equal(replay_id(h, s, "0"), SSE_E_EVICTED);
  assert_int_equal(replay_id(h, s, "3"), SSE_E_EVICTED);
  assert_int_equal(replay_id(h, s, "01"), SSE_E_UNKNOWN_ID);
  assert_int_equal(replay_id(h, s, "00"), SSE_E_UNKNOWN_ID);
  assert_int_equal(replay_id(h, s, "6"), SSE_E_UNKNOWN_ID);
  assert_int_equal(replay_id(h, s, "18446744073709551616"),
                   SSE_E_UNKNOWN_ID); /* above 2^64 - 1 */
  assert_int_equal(replay_id(h, s, "000000000000000000001"),
                   SSE_E_UNKNOWN_ID); /* 21 digits */
  assert_int_equal(k.wire.len, 0);
  /* a leading zero ends the numeric mode: evicted ids are unknown now */
  push(h, "007");
  assert_int_equal(replay_id(h, s, "1"), SSE_E_UNKNOWN_ID);
  assert_int_equal(replay_id(h, s, "5"), SSE_OK); /* kept: 007 follows */
  sink_expect_events(&k, "event message|x|007\nresult SSE_OK\n");

  /* optional outputs */
  assert_int_equal(sse_history_replay_from(h, s, 0, NULL), SSE_E_EVICTED);
  assert_int_equal(sse_history_replay_from(h, s, 6, NULL), SSE_OK);
  assert_int_equal(hist_range(h, NULL, &last), hist_range(h, &first, NULL));
  assert_true(first == 5 && last == 6);
  sse_history_free(h);
  sse_stream_free(s);
  sink_free(&k);
}

/* ---- HTTP ------------------------------------------------------------------ */

static void content_type_quoted_controls(void **state) {
  static const char *const bad[] = {
      "text/event-stream; a=\"x\x7f\"",   /* DEL */
      "text/event-stream; a=\"x\\\x7f\"", /* escaped DEL */
      "text/event-stream; a=\"x\x01\"",
      "text/event-stream; a=\"x\\",       /* escape at the end */
  };
  static const char *const good[] = {
      "text/event-stream; a=\"x\ty\"", /* a tab is allowed */
      "text/event-stream; a=\"\\\"\"", /* an escaped quote */
      "text/event-stream; a=\"\x80\xff\"", /* obs-text */
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(sse_http_check_content_type(bad[i], strlen(bad[i])),
                     SSE_E_INVALID_VALUE);
  for (i = 0; i < sizeof good / sizeof good[0]; i++)
    assert_int_equal(sse_http_check_content_type(good[i], strlen(good[i])),
                     SSE_OK);
}

/* ---- Retry-After dates ------------------------------------------------------- */

static void retry_after_dates_broken_in_each_field(void **state) {
  static const char *const bad[] = {
      "Sun; 06 Nov 1994 08:49:37 GMT", "Sun,-06 Nov 1994 08:49:37 GMT",
      "Sun, 06-Nov 1994 08:49:37 GMT", "Sun, 06 Nov-1994 08:49:37 GMT",
      "Sun, 06 Nov 1994T08:49:37 GMT", "Sun, 06 Nov 1994 08.49:37 GMT",
      "Sun, 06 Nov 1994 08:49.37 GMT", "Sun, 06 Nov 1994 08:49:37 GMt",
      "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 0x Nov 1994 08:49:37 GMT",
      "Sun, /6 Nov 1994 08:49:37 GMT", "Sun, 06 Noo 1994 08:49:37 GMT",
      "Sun, 06 Nov x994 08:49:37 GMT", "Sun, 06 Nov 1/94 08:49:37 GMT",
      "Sun, 06 Nov 19:4 08:49:37 GMT", "Sun, 06 Nov 199x 08:49:37 GMT",
      "Sun, 06 Nov 1994 24:49:37 GMT", "Sun, 06 Nov 1994 -8:49:37 GMT",
      "Sun, 06 Nov 1994 08:60:37 GMT", "Sun, 06 Nov 1994 08:4x:37 GMT",
      "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 06 Nov 1994 08:49:3x GMT",
      "Sun, 31 Apr 1994 08:49:37 GMT", "Mon, 29 Feb 1900 00:00:00 GMT",
      "Wed, 29 Feb 2023 00:00:00 GMT", "Abc, 06 Nov 1994 08:49:37 GMT",
  };
  uint64_t ms = 7;
  size_t i;
  (void)state;
  assert_int_equal(sse_reconnect_parse_retry_after(
                       "Sun, 06 Nov 1994 08:49:37 GMT", 29, 784111777 - 3,
                       &ms),
                   SSE_OK);
  assert_int_equal(ms, 3000);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ms = 7;
    if (sse_reconnect_parse_retry_after(bad[i], strlen(bad[i]), 784111777,
                                        &ms) != SSE_E_INVALID_VALUE)
      fail_msg("accepted %s", bad[i]);
    assert_int_equal(ms, 7);
  }
  /* a leap day of a leap year, and a date of year 0 (long past) */
  assert_int_equal(sse_reconnect_parse_retry_after(
                       "Thu, 29 Feb 2024 00:00:00 GMT", 29, 1709164800 - 10,
                       &ms),
                   SSE_OK);
  assert_int_equal(ms, 10000);
  assert_int_equal(sse_reconnect_parse_retry_after(
                       "Sat, 01 Jan 0000 00:00:00 GMT", 29, 0, &ms),
                   SSE_OK);
  assert_int_equal(ms, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(frame_getters_without_length),
      cmocka_unit_test(cap_zero_restores_the_default),
      cmocka_unit_test(history_ids_that_look_numeric),
      cmocka_unit_test(content_type_quoted_controls),
      cmocka_unit_test(retry_after_dates_broken_in_each_field),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
