/*
 * sse-bench modes for streams, shared frames and the replay history
 * (include/sse/stream.h). Everything stays in memory: the write callbacks
 * count what they are offered and accept, and do no I/O.
 *
 *   sse-bench broadcast [REPS] [MAX_STREAMS] [DELIVERIES]
 *       One frame per event, sent to N idle streams whose callback accepts
 *       everything into a per-stream counter, for N = 100, 1,000, 10,000,
 *       100,000 (up to MAX_STREAMS, default 100000); about DELIVERIES
 *       (default 2,000,000) deliveries per repetition; the streams walked in
 *       the order they were made, then made in a random order (scattered in
 *       the heap, as in a server whose clients came and went). Times the
 *       whole event (encode, sends, release): RESULT lines with events =
 *       deliveries. Then, per N, what the counting allocator and the
 *       callbacks saw: allocations per event (must be 1) and per delivery
 *       (must be 0), callback calls per delivery, frames handed over in
 *       place (never copied). FLAT: ns per delivery at the largest N over
 *       the smallest.
 *   sse-bench broadcast-blocked [REPS] [MAX_STREAMS] [DELIVERIES] [QUEUE]
 *       The same (streams in random heap order) with every stream blocked
 *       (the callback reports would-block): QUEUE (default 16) events queue
 *       on every stream; then the transport is writable and every stream is
 *       flushed once. Times
 *       the queueing and the flush apart; counts the flush's callback calls
 *       and pieces (one call per stream carrying all its frames) and the
 *       allocations (frames, and queue arrays beyond the inline slots).
 *   sse-bench stream-memory [STREAMS]
 *       Bytes a fresh stream allocates (counting allocator), the same for
 *       STREAMS (default 10,000) idle streams divided by their number, what
 *       glibc's heap grew by per stream (allocator headers and rounding
 *       included), and the bytes an idle stream holds again after traffic
 *       (a send, a long queue drained). Also a frame's bytes beyond its
 *       encoded text.
 *   sse-bench partial [REPS] [FRAMES]
 *       A stream with FRAMES/4, FRAMES and 4*FRAMES (default 1024) queued
 *       token-sized frames, drained by flushes through a callback that
 *       accepts k bytes per call, k = 1, 7, 64, 4096, with the vectored and
 *       the plain callback: time, calls per frame, pieces per call. The cost
 *       per byte must not grow with the queue (FLAT lines, best repetition
 *       at each length; see partial_run). The same for one
 *       64 KiB frame (its rest is offered in place at each call). Then ONEWRITE
 *       lines: Q frames queued on a blocked stream leave in one call.
 *   sse-bench replay [REPS] [FRAMES] [REPLAYED]
 *       A history of FRAMES (default 1024) frames with ids 1..FRAMES, replayed
 *       onto an idle stream for a client 1 frame and 1,000 frames behind, by
 *       id (sse_history_replay) and by position (sse_history_replay_from),
 *       about REPLAYED (default 1,000,000) frames per repetition.
 *
 * Figures that are not timings are printed as tagged key=value lines
 * (BROADCAST, BLOCKED, MEMORY, WRITES, ONEWRITE, REPLAY, FLAT); a line ending
 * in FAIL makes the program exit with status 1 after the mode ran.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GLIBC__)
#  include <malloc.h>
#  if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)
#    define HAVE_MALLINFO2 1
#  endif
#endif

#include "bench.h"
#include "support.h"

#define MAX_REPS 64
#define NEVENTS 256 /* distinct prepared events, reused in turn */

static const size_t SIZES[] = {100, 1000, 10000, 100000};
#define NSIZES (sizeof SIZES / sizeof SIZES[0])

static int failed; /* a check printed FAIL */

static const char *verdict(int ok) {
  if (!ok)
    failed = 1;
  return ok ? "ok" : "FAIL";
}

/* ---- the in-memory transport --------------------------------------------- */

/* Shared by every client of a run. */
typedef struct wire {
  int blocked;        /* every call reports would-block */
  size_t accept;      /* most bytes one call accepts (SIZE_MAX: all) */
  const void *expect; /* the frame being broadcast, for the in-place count */
} wire;

/* One client: its stream and what its callback saw (one cache line). */
typedef struct client {
  sse_stream *s;
  wire *w;
  size_t bytes;    /* accepted */
  size_t calls;    /* callback calls, would-block ones included */
  size_t iovs;     /* pieces offered in calls that were not blocked */
  size_t max_iov;  /* most pieces in one call */
  size_t in_place; /* calls whose first piece was w->expect */
  size_t blocked;  /* calls that reported would-block */
} client;

