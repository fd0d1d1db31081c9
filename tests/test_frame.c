/* Shared frames (lib/frame.c): their bytes and ids, reference counts,
 * allocation failure, one frame broadcast to 1,000 streams of every kind
 * without a copy per stream, frames released concurrently by streams on
 * several threads (run under -fsanitize=thread by .ci/check-32-tsan.sh),
 * and frames shared under allocation failure (stream_script.h). */
#ifdef SSE_TEST_THREADS
#  define _POSIX_C_SOURCE 200809L
#  include <pthread.h>
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stream_script.h"
#include "unit.h"

static void test_frames(void **state) {
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  sse_message ev = mk_event("t", "id-7", "d1\nd2");
  sse_message noid = mk_event(NULL, NULL, "d");
  sse_message emptyid = mk_event(NULL, "", "d");
  sse_frame *f, *g;
  const char *p;
  char buf[64];
  size_t n, m;
  (void)state;
#if defined(__GNUC__)
  assert_int_equal(sse_frame_atomic(), 1); /* gcc and clang builds */
#endif
  assert_int_equal(sse_frame_new_message(&f, &ev, &a), SSE_OK);
  assert_int_equal(ta.live, 1);
  assert_int_equal(sse_encode_message(buf, sizeof buf, &ev, &n), SSE_OK);
  p = sse_frame_get_bytes(f, &m);
  assert_int_equal(m, n);
  assert_memory_equal(p, buf, n);
  p = sse_frame_get_id(f, &m);
  assert_int_equal(m, 4);
  assert_memory_equal(p, "id-7", 4);
  assert_ptr_equal(sse_frame_retain(f), f);
  sse_frame_release(f);
  assert_int_equal(ta.live, 1);
  sse_frame_release(f);
  assert_int_equal(ta.live, 0);
  /* no id, empty id, comments */
  assert_int_equal(sse_frame_new_message(&f, &noid, NULL), SSE_OK);
  assert_null(sse_frame_get_id(f, &m));
  assert_int_equal(m, 0);
  sse_frame_release(f);
  assert_int_equal(sse_frame_new_message(&f, &emptyid, NULL), SSE_OK);
  assert_non_null(sse_frame_get_id(f, &m));
  assert_int_equal(m, 0);
  sse_frame_release(f);
  assert_int_equal(sse_frame_new_comment(&g, "a\nb", 3, &a), SSE_OK);
  p = sse_frame_get_bytes(g, &m);
  assert_int_equal(m, 8);
  assert_memory_equal(p, ": a\n: b\n", 8);
  assert_null(sse_frame_get_id(g, &m));
  /* allocation failure: NOMEM, nothing allocated */
  ta.fail_at = ta.calls + 1;
  assert_int_equal(sse_frame_new_message(&f, &ev, &a), SSE_E_NOMEM);
  assert_null(f);
  ta.fail_at = ta.calls + 1;
  assert_int_equal(sse_frame_new_comment(&f, NULL, 0, &a), SSE_E_NOMEM);
  assert_null(f);
  ta.fail_at = 0;
  sse_frame_release(g);
  assert_int_equal(ta.live, 0);
}

static void frame_getters_without_length(void **state) {
  sse_message ev = mk_event("t", "42", "d");
  sse_frame *f, *c;
  const char *p;
  size_t n = 7;
  (void)state;
  assert_int_equal(sse_frame_new_message(&f, &ev, NULL), SSE_OK);
  assert_int_equal(sse_frame_new_comment(&c, "x", 1, NULL), SSE_OK);
  /* the length pointer is optional in practice: the bytes and the id are
   * still returned */
  p = sse_frame_get_bytes(f, NULL);
  assert_non_null(p);
  assert_memory_equal(p, "event: t\nid: 42\ndata: d\n\n", 25);
  p = sse_frame_get_id(f, NULL);
  assert_non_null(p);
  assert_memory_equal(p, "42", 2);
  assert_null(sse_frame_get_id(c, NULL));
  assert_null(sse_frame_get_id(NULL, NULL));
  assert_null(sse_frame_get_bytes(NULL, NULL));
  assert_null(sse_frame_get_bytes(NULL, &n));
  assert_int_equal(n, 0);
  n = 7;
  assert_null(sse_frame_get_id(NULL, &n));
  assert_int_equal(n, 0);
  assert_null(sse_frame_retain(NULL));
  sse_frame_release(c);
  sse_frame_release(f);
}

