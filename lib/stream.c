/* The stream: a queue of frames drained through the caller's write callback.
 *
 * Invariants: the queue is a ring of frame references q[head .. head+count)
 * (indices mod cap, a power of two); off bytes of the head frame are already
 * written; pending == the sum of the queued lengths - off. An empty queue
 * always uses the inline ring, so a send onto an idle stream never allocates
 * a slot. Every send makes all its checks and allocations before anything
 * is written, which gives the strong guarantee: send_one for one frame,
 * begin then put_ring for a batch (a history replay, send_frames). Frames
 * sent onto an idle push stream skip the queue: they are offered to the
 * callback at once and only what it leaves is queued, so a frame written
 * whole costs no reference count (an atomic operation on a line that every
 * stream of a broadcast shares). A pull stream only queues; the server
 * takes from the front (read, peek and consume).
 *
 * What a stream holds, checked against max_pending: pending bytes plus the
 * queue array when there is one (the inline ring is part of the idle
 * allocation), so a stream stalled on tiny frames cannot grow its array
 * past the cap. */
#include "stream_int.h"

#define INLINE_SLOTS 4
#define FIRST_SLOTS 16 /* the first queue array */
#define GATHER_BYTES 1024 /* sse_stream_new_write: small frames coalesced */
#define MAX_SLOTS ((uint32_t)1 << 31) /* the largest power-of-two ring */

enum {
  F_IN_CB = 1u << 0,   /* inside the write callback */
  F_STARTED = 1u << 1, /* something was sent: sse_stream_open is too late */
  F_CLOCK = 1u << 2,   /* ticked at least once */
  F_KICK = 1u << 3,    /* begin found the stream idle: put_ring writes */
  F_PLAIN = 1u << 4,   /* the callback is cb.write, not cb.writev */
  F_WROTE = 1u << 5,   /* bytes left the stream since the latest tick, so
                          the last write is at `now` (not `last`) */
  F_PULL = 1u << 6     /* no callback: the server reads the queue */
};

/* The first 48 bytes are all that a send onto an idle stream reads or
 * writes, so that a broadcast touches one or two cache lines per stream
 * (hence also the F_WROTE bit rather than a time stamp per write); queueing
 * onto a waiting stream adds the next 48, the ring. */
struct sse_stream {
  unsigned flags;
  int err; /* SSE_OK, SSE_E_CLOSED, SSE_E_OVERFLOW or SSE_E_WRITE */
  size_t pending;
  size_t max_pending;
  union {
    sse_writev_fn writev;
    sse_write_fn write;
  } cb;
  void *user;
  uint32_t count, head;
  uint32_t cap;
  const sse_frame **q;
  const sse_frame *q_inline[INLINE_SLOTS];
  /* flushes, the clock, the allocator */
  size_t off;
  uint64_t interval, now, last;
  sse_allocator alloc;
};

/* The keep-alive, in constant storage: sending it cannot fail to allocate. */
static const sse_frame keepalive = {0, SSE__FRAME_STATIC, ":\n", 2, 0, 0,
                                    {NULL, NULL, NULL, NULL}};

static const sse_frame *at(const sse_stream *s, uint32_t i) {
  return s->q[(s->head + i) & (s->cap - 1)];
}

static void drop_queue(sse_stream *s) {
  uint32_t i;
  for (i = 0; i < s->count; i++)
    sse__frame_unref(at(s, i));
  if (s->q != s->q_inline)
    sse__free(&s->alloc, (void *)s->q);
  s->q = s->q_inline;
  s->cap = INLINE_SLOTS;
  s->head = s->count = 0;
  s->off = s->pending = 0;
}

/* The ring size after making room for n more frames (the ring doubles), or
 * 0 when that is more than a ring can be. */
