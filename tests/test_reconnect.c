/* The reconnection policy (lib/reconnect.c): every transition, driven by a fake clock (plain
 * numbers) and fixed jitter seeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"
#include "unit.h"

#define CT "text/event-stream"
#define NO_RA SSE_RECONNECT_NO_RETRY_AFTER

/* splitmix64's first outputs for seed 0: published reference values. */
static const uint64_t SEED0[3] = {UINT64_C(0xE220A8397B1DCDAF),
                                  UINT64_C(0x6E789E6AA1B965F4),
                                  UINT64_C(0x06C45D188009454F)};

/* A policy with deterministic delays: no jitter, T = initial_ms, backoff
 * base..max. */
static sse_reconnect *make(uint64_t initial, uint64_t base, uint64_t max) {
  sse_reconnect *r = NULL;
  assert_int_equal(sse_reconnect_new(&r, 0, NULL), SSE_OK);
  assert_int_equal(sse_reconnect_set_delays(r, initial, 300000), SSE_OK);
  assert_int_equal(sse_reconnect_set_backoff(r, base, max, 0), SSE_OK);
  return r;
}

static void connect_ok(sse_reconnect *r, uint64_t now) {
  assert_int_equal(sse_reconnect_attempt(r, now), SSE_OK);
  assert_int_equal(sse_reconnect_response(r, now, 200, CT, strlen(CT), NO_RA),
                   SSE_OK);
  assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_STREAMING);
}

/* An attempt that fails at once (transport error) at now. */
static void connect_fail(sse_reconnect *r, uint64_t now) {
  assert_int_equal(sse_reconnect_attempt(r, now), SSE_OK);
  assert_int_equal(sse_reconnect_closed(r, now), SSE_OK);
}

static void expect_stopped(const sse_reconnect *r, sse_reconnect_reason why) {
  assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_STOPPED);
  assert_int_equal(sse_reconnect_get_reason(r), why);
  assert_true(sse_reconnect_get_deadline(r) == UINT64_MAX);
}

/* ---- creation and settings -------------------------------------------- */

static void test_new_defaults(void **state) {
  sse_reconnect *r;
  (void)state;
  assert_int_equal(sse_reconnect_new(NULL, 0, NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_new(&r, 0, NULL), SSE_OK);
  assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_WAITING);
  assert_int_equal(sse_reconnect_get_reason(r), SSE_RECONNECT_NOT_STOPPED);
  assert_true(sse_reconnect_get_deadline(r) == 0);
  assert_true(sse_reconnect_get_retry_ms(r) == SSE_RECONNECT_DEFAULT_INITIAL_MS);
  assert_int_equal(sse_reconnect_get_failures(r), 0);
  assert_int_equal(sse_reconnect_get_reconnects(r), 0);
  /* default idle timeout is off */
  connect_ok(r, 5);
  assert_true(sse_reconnect_get_deadline(r) == UINT64_MAX);
  sse_reconnect_free(r);
  sse_reconnect_free(NULL);
}

