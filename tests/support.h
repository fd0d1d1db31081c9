/* Test helpers shared by the cmocka suites: a counting allocator that can
 * fail on demand, and a decoder driver that records every callback as text
 * so runs at different chunkings can be compared byte for byte. */
#ifndef SSE_TEST_SUPPORT_H
#define SSE_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include <sse.h>

/* ---- counting, failing allocator -------------------------------------- */

typedef struct test_alloc {
  size_t calls;      /* malloc + realloc calls so far */
  size_t fail_at;    /* 1-based call number that fails; 0 = never */
  int fail_forever;  /* fail every call from fail_at on */
  size_t live;       /* blocks currently allocated */
  size_t live_bytes; /* bytes currently allocated */
  size_t peak_bytes;
} test_alloc;

/* An sse_allocator routed through t (which must outlive its users). */
sse_allocator test_alloc_hooks(test_alloc *t);

/* ---- recording decoder driver --------------------------------------- */

/* A growable text log. */
typedef struct test_log {
  char *p;
  size_t len;
  size_t cap;
} test_log;

void test_log_add(test_log *l, const void *s, size_t n);
void test_log_printf(test_log *l, const char *fmt, ...);
void test_log_free(test_log *l);

typedef struct test_run {
  unsigned options;   /* sse_decoder_set_options */
  size_t max_line;    /* 0 = default */
  size_t max_event;   /* 0 = default */
  int comments;       /* record comments */
  int pieces;         /* use on_data (incremental data) */
  int finish;         /* call finish at the end (default behaviour: 1) */
} test_run;

/* Decodes in[0..n) fed in chunks of `chunk` bytes (0 = whole), recording
 * "event TYPE|DATA|ID", "retry N", "comment TEXT", "discard CODE" lines and
 * a last "result CODE" line (the first non-OK return, or 0). With pieces,
 * the data pieces are joined and logged at the event. Returns the log; the
 * caller frees it. */
test_log test_decode(const test_run *run, const void *in, size_t n,
                     size_t chunk);

/* Decodes with the input split at the given offsets (sorted, < n). */
test_log test_decode_split(const test_run *run, const void *in, size_t n,
                           const size_t *cuts, size_t ncuts);

#endif
