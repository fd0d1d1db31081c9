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
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

typedef struct stream {
  const char *name;
  const char *bytes;
  size_t len; /* 0: strlen */
} stream;

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

/* One scenario: the no-failure record, then every failure point in both
 * modes. */
static void run_scenario(const char *what, const harness_run *base,
                         const char *in, size_t n) {
  test_alloc clean;
  test_log want = {0};
  harness_run r = *base;
  int violations = 0, nomems = 0;
  char nomem_result[32];
  size_t k;
  snprintf(nomem_result, sizeof nomem_result, "result %s\n",
           sse_error_name(SSE_E_NOMEM));
  memset(&clean, 0, sizeof clean);
  r.alloc = &clean;
  r.violations = &violations;
  harness_decode(&r, in, n, &want);
  if (violations)
    fail_msg("%s: violation without failure:\n%s", what, want.p);
  n_scenarios++;
  for (k = 1;; k++) {
    int forever;
    size_t calls_once = 0;
    for (forever = 0; forever <= 1; forever++) {
      test_alloc a;
      test_log got = {0};
      memset(&a, 0, sizeof a);
      a.fail_at = k;
      a.fail_forever = forever;
      r = *base;
      r.alloc = &a;
      r.violations = &violations;
      r.retry_on_nomem = 1;
      r.nomems = &nomems;
      violations = 0;
      nomems = 0;
      harness_decode(&r, in, n, &got);
      n_runs++;
      if (violations)
        fail_msg("%s: failing allocation %zu (%s):\n%s", what, k,
                 forever ? "forever" : "once", got.p);
      if (a.live || a.live_bytes)
        fail_msg("%s: leak after failing allocation %zu", what, k);
      if (k <= clean.calls && a.calls < k)
        fail_msg("%s: allocation %zu was never reached", what, k);
      if (!forever) {
        calls_once = a.calls;
        /* SSE_E_NOMEM was returned exactly once, then retried. */
        if (nomems != (k <= clean.calls))
          fail_msg("%s: failing allocation %zu once gave %d SSE_E_NOMEM",
                   what, k, nomems);
        if (strcmp(got.p, want.p) != 0)
          fail_msg("%s: failing allocation %zu once, then feeding the rest "
                   "again:\n%s\nwant:\n%s",
                   what, k, got.p, want.p);
      } else if (k <= clean.calls) {
        size_t cut = first_tail(&got);
        const char *res = strstr(got.p + cut, "result ");
        if (!res || strcmp(res, nomem_result) != 0)
          fail_msg("%s: failing from allocation %zu on did not end in "
                   "SSE_E_NOMEM alone:\n%s",
                   what, k, got.p);
        if (cut > want.len || memcmp(got.p, want.p, cut) != 0)
          fail_msg("%s: failing from allocation %zu on, the record before "
                   "the failure differs:\n%s\nwant:\n%s",
                   what, k, got.p, want.p);
      }
      test_log_free(&got);
    }
    if (k > clean.calls) {
      /* The first run that met no failure: the sweep is complete. */
      assert_true(calls_once == clean.calls);
      break;
    }
    n_failure_points++;
  }
  test_log_free(&want);
}

/* Every stream under every option set and chunking. */
static void sweep(const stream *streams, size_t count) {
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
  static const stream streams[] = {
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
  stream streams[4];
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
  stream s;
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

static int report(void **state) {
  (void)state;
  printf("oom: %zu scenarios, %zu failure points, %zu runs (once + forever), "
         "0 leaks\n",
         n_scenarios, n_failure_points, n_runs);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oom_new_and_set_id),
      cmocka_unit_test(oom_spec_like_streams),
      cmocka_unit_test(oom_growth_streams),
      cmocka_unit_test(oom_encoder_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, report);
}