static void test_null_object(void **state) {
  (void)state;
  assert_int_equal(sse_reconnect_set_delays(NULL, 0, 0),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_set_backoff(NULL, 0, 0, 0),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_set_reset_after(NULL, 0),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_set_idle_timeout(NULL, 0),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_set_max_reconnects(NULL, 0),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_attempt(NULL, 0), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_response(NULL, 0, 200, CT, 17, NO_RA),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_on_bytes(NULL, 0, 1), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_on_retry(NULL, 1), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_closed(NULL, 0), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_stop(NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_reset(NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_get_state(NULL), SSE_RECONNECT_STOPPED);
  assert_int_equal(sse_reconnect_get_reason(NULL), SSE_RECONNECT_NOT_STOPPED);
  assert_true(sse_reconnect_get_deadline(NULL) == UINT64_MAX);
  assert_true(sse_reconnect_get_retry_ms(NULL) == 0);
  assert_int_equal(sse_reconnect_get_failures(NULL), 0);
  assert_int_equal(sse_reconnect_get_reconnects(NULL), 0);
}

static void test_allocator(void **state) {
  test_alloc t = {0};
  sse_allocator a = test_alloc_hooks(&t);
  sse_reconnect *r = (sse_reconnect *)&t; /* must be cleared on failure */
  (void)state;
  t.fail_at = 1;
  assert_int_equal(sse_reconnect_new(&r, 0, &a), SSE_E_NOMEM);
  assert_null(r);
  assert_int_equal(t.live, 0);
  t.fail_at = 0;
  t.calls = 0;
  assert_int_equal(sse_reconnect_new(&r, 0, &a), SSE_OK);
  connect_ok(r, 0);
  assert_int_equal(sse_reconnect_closed(r, 1), SSE_OK);
  assert_int_equal(t.calls, 1); /* the object, and nothing per transition */
  assert_int_equal(t.live, 1);
  sse_reconnect_free(r);
  assert_int_equal(t.live, 0);
}

static void test_setter_validation(void **state) {
  sse_reconnect *r = make(100, 10, 1000);
  (void)state;
  assert_int_equal(sse_reconnect_set_delays(r, 501, 500),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_set_backoff(r, 1001, 1000, 0),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_set_backoff(r, 10, 1000, 101),
                   SSE_E_INVALID_ARGUMENT);
  /* refused settings leave the old ones */
  assert_true(sse_reconnect_get_retry_ms(r) == 100);
  connect_fail(r, 0);
  assert_true(sse_reconnect_get_deadline(r) == 100 + 10);
  /* edge values are fine */
  assert_int_equal(sse_reconnect_set_delays(r, 0, 0), SSE_OK);
  assert_int_equal(sse_reconnect_set_backoff(r, 0, 0, 100), SSE_OK);
  assert_int_equal(sse_reconnect_set_delays(r, 500, 500), SSE_OK);
  assert_true(sse_reconnect_get_retry_ms(r) == 500);
  sse_reconnect_free(r);
}

/* ---- response verdicts -------------------------------------------------- */

static void test_content_types(void **state) {
  static const char *const good[] = {
      "text/event-stream", "TEXT/Event-Stream", " text/event-stream ",
      "text/event-stream;charset=utf-8", "text/event-stream ; x=y",
      "\ttext/event-stream\t"};
  static const char *const bad[] = {
      "", "   ", "text/html", "text/event-streams", "text/event",
      "xtext/event-stream", "text /event-stream", "text/event-stream x",
      "text/event-stream,text/html", "application/json"};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof good / sizeof *good; i++) {
    sse_reconnect *r = make(0, 0, 0);
    assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
    assert_int_equal(
        sse_reconnect_response(r, 0, 200, good[i], strlen(good[i]), NO_RA),
        SSE_OK);
    assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_STREAMING);
    sse_reconnect_free(r);
  }
  for (i = 0; i <= sizeof bad / sizeof *bad; i++) {
    /* the last round: no Content-Type at all */
    const char *ct = i < sizeof bad / sizeof *bad ? bad[i] : NULL;
    sse_reconnect *r = make(0, 0, 0);
    assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
    assert_int_equal(
        sse_reconnect_response(r, 0, 200, ct, ct ? strlen(ct) : 0, 1000),
        SSE_OK);
    expect_stopped(r, SSE_RECONNECT_BAD_CONTENT_TYPE);
    sse_reconnect_free(r);
  }
  /* the length is honoured: no reading past it */
  {
    sse_reconnect *r = make(0, 0, 0);
    assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
    assert_int_equal(sse_reconnect_response(r, 0, 200, CT "x", 17, NO_RA),
                     SSE_OK);
    assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_STREAMING);
    sse_reconnect_free(r);
  }
}

static void test_status_verdicts(void **state) {
  static const int stop[] = {0,   -1,  100, 199, 201, 202, 206, 301, 302,
                             304, 400, 401, 403, 404, 405, 410, 451, 499,
                             600, 999, 2000};
  static const int retry[] = {408, 429, 500, 502, 503, 504, 599};
  size_t i;
  (void)state;
  {
    sse_reconnect *r = make(0, 0, 0);
    assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
    assert_int_equal(sse_reconnect_response(r, 0, 204, CT, 17, 5), SSE_OK);
    expect_stopped(r, SSE_RECONNECT_NO_CONTENT);
    sse_reconnect_free(r);
  }
  for (i = 0; i < sizeof stop / sizeof *stop; i++) {
    sse_reconnect *r = make(0, 0, 0);
    assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
    /* a right Content-Type and a Retry-After change nothing */
    assert_int_equal(sse_reconnect_response(r, 0, stop[i], CT, 17, 5),
                     SSE_OK);
    expect_stopped(r, SSE_RECONNECT_BAD_STATUS);
    sse_reconnect_free(r);
  }
  for (i = 0; i < sizeof retry / sizeof *retry; i++) {
    sse_reconnect *r = make(100, 10, 1000);
    assert_int_equal(sse_reconnect_attempt(r, 50), SSE_OK);
    assert_int_equal(sse_reconnect_response(r, 50, retry[i], NULL, 0, NO_RA),
                     SSE_OK);
    assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_WAITING);
    assert_int_equal(sse_reconnect_get_failures(r), 1);
    assert_true(sse_reconnect_get_deadline(r) == 50 + 100 + 10);
    sse_reconnect_free(r);
  }
}

static void test_bad_arguments_in_response(void **state) {
  sse_reconnect *r = make(0, 0, 0);
  (void)state;
  assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
  assert_int_equal(sse_reconnect_response(r, 0, 200, NULL, 3, NO_RA),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_CONNECTING);
  sse_reconnect_free(r);
}

/* ---- delays ----------------------------------------------------------- */