static size_t ring_after(const sse_stream *s, size_t n) {
  size_t need, cap;
  if (n <= (size_t)(s->cap - s->count))
    return s->cap;
  if (n > (size_t)MAX_SLOTS - s->count)
    return 0;
  need = s->count + n;
  /* a stream that falls behind often falls further: start at FIRST_SLOTS */
  cap = s->cap < FIRST_SLOTS / 2 ? FIRST_SLOTS : (size_t)s->cap * 2;
  while (cap < need)
    cap *= 2;
  if (cap > MAX_SLOTS || cap > (size_t)-1 / sizeof(const sse_frame *))
    return 0;
  return cap;
}

/* Bytes of a queue array of cap slots: none for the inline ring. */
static size_t array_bytes(size_t cap) {
  return cap > INLINE_SLOTS ? cap * sizeof(const sse_frame *) : 0;
}

/* Whether n more frames of bytes in all fit under the cap, counting the
 * queue array they would need. An impossible ring fits (reserve then says
 * SSE_E_NOMEM). */
static int fits(const sse_stream *s, size_t n, size_t bytes) {
  size_t held = array_bytes(ring_after(s, n));
  return bytes <= s->max_pending && held <= s->max_pending - bytes &&
         s->pending <= s->max_pending - bytes - held;
}

/* Makes room for n more frames, unwrapped into a new array when the ring
 * grows. SSE_OK or SSE_E_NOMEM with nothing changed. */
static int reserve(sse_stream *s, size_t n) {
  size_t cap = ring_after(s, n);
  const sse_frame **q;
  uint32_t i;
  if (cap == s->cap)
    return SSE_OK;
  if (!cap)
    return SSE_E_NOMEM;
  q = sse__malloc(&s->alloc, cap * sizeof *q);
  if (!q)
    return SSE_E_NOMEM;
  for (i = 0; i < s->count; i++)
    q[i] = at(s, i);
  if (s->q != s->q_inline)
    sse__free(&s->alloc, (void *)s->q);
  s->q = q;
  s->cap = (uint32_t)cap;
  s->head = 0;
  return SSE_OK;
}

/* The state checks every send starts with. */
static int check(const sse_stream *s) {
  if (!s)
    return SSE_E_INVALID_ARGUMENT;
  if (s->flags & F_IN_CB)
    return SSE_E_BUSY;
  return s->err;
}

int sse__stream_state(const sse_stream *s) { return check(s); }

int sse__stream_begin(sse_stream *s, size_t n, size_t bytes) {
  int rc = check(s);
  if (rc != SSE_OK)
    return rc;
  if (!fits(s, n, bytes))
    return SSE_E_NOSPACE;
  rc = reserve(s, n);
  if (rc == SSE_OK && !s->count && !(s->flags & F_PULL))
    s->flags |= F_KICK;
  return rc;
}

static void put(sse_stream *s, const sse_frame *f) {
  s->q[(s->head + s->count) & (s->cap - 1)] = sse__frame_ref(f);
  s->count++;
  s->pending += f->len;
  s->flags |= F_STARTED;
}

/* Removes accepted bytes from the front of the queue. */
static void advance(sse_stream *s, size_t n) {
  s->pending -= n;
  while (n) {
    const sse_frame *f = s->q[s->head];
    size_t left = f->len - s->off;
    if (n < left) {
      s->off += n;
      return;
    }
    n -= left;
    s->off = 0;
    s->head = (s->head + 1) & (s->cap - 1);
    s->count--;
    sse__frame_unref(f);
  }
  if (!s->count)
    drop_queue(s); /* back to the inline ring */
}

/* The plain-write adapter: one buffer per call; leading pieces that fit
 * together in GATHER_BYTES are copied into one, so small frames share a
 * system call. */
static int call_write(sse_stream *s, const sse_iovec *iov, size_t n,
                      size_t *offered, size_t *written) {
  char tmp[GATHER_BYTES];
  size_t i, k, len = 0;
  for (k = 0; k < n && iov[k].len <= sizeof tmp - len; k++)
    len += iov[k].len;
  if (k < 2) {
    *offered = iov[0].len;
    return s->cb.write(s->user, iov[0].base, iov[0].len, written);
  }
  for (i = 0, len = 0; i < k; i++) {
    memcpy(tmp + len, iov[i].base, iov[i].len);
    len += iov[i].len;
  }
  *offered = len;
  return s->cb.write(s->user, tmp, len, written);
}

