/*
 * fuzz_decoder: chunking invariance, limits and memory of the decoder.
 *
 * Input: the header of fuzz_decoder_setup() (options, chunking plan, pause
 * pattern, limits, initial last event ID), then the stream.
 *
 * Oracles, beyond the sanitizers and the harness's contract checks:
 *  1. The record (events with type, data and id; retries; comments;
 *     discards; final last event ID; result code) of the planned chunked
 *     feed, with callbacks pausing on schedule, equals that of one single
 *     feed without pauses.
 *  2. With tight limits, the record equals that of a run with the default
 *     limits, except that it may stop at a limit: it is then a prefix of it,
 *     up to the limit error (or, under SSE_DECODER_SKIP_OVERSIZE, up to the
 *     first discard for a limit).
 *  3. Memory: the peak of live bytes stays within what the limits allow
 *     (see bound() below) and within a constant times the input size.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* The decoder's own bound on buffered bytes: the data buffer (max_event
 * plus the data line being gathered, max_line), the partial line, the
 * event type, the pending and the committed id (one max_line each), and
 * under SSE_DECODER_UTF8 the repair buffer (three times a type, an id and
 * the data). Plus the object and rounding slack. */
static size_t limit_bound(const harness_run *r) {
  size_t line = r->max_line, event = r->max_event;
  size_t b = 4096 + event + 5 * (line < 64 ? 64 : line);
  if (r->options & SSE_DECODER_UTF8)
    b += 3 * (2 * line + event);
  return b;
}

/* Where a record stops being comparable with an unlimited run: the first
 * discard for a limit, or the final lines when the result is a limit
 * error (with the pending event that finish then reports as truncated).
 * (size_t)-1 when it reached no limit. */
static size_t limit_cut(const test_log *l) {
  size_t at = 0, last = (size_t)-1, truncated = (size_t)-1;
  while (at < l->len) {
    const char *p = l->p + at;
    const char *nl = memchr(p, '\n', l->len - at);
    size_t end = nl ? (size_t)(nl - l->p) + 1 : l->len;
    if (!strncmp(p, "discard SSE_E_LINE_TOO_LONG\n", 28) ||
        !strncmp(p, "discard SSE_E_EVENT_TOO_LARGE\n", 30))
      return at;
    if (!strncmp(p, "last ", 5))
      last = truncated != (size_t)-1 ? truncated : at;
    else if (!strncmp(p, "discard SSE_E_TRUNCATED\n", 24))
      truncated = at;
    else
      truncated = (size_t)-1;
    if (!strncmp(p, "result SSE_E_LINE_TOO_LONG\n", 27) ||
        !strncmp(p, "result SSE_E_EVENT_TOO_LARGE\n", 29))
      return last;
    at = end;
  }
  return (size_t)-1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader r;
  fuzz_setup s;
  harness_run w;
  test_alloc a_chunked, a_whole;
  test_log chunked = {0}, whole = {0};
  size_t *cuts = malloc(sizeof(size_t) * FUZZ_CUTS(size));
  size_t input_bound;
  if (!cuts)
    abort();
  fuzz_set_input(data, size);
  r.p = data;
  r.n = size;
  fuzz_decoder_setup(&r, &s, cuts);
  memset(&a_chunked, 0, sizeof a_chunked);
  memset(&a_whole, 0, sizeof a_whole);

  s.run.alloc = &a_chunked;
  harness_decode(&s.run, s.payload, s.n, &chunked);
  w = s.run;
  w.ncuts = 0;
  w.pause_every = 0;
  w.alloc = &a_whole;
  harness_decode(&w, s.payload, s.n, &whole);
  if (s.violations)
    fuzz_fail("the decoder broke its contract (see !violation lines)",
              &chunked, "chunked feed", &whole, "single feed");
  fuzz_expect_same("a chunked feed decodes differently from a single feed",
                   &whole, "single feed", &chunked, "chunked feed");

  /* Memory in proportion to the input, whatever the limits. */
  input_bound = 4096 + 16 * (s.n + s.run.last_id_len);
  if (a_chunked.peak_bytes > input_bound || a_whole.peak_bytes > input_bound)
    fuzz_fail("memory out of proportion to the input", &chunked,
              "chunked feed", NULL, NULL);

  if (s.tight) {
    harness_run u = w;
    test_log full = {0};
    test_alloc a_full;
    size_t cut = limit_cut(&whole);
    if (a_chunked.peak_bytes > limit_bound(&s.run) ||
        a_whole.peak_bytes > limit_bound(&s.run))
      fuzz_fail("memory above the limits", &chunked, "chunked feed", NULL,
                NULL);
    memset(&a_full, 0, sizeof a_full);
    u.max_line = u.max_event = 0;
    u.alloc = &a_full;
    harness_decode(&u, s.payload, s.n, &full);
    if (cut == (size_t)-1)
      fuzz_expect_same("limits changed a stream that stayed within them",
                       &full, "default limits", &whole, "tight limits");
    else if (cut > full.len || memcmp(whole.p, full.p, cut) != 0)
      fuzz_fail("before its limit error the record differs from an "
                "unlimited run",
                &full, "default limits", &whole, "tight limits");
    test_log_free(&full);
  }
  test_log_free(&chunked);
  test_log_free(&whole);
  free(cuts);
  return 0;
}