static void test_long_stream_waits_exactly_T(void **state) {
  sse_reconnect *r = make(3000, 1000, 60000);
  (void)state;
  connect_ok(r, 1000);
  assert_int_equal(sse_reconnect_closed(r, 1000 + 10000), SSE_OK);
  assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_WAITING);
  assert_int_equal(sse_reconnect_get_failures(r), 0);
  assert_true(sse_reconnect_get_deadline(r) == 11000 + 3000);
  sse_reconnect_free(r);
}

static void test_short_stream_is_a_failure(void **state) {
  sse_reconnect *r = make(3000, 1000, 60000);
  (void)state;
  connect_ok(r, 1000);
  assert_int_equal(sse_reconnect_closed(r, 1000 + 9999), SSE_OK);
  assert_int_equal(sse_reconnect_get_failures(r), 1);
  assert_true(sse_reconnect_get_deadline(r) == 10999 + 3000 + 1000);
  sse_reconnect_free(r);
}

static void test_backoff_doubles_to_cap(void **state) {
  static const uint64_t want[] = {100, 200, 400, 800, 1000, 1000, 1000};
  sse_reconnect *r = make(0, 100, 1000);
  uint64_t now = 0;
  size_t i;
  (void)state;
  for (i = 0; i < sizeof want / sizeof *want; i++) {
    assert_true(sse_reconnect_get_deadline(r) <= now);
    connect_fail(r, now);
    assert_int_equal(sse_reconnect_get_failures(r), i + 1);
    assert_true(sse_reconnect_get_deadline(r) == now + want[i]);
    now = sse_reconnect_get_deadline(r);
  }
  /* many more failures: still capped, the shift never overflows */
  for (i = 0; i < 200; i++) {
    connect_fail(r, now);
    assert_true(sse_reconnect_get_deadline(r) == now + 1000);
    now += 1000;
  }
  assert_int_equal(sse_reconnect_get_failures(r), 207);
  sse_reconnect_free(r);
}

static void test_backoff_adds_to_T(void **state) {
  sse_reconnect *r = make(500, 100, 1000);
  (void)state;
  connect_fail(r, 0);
  assert_true(sse_reconnect_get_deadline(r) == 500 + 100);
  connect_fail(r, 600);
  assert_true(sse_reconnect_get_deadline(r) == 600 + 500 + 200);
  sse_reconnect_free(r);
}

static void test_long_stream_resets_backoff(void **state) {
  sse_reconnect *r = make(50, 100, 10000);
  (void)state;
  assert_int_equal(sse_reconnect_set_reset_after(r, 2000), SSE_OK);
  connect_fail(r, 0);
  connect_fail(r, 1000);
  connect_fail(r, 2000);
  assert_int_equal(sse_reconnect_get_failures(r), 3);
  /* a short stream adds a fourth */
  connect_ok(r, 3000);
  assert_int_equal(sse_reconnect_closed(r, 4999), SSE_OK);
  assert_int_equal(sse_reconnect_get_failures(r), 4);
  assert_true(sse_reconnect_get_deadline(r) == 4999 + 50 + 800);
  /* a stream that lived reset_after clears them */
  connect_ok(r, 6000);
  assert_int_equal(sse_reconnect_closed(r, 8000), SSE_OK);
  assert_int_equal(sse_reconnect_get_failures(r), 0);
  assert_true(sse_reconnect_get_deadline(r) == 8000 + 50);
  /* and the next failure starts over at base */
  connect_fail(r, 9000);
  assert_true(sse_reconnect_get_deadline(r) == 9000 + 50 + 100);
  sse_reconnect_free(r);
}

static void test_reset_after_zero(void **state) {
  sse_reconnect *r = make(70, 100, 10000);
  (void)state;
  assert_int_equal(sse_reconnect_set_reset_after(r, 0), SSE_OK);
  connect_fail(r, 0);
  connect_ok(r, 500);
  assert_int_equal(sse_reconnect_closed(r, 500), SSE_OK);
  assert_int_equal(sse_reconnect_get_failures(r), 0);
  assert_true(sse_reconnect_get_deadline(r) == 570);
  sse_reconnect_free(r);
}

static void test_retry_field(void **state) {
  sse_reconnect *r = make(3000, 1000, 60000);
  (void)state;
  assert_int_equal(sse_reconnect_set_delays(r, 3000, 20000), SSE_OK);
  assert_int_equal(sse_reconnect_set_reset_after(r, 0), SSE_OK);
  connect_ok(r, 0);
  assert_int_equal(sse_reconnect_on_retry(r, 250), SSE_OK);
  assert_true(sse_reconnect_get_retry_ms(r) == 250);
  assert_int_equal(sse_reconnect_closed(r, 100), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 350);
  /* clamped to the maximum delay, including the largest value */
  assert_int_equal(sse_reconnect_on_retry(r, 20001), SSE_OK);
  assert_true(sse_reconnect_get_retry_ms(r) == 20000);
  assert_int_equal(sse_reconnect_on_retry(r, UINT64_MAX), SSE_OK);
  assert_true(sse_reconnect_get_retry_ms(r) == 20000);
  /* 0 is valid: reconnect at once */
  assert_int_equal(sse_reconnect_on_retry(r, 0), SSE_OK);
  connect_ok(r, 400);
  assert_int_equal(sse_reconnect_closed(r, 450), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 450);
  /* allowed while stopped too, and kept until reset */
  assert_int_equal(sse_reconnect_stop(r), SSE_OK);
  assert_int_equal(sse_reconnect_on_retry(r, 42), SSE_OK);
  assert_true(sse_reconnect_get_retry_ms(r) == 42);
  assert_int_equal(sse_reconnect_reset(r), SSE_OK);
  assert_true(sse_reconnect_get_retry_ms(r) == 3000);
  sse_reconnect_free(r);
}

