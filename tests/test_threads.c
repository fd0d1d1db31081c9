/*
 * The thread rules of include/sse/common.h, exercised for ThreadSanitizer
 * (.ci/check-*-tsan.sh builds this with -fsanitize=thread; it also runs as
 * an ordinary test): there is no global mutable state, so separate objects
 * may be used on separate threads at once.
 *
 * Four threads each create their own decoder and decode the same shared,
 * read-only stream at their own chunk size, and encode their own events
 * with the (stateless) encoder; all decoders share one allocator whose
 * hooks are thread-safe (a mutex around the counters), as the allocator
 * rules require. Every thread must see exactly the events of the stream.
 *
 * When the stream object shares frames between threads, its concurrent
 * frame release belongs here too: one frame sent to streams owned by
 * different threads, released by each.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sse.h>

#define THREADS 4
#define EVENTS 20000

typedef struct shared_alloc {
  pthread_mutex_t lock;
  size_t live;
  size_t calls;
} shared_alloc;

static void *s_malloc(size_t n, void *u) {
  shared_alloc *a = u;
  void *p = malloc(n);
  pthread_mutex_lock(&a->lock);
  a->calls++;
  if (p)
    a->live++;
  pthread_mutex_unlock(&a->lock);
  return p;
}
static void *s_realloc(void *p, size_t n, void *u) {
  shared_alloc *a = u;
  void *q = realloc(p, n);
  pthread_mutex_lock(&a->lock);
  a->calls++;
  if (q && !p)
    a->live++;
  pthread_mutex_unlock(&a->lock);
  return q;
}
static void s_free(void *p, void *u) {
  shared_alloc *a = u;
  if (!p)
    return;
  free(p);
  pthread_mutex_lock(&a->lock);
  a->live--;
  pthread_mutex_unlock(&a->lock);
}

typedef struct job {
  const char *stream;
  size_t len;
  size_t chunk;
  shared_alloc *alloc;
  /* results */
  size_t events;
  uint64_t checksum;
  size_t encoded;
  int rc;
} job;

static int on_event(void *u, const sse_event *ev) {
  job *j = u;
  size_t i;
  j->events++;
  for (i = 0; i < ev->data_len; i++)
    j->checksum = j->checksum * 31 + (unsigned char)ev->data[i];
  for (i = 0; i < ev->id_len; i++)
    j->checksum = j->checksum * 37 + (unsigned char)ev->id[i];
  return SSE_OK;
}

static void *work(void *arg) {
  job *j = arg;
  sse_decoder_callbacks cb;
  sse_allocator mem;
  sse_decoder *d = NULL;
  char buf[128];
  size_t at = 0, i;
  memset(&cb, 0, sizeof cb);
  cb.on_event = on_event;
  mem.malloc_fn = s_malloc;
  mem.realloc_fn = s_realloc;
  mem.free_fn = s_free;
  mem.user = j->alloc;
  j->rc = sse_decoder_new(&d, &cb, j, &mem);
  if (j->rc == SSE_OK)
    j->rc = sse_decoder_set_options(d, SSE_DECODER_UTF8);
  while (j->rc == SSE_OK && at < j->len) {
    size_t n = j->len - at < j->chunk ? j->len - at : j->chunk;
    j->rc = sse_decoder_feed(d, j->stream + at, n, NULL);
    at += n;
  }
  if (j->rc == SSE_OK)
    j->rc = sse_decoder_finish(d);
  sse_decoder_free(d);
  /* The encoder has no state: each thread formats its own frames. */
  for (i = 0; i < 1000 && j->rc == SSE_OK; i++) {
    sse_message ev;
    size_t len;
    char data[32];
    int n = snprintf(data, sizeof data, "line %zu\nnext", i);
    memset(&ev, 0, sizeof ev);
    ev.type = "tick";
    ev.type_len = 4;
    ev.data = data;
    ev.data_len = (size_t)n;
    j->rc = sse_encode_message(buf, sizeof buf, &ev, &len);
    j->encoded += len;
  }
  return NULL;
}

static void separate_decoders_on_separate_threads(void **state) {
  static const size_t chunks[THREADS] = {1, 7, 4096, 65536};
  pthread_t tid[THREADS];
  job jobs[THREADS];
  shared_alloc alloc;
  char *stream;
  size_t len = 0, cap = (size_t)EVENTS * 64, i;
  (void)state;
  stream = malloc(cap);
  assert_non_null(stream);
  for (i = 0; i < EVENTS; i++) {
    int n = snprintf(stream + len, cap - len,
                     "id: %zu\r\ndata: {\"n\":%zu}\ndata: caf\xC3\xA9\r\n\n", i,
                     i * 7);
    assert_true(n > 0 && (size_t)n < cap - len);
    len += (size_t)n;
  }
  memset(&alloc, 0, sizeof alloc);
  assert_int_equal(pthread_mutex_init(&alloc.lock, NULL), 0);
  for (i = 0; i < THREADS; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    jobs[i].stream = stream;
    jobs[i].len = len;
    jobs[i].chunk = chunks[i];
    jobs[i].alloc = &alloc;
    assert_int_equal(pthread_create(&tid[i], NULL, work, &jobs[i]), 0);
  }
  for (i = 0; i < THREADS; i++)
    assert_int_equal(pthread_join(tid[i], NULL), 0);
  for (i = 0; i < THREADS; i++) {
    assert_int_equal(jobs[i].rc, SSE_OK);
    assert_int_equal(jobs[i].events, EVENTS);
    assert_true(jobs[i].checksum == jobs[0].checksum);
    assert_int_equal(jobs[i].encoded, jobs[0].encoded);
  }
  assert_int_equal(alloc.live, 0);
  printf("threads: %d threads x %d events, chunks 1/7/4096/65536, %zu "
         "allocations through shared hooks, all records equal\n",
         THREADS, EVENTS, alloc.calls);
  pthread_mutex_destroy(&alloc.lock);
  free(stream);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(separate_decoders_on_separate_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