/* ---------------------------------------------------------------------- */
/* Broadcast: many frames to 1,000 streams of every kind; every frame is
 * freed at the end; frames are shared, never copied per stream. */

#define NSTREAMS 1000
#define NFRAMES 200

static void test_broadcast(void **state) {
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  static sink k[NSTREAMS];
  static sse_stream *s[NSTREAMS];
  test_log want = {0};
  size_t i, j, frames_bytes = 0;
  (void)state;
  for (i = 0; i < NSTREAMS; i++) {
    sink_init(&k[i], (int)(i % SINK_MODES), (int)(i / SINK_MODES % 2));
    if (i % 7 == 0)
      k[i].budget = 0; /* stalled until the end */
    s[i] = sink_stream(&k[i], &a);
    assert_int_equal(sse_stream_set_max_pending(s[i], 64 * 1024), SSE_OK);
  }
  for (j = 0; j < NFRAMES; j++) {
    char id[16], data[64];
    sse_message ev;
    sse_frame *f;
    size_t n;
    const char *b;
    snprintf(id, sizeof id, "%zu", j + 1);
    snprintf(data, sizeof data, "payload %zu\nline two", j);
    ev = mk_event(j % 3 ? NULL : "tick", id, data);
    assert_int_equal(sse_frame_new_message(&f, &ev, &a), SSE_OK);
    b = sse_frame_get_bytes(f, &n);
    test_log_add(&want, b, n);
    frames_bytes += sizeof(void *) * 8 + n;
    for (i = 0; i < NSTREAMS; i++) {
      if (!s[i])
        continue;
      assert_int_equal(sse_stream_send_frame(s[i], f), SSE_OK);
      if (j % 10 == 9 && k[i].budget)
        sink_drain(s[i], &k[i]);
    }
    sse_frame_release(f); /* the streams hold it now */
    if (j == NFRAMES / 2)
      for (i = 5; i < NSTREAMS; i += 11) {
        sse_stream_free(s[i]); /* dropping queued frames */
        s[i] = NULL;
      }
  }
  /* shared, not copied: far below one copy per stream */
  assert_true(ta.peak_bytes <
              frames_bytes + NSTREAMS * (256 + 256 * sizeof(void *)));
  printf("broadcast: %d frames to %d streams, peak heap %zu bytes\n", NFRAMES,
         NSTREAMS, ta.peak_bytes);
  for (i = 0; i < NSTREAMS; i++) {
    if (!s[i])
      continue;
    k[i].budget = SIZE_MAX;
    sink_drain(s[i], &k[i]);
    sink_expect(&k[i], want.p, want.len);
    assert_int_equal(sse_stream_get_error(s[i]), SSE_OK);
  }
  /* every frame was written everywhere: only the streams are left */
  for (i = 0, j = 0; i < NSTREAMS; i++)
    j += s[i] != NULL;
  assert_int_equal(ta.live, j);
  for (i = 0; i < NSTREAMS; i++) {
    sse_stream_free(s[i]);
    sink_free(&k[i]);
  }
  assert_int_equal(ta.live, 0);
  assert_int_equal(ta.live_bytes, 0);
  test_log_free(&want);
}

/* ---------------------------------------------------------------------- */
/* Frames shared by streams on several threads: each thread owns its stream
 * and drops its references while the others do too (reference counts are
 * atomic: run under -fsanitize=thread to see no race). */

#ifdef SSE_TEST_THREADS
#  define THREADS 4
#  define TFRAMES 3000

static size_t mt_live;
static void *mt_malloc(size_t n, void *u) {
  (void)u;
  __atomic_add_fetch(&mt_live, 1, __ATOMIC_RELAXED);
  return malloc(n);
}
static void *mt_realloc(void *p, size_t n, void *u) {
  (void)u;
  return realloc(p, n);
}
static void mt_free(void *p, void *u) {
  (void)u;
  if (p)
    __atomic_sub_fetch(&mt_live, 1, __ATOMIC_RELAXED);
  free(p);
}

typedef struct worker {
  sse_frame **frames;
  int index;
  size_t wire;      /* bytes written */
  size_t want;      /* bytes sent */
  int failures;
  int blocked;
} worker;