static void test_retry_after(void **state) {
  sse_reconnect *r = make(100, 100, 1000);
  (void)state;
  assert_int_equal(sse_reconnect_set_delays(r, 100, 30000), SSE_OK);
  /* longer than the backoff: wins */
  assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
  assert_int_equal(sse_reconnect_response(r, 0, 503, NULL, 0, 5000), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 5000);
  /* shorter than the backoff: the backoff stays */
  assert_int_equal(sse_reconnect_attempt(r, 5000), SSE_OK);
  assert_int_equal(sse_reconnect_response(r, 5000, 429, NULL, 0, 10), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 5000 + 100 + 200);
  /* clamped to the maximum delay */
  assert_int_equal(sse_reconnect_attempt(r, 6000), SSE_OK);
  assert_int_equal(
      sse_reconnect_response(r, 6000, 408, NULL, 0, UINT64_MAX - 1), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 6000 + 30000);
  assert_int_equal(sse_reconnect_get_failures(r), 3);
  sse_reconnect_free(r);
}

static void test_jitter_fixed_seed(void **state) {
  sse_reconnect *r;
  uint64_t now = 0;
  int i;
  (void)state;
  /* defaults: T 3000, base 1000, jitter 50%: up to 500 taken off */
  assert_int_equal(sse_reconnect_new(&r, 0, NULL), SSE_OK);
  for (i = 0; i < 3; i++) {
    uint64_t b = i == 0 ? 1000 : i == 1 ? 2000 : 4000;
    connect_fail(r, now);
    assert_true(sse_reconnect_get_deadline(r) ==
                now + 3000 + b - SEED0[i] % (b / 2 + 1));
    now = sse_reconnect_get_deadline(r);
  }
  sse_reconnect_free(r);
}

static void test_jitter_bounds_and_seeds(void **state) {
  uint64_t seq[2][64];
  int s, i, differ = 0, low = 0;
  (void)state;
  for (s = 0; s < 2; s++) {
    sse_reconnect *r;
    assert_int_equal(sse_reconnect_new(&r, (uint64_t)s + 1, NULL), SSE_OK);
    assert_int_equal(sse_reconnect_set_delays(r, 0, 1000), SSE_OK);
    assert_int_equal(sse_reconnect_set_backoff(r, 1000, 1000, 100), SSE_OK);
    for (i = 0; i < 64; i++) {
      connect_fail(r, 0);
      seq[s][i] = sse_reconnect_get_deadline(r);
      assert_true(seq[s][i] <= 1000); /* full jitter: 0 .. b */
      low += seq[s][i] < 500;
      assert_int_equal(sse_reconnect_reset(r), SSE_OK);
    }
    sse_reconnect_free(r);
  }
  for (i = 0; i < 64; i++)
    differ += seq[0][i] != seq[1][i];
  assert_true(differ > 50);         /* seeds give different sequences */
  assert_true(low > 20 && low < 108); /* and spread over the range */
  /* the same seed gives the same sequence */
  {
    sse_reconnect *r;
    assert_int_equal(sse_reconnect_new(&r, 1, NULL), SSE_OK);
    assert_int_equal(sse_reconnect_set_delays(r, 0, 1000), SSE_OK);
    assert_int_equal(sse_reconnect_set_backoff(r, 1000, 1000, 100), SSE_OK);
    for (i = 0; i < 64; i++) {
      connect_fail(r, 0);
      assert_true(sse_reconnect_get_deadline(r) == seq[0][i]);
      assert_int_equal(sse_reconnect_reset(r), SSE_OK);
    }
    sse_reconnect_free(r);
  }
}

/* ---- idle deadline ---------------------------------------------------- */

