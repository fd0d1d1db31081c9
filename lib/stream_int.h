/* Internals shared by frame.c, stream.c and history.c. Not installed. */
#ifndef SSE_STREAM_INT_H
#define SSE_STREAM_INT_H

#include "internal.h"

/* Reference counts: GCC/clang builtins (usable under -std=c99), else C11
 * atomics, else a plain counter (sse_frame_atomic() then says 0). */
#if defined(__ATOMIC_ACQ_REL) && defined(__GNUC__)
#  define SSE__REFS_BUILTIN 1
typedef size_t sse__refs;
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && \
    !defined(__STDC_NO_ATOMICS__)
#  include <stdatomic.h>
#  define SSE__REFS_C11 1
typedef atomic_size_t sse__refs;
#else
typedef size_t sse__refs;
#endif

enum {
  SSE__FRAME_STATIC = 1u << 0, /* constant storage: never counted or freed */
  SSE__FRAME_HAS_ID = 1u << 1
};

struct sse_frame {
  sse__refs refs;
  unsigned flags;
  const char *data; /* the encoded bytes: after the struct, or constant */
  size_t len;
  size_t id_off; /* the id's bytes are data[id_off .. id_off + id_len) */
  size_t id_len;
  sse_allocator alloc; /* frees the frame (unused when static) */
};

/* A frame with room for len bytes (*bytes), one reference. SSE_E_NOMEM. */
int sse__frame_alloc(sse_frame **out, const sse_allocator *a, size_t len,
                     char **bytes);

const sse_frame *sse__frame_ref(const sse_frame *f);
void sse__frame_unref(const sse_frame *f);

/* The state check every send starts with: SSE_OK, SSE_E_BUSY, the sticky
 * state, or SSE_E_INVALID_ARGUMENT for NULL. */
int sse__stream_state(const sse_stream *s);

/* Sending many frames onto a stream as one all-or-nothing send (history
 * replay, send_frames). begin checks the stream (busy, state) and that n
 * frames of bytes fit under its cap, and reserves n queue slots: SSE_OK, or
 * an error with nothing changed (SSE_E_NOSPACE when they do not fit; it
 * does not overflow the stream). Then
 * put_ring sends the frames ring[(start + i) % cap], i < n (start < cap,
 * n <= cap), bytes in all: if begin found the stream idle, they go to the
 * callback in place and only what it leaves is queued, with references;
 * else they are queued. The frames must stay alive during the call: the
 * callback must not release them (the history refuses pushes meanwhile).
 * SSE_OK or SSE_E_WRITE. */
int sse__stream_begin(sse_stream *s, size_t n, size_t bytes);
int sse__stream_put_ring(sse_stream *s, const sse_frame *const *ring,
                         size_t cap, size_t start, size_t n, size_t bytes);

#endif /* SSE_STREAM_INT_H */
