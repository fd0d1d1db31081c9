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
#define _POSIX_C_SOURCE 200809L /* getrusage, clock_gettime */

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

#include "support.h"

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

static int c_event(void *u, const sse_event *ev) {
  (void)ev;
  ((counts *)u)->events++;
  return SSE_OK;
}
static int c_discard(void *u, int reason) {
  ((counts *)u)->discards++;
  ((counts *)u)->reason = reason;
  return SSE_OK;
}
static int c_comment(void *u, const char *s, size_t n) {
  (void)s;
  (void)n;
  ((counts *)u)->comments++;
  return SSE_OK;
}
static int c_data(void *u, const char *s, size_t n) {
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
  cb.on_event = c_event;
  cb.on_discard = c_discard;
  cb.on_comment = c_comment;
  if (sc->pieces)
    cb.on_data = c_data;
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(membound_all),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