static void test_idle_deadline(void **state) {
  sse_reconnect *r = make(10, 0, 0);
  (void)state;
  assert_int_equal(sse_reconnect_set_idle_timeout(r, 1000), SSE_OK);
  assert_int_equal(sse_reconnect_attempt(r, 100), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 1100);
  /* header bytes count */
  assert_int_equal(sse_reconnect_on_bytes(r, 400, 10), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 1400);
  /* no bytes: no change */
  assert_int_equal(sse_reconnect_on_bytes(r, 900, 0), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 1400);
  assert_int_equal(sse_reconnect_response(r, 1200, 200, CT, 17, NO_RA),
                   SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 2200);
  /* one byte (a heartbeat's ":\n" is two) is enough */
  assert_int_equal(sse_reconnect_on_bytes(r, 2100, 1), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 3100);
  /* the caller acts on the deadline: a short stream, so a failure */
  assert_int_equal(sse_reconnect_closed(r, 3100), SSE_OK);
  assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_WAITING);
  assert_int_equal(sse_reconnect_get_failures(r), 1);
  assert_true(sse_reconnect_get_deadline(r) == 3110);
  assert_int_equal(sse_reconnect_on_bytes(r, 3105, 1), SSE_E_STATE);
  assert_true(sse_reconnect_get_deadline(r) == 3110);
  /* turned off: no deadline while connected */
  assert_int_equal(sse_reconnect_attempt(r, 3110), SSE_OK);
  assert_int_equal(sse_reconnect_set_idle_timeout(r, 0), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == UINT64_MAX);
  sse_reconnect_free(r);
}

static void test_idle_before_response(void **state) {
  sse_reconnect *r = make(10, 5, 5);
  (void)state;
  assert_int_equal(sse_reconnect_set_idle_timeout(r, 300), SSE_OK);
  assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 300);
  assert_int_equal(sse_reconnect_closed(r, 300), SSE_OK);
  assert_int_equal(sse_reconnect_get_failures(r), 1);
  assert_true(sse_reconnect_get_deadline(r) == 315);
  sse_reconnect_free(r);
}

/* ---- limits, stop, reset, misuse -------------------------------------- */

static void test_max_reconnects(void **state) {
  sse_reconnect *r = make(0, 0, 0);
  (void)state;
  assert_int_equal(sse_reconnect_set_max_reconnects(r, 2), SSE_OK);
  connect_fail(r, 0);
  assert_int_equal(sse_reconnect_get_reconnects(r), 0);
  connect_ok(r, 1);
  assert_int_equal(sse_reconnect_get_reconnects(r), 1);
  assert_int_equal(sse_reconnect_closed(r, 100000), SSE_OK);
  assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_WAITING);
  assert_int_equal(sse_reconnect_attempt(r, 100001), SSE_OK);
  assert_int_equal(sse_reconnect_get_reconnects(r), 2);
  assert_int_equal(sse_reconnect_response(r, 100001, 503, NULL, 0, NO_RA),
                   SSE_OK);
  expect_stopped(r, SSE_RECONNECT_ATTEMPTS_USED);
  assert_int_equal(sse_reconnect_attempt(r, 100002), SSE_E_STATE);
  sse_reconnect_free(r);

  /* 0: the first connection's end is the end, even a clean one */
  r = make(0, 0, 0);
  assert_int_equal(sse_reconnect_set_max_reconnects(r, 0), SSE_OK);
  connect_ok(r, 0);
  assert_int_equal(sse_reconnect_closed(r, 50000), SSE_OK);
  expect_stopped(r, SSE_RECONNECT_ATTEMPTS_USED);
  sse_reconnect_free(r);

  /* a 204 still says "no content", not "attempts used" */
  r = make(0, 0, 0);
  assert_int_equal(sse_reconnect_set_max_reconnects(r, 0), SSE_OK);
  assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
  assert_int_equal(sse_reconnect_response(r, 0, 204, NULL, 0, NO_RA), SSE_OK);
  expect_stopped(r, SSE_RECONNECT_NO_CONTENT);
  sse_reconnect_free(r);
}

static void test_state_errors(void **state) {
  sse_reconnect *r = make(10, 0, 0);
  (void)state;
  /* WAITING */
  assert_int_equal(sse_reconnect_response(r, 0, 200, CT, 17, NO_RA),
                   SSE_E_STATE);
  assert_int_equal(sse_reconnect_on_bytes(r, 0, 1), SSE_E_STATE);
  assert_int_equal(sse_reconnect_closed(r, 0), SSE_OK); /* no-op */
  assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_WAITING);
  assert_true(sse_reconnect_get_deadline(r) == 0);
  assert_int_equal(sse_reconnect_get_failures(r), 0);
  /* CONNECTING */
  assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
  assert_int_equal(sse_reconnect_attempt(r, 0), SSE_E_STATE);
  /* STREAMING */
  assert_int_equal(sse_reconnect_response(r, 0, 200, CT, 17, NO_RA), SSE_OK);
  assert_int_equal(sse_reconnect_attempt(r, 0), SSE_E_STATE);
  assert_int_equal(sse_reconnect_response(r, 0, 200, CT, 17, NO_RA),
                   SSE_E_STATE);
  assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_STREAMING);
  /* WAITING after a verdict: closing again changes nothing */
  assert_int_equal(sse_reconnect_closed(r, 5), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 5 + 10);
  assert_int_equal(sse_reconnect_closed(r, 7), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == 5 + 10);
  assert_int_equal(sse_reconnect_get_failures(r), 1);
  /* STOPPED */
  assert_int_equal(sse_reconnect_attempt(r, 20), SSE_OK);
  assert_int_equal(sse_reconnect_response(r, 20, 404, NULL, 0, NO_RA),
                   SSE_OK);
  assert_int_equal(sse_reconnect_attempt(r, 30), SSE_E_STATE);
  assert_int_equal(sse_reconnect_response(r, 30, 200, CT, 17, NO_RA),
                   SSE_E_STATE);
  assert_int_equal(sse_reconnect_on_bytes(r, 30, 1), SSE_E_STATE);
  assert_int_equal(sse_reconnect_closed(r, 30), SSE_OK);
  expect_stopped(r, SSE_RECONNECT_BAD_STATUS);
  sse_reconnect_free(r);
}