static int on_writev(void *user, const sse_iovec *iov, size_t n,
                     size_t *written) {
  client *c = user;
  const wire *w = c->w;
  size_t i, sum = 0;
  c->calls++;
  if (w->blocked) {
    c->blocked++;
    return SSE_E_AGAIN;
  }
  c->iovs += n;
  if (n > c->max_iov)
    c->max_iov = n;
  c->in_place += iov[0].base == w->expect;
  for (i = 0; i < n && sum < w->accept; i++)
    sum += iov[i].len;
  *written = sum < w->accept ? sum : w->accept;
  c->bytes += *written;
  return SSE_OK;
}

static int on_write(void *user, const void *buf, size_t len, size_t *written) {
  sse_iovec v;
  v.base = buf;
  v.len = len;
  return on_writev(user, &v, 1, written);
}

/* n clients on one wire, each with a stream allocating through a. With
 * scatter, the streams are created in a random order (fixed seed), so that
 * walking the clients in order visits the streams at random places in the
 * heap, as in a server whose clients came and went. */
static size_t *creation_order(size_t n, int scatter) {
  size_t *order = malloc(n * sizeof *order), i, k;
  uint64_t x = 0x9e3779b97f4a7c15u;
  if (!order)
    bench_die("out of memory (%zu clients)", n);
  for (i = 0; i < n; i++)
    order[i] = i;
  for (i = n; scatter && i > 1; i--) { /* Fisher-Yates, xorshift64 */
    size_t t;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    k = (size_t)(x % i);
    t = order[i - 1];
    order[i - 1] = order[k];
    order[k] = t;
  }
  return order;
}

static client *clients_new(size_t n, wire *w, const sse_allocator *a, int plain,
                           int scatter) {
  client *c = aligned_alloc(64, (n * sizeof *c + 63) / 64 * 64);
  size_t *order = creation_order(n, scatter), i, k;
  int rc;
  if (!c)
    bench_die("out of memory (%zu clients)", n);
  memset(c, 0, n * sizeof *c);
  for (k = 0; k < n; k++) {
    i = order[k];
    c[i].w = w;
    rc = plain ? sse_stream_new_write(&c[i].s, on_write, &c[i], a)
               : sse_stream_new(&c[i].s, on_writev, &c[i], a);
    if (rc != SSE_OK)
      bench_die("sse_stream_new: %s", sse_strerror(rc));
  }
  free(order);
  return c;
}

static void clients_free(client *c, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    sse_stream_free(c[i].s);
  free(c);
}

/* The sum of a counter over all clients. */
#define SUM(c, n, field, out)                                                  \
  do {                                                                         \
    size_t i_;                                                                 \
    (out) = 0;                                                                 \
    for (i_ = 0; i_ < (n); i_++)                                               \
      (out) += (c)[i_].field;                                                  \
  } while (0)

static void clients_zero(client *c, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    c[i].bytes = c[i].calls = c[i].iovs = c[i].max_iov = 0;
    c[i].in_place = c[i].blocked = 0;
  }
}

/* ---- prepared events ----------------------------------------------------- */

/* Token-sized events (an LLM-style delta, about 70 bytes encoded) with ids
 * 1..NEVENTS, formatted once so timings see only the library. */
typedef struct events {
  sse_message ev[NEVENTS];
  char id[NEVENTS][24];
  char data[NEVENTS][80];
} events;

static void events_init(events *e) {
  size_t i;
  for (i = 0; i < NEVENTS; i++) {
    sse_message *v = &e->ev[i];
    memset(v, 0, sizeof *v);
    snprintf(e->id[i], sizeof e->id[i], "%zu", i + 1);
    snprintf(e->data[i], sizeof e->data[i],
             "{\"choices\":[{\"delta\":{\"content\":\" token %zu\"}}]}", i);
    v->id = e->id[i];
    v->id_len = strlen(e->id[i]);
    v->data = e->data[i];
    v->data_len = strlen(e->data[i]);
  }
}

static sse_frame *new_frame(const sse_message *ev, const sse_allocator *a) {
  sse_frame *f;
  int rc = sse_frame_new_message(&f, ev, a);
  if (rc != SSE_OK)
    bench_die("sse_frame_new_message: %s", sse_strerror(rc));
  return f;
}

static size_t frame_len(const sse_frame *f) {
  size_t n;
  sse_frame_get_bytes(f, &n);
  return n;
}

static size_t arg_count(int argc, char **argv, int i, size_t def,
                        const char *what) {
  return argc > i ? bench_count(argv[i], what) : def;
}

static double ns(double seconds, size_t n) { return seconds * 1e9 / (double)n; }