/* One callback call with iov[0..n) (offered bytes in all; the plain
 * callback may offer fewer). *written gets the bytes accepted, 0 when the
 * transport would block. SSE_OK, or SSE_E_WRITE: the callback failed and the
 * stream is now failed, its queue dropped. */
static SSE__INLINE int offer(sse_stream *s, const sse_iovec *iov, size_t n,
                             size_t *offered, size_t *written) {
  int rc;
  *written = 0;
  s->flags |= F_IN_CB;
  if (!(s->flags & F_PLAIN))
    rc = s->cb.writev(s->user, iov, n, written);
  else
    rc = call_write(s, iov, n, offered, written);
  s->flags &= ~(unsigned)F_IN_CB;
  if (rc == SSE_E_AGAIN) {
    *written = 0;
    return SSE_OK;
  }
  /* SSE_OK must come with progress: would-block has one spelling */
  if (rc != SSE_OK || *written == 0 || *written > *offered) {
    s->err = SSE_E_WRITE;
    drop_queue(s);
    return SSE_E_WRITE;
  }
  if (*written)
    s->flags |= F_WROTE;
  return SSE_OK;
}

/* Writes queued bytes until the queue is empty or the callback takes less
 * than offered. SSE_OK (empty), SSE_E_AGAIN or SSE_E_WRITE (failed: the
 * queue is dropped). */
static int drain(sse_stream *s) {
  sse_iovec iov[SSE_STREAM_MAX_IOV];
  /* the plain callback takes at most GATHER_BYTES of small pieces, or one
   * bigger piece: no need to describe more */
  size_t stop = s->flags & F_PLAIN ? GATHER_BYTES : (size_t)-1;
  size_t n, i, offered, written;
  while (s->count) {
    const sse_frame *f = s->q[s->head];
    n = s->count < SSE_STREAM_MAX_IOV ? s->count : SSE_STREAM_MAX_IOV;
    iov[0].base = f->data + s->off;
    iov[0].len = offered = f->len - s->off;
    for (i = 1; i < n && offered < stop; i++) {
      f = at(s, (uint32_t)i);
      iov[i].base = f->data;
      iov[i].len = f->len;
      offered += f->len;
    }
    if (offer(s, iov, i, &offered, &written) != SSE_OK)
      return SSE_E_WRITE;
    if (written)
      advance(s, written);
    if (written < offered)
      return SSE_E_AGAIN;
  }
  return SSE_OK;
}

static const sse_frame *ring_at(const sse_frame *const *ring, size_t cap,
                                size_t start, size_t i) {
  size_t j = start + i; /* < 2 * cap */
  return ring[j < cap ? j : j - cap];
}

/* The frames of a put_ring onto an idle stream, in place: offered in calls
 * as a flush makes them, until all is written or the callback takes less
 * than offered. *done and *off get how far it went (frames written whole,
 * bytes of the next one). SSE_OK or SSE_E_WRITE. */
static int write_ring(sse_stream *s, const sse_frame *const *ring, size_t cap,
                      size_t start, size_t n, size_t bytes, size_t *done,
                      size_t *off) {
  sse_iovec iov[SSE_STREAM_MAX_IOV];
  size_t stop = s->flags & F_PLAIN ? GATHER_BYTES : (size_t)-1;
  size_t d = 0, o = 0, k, n_iov, offered, written, left;
  if (n)
    s->flags |= F_STARTED;
  while (d < n) {
    const sse_frame *f = ring_at(ring, cap, start, d);
    iov[0].base = f->data + o;
    iov[0].len = offered = f->len - o;
    for (k = 1; k < SSE_STREAM_MAX_IOV && d + k < n && offered < stop; k++) {
      f = ring_at(ring, cap, start, d + k);
      iov[k].base = f->data;
      iov[k].len = f->len;
      offered += f->len;
    }
    n_iov = k;
    s->pending = bytes; /* what sse_stream_get_pending tells the callback */
    if (offer(s, iov, n_iov, &offered, &written) != SSE_OK)
      return SSE_E_WRITE;
    s->pending = 0;
    bytes -= written;
    /* advance by the bytes taken (the plain callback may have been offered
     * fewer pieces than described) */
    for (k = 0, left = written; k < n_iov && left >= iov[k].len; k++)
      left -= iov[k].len;
    o = (k ? 0 : o) + left;
    d += k;
    if (written < offered)
      break;
  }
  *done = d;
  *off = o;
  return SSE_OK;
}