static void test_early_attempt(void **state) {
  sse_reconnect *r = make(1000, 0, 0);
  (void)state;
  connect_fail(r, 0);
  assert_true(sse_reconnect_get_deadline(r) == 1000);
  assert_int_equal(sse_reconnect_attempt(r, 10), SSE_OK);
  assert_int_equal(sse_reconnect_get_reconnects(r), 1);
  sse_reconnect_free(r);
}

static void test_stop_from_every_state(void **state) {
  int s;
  (void)state;
  for (s = 0; s < 3; s++) {
    sse_reconnect *r = make(10, 0, 0);
    if (s >= 1)
      assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
    if (s >= 2)
      assert_int_equal(sse_reconnect_response(r, 0, 200, CT, 17, NO_RA),
                       SSE_OK);
    assert_int_equal(sse_reconnect_get_state(r), (sse_reconnect_state)s);
    assert_int_equal(sse_reconnect_stop(r), SSE_OK);
    expect_stopped(r, SSE_RECONNECT_STOPPED_BY_CALLER);
    sse_reconnect_free(r);
  }
  {
    /* stopping again keeps the first reason */
    sse_reconnect *r = make(10, 0, 0);
    assert_int_equal(sse_reconnect_attempt(r, 0), SSE_OK);
    assert_int_equal(sse_reconnect_response(r, 0, 204, NULL, 0, NO_RA),
                     SSE_OK);
    assert_int_equal(sse_reconnect_stop(r), SSE_OK);
    expect_stopped(r, SSE_RECONNECT_NO_CONTENT);
    sse_reconnect_free(r);
  }
}

static void test_reset(void **state) {
  sse_reconnect *r = make(10, 5, 50);
  (void)state;
  assert_int_equal(sse_reconnect_set_idle_timeout(r, 700), SSE_OK);
  assert_int_equal(sse_reconnect_set_max_reconnects(r, 1), SSE_OK);
  connect_fail(r, 0);
  connect_ok(r, 100);
  assert_int_equal(sse_reconnect_on_retry(r, 99), SSE_OK);
  assert_int_equal(sse_reconnect_closed(r, 200), SSE_OK);
  expect_stopped(r, SSE_RECONNECT_ATTEMPTS_USED);
  assert_int_equal(sse_reconnect_reset(r), SSE_OK);
  assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_WAITING);
  assert_int_equal(sse_reconnect_get_reason(r), SSE_RECONNECT_NOT_STOPPED);
  assert_true(sse_reconnect_get_deadline(r) == 0);
  assert_true(sse_reconnect_get_retry_ms(r) == 10);
  assert_int_equal(sse_reconnect_get_failures(r), 0);
  assert_int_equal(sse_reconnect_get_reconnects(r), 0);
  /* settings kept: idle timeout, max reconnects (the first attempt after
   * a reset is not a reconnection) */
  assert_int_equal(sse_reconnect_attempt(r, 1000), SSE_OK);
  assert_int_equal(sse_reconnect_get_reconnects(r), 0);
  assert_true(sse_reconnect_get_deadline(r) == 1700);
  assert_int_equal(sse_reconnect_closed(r, 1000), SSE_OK);
  assert_int_equal(sse_reconnect_get_state(r), SSE_RECONNECT_WAITING);
  sse_reconnect_free(r);
}