/* FLAT lines: a cost at the smallest and the largest size, and their ratio
 * (1.0 is perfectly flat). */
typedef struct flat {
  size_t from, to;
  double first, last;
} flat;

static void flat_add(flat *f, size_t size, double v) {
  if (!f->from) {
    f->from = size;
    f->first = v;
  }
  f->to = size;
  f->last = v;
}

static void flat_print(const flat *f, const char *mode, const char *unit) {
  if (f->from && f->to != f->from)
    printf("FLAT mode=%s from=%zu to=%zu first=%.3f last=%.3f ratio=%.2f "
           "unit=%s\n",
           mode, f->from, f->to, f->first, f->last, f->last / f->first, unit);
}

/* ---- broadcast ----------------------------------------------------------- */

/* Sends nev events, one new frame each (prepared event first + i), to every
 * client, as a publisher does: make, send to all, release. Returns the
 * bytes of one copy of all the frames. */
static size_t broadcast(client *c, size_t n, wire *w, const events *e,
                        size_t first, size_t nev, const sse_allocator *a) {
  size_t ev, i, bytes = 0;
  int rc = SSE_OK;
  for (ev = 0; ev < nev; ev++) {
    sse_frame *f = new_frame(&e->ev[(first + ev) % NEVENTS], a);
    size_t len;
    w->expect = sse_frame_get_bytes(f, &len);
    bytes += len;
    for (i = 0; i < n; i++)
      rc |= sse_stream_send_frame(c[i].s, f);
    sse_frame_release(f);
  }
  if (rc != SSE_OK)
    bench_die("broadcast: a send failed");
  return bytes;
}

typedef struct sizes_args {
  size_t reps, max_n, target;
} sizes_args;

static int sizes_parse(int argc, char **argv, sizes_args *s) {
  s->reps = arg_count(argc, argv, 1, 5, "REPS");
  s->max_n = arg_count(argc, argv, 2, 100000, "MAX_STREAMS");
  s->target = arg_count(argc, argv, 3, 2000000, "DELIVERIES");
  return s->reps <= MAX_REPS;
}

/* The broadcast's clients: a stream and one counter (16 bytes each), so
 * that the figures are the library's rather than the benchmark's own memory
 * traffic. The callback accepts everything and counts its calls and those
 * that carry exactly the frame being broadcast, in place (then the bytes
 * delivered follow). */
typedef struct counter {
  sse_stream *s;
  uint32_t calls;
  uint32_t in_place;
} counter;

static struct {
  const void *data;
  size_t len;
} current; /* the frame being broadcast */

static int on_count(void *user, const sse_iovec *iov, size_t n,
                    size_t *written) {
  counter *c = user;
  size_t i, sum = 0;
  for (i = 0; i < n; i++)
    sum += iov[i].len;
  c->calls++;
  c->in_place +=
      n == 1 && iov[0].base == current.data && iov[0].len == current.len;
  *written = sum;
  return SSE_OK;
}

/* Sends nev new frames (prepared events first + i) to the n streams with
 * sse_stream_broadcast: make, send to all, release. Returns the bytes of
 * one copy. */
static size_t broadcast_counted(sse_stream *const *streams, size_t n,
                                const events *e, size_t first, size_t nev,
                                const sse_allocator *a) {
  size_t ev, bytes = 0, nfail = 0, bad = 0;
  for (ev = 0; ev < nev; ev++) {
    sse_frame *f = new_frame(&e->ev[(first + ev) % NEVENTS], a);
    current.data = sse_frame_get_bytes(f, &current.len);
    bytes += current.len;
    if (sse_stream_broadcast(streams, n, f, NULL, &nfail) != SSE_OK)
      bench_die("broadcast: bad arguments");
    bad += nfail;
    sse_frame_release(f);
  }
  if (bad)
    bench_die("broadcast: %zu sends failed", bad);
  return bytes;
}

/* The broadcast figures for n streams; returns the median ns per
 * delivery. */