int sse__stream_put_ring(sse_stream *s, const sse_frame *const *ring,
                         size_t cap, size_t start, size_t n, size_t bytes) {
  size_t done = 0, off = 0, i;
  if (s->flags & F_KICK) {
    s->flags &= ~(unsigned)F_KICK;
    if (write_ring(s, ring, cap, start, n, bytes, &done, &off) != SSE_OK)
      return SSE_E_WRITE;
  }
  for (i = done; i < n; i++)
    put(s, ring_at(ring, cap, start, i));
  if (!s->count)
    drop_queue(s); /* all written: give back a reserved array */
  else if (off) {
    s->off += off; /* done > 0 or off > 0 only when the queue was empty */
    s->pending -= off;
  }
  return SSE_OK;
}

/* One frame onto an idle stream: offered to the callback in place; only
 * the part it leaves is queued, and only then is a reference taken (the
 * caller holds one for the duration of the call). */
static SSE__INLINE int write_through(sse_stream *s, const sse_frame *f) {
  sse_iovec v;
  size_t offered = f->len, written;
  v.base = f->data;
  v.len = f->len;
  s->flags |= F_STARTED;
  s->pending = f->len; /* what sse_stream_get_pending tells the callback */
  if (offer(s, &v, 1, &offered, &written) != SSE_OK)
    return SSE_E_WRITE;
  s->pending -= written;
  if (s->pending) {
    s->q[s->head] = sse__frame_ref(f);
    s->count = 1;
    s->off = written;
  }
  return SSE_OK;
}

/* One frame as a send, after check(): an overflow here is the stream's
 * end. An idle push stream writes it through; a busy one only queues it
 * (the transport is known to be full), and so does a pull stream. */
static SSE__INLINE int send_one(sse_stream *s, const sse_frame *f) {
  int rc;
  if (!s->count) {
    if (f->len > s->max_pending || s->pending > s->max_pending - f->len) {
      s->err = SSE_E_OVERFLOW;
      return SSE_E_OVERFLOW;
    }
    if (!(s->flags & F_PULL))
      return write_through(s, f);
  } else if (!fits(s, 1, f->len)) {
    s->err = SSE_E_OVERFLOW;
    return SSE_E_OVERFLOW;
  }
  rc = reserve(s, 1);
  if (rc == SSE_OK)
    put(s, f);
  return rc;
}

/* A private frame of len bytes for this stream, after the checks a send
 * makes before allocating (so a closed or full stream allocates nothing). */
static int private_frame(sse_stream *s, size_t len, sse_frame **f,
                         char **p) {
  int rc = check(s);
  if (rc != SSE_OK)
    return rc;
  if (!fits(s, 1, len)) {
    s->err = SSE_E_OVERFLOW;
    return SSE_E_OVERFLOW;
  }
  return sse__frame_alloc(f, &s->alloc, len, p);
}

/* Sends a private frame and drops the caller's reference. */
static int send_private(sse_stream *s, sse_frame *f) {
  int rc = send_one(s, f);
  sse__frame_unref(f);
  return rc;
}

/* ------------------------------------------------------------------------ */

