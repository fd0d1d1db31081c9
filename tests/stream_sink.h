/* A scripted write callback for the stream tests: records every byte it
 * accepts and how it was called, and behaves as the test asks (take all,
 * one byte per call, would-block every other call, a byte budget, a failure
 * at a byte position). */
#ifndef SSE_TEST_STREAM_SINK_H
#define SSE_TEST_STREAM_SINK_H

#include <stddef.h>

#include "support.h"

/* How the sink paces itself; every stream test runs under each. */
enum sink_mode {
  SINK_ALL,  /* accepts everything offered */
  SINK_ONE,  /* accepts one byte per call */
  SINK_ALT,  /* reports would-block on every other call (the first too) */
  SINK_MODES
};

/* Every pacing, with the vectored (plain = 0) and the plain write callback
 * (plain = 1): FOR_SINKS(mode, plain) { ... sink_init(&k, mode, plain) ... } */
#define FOR_SINKS(mode, plain)                                                 \
  for (plain = 0; plain < 2; plain++)                                          \
    for (mode = 0; mode < SINK_MODES; mode++)

typedef struct sink {
  int mode;          /* enum sink_mode */
  int plain;         /* the stream uses the write(buf, len) callback */
  size_t budget;     /* bytes it still accepts; then would-block. SIZE_MAX */
  size_t fail_at;    /* fails every call once this many bytes are in; SIZE_MAX */
  int fail_code;     /* what it returns then */
  int overreport;    /* reports one byte more than offered */
  test_log wire;     /* every byte accepted, in order */
  size_t calls;      /* callback calls */
  size_t calls_after_fail; /* calls made after it reported a failure */
  int failed;
  size_t max_iov;    /* most pieces in one call */
  size_t last_iov;   /* pieces in the latest call */
  const void *last_base; /* the first piece's address in the latest call */
  /* Called first thing in every callback (re-entrancy tests). */
  void (*hook)(struct sink *k);
  void *hook_data;
} sink;

/* A sink in the given mode, unlimited, never failing. */
void sink_init(sink *k, int mode, int plain);
void sink_free(sink *k);

/* A stream writing into k (writev or write as k->plain says), allocating
 * through a (NULL: libc). Asserts success. */
sse_stream *sink_stream(sink *k, const sse_allocator *a);
/* The same, returning the creation result (for allocation failure tests). */
int sink_stream_new(sink *k, const sse_allocator *a, sse_stream **out);

/* Flushes until nothing is pending (the sink must be able to take it all);
 * asserts progress and success. */
void sink_drain(sse_stream *s, sink *k);

/* Asserts that the wire holds exactly want[0..n). */
void sink_expect(const sink *k, const void *want, size_t n);

/* Decodes the wire with the library's decoder (comments recorded) and
 * asserts the log equals want (see test_decode in support.h). */
void sink_expect_events(const sink *k, const char *want);

/* Appends an event's encoding to l (asserts it encodes). */
void enc_event(test_log *l, const char *type, const char *id,
               const char *data);
void enc_comment(test_log *l, const char *text);
void enc_retry(test_log *l, uint64_t ms);

/* An sse_message over NUL-terminated strings (NULL: absent). */
sse_message mk_event(const char *type, const char *id, const char *data);

/* The history's sequence range (either pointer may be NULL) and the bytes
 * it keeps, from the getters. */
size_t hist_range(const sse_history *h, uint64_t *first, uint64_t *last);

#endif