static double broadcast_size(const sizes_args *sa, const events *e, size_t n,
                             int scatter) {
  size_t nev = sa->target / n ? sa->target / n : 1;
  size_t d = nev * n, rep, allocs = 0, bytes = 0, calls, in_place, i, k;
  size_t *order = creation_order(n, scatter);
  const char *kind = scatter ? "random" : "heap";
  counter *c = aligned_alloc(64, (n * sizeof *c + 63) / 64 * 64);
  sse_stream **streams = malloc(n * sizeof *streams);
  double t[MAX_REPS], med;
  char corpus[32];
  sse_allocator a;
  test_alloc ta;
  memset(&ta, 0, sizeof ta);
  a = test_alloc_hooks(&ta);
  if (!c || !streams)
    bench_die("out of memory (%zu clients)", n);
  for (k = 0; k < n; k++)
    if (sse_stream_new(&c[order[k]].s, on_count, &c[order[k]], &a) != SSE_OK)
      bench_die("sse_stream_new failed");
  for (k = 0; k < n; k++)
    streams[k] = c[k].s;
  free(order);
  snprintf(corpus, sizeof corpus, "streams%zu", n);
  broadcast_counted(streams, n, e, 0, 1, &a); /* untimed: first touch */
  for (rep = 0; rep < sa->reps; rep++) {
    size_t calls0 = ta.calls;
    double t0;
    for (i = 0; i < n; i++)
      c[i].calls = c[i].in_place = 0;
    t0 = bench_now();
    bytes = broadcast_counted(streams, n, e, rep, nev, &a);
    t[rep] = bench_now() - t0;
    allocs = ta.calls - calls0;
    bench_result(scatter ? "libsse-broadcast-random" : "libsse-broadcast",
                 corpus, (int)rep, bytes * n, d, bytes * n, t[rep]);
  }
  for (i = 0, calls = in_place = 0; i < n; i++) {
    calls += c[i].calls;
    in_place += c[i].in_place;
  }
  med = bench_median(t, sa->reps);
  printf("BROADCAST streams=%zu order=%s events=%zu deliveries=%zu "
         "ns_per_delivery=%.2f deliveries_per_s=%.0f "
         "allocations=%zu allocations_per_event=%.3f "
         "allocations_per_delivery=%.3f calls_per_delivery=%.3f "
         "in_place_per_delivery=%.3f %s\n",
         n, kind, nev, d, ns(med, d), (double)d / med, allocs,
         (double)allocs / (double)nev,
         ((double)allocs - (double)nev) / (double)d, (double)calls / (double)d,
         (double)in_place / (double)d,
         verdict(allocs == nev && calls == d && in_place == d));
  for (i = 0; i < n; i++)
    sse_stream_free(c[i].s);
  free(c);
  free(streams);
  if (ta.live)
    bench_die("broadcast: %zu blocks leaked", ta.live);
  return ns(med, d);
}

int bench_broadcast(int argc, char **argv) {
  sizes_args sa;
  events *e = malloc(sizeof *e);
  size_t k;
  int scatter;
  if (argc > 4 || !sizes_parse(argc, argv, &sa))
    return 2;
  if (!e)
    bench_die("out of memory");
  events_init(e);
  for (scatter = 0; scatter < 2; scatter++) {
    flat fl = {0, 0, 0, 0};
    for (k = 0; k < NSIZES && SIZES[k] <= sa.max_n; k++)
      flat_add(&fl, SIZES[k], broadcast_size(&sa, e, SIZES[k], scatter));
    flat_print(&fl, scatter ? "broadcast-random" : "broadcast", "ns/delivery");
  }
  fflush(stdout);
  free(e);
  return failed;
}

/* ---- broadcast to blocked streams, then flush ---------------------------- */