/* A stream with the vectored, the plain or (both NULL) no callback. */
static int create(sse_stream **out, sse_writev_fn writev, sse_write_fn write,
                  void *user, const sse_allocator *allocator) {
  sse_allocator a;
  sse_stream *s;
  if (!out)
    return SSE_E_INVALID_ARGUMENT;
  *out = NULL;
  sse__allocator_init(&a, allocator);
  s = sse__malloc(&a, sizeof *s);
  if (!s)
    return SSE_E_NOMEM;
  memset(s, 0, sizeof *s);
  s->alloc = a;
  if (writev) {
    s->cb.writev = writev;
  } else if (write) {
    s->cb.write = write;
    s->flags = F_PLAIN;
  } else
    s->flags = F_PULL;
  s->user = user;
  s->q = s->q_inline;
  s->cap = INLINE_SLOTS;
  s->max_pending = SSE_DEFAULT_MAX_PENDING;
  s->interval = SSE_DEFAULT_HEARTBEAT_MS;
  s->err = SSE_OK;
  *out = s;
  return SSE_OK;
}

int sse_stream_new(sse_stream **out, sse_writev_fn writev, void *user,
                   const sse_allocator *allocator) {
  if (!writev) {
    if (out)
      *out = NULL;
    return SSE_E_INVALID_ARGUMENT;
  }
  return create(out, writev, NULL, user, allocator);
}

int sse_stream_new_write(sse_stream **out, sse_write_fn write, void *user,
                         const sse_allocator *allocator) {
  if (!write) {
    if (out)
      *out = NULL;
    return SSE_E_INVALID_ARGUMENT;
  }
  return create(out, NULL, write, user, allocator);
}

int sse_stream_new_pull(sse_stream **out, const sse_allocator *allocator) {
  return create(out, NULL, NULL, NULL, allocator);
}

void sse_stream_free(sse_stream *s) {
  sse_allocator a;
  if (!s)
    return;
  drop_queue(s);
  a = s->alloc;
  sse__free(&a, s);
}

int sse_stream_set_max_pending(sse_stream *s, size_t max_bytes) {
  if (!s)
    return SSE_E_INVALID_ARGUMENT;
  if (s->flags & F_IN_CB)
    return SSE_E_BUSY;
  s->max_pending = max_bytes ? max_bytes : SSE_DEFAULT_MAX_PENDING;
  return SSE_OK;
}

int sse_stream_set_heartbeat(sse_stream *s, uint64_t interval_ms) {
  if (!s)
    return SSE_E_INVALID_ARGUMENT;
  if (s->flags & F_IN_CB)
    return SSE_E_BUSY;
  s->interval = interval_ms;
  return SSE_OK;
}

int sse_stream_send_frame(sse_stream *s, sse_frame *frame) {
  int rc = check(s);
  if (rc != SSE_OK)
    return rc;
  if (!frame)
    return SSE_E_INVALID_ARGUMENT;
  return send_one(s, frame);
}

int sse_stream_send_frames(sse_stream *s, sse_frame *const *frames,
                           size_t n) {
  size_t i, bytes = 0;
  int rc = check(s);
  if (rc != SSE_OK)
    return rc;
  if (!frames && n)
    return SSE_E_INVALID_ARGUMENT;
  for (i = 0; i < n; i++) {
    if (!frames[i])
      return SSE_E_INVALID_ARGUMENT;
    if (frames[i]->len > (size_t)-1 - bytes)
      bytes = (size_t)-1; /* more than any cap: overflows below */
    else
      bytes += frames[i]->len;
  }
  if (!n)
    return SSE_OK;
  rc = sse__stream_begin(s, n, bytes);
  if (rc == SSE_E_NOSPACE) {
    s->err = SSE_E_OVERFLOW;
    return SSE_E_OVERFLOW;
  }
  if (rc != SSE_OK)
    return rc;
  return sse__stream_put_ring(s, (const sse_frame *const *)frames, n, 0, n,
                              bytes);
}