static void test_saturation(void **state) {
  sse_reconnect *r;
  uint32_t i;
  (void)state;
  /* a clock near its top: deadlines saturate instead of wrapping */
  r = make(300000, 1000, 60000);
  assert_int_equal(sse_reconnect_set_idle_timeout(r, 1000), SSE_OK);
  assert_int_equal(sse_reconnect_attempt(r, UINT64_MAX - 10), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == UINT64_MAX);
  assert_int_equal(sse_reconnect_closed(r, UINT64_MAX - 5), SSE_OK);
  assert_true(sse_reconnect_get_deadline(r) == UINT64_MAX);
  sse_reconnect_free(r);
  /* the largest settings: T + backoff saturates */
  r = make(0, 1, UINT64_MAX);
  assert_int_equal(sse_reconnect_set_delays(r, UINT64_MAX, UINT64_MAX),
                   SSE_OK);
  assert_int_equal(sse_reconnect_set_backoff(r, 1, UINT64_MAX, 100), SSE_OK);
  for (i = 0; i < 70; i++) {
    assert_int_equal(sse_reconnect_reset(r), SSE_OK);
    connect_fail(r, 0);
  }
  /* T 0: the deadline is the backoff alone, 2^(n-1) at most */
  assert_int_equal(sse_reconnect_reset(r), SSE_OK);
  assert_int_equal(sse_reconnect_set_delays(r, 0, UINT64_MAX), SSE_OK);
  for (i = 0; i < 70; i++) {
    connect_fail(r, 0);
    assert_true(sse_reconnect_get_deadline(r) <= UINT64_C(1) << (i < 63 ? i : 63));
  }
  sse_reconnect_free(r);
  /* a clock that goes backwards: the stream lived 0 ms */
  r = make(10, 20, 20);
  connect_ok(r, 50000);
  assert_int_equal(sse_reconnect_closed(r, 1000), SSE_OK);
  assert_int_equal(sse_reconnect_get_failures(r), 1);
  assert_true(sse_reconnect_get_deadline(r) == 1000 + 10 + 20);
  sse_reconnect_free(r);
}

/* ---- Retry-After ------------------------------------------------------ */

static int ra(const char *s, int64_t now, uint64_t *ms) {
  *ms = 12345;
  return sse_reconnect_parse_retry_after(s, s ? strlen(s) : 0, now, ms);
}

static void test_retry_after_seconds(void **state) {
  uint64_t ms;
  (void)state;
  assert_int_equal(ra("120", -1, &ms), SSE_OK);
  assert_true(ms == 120000);
  assert_int_equal(ra(" 0 ", -1, &ms), SSE_OK);
  assert_true(ms == 0);
  assert_int_equal(ra("\t5\r\n", -1, &ms), SSE_OK);
  assert_true(ms == 5000);
  assert_int_equal(ra("007", -1, &ms), SSE_OK);
  assert_true(ms == 7000);
  assert_int_equal(ra("18446744073709550", -1, &ms), SSE_OK);
  assert_true(ms == UINT64_C(18446744073709550000));
  /* the largest exact value, then saturation below the "absent" value */
  assert_int_equal(ra("18446744073709551", -1, &ms), SSE_OK);
  assert_true(ms == UINT64_C(18446744073709551000));
  assert_int_equal(ra("18446744073709552", -1, &ms), SSE_OK);
  assert_true(ms == UINT64_MAX - 1);
  assert_int_equal(ra("184467440737095510", -1, &ms), SSE_OK);
  assert_true(ms == UINT64_MAX - 1);
  assert_int_equal(ra("99999999999999999999999999999999", -1, &ms), SSE_OK);
  assert_true(ms == UINT64_MAX - 1);
  /* malformed: *ms untouched */
  {
    static const char *const bad[] = {"",    "   ", "-1",  "+1", "1.5",
                                      "1 2", "abc", "1s",  "0x10", "\xd9\xa1"};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
      assert_int_equal(ra(bad[i], 0, &ms), SSE_E_INVALID_VALUE);
      assert_true(ms == 12345);
    }
  }
  assert_int_equal(ra(NULL, 0, &ms), SSE_E_INVALID_VALUE);
  assert_int_equal(sse_reconnect_parse_retry_after(NULL, 1, 0, &ms),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_reconnect_parse_retry_after("1", 1, 0, NULL),
                   SSE_E_INVALID_ARGUMENT);
  /* the length is honoured */
  assert_int_equal(sse_reconnect_parse_retry_after("12x", 2, 0, &ms), SSE_OK);
  assert_true(ms == 12000);
}

static void test_retry_after_dates(void **state) {
  const int64_t t1994 = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
  uint64_t ms;
  (void)state;
  assert_int_equal(ra("Sun, 06 Nov 1994 08:49:37 GMT", t1994 - 30, &ms),
                   SSE_OK);
  assert_true(ms == 30000);
  assert_int_equal(ra("  Sun, 06 Nov 1994 08:49:37 GMT\r\n", t1994, &ms),
                   SSE_OK);
  assert_true(ms == 0);
  /* in the past: 0 */
  assert_int_equal(ra("Sun, 06 Nov 1994 08:49:37 GMT", t1994 + 99, &ms),
                   SSE_OK);
  assert_true(ms == 0);
  assert_int_equal(ra("Thu, 01 Jan 1970 00:00:10 GMT", 0, &ms), SSE_OK);
  assert_true(ms == 10000);
  assert_int_equal(ra("Fri, 01 Jan 2100 00:00:00 GMT", 4102444800 - 1, &ms),
                   SSE_OK);
  assert_true(ms == 1000);
  assert_int_equal(ra("Tue, 29 Feb 2000 23:59:60 GMT", 951868800 - 2, &ms),
                   SSE_OK);
  assert_true(ms == 2000);
  assert_int_equal(ra("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799 - 5, &ms),
                   SSE_OK);
  assert_true(ms == 5000);
  /* without the wall time a date cannot be used */
  assert_int_equal(ra("Sun, 06 Nov 1994 08:49:37 GMT", -1, &ms),
                   SSE_E_INVALID_VALUE);
  assert_true(ms == 12345);
  {
    static const char *const bad[] = {
        "Sun, 06 Nov 1994 08:49:37 UTC",  "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",  "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",  "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 1900 08:49:37 GMT",  "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",  "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",   "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun,06 Nov 1994 08:49:37 GMT ",  "Sun, 06 Nov 1994 08:49:37 GMTX",
        "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
        "Sun, 06 Nov 1994 08.49.37 GMT",  "Sun, 06 Nov 19x4 08:49:37 GMT"};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
      assert_int_equal(ra(bad[i], 0, &ms), SSE_E_INVALID_VALUE);
      assert_true(ms == 12345);
    }
  }
}