int bench_broadcast_blocked(int argc, char **argv) {
  sizes_args sa;
  size_t q, k;
  events *e = malloc(sizeof *e);
  flat fq = {0, 0, 0, 0}, ff = {0, 0, 0, 0};
  if (argc > 5 || !sizes_parse(argc, argv, &sa))
    return 2;
  q = arg_count(argc, argv, 4, 16, "QUEUE");
  if (!e)
    bench_die("out of memory");
  events_init(e);
  for (k = 0; k < NSIZES && SIZES[k] <= sa.max_n; k++) {
    size_t n = SIZES[k], cycles = sa.target / (n * q) ? sa.target / (n * q) : 1;
    size_t d = cycles * n * q, rep, cyc, per_flush;
    size_t allocs = 0, queued_bytes = 0, got = 0, bytes = 0, calls, blocked,
           iovs;
    double tq[MAX_REPS], tf[MAX_REPS], mq, mf;
    wire w = {0, SIZE_MAX, NULL};
    char corpus[32];
    sse_allocator a;
    test_alloc ta;
    client *c;
    memset(&ta, 0, sizeof ta);
    a = test_alloc_hooks(&ta);
    c = clients_new(n, &w, &a, 0, 1);
    snprintf(corpus, sizeof corpus, "streams%zu", n);
    broadcast(c, n, &w, e, 0, 1, &a); /* untimed: first touch */
    for (rep = 0; rep < sa.reps; rep++) {
      size_t idle = ta.live_bytes;
      clients_zero(c, n);
      tq[rep] = tf[rep] = 0;
      allocs = bytes = 0;
      for (cyc = 0; cyc < cycles; cyc++) {
        size_t calls0 = ta.calls, i;
        double t0, t1, t2;
        int rc = SSE_OK;
        w.blocked = 1;
        t0 = bench_now();
        bytes += broadcast(c, n, &w, e, cyc * q, q, &a);
        t1 = bench_now();
        allocs += ta.calls - calls0;
        queued_bytes = ta.live_bytes - idle;
        w.blocked = 0;
        for (i = 0; i < n; i++)
          rc |= sse_stream_flush(c[i].s);
        t2 = bench_now();
        if (rc != SSE_OK)
          bench_die("blocked broadcast: a flush did not drain its stream");
        tq[rep] += t1 - t0;
        tf[rep] += t2 - t1;
      }
      bench_result("libsse-queue", corpus, (int)rep, bytes * n, d, bytes * n,
                   tq[rep]);
      bench_result("libsse-flush", corpus, (int)rep, bytes * n, d, bytes * n,
                   tf[rep]);
    }
    SUM(c, n, bytes, got);
    SUM(c, n, calls, calls);
    SUM(c, n, blocked, blocked);
    SUM(c, n, iovs, iovs);
    per_flush = (q + SSE_STREAM_MAX_IOV - 1) / SSE_STREAM_MAX_IOV;
    mq = bench_median(tq, sa.reps);
    mf = bench_median(tf, sa.reps);
    /* One would-block call per stream and cycle (the first send finds the
     * stream idle; the others only queue), then per_flush calls carrying
     * all its frames. */
    printf("BLOCKED streams=%zu queue=%zu deliveries=%zu "
           "queue_ns_per_delivery=%.2f flush_ns_per_delivery=%.2f "
           "flush_ns_per_stream=%.1f queued_bytes_per_stream=%.1f "
           "allocations_per_event=%.3f allocations_per_delivery=%.3f "
           "blocked_calls_per_stream=%.2f flush_calls_per_stream=%.2f "
           "pieces_per_flush_call=%.2f %s\n",
           n, q, d, ns(mq, d), ns(mf, d), ns(mf, cycles * n),
           (double)queued_bytes / (double)n,
           (double)allocs / (double)(cycles * q),
           ((double)allocs - (double)(cycles * q)) / (double)d,
           (double)blocked / (double)(cycles * n),
           (double)(calls - blocked) / (double)(cycles * n),
           (double)iovs / (double)(calls - blocked),
           verdict(got == bytes * n && blocked == cycles * n &&
                   calls - blocked == cycles * n * per_flush && iovs == d));
    flat_add(&fq, n, ns(mq, d));
    flat_add(&ff, n, ns(mf, d));
    clients_free(c, n);
    if (ta.live)
      bench_die("blocked broadcast: %zu blocks leaked", ta.live);
  }
  flat_print(&fq, "queue", "ns/delivery");
  flat_print(&ff, "flush", "ns/delivery");
  fflush(stdout);
  free(e);
  return failed;
}

/* ---- memory -------------------------------------------------------------- */