int sse_stream_broadcast(sse_stream *const *streams, size_t n,
                         sse_frame *frame, int *results, size_t *failed) {
  size_t i, bad = 0;
  if (failed)
    *failed = 0;
  if (!frame || (!streams && n))
    return SSE_E_INVALID_ARGUMENT;
  for (i = 0; i < n; i++)
    if (!streams[i])
      return SSE_E_INVALID_ARGUMENT;
  for (i = 0; i < n; i++) {
    sse_stream *s = streams[i];
    int rc;
    if (i + 4 < n)
      SSE__PREFETCH(streams[i + 4]);
    rc = check(s);
    if (SSE__LIKELY(rc == SSE_OK))
      rc = send_one(s, frame);
    if (results)
      results[i] = rc;
    bad += rc != SSE_OK;
  }
  if (failed)
    *failed = bad;
  return SSE_OK;
}

int sse_stream_send_message(sse_stream *s, const sse_message *ev) {
  sse_frame *f;
  size_t len;
  char *p;
  int rc = check(s);
  if (rc != SSE_OK)
    return rc;
  if (!ev)
    return SSE_E_INVALID_ARGUMENT;
  rc = sse_encode_message(NULL, 0, ev, &len);
  if (rc != SSE_E_NOSPACE)
    return rc;
  rc = private_frame(s, len, &f, &p);
  if (rc != SSE_OK)
    return rc;
  sse_encode_message(p, len, ev, &len);
  return send_private(s, f);
}

int sse_stream_send_comment(sse_stream *s, const char *text, size_t len) {
  sse_frame *f;
  size_t n;
  char *p;
  int rc = check(s);
  if (rc != SSE_OK)
    return rc;
  rc = sse_encode_comment(NULL, 0, text, len, &n);
  if (rc != SSE_E_NOSPACE)
    return rc;
  rc = private_frame(s, n, &f, &p);
  if (rc != SSE_OK)
    return rc;
  sse_encode_comment(p, n, text, len, &n);
  return send_private(s, f);
}

int sse_stream_send_retry(sse_stream *s, uint64_t ms) {
  char buf[32];
  sse_frame *f;
  size_t n;
  char *p;
  int rc = check(s);
  if (rc != SSE_OK)
    return rc;
  sse_encode_retry(buf, sizeof buf, ms, &n);
  rc = private_frame(s, n, &f, &p);
  if (rc != SSE_OK)
    return rc;
  memcpy(p, buf, n);
  return send_private(s, f);
}

int sse_stream_open(sse_stream *s, uint64_t retry_ms, size_t padding) {
  char retry[32];
  size_t rlen = 0;
  sse_frame *f;
  char *p;
  int rc = check(s);
  if (rc != SSE_OK)
    return rc;
  if (s->flags & F_STARTED)
    return SSE_E_STATE;
  if (padding > SSE_MAX_PADDING)
    return SSE_E_INVALID_ARGUMENT;
  if (padding == 1)
    padding = 2;
  if (retry_ms)
    sse_encode_retry(retry, sizeof retry, retry_ms, &rlen);
  if (!padding && !rlen)
    return SSE_OK;
  rc = private_frame(s, padding + rlen, &f, &p);
  if (rc != SSE_OK)
    return rc;
  if (padding) {
    p[0] = ':';
    memset(p + 1, ' ', padding - 2);
    p[padding - 1] = '\n';
  }
  memcpy(p + padding, retry, rlen);
  return send_private(s, f);
}

int sse_stream_flush(sse_stream *s) {
  if (!s)
    return SSE_E_INVALID_ARGUMENT;
  if (s->flags & F_IN_CB)
    return SSE_E_BUSY;
  if (s->flags & F_PULL)
    return SSE_E_STATE;
  if (s->err == SSE_E_WRITE)
    return SSE_E_WRITE;
  return drain(s);
}

/* The checks of read and peek: SSE_OK when there are bytes to take. */
static int pull_check(const sse_stream *s) {
  if (s->flags & F_IN_CB)
    return SSE_E_BUSY;
  if (!(s->flags & F_PULL))
    return SSE_E_STATE;
  if (s->count)
    return SSE_OK;
  return s->err != SSE_OK ? s->err : SSE_E_AGAIN;
}