/* ---- with the decoder ------------------------------------------------- */

typedef struct wire {
  sse_reconnect *r;
  int events;
} wire;

static int w_retry(void *user, uint64_t ms) {
  wire *w = user;
  return sse_reconnect_on_retry(w->r, ms);
}

static int w_event(void *user, const sse_event *ev) {
  wire *w = user;
  (void)ev;
  w->events++;
  return SSE_OK;
}

/* A stream drops inside an event: the id to resume from is the last
 * committed one, the decoder keeps it across reset, and the delay is the
 * server's retry. */
static void test_with_decoder(void **state) {
  static const char part1[] = "retry: 250\nid: 7\ndata: a\n\nid: 8\ndata: b";
  static const char part2[] = "data: c\n\n";
  sse_decoder_callbacks cb = {0};
  sse_decoder *d;
  wire w = {NULL, 0};
  const char *id;
  size_t len;
  (void)state;
  w.r = make(3000, 0, 0);
  assert_int_equal(sse_reconnect_set_reset_after(w.r, 0), SSE_OK);
  cb.on_retry = w_retry;
  cb.on_event = w_event;
  assert_int_equal(sse_decoder_new(&d, &cb, &w, NULL), SSE_OK);

  connect_ok(w.r, 0);
  assert_int_equal(sse_decoder_feed(d, part1, sizeof part1 - 1, NULL), SSE_OK);
  assert_int_equal(sse_reconnect_on_bytes(w.r, 10, sizeof part1 - 1), SSE_OK);
  assert_int_equal(sse_reconnect_closed(w.r, 20), SSE_OK);
  assert_true(sse_reconnect_get_deadline(w.r) == 20 + 250);

  assert_int_equal(sse_decoder_reset(d), SSE_OK);
  id = sse_decoder_get_last_event_id(d, &len);
  assert_int_equal(len, 1);
  assert_memory_equal(id, "7", 1);
  assert_int_equal(w.events, 1);

  connect_ok(w.r, 270);
  assert_int_equal(sse_decoder_feed(d, part2, sizeof part2 - 1, NULL), SSE_OK);
  assert_int_equal(w.events, 2);
  id = sse_decoder_get_last_event_id(d, &len);
  assert_int_equal(len, 1);
  assert_memory_equal(id, "7", 1);
  sse_decoder_free(d);
  sse_reconnect_free(w.r);
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

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_defaults),
      cmocka_unit_test(test_null_object),
      cmocka_unit_test(test_allocator),
      cmocka_unit_test(test_setter_validation),
      cmocka_unit_test(test_content_types),
      cmocka_unit_test(test_status_verdicts),
      cmocka_unit_test(test_bad_arguments_in_response),
      cmocka_unit_test(test_long_stream_waits_exactly_T),
      cmocka_unit_test(test_short_stream_is_a_failure),
      cmocka_unit_test(test_backoff_doubles_to_cap),
      cmocka_unit_test(test_backoff_adds_to_T),
      cmocka_unit_test(test_long_stream_resets_backoff),
      cmocka_unit_test(test_reset_after_zero),
      cmocka_unit_test(test_retry_field),
      cmocka_unit_test(test_retry_after),
      cmocka_unit_test(test_jitter_fixed_seed),
      cmocka_unit_test(test_jitter_bounds_and_seeds),
      cmocka_unit_test(test_idle_deadline),
      cmocka_unit_test(test_idle_before_response),
      cmocka_unit_test(test_max_reconnects),
      cmocka_unit_test(test_state_errors),
      cmocka_unit_test(test_early_attempt),
      cmocka_unit_test(test_stop_from_every_state),
      cmocka_unit_test(test_reset),
      cmocka_unit_test(test_saturation),
      cmocka_unit_test(test_retry_after_seconds),
      cmocka_unit_test(test_retry_after_dates),
      cmocka_unit_test(test_with_decoder),
      cmocka_unit_test(retry_after_dates_broken_in_each_field),
  };
  test_filter(argc, argv);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