int bench_stream_memory(int argc, char **argv) {
  size_t n = arg_count(argc, argv, 1, 10000, "STREAMS"), idle, blocks, i;
  size_t queued, len, fbytes;
  events *e = malloc(sizeof *e);
  wire w = {0, SIZE_MAX, NULL};
  sse_stream **many;
  sse_allocator a;
  test_alloc ta;
  sse_frame *f;
  client *c;
  if (argc > 2)
    return 2;
  if (!e)
    bench_die("out of memory");
  events_init(e);
  memset(&ta, 0, sizeof ta);
  a = test_alloc_hooks(&ta);

  c = clients_new(1, &w, &a, 0, 0);
  idle = ta.live_bytes;
  blocks = ta.live;
  printf("MEMORY object=stream state=idle bytes=%zu allocations=%zu\n", idle,
         blocks);
  /* traffic: a private send, a shared frame, 1000 frames queued behind a
   * blocked transport and drained */
  f = new_frame(&e->ev[0], &a);
  fbytes = ta.live_bytes - idle;
  len = frame_len(f);
  printf("MEMORY object=frame bytes=%zu encoded=%zu overhead=%zu\n", fbytes,
         len, fbytes - len);
  if (sse_stream_send_message(c->s, &e->ev[1]) != SSE_OK ||
      sse_stream_send_frame(c->s, f) != SSE_OK)
    bench_die("stream-memory: a send failed");
  w.blocked = 1;
  for (i = 0; i < 1000; i++)
    if (sse_stream_send_frame(c->s, f) != SSE_OK)
      bench_die("stream-memory: a send failed");
  queued = ta.live_bytes - idle - fbytes;
  w.blocked = 0;
  if (sse_stream_flush(c->s) != SSE_OK)
    bench_die("stream-memory: the flush did not drain");
  sse_frame_release(f);
  printf("MEMORY object=stream state=after-traffic bytes=%zu allocations=%zu "
         "queue_1000_frames_bytes=%zu %s\n",
         ta.live_bytes, ta.live, queued,
         verdict(ta.live_bytes == idle && ta.live == blocks));
  clients_free(c, 1);

  /* n idle streams: counted, and as glibc's heap sees them */
  many = malloc(n * sizeof *many);
  c = clients_new(1, &w, NULL, 0, 0);
  if (!many)
    bench_die("out of memory");
  memset(&ta, 0, sizeof ta);
  {
#ifdef HAVE_MALLINFO2
    size_t h0 = mallinfo2().uordblks, heap;
#endif
    for (i = 0; i < n; i++)
      if (sse_stream_new(&many[i], on_writev, c, &a) != SSE_OK)
        bench_die("sse_stream_new failed");
    printf("MEMORY object=stream state=idle-many streams=%zu "
           "bytes_per_stream=%.1f allocations_per_stream=%.2f\n",
           n, (double)ta.live_bytes / (double)n, (double)ta.live / (double)n);
    for (i = 0; i < n; i++)
      sse_stream_free(many[i]);
#ifdef HAVE_MALLINFO2
    h0 = mallinfo2().uordblks;
    for (i = 0; i < n; i++)
      if (sse_stream_new(&many[i], on_writev, c, NULL) != SSE_OK)
        bench_die("sse_stream_new failed");
    heap = mallinfo2().uordblks - h0;
    printf("MEMORY object=stream state=idle-many-heap streams=%zu "
           "heap_bytes_per_stream=%.1f allocator=glibc\n",
           n, (double)heap / (double)n);
    for (i = 0; i < n; i++)
      sse_stream_free(many[i]);
#endif
  }
  clients_free(c, 1);
  free(many);
  free(e);
  fflush(stdout);
  return failed;
}

/* ---- partial writes ------------------------------------------------------ */

static const size_t KS[] = {1, 7, 64, 4096};
#define NKS (sizeof KS / sizeof KS[0])
#define BIG_FRAME ((size_t)64 * 1024) /* bytes of the one-frame case */

/* Frames with ids 1..n over the prepared payloads. */
static sse_frame **frames_new(const events *e, size_t n,
                              const sse_allocator *a) {
  sse_frame **f = malloc(n * sizeof *f);
  size_t i;
  if (!f)
    bench_die("out of memory");
  for (i = 0; i < n; i++) {
    sse_message ev = e->ev[i % NEVENTS];
    char id[24];
    snprintf(id, sizeof id, "%zu", i + 1);
    ev.id = id;
    ev.id_len = strlen(id);
    f[i] = new_frame(&ev, a);
  }
  return f;
}

static void frames_free(sse_frame **f, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    sse_frame_release(f[i]);
  free(f);
}

/* Queues frames [0, n) on c's stream behind a blocked transport; returns
 * the pending bytes. */
static size_t queue_blocked(client *c, sse_frame **f, size_t n) {
  size_t i;
  c->w->blocked = 1;
  for (i = 0; i < n; i++)
    if (sse_stream_send_frame(c->s, f[i]) != SSE_OK)
      bench_die("queueing frame %zu failed", i);
  c->w->blocked = 0;
  return sse_stream_get_pending(c->s);
}

/* Flushes until nothing is pending (as an event loop does at each
 * writability); returns the flush calls made. */
static size_t drain(client *c) {
  size_t flushes = 0;
  int rc;
  do
    flushes++;
  while ((rc = sse_stream_flush(c->s)) == SSE_E_AGAIN);
  if (rc != SSE_OK)
    bench_die("flush: %s", sse_strerror(rc));
  return flushes;
}

/* The calls the plain callback needs for frames [0, n): successive frames
 * that fit in 1 KiB share one (the documented gathering). */
static size_t plain_calls(sse_frame **f, size_t n) {
  size_t i, calls = 0, fill = 1024;
  for (i = 0; i < n; i++) {
    size_t len = frame_len(f[i]);
    if (fill + len > 1024) {
      calls++;
      fill = 0;
    }
    fill += len;
  }
  return calls;
}