int sse_stream_read(sse_stream *s, void *buf, size_t cap, size_t *len) {
  char *out = buf;
  size_t n = 0;
  int rc;
  if (len)
    *len = 0;
  if (!s || !len || !buf || !cap)
    return SSE_E_INVALID_ARGUMENT;
  rc = pull_check(s);
  if (rc != SSE_OK)
    return rc;
  while (n < cap && s->count) {
    const sse_frame *f = s->q[s->head];
    size_t k = f->len - s->off;
    if (k > cap - n)
      k = cap - n;
    memcpy(out + n, f->data + s->off, k);
    n += k;
    advance(s, k);
  }
  *len = n;
  s->flags |= F_WROTE;
  return SSE_OK;
}

int sse_stream_peek(sse_stream *s, sse_iovec *iov, size_t iov_cap,
                    size_t *count) {
  size_t i, n;
  int rc;
  if (count)
    *count = 0;
  if (!s || !count || !iov || !iov_cap)
    return SSE_E_INVALID_ARGUMENT;
  rc = pull_check(s);
  if (rc != SSE_OK)
    return rc;
  n = s->count;
  if (n > iov_cap)
    n = iov_cap;
  if (n > SSE_STREAM_MAX_IOV)
    n = SSE_STREAM_MAX_IOV;
  for (i = 0; i < n; i++) {
    const sse_frame *f = at(s, (uint32_t)i);
    size_t off = i ? 0 : s->off;
    iov[i].base = f->data + off;
    iov[i].len = f->len - off;
  }
  *count = n;
  return SSE_OK;
}

int sse_stream_consume(sse_stream *s, size_t n) {
  if (!s)
    return SSE_E_INVALID_ARGUMENT;
  if (s->flags & F_IN_CB)
    return SSE_E_BUSY;
  if (!(s->flags & F_PULL))
    return SSE_E_STATE;
  if (n > s->pending)
    return SSE_E_INVALID_ARGUMENT;
  if (n) {
    advance(s, n);
    s->flags |= F_WROTE;
  }
  return SSE_OK;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int sse_stream_tick(sse_stream *s, uint64_t now_ms, uint64_t *deadline) {
  uint64_t due;
  int rc;
  if (deadline)
    *deadline = SSE_NO_DEADLINE;
  if (!s)
    return SSE_E_INVALID_ARGUMENT;
  if (s->flags & F_IN_CB)
    return SSE_E_BUSY;
  if (!(s->flags & F_CLOCK)) {
    s->flags = (s->flags | F_CLOCK) & ~(unsigned)F_WROTE;
    s->now = s->last = now_ms;
  } else {
    if (s->flags & F_WROTE) { /* writes since the previous tick: at now */
      s->flags &= ~(unsigned)F_WROTE;
      s->last = s->now;
    }
    if (now_ms > s->now)
      s->now = now_ms;
  }
  if (s->err != SSE_OK)
    return s->err;
  if (!s->interval)
    return SSE_OK;
  rc = SSE_OK;
  if (!s->count && s->now >= add_sat(s->last, s->interval)) {
    rc = send_one(s, &keepalive);
    if (s->err != SSE_OK)
      return rc; /* the keep-alive failed or overflowed the stream */
  }
  due = add_sat(s->flags & F_WROTE ? s->now : s->last, s->interval);
  if (due <= s->now)
    due = add_sat(s->now, s->interval);
  if (deadline)
    *deadline = due;
  return rc;
}

int sse_stream_close(sse_stream *s) {
  if (!s)
    return SSE_E_INVALID_ARGUMENT;
  if (s->flags & F_IN_CB)
    return SSE_E_BUSY;
  if (s->err == SSE_OK)
    s->err = SSE_E_CLOSED;
  return SSE_OK;
}

size_t sse_stream_get_pending(const sse_stream *s) {
  return s ? s->pending : 0;
}

int sse_stream_get_error(const sse_stream *s) {
  return s ? s->err : SSE_E_INVALID_ARGUMENT;
}
