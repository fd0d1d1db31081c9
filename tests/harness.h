/* A scriptable decoder driver for the hardening tests and the fuzz targets:
 * any chunking, callbacks that pause on a schedule, a counting/failing
 * allocator, and checks of the API contract on every call. Everything is
 * recorded as text, one line per report, so two runs are compared byte for
 * byte (strings escaped: \n \r \\ \| and \xHH for other non-printing
 * bytes; codes by sse_error_name, e.g. SSE_E_LINE_TOO_LONG):
 *
 *   event TYPE|DATA|ID     retry N     comment TEXT     discard CODE
 *   last ID                (the final sse_decoder_get_last_event_id)
 *   result CODE            (the first non-OK, non-pause return, or SSE_OK; an
 *                           SSE_E_NOMEM that was retried is not one)
 *
 * A broken contract (a wrong `consumed`, a non-sticky limit or callback
 * error, a callback after one other than on_discard in finish, a
 * re-entrant call that was not refused...) is recorded as
 * a line starting with "!violation", so it makes every comparison fail and
 * shows up in the diff; r->violations counts them. Linked into the cmocka
 * tests and the fuzzers alike (it needs no cmocka). */
#ifndef SSE_TEST_HARNESS_H
#define SSE_TEST_HARNESS_H

#include <stddef.h>

#include "support.h"

typedef struct harness_run {
  unsigned options;     /* sse_decoder_set_options */
  size_t max_line;      /* 0 = default */
  size_t max_event;     /* 0 = default */
  int comments;         /* record comments (on_comment set) */
  int pieces;           /* incremental data (on_data set) */
  int no_finish;        /* do not call finish at the end */
  const size_t *cuts;   /* feed boundaries: sorted offsets, each <= n */
  size_t ncuts;
  size_t pause_every;   /* every k-th callback returns SSE_PAUSE; 0 = never */
  const char *last_id;  /* set with sse_decoder_set_last_event_id first */
  size_t last_id_len;
  test_alloc *alloc;    /* allocator to use; NULL = libc */
  /* SSE_E_NOMEM is recoverable: when set, a feed (or sse_decoder_new, or
   * sse_decoder_set_last_event_id) that returns it is called again with
   * the bytes it did not consume, as a client does once memory is back.
   * After max_retries (0 = 3) failures in a row without progress the run
   * gives up with SSE_E_NOMEM. When not set, SSE_E_NOMEM ends the run. */
  int retry_on_nomem;
  int max_retries;
  int *violations;      /* if set, incremented once per violation */
  int *nomems;          /* if set, gets the number of SSE_E_NOMEM returns */
} harness_run;

/* Runs the decoder over in[0..n) as described by r, appending the record
 * to *log. Returns the result code (also the last line of the log). */
int harness_decode(const harness_run *r, const void *in, size_t n,
                   test_log *log);

/* Appends s[0..n) escaped as above. */
void harness_log_str(test_log *l, const char *s, size_t n);

/* Cuts for feeding n bytes in chunks of `chunk` (0 = whole): fills cuts
 * (room for n / chunk + 1) and returns how many. */
size_t harness_fixed_cuts(size_t n, size_t chunk, size_t *cuts);

#endif