static void one_write_checks(sse_frame **f, size_t nf) {
  static const size_t QS[] = {1, 4, 16, 64, 65};
  size_t i;
  int plain;
  for (plain = 0; plain < 2; plain++)
    for (i = 0; i < sizeof QS / sizeof QS[0] && QS[i] <= nf; i++) {
      wire w = {0, SIZE_MAX, NULL};
      client *c = clients_new(1, &w, NULL, plain, 0);
      size_t bytes = queue_blocked(c, f, QS[i]), want;
      clients_zero(c, 1);
      drain(c);
      want = plain ? plain_calls(f, QS[i])
                   : (QS[i] + SSE_STREAM_MAX_IOV - 1) / SSE_STREAM_MAX_IOV;
      printf("ONEWRITE callback=%s queued=%zu bytes=%zu calls=%zu "
             "pieces_per_call=%.1f expected_calls=%zu %s\n",
             plain ? "write" : "writev", QS[i], bytes, c->calls,
             (double)c->iovs / (double)c->calls, want,
             verdict(c->calls == want && c->bytes == bytes));
      clients_free(c, 1);
    }
}

/* Drains n queued frames f[0..n) through a callback taking k bytes per
 * call; prints a WRITES line (median and best repetition) and returns the
 * best ns per byte. The best, because the cost of a call that describes 64
 * pieces varies by up to 2x between repetitions of one run, with where the
 * queue array lands (it is allocated anew each time), not with the queue's
 * length, which is what the FLAT line compares. */
static double partial_run(sse_frame **f, size_t n, size_t k, int plain,
                          const char *corpus, size_t reps) {
  size_t rep, bytes = 0, calls = 0, iovs = 0, max_iov = 0;
  double t[MAX_REPS], med, best = 0;
  wire w = {0, SIZE_MAX, NULL};
  client *c = clients_new(1, &w, NULL, plain, 0);
  char impl[48];
  snprintf(impl, sizeof impl, "libsse-partial-%s-k%zu",
           plain ? "write" : "writev", k);
  sse_stream_set_max_pending(c->s, SIZE_MAX);
  for (rep = 0; rep < reps; rep++) {
    double t0;
    bytes = queue_blocked(c, f, n);
    clients_zero(c, 1);
    w.accept = k;
    t0 = bench_now();
    drain(c);
    t[rep] = bench_now() - t0;
    if (!rep || t[rep] < best)
      best = t[rep];
    w.accept = SIZE_MAX;
    if (c->bytes != bytes)
      bench_die("partial: %zu of %zu bytes written", c->bytes, bytes);
    calls = c->calls;
    iovs = c->iovs;
    max_iov = c->max_iov;
    bench_result(impl, corpus, (int)rep, bytes, n, bytes, t[rep]);
  }
  med = bench_median(t, reps);
  printf("WRITES callback=%s k=%zu corpus=%s frames=%zu bytes=%zu calls=%zu "
         "calls_per_frame=%.3f pieces_per_call=%.2f max_pieces=%zu "
         "ns_per_byte=%.3f ns_per_call=%.1f MB_per_s=%.1f "
         "best_ns_per_byte=%.3f\n",
         plain ? "write" : "writev", k, corpus, n, bytes, calls,
         (double)calls / (double)n, (double)iovs / (double)calls, max_iov,
         ns(med, bytes), ns(med, calls), (double)bytes / 1e6 / med,
         ns(best, bytes));
  clients_free(c, 1);
  return ns(best, bytes);
}

int bench_partial(int argc, char **argv) {
  size_t reps = arg_count(argc, argv, 1, 5, "REPS");
  size_t f0 = arg_count(argc, argv, 2, 1024, "FRAMES");
  size_t sizes[3], ki, si, nf;
  events *e = malloc(sizeof *e);
  char *text = malloc(BIG_FRAME), corpus[32], mode[48];
  sse_frame **f, *big;
  int plain;
  if (argc > 3 || reps > MAX_REPS || f0 < 4)
    return 2;
  if (!e || !text)
    bench_die("out of memory");
  events_init(e);
  sizes[0] = f0 / 4;
  sizes[1] = f0;
  sizes[2] = f0 * 4;
  nf = sizes[2];
  f = frames_new(e, nf, NULL);
  memset(text, 'b', BIG_FRAME);
  if (sse_frame_new_comment(&big, text, BIG_FRAME - 3, NULL) != SSE_OK)
    bench_die("sse_frame_new_comment failed");
  for (plain = 0; plain < 2; plain++)
    for (ki = 0; ki < NKS; ki++) {
      flat fl = {0, 0, 0, 0};
      for (si = 0; si < 3; si++) {
        snprintf(corpus, sizeof corpus, "queue%zu", sizes[si]);
        flat_add(&fl, sizes[si],
                 partial_run(f, sizes[si], KS[ki], plain, corpus, reps));
      }
      snprintf(mode, sizeof mode, "partial-%s-k%zu", plain ? "write" : "writev",
               KS[ki]);
      flat_print(&fl, mode, "ns/byte");
      /* one big frame: each call offers its rest in place, whatever is
       * left of it */
      snprintf(corpus, sizeof corpus, "frame%zuk", (size_t)BIG_FRAME >> 10);
      partial_run(&big, 1, KS[ki], plain, corpus, reps);
    }
  one_write_checks(f, nf);
  sse_frame_release(big);
  frames_free(f, nf);
  free(text);
  free(e);
  fflush(stdout);
  return failed;
}