static int count_writev(void *user, const sse_iovec *iov, size_t n,
                        size_t *written) {
  worker *w = user;
  size_t i;
  if (w->blocked)
    return SSE_E_AGAIN;
  for (i = 0; i < n; i++)
    *written += iov[i].len;
  w->wire += *written;
  return SSE_OK;
}

static void *work(void *p) {
  worker *w = p;
  sse_stream *s;
  size_t i, n;
  w->blocked = w->index % 2; /* half queue everything, then flush */
  if (sse_stream_new(&s, count_writev, w, NULL) != SSE_OK) {
    w->failures++;
    return NULL;
  }
  sse_stream_set_max_pending(s, SIZE_MAX);
  for (i = 0; i < TFRAMES; i++) {
    sse_frame_get_bytes(w->frames[i], &n);
    if (sse_stream_send_frame(s, w->frames[i]) != SSE_OK)
      w->failures++;
    w->want += n;
    sse_frame_release(w->frames[i]); /* the reference given to us */
  }
  w->blocked = 0;
  if (sse_stream_flush(s) != SSE_OK)
    w->failures++;
  sse_stream_free(s);
  return NULL;
}

static void test_frames_across_threads(void **state) {
  sse_allocator a = {mt_malloc, mt_realloc, mt_free, NULL};
  static sse_frame *frames[TFRAMES];
  pthread_t t[THREADS];
  worker w[THREADS];
  size_t i;
  int j;
  (void)state;
  for (i = 0; i < TFRAMES; i++) {
    sse_message ev = mk_event(NULL, "7", "shared across threads");
    assert_int_equal(sse_frame_new_message(&frames[i], &ev, &a), SSE_OK);
    for (j = 0; j < THREADS; j++)
      sse_frame_retain(frames[i]);
  }
  for (j = 0; j < THREADS; j++) {
    memset(&w[j], 0, sizeof w[j]);
    w[j].frames = frames;
    w[j].index = j;
    assert_int_equal(pthread_create(&t[j], NULL, work, &w[j]), 0);
  }
  for (i = 0; i < TFRAMES; i++)
    sse_frame_release(frames[i]); /* while the workers use them */
  for (j = 0; j < THREADS; j++) {
    assert_int_equal(pthread_join(t[j], NULL), 0);
    assert_int_equal(w[j].failures, 0);
    assert_int_equal(w[j].wire, w[j].want);
  }
  assert_int_equal(__atomic_load_n(&mt_live, __ATOMIC_RELAXED), 0);
}
#endif

/* Shared frames to three streams (one plain), one stalled so its queue
 * grows; a stream freed with frames queued and made again; slots reused. */
static void sc_broadcast(script *sc) {
  int i, j;
  script_n(sc, NEW, 0, 0);
  script_n(sc, NEW, 1, 1);
  script_n(sc, NEW, 2, 0);
  script_n(sc, BUDGET, 1, 0);
  for (i = 0; i < 12; i++) {
    int slot = i % NF;
    if (i == 5) {
      script_n(sc, BUDGET, 2, 0);
    } else if (i == 8) {
      script_add(sc, FREE, 2);
      script_n(sc, NEW, 2, 1);
    }
    script_frame(sc, slot, i % 4 == 3 ? "a comment" : script_num(i),
              i % 4 == 3 ? NULL : "shared payload");
    for (j = 0; j < NS; j++)
      script_slot(sc, SEND, j, slot);
    if (i % 2)
      script_slot(sc, RELEASE, 0, slot);
  }
  for (j = 0; j < NS; j++) {
    script_n(sc, BUDGET, j, SIZE_MAX);
    script_add(sc, FLUSH, j);
  }
}

static void oom_broadcast(void **state) {
  script *sc = calloc(1, sizeof *sc);
  (void)state;
  assert_non_null(sc);
  sc_broadcast(sc);
  script_sweep("broadcast", sc);
  free(sc);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frames),
      cmocka_unit_test(frame_getters_without_length),
      cmocka_unit_test(test_broadcast),
#ifdef SSE_TEST_THREADS
      cmocka_unit_test(test_frames_across_threads),
#endif
      cmocka_unit_test(oom_broadcast),
  };
  test_filter(argc, argv);
  return cmocka_run_group_tests(tests, NULL, script_report);
}