/* ---- replay -------------------------------------------------------------- */

int bench_replay(int argc, char **argv) {
  size_t reps = arg_count(argc, argv, 1, 5, "REPS");
  size_t nf = arg_count(argc, argv, 2, 1024, "FRAMES");
  size_t target = arg_count(argc, argv, 3, 1000000, "REPLAYED");
  size_t behinds[2], bi, i, kept_bytes;
  events *e = malloc(sizeof *e);
  wire w = {0, SIZE_MAX, NULL};
  sse_history *h;
  sse_allocator a;
  test_alloc ta;
  sse_frame **f;
  client *c;
  if (argc > 4 || reps > MAX_REPS || nf < 2)
    return 2;
  if (!e)
    bench_die("out of memory");
  events_init(e);
  memset(&ta, 0, sizeof ta);
  a = test_alloc_hooks(&ta);
  f = frames_new(e, nf, &a);
  if (sse_history_new(&h, nf, (size_t)-1 / 2, &a) != SSE_OK)
    bench_die("sse_history_new failed");
  for (i = 0; i < nf; i++)
    if (sse_history_push(h, f[i], NULL) != SSE_OK)
      bench_die("sse_history_push failed");
  kept_bytes = sse_history_get_bytes(h);
  c = clients_new(1, &w, &a, 0, 0);
  sse_stream_set_max_pending(c->s, SIZE_MAX);
  behinds[0] = 1;
  behinds[1] = nf > 1000 ? 1000 : nf - 1;
  for (bi = 0; bi < 2; bi++) {
    size_t behind = behinds[bi], r = target / behind ? target / behind : 1;
    size_t want = 0, by;
    char id[24], corpus[32];
    for (i = nf - behind; i < nf; i++)
      want += frame_len(f[i]);
    snprintf(id, sizeof id, "%zu", nf - behind); /* the client's last id */
    snprintf(corpus, sizeof corpus, "behind%zu", behind);
    for (by = 0; by < 2; by++) {
      double t[MAX_REPS], med;
      size_t rep, allocs = 0, calls = 0, j;
      uint64_t pos = 0;
      int rc = SSE_OK;
      for (rep = 0; rep < reps; rep++) {
        size_t calls0 = ta.calls;
        double t0;
        clients_zero(c, 1);
        t0 = bench_now();
        if (by == 0)
          for (j = 0; j < r; j++)
            rc |= sse_history_replay(h, c->s, id, strlen(id), &pos);
        else
          for (j = 0; j < r; j++)
            rc |= sse_history_replay_from(h, c->s, nf - behind, &pos);
        t[rep] = bench_now() - t0;
        allocs = ta.calls - calls0;
        calls = c->calls;
        if (rc != SSE_OK || pos != nf || c->bytes != want * r ||
            sse_stream_get_pending(c->s))
          bench_die("replay: wrong result");
        bench_result(by ? "libsse-replay-pos" : "libsse-replay-id", corpus,
                     (int)rep, want * r, behind * r, want * r, t[rep]);
      }
      med = bench_median(t, reps);
      printf("REPLAY behind=%zu by=%s history=%zu replays=%zu "
             "ns_per_replay=%.1f ns_per_frame=%.2f allocations_per_replay=%.2f "
             "calls_per_replay=%.2f\n",
             behind, by ? "position" : "id", nf, r, ns(med, r),
             ns(med, r * behind), (double)allocs / (double)r,
             (double)calls / (double)r);
    }
  }
  printf("REPLAY history=%zu kept_bytes=%zu\n", nf, kept_bytes);
  clients_free(c, 1);
  sse_history_free(h);
  frames_free(f, nf);
  if (ta.live)
    bench_die("replay: %zu blocks leaked", ta.live);
  free(e);
  fflush(stdout);
  return failed;
}
