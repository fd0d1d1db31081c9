/* The replay history (lib/history.c): lookups by id and by position, eviction by count and
 * bytes, the replay-to-live hand-over, failures and
 * allocation failure (also through stream_script.h). Wire checks run under
 * every sink pacing with both callback kinds. */
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

static sse_frame *frame(const char *id, const sse_allocator *a) {
  char data[32];
  sse_message ev;
  sse_frame *f;
  snprintf(data, sizeof data, "d%s", id);
  ev = mk_event(NULL, id, data);
  assert_int_equal(sse_frame_new_message(&f, &ev, a), SSE_OK);
  return f;
}

/* Pushes a frame with this id; returns its sequence number. */
static uint64_t push(sse_history *h, const char *id, const sse_allocator *a) {
  sse_frame *f = frame(id, a);
  uint64_t seq = 0;
  assert_int_equal(sse_history_push(h, f, &seq), SSE_OK);
  sse_frame_release(f);
  return seq;
}

static void push_range(sse_history *h, int from, int to,
                       const sse_allocator *a) {
  char id[16];
  int i;
  for (i = from; i <= to; i++) {
    snprintf(id, sizeof id, "%d", i);
    push(h, id, a);
  }
}

/* The decoder's log for events with ids from..to (see frame()). */
static void events_log(test_log *l, int from, int to) {
  int i;
  for (i = from; i <= to; i++)
    test_log_printf(l, "event message|d%d|%d\n", i, i);
}

static void expect_ids(const sink *k, int from, int to) {
  test_log want = {0};
  events_log(&want, from, to);
  test_log_add(&want, "result SSE_OK\n", 14);
  sink_expect_events(k, want.p);
  test_log_free(&want);
}

static int replay(sse_history *h, sse_stream *s, const char *id,
                  uint64_t *pos) {
  return sse_history_replay(h, s, id, strlen(id), pos);
}

/* ---------------------------------------------------------------------- */

static void test_replay_after_an_id(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    test_alloc ta = {0};
    sse_allocator a = test_alloc_hooks(&ta);
    sse_history *h;
    sse_stream *s;
    uint64_t pos = 0, first, last;
    sink k;
    assert_int_equal(sse_history_new(&h, 10, 0, &a), SSE_OK);
    push_range(h, 1, 8, &a);
    hist_range(h, &first, &last);
    assert_true(first == 1 && last == 8);
    /* an id in the middle: everything after it, in order */
    sink_init(&k, mode, plain);
    s = sink_stream(&k, &a);
    assert_int_equal(replay(h, s, "5", &pos), SSE_OK);
    assert_true(pos == 8);
    sink_drain(s, &k);
    expect_ids(&k, 6, 8);
    sse_stream_free(s);
    sink_free(&k);
    /* the newest id: nothing to send, no callback */
    sink_init(&k, mode, plain);
    s = sink_stream(&k, &a);
    pos = 0;
    assert_int_equal(replay(h, s, "8", &pos), SSE_OK);
    assert_true(pos == 8);
    assert_int_equal(k.calls, 0);
    assert_int_equal(sse_stream_get_pending(s), 0);
    /* the oldest id */
    assert_int_equal(replay(h, s, "1", NULL), SSE_OK);
    sink_drain(s, &k);
    expect_ids(&k, 2, 8);
    sse_stream_free(s);
    sink_free(&k);
    sse_history_free(h);
    assert_int_equal(ta.live, 0);
  }
}

/* Every kept id is found in a wrapped ring, whether the lookup bisects
 * (increasing decimal ids, here with gaps) or scans (other ids); ids
 * between the kept ones, or spelled otherwise, are not. */
static void test_lookup_every_id(void **state) {
  int opaque;
  (void)state;
  for (opaque = 0; opaque < 2; opaque++) {
    char id[16];
    sse_history *h;
    int i, j;
    assert_int_equal(sse_history_new(&h, 100, 0, NULL), SSE_OK);
    for (i = 1; i <= 250; i++) { /* keeps ids 302 .. 500 */
      snprintf(id, sizeof id, "%s%d", opaque ? "k" : "", 2 * i);
      push(h, id, NULL);
    }
    for (i = 300; i <= 502; i++) {
      test_log want = {0};
      uint64_t pos = 0;
      sse_stream *s;
      sink k;
      int rc;
      sink_init(&k, SINK_ALL, 0);
      s = sink_stream(&k, NULL);
      snprintf(id, sizeof id, "%s%d", opaque ? "k" : "", i);
      rc = replay(h, s, id, &pos);
      assert_true(pos == 250);
      if (i % 2 || i > 500) {
        assert_int_equal(rc, opaque || i > 300 ? SSE_E_UNKNOWN_ID
                                               : SSE_E_EVICTED);
        assert_int_equal(k.calls, 0);
      } else if (i == 300) {
        assert_int_equal(rc, opaque ? SSE_E_UNKNOWN_ID : SSE_E_EVICTED);
      } else {
        assert_int_equal(rc, SSE_OK);
        for (j = i + 2; j <= 500; j += 2) {
          char data[24];
          snprintf(id, sizeof id, "%s%d", opaque ? "k" : "", j);
          snprintf(data, sizeof data, "d%s", id);
          enc_event(&want, NULL, id, data);
        }
        sink_expect(&k, want.p, want.len);
      }
      /* the same number spelled otherwise */
      snprintf(id, sizeof id, "%s0%d", opaque ? "k" : "", i);
      assert_int_equal(replay(h, s, id, NULL), SSE_E_UNKNOWN_ID);
      sse_stream_free(s);
      sink_free(&k);
      test_log_free(&want);
    }
    sse_history_free(h);
  }
}

static void test_unknown_ids(void **state) {
  static const char *ids[] = {"9", "99", "abc", "", "05", "5 ", " 5", "-5",
                              "18446744073709551616"};
  sse_history *h;
  sse_stream *s;
  uint64_t pos;
  size_t i;
  sink k;
  (void)state;
  assert_int_equal(sse_history_new(&h, 0, 0, NULL), SSE_OK);
  push_range(h, 1, 8, NULL);
  sink_init(&k, SINK_ALL, 0);
  s = sink_stream(&k, NULL);
  for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    pos = 0;
    assert_int_equal(replay(h, s, ids[i], &pos), SSE_E_UNKNOWN_ID);
    assert_true(pos == 8); /* "start from now" is ready */
  }
  assert_int_equal(sse_history_replay(h, s, NULL, 0, NULL), SSE_E_UNKNOWN_ID);
  assert_int_equal(k.calls, 0);
  assert_int_equal(sse_stream_get_pending(s), 0);
  /* nothing pushed yet: every id is unknown, position 0 */
  sse_history_free(h);
  assert_int_equal(sse_history_new(&h, 0, 0, NULL), SSE_OK);
  assert_int_equal(replay(h, s, "1", &pos), SSE_E_UNKNOWN_ID);
  assert_true(pos == 0);
  sse_history_free(h);
  sse_stream_free(s);
  sink_free(&k);
}

/* Increasing decimal ids: an id at or below the newest evicted one is
 * reported as evicted; everything else not kept is unknown. */
static void test_evicted_ids(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    test_alloc ta = {0};
    sse_allocator a = test_alloc_hooks(&ta);
    sse_history *h;
    sse_stream *s;
    uint64_t pos, first, last;
    sink k;
    sink_init(&k, mode, plain);
    s = sink_stream(&k, &a);
    assert_int_equal(sse_history_new(&h, 4, 0, &a), SSE_OK);
    push_range(h, 1, 10, &a);
    hist_range(h, &first, &last);
    assert_true(first == 7 && last == 10);
    assert_int_equal(ta.live, 1 + 1 + 1 + 4); /* h, ring, s, 4 frames */
    pos = 0;
    assert_int_equal(replay(h, s, "3", &pos), SSE_E_EVICTED);
    assert_true(pos == 10);
    assert_int_equal(replay(h, s, "6", &pos), SSE_E_EVICTED);
    assert_int_equal(replay(h, s, "0", &pos), SSE_E_EVICTED);
    assert_int_equal(replay(h, s, "11", &pos), SSE_E_UNKNOWN_ID);
    assert_int_equal(replay(h, s, "006", &pos), SSE_E_UNKNOWN_ID);
    assert_int_equal(replay(h, s, "18446744073709551616", &pos),
                     SSE_E_UNKNOWN_ID); /* 2^64: not a 64-bit number */
    assert_int_equal(replay(h, s, "36893488147419103233", &pos),
                     SSE_E_UNKNOWN_ID); /* 2^65 + 1 */
    assert_int_equal(k.calls, 0);
    assert_int_equal(replay(h, s, "7", &pos), SSE_OK);
    sink_drain(s, &k);
    expect_ids(&k, 8, 10);
    /* gaps: an id that never existed inside the window is unknown */
    push(h, "20", &a);
    push(h, "30", &a);
    assert_int_equal(replay(h, s, "25", &pos), SSE_E_UNKNOWN_ID);
    assert_int_equal(replay(h, s, "8", &pos), SSE_E_EVICTED);
    sse_history_free(h);
    sse_stream_free(s);
    assert_int_equal(ta.live, 0);
    sink_free(&k);
  }
}

/* Other ids: found or unknown; once an id breaks the increasing decimal
 * rule, evicted ids read as unknown for good. */
static void test_opaque_ids(void **state) {
  sse_history *h;
  sse_stream *s;
  uint64_t pos;
  sink k;
  (void)state;
  sink_init(&k, SINK_ALL, 0);
  s = sink_stream(&k, NULL);
  assert_int_equal(sse_history_new(&h, 3, 0, NULL), SSE_OK);
  push(h, "a", NULL);
  push(h, "b", NULL);
  push(h, "c", NULL);
  push(h, "d", NULL);
  push(h, "e", NULL);
  assert_int_equal(replay(h, s, "a", &pos), SSE_E_UNKNOWN_ID);
  assert_int_equal(replay(h, s, "c", &pos), SSE_OK);
  assert_true(pos == 5);
  sse_history_free(h);
  /* decreasing numbers */
  assert_int_equal(sse_history_new(&h, 2, 0, NULL), SSE_OK);
  push(h, "5", NULL);
  push(h, "3", NULL);
  push(h, "4", NULL);
  assert_int_equal(replay(h, s, "5", &pos), SSE_E_UNKNOWN_ID);
  sse_history_free(h);
  /* a repeated number */
  assert_int_equal(sse_history_new(&h, 2, 0, NULL), SSE_OK);
  push(h, "2", NULL);
  push(h, "3", NULL);
  push(h, "3", NULL);
  push(h, "4", NULL);
  push(h, "5", NULL);
  assert_int_equal(replay(h, s, "2", &pos), SSE_E_UNKNOWN_ID);
  sse_history_free(h);
  /* a non-decimal id in between */
  assert_int_equal(sse_history_new(&h, 2, 0, NULL), SSE_OK);
  push(h, "1", NULL);
  push(h, "x", NULL);
  push(h, "3", NULL);
  push(h, "4", NULL);
  assert_int_equal(replay(h, s, "1", &pos), SSE_E_UNKNOWN_ID);
  sse_history_free(h);
  /* duplicates: the newest wins */
  assert_int_equal(sse_history_new(&h, 0, 0, NULL), SSE_OK);
  push(h, "a", NULL);
  push(h, "b", NULL);
  push(h, "a", NULL);
  push(h, "c", NULL);
  sink_drain(s, &k);
  k.wire.len = 0;
  assert_int_equal(replay(h, s, "a", &pos), SSE_OK);
  sink_drain(s, &k);
  sink_expect_events(&k, "event message|dc|c\nresult SSE_OK\n");
  sse_history_free(h);
  sse_stream_free(s);
  sink_free(&k);
}

static void test_byte_bound(void **state) {
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  char big[300];
  sse_message ev;
  sse_frame *f;
  sse_history *h;
  sse_stream *s;
  uint64_t first, last, seq, pos;
  size_t n, bytes;
  sink k;
  (void)state;
  sink_init(&k, SINK_ALL, 0);
  s = sink_stream(&k, &a);
  f = frame("1", &a); /* "id: 1\ndata: d1\n\n": 16 bytes */
  sse_frame_get_bytes(f, &n);
  assert_int_equal(n, 16);
  sse_frame_release(f);
  assert_int_equal(sse_history_new(&h, 100, 50, &a), SSE_OK);
  push_range(h, 1, 3, &a); /* 48 bytes */
  assert_int_equal(hist_range(h, &first, &last), 48);
  assert_true(first == 1 && last == 3);
  push(h, "4", &a); /* 64 > 50: 1 goes */
  assert_int_equal(hist_range(h, &first, &last), 48);
  assert_true(first == 2 && last == 4);
  /* a frame over the byte bound is not kept and counts as evicted */
  memset(big, 'z', sizeof big - 1);
  big[sizeof big - 1] = 0;
  ev = mk_event(NULL, "5", big);
  assert_int_equal(sse_frame_new_message(&f, &ev, &a), SSE_OK);
  assert_int_equal(sse_history_push(h, f, &seq), SSE_OK);
  sse_frame_release(f);
  assert_true(seq == 5);
  bytes = hist_range(h, &first, &last);
  assert_int_equal(bytes, 0);
  assert_true(first == 6 && last == 5);
  assert_int_equal(replay(h, s, "4", &pos), SSE_E_EVICTED);
  assert_int_equal(replay(h, s, "5", &pos), SSE_E_EVICTED);
  assert_int_equal(sse_history_replay_from(h, s, 4, &pos), SSE_E_EVICTED);
  assert_int_equal(sse_history_replay_from(h, s, 5, &pos), SSE_OK);
  assert_true(pos == 5);
  assert_int_equal(ta.live, 3); /* h, ring, s: every frame is gone */
  push(h, "6", &a);
  assert_int_equal(replay(h, s, "6", &pos), SSE_OK);
  assert_int_equal(sse_history_replay_from(h, s, 5, &pos), SSE_OK);
  sink_drain(s, &k);
  expect_ids(&k, 6, 6);
  sse_history_free(h);
  sse_stream_free(s);
  assert_int_equal(ta.live, 0);
  sink_free(&k);
  /* exactly at the byte bound: all kept */
  assert_int_equal(sse_history_new(&h, 0, 48, NULL), SSE_OK);
  push_range(h, 1, 3, NULL);
  assert_int_equal(hist_range(h, &first, &last), 48);
  assert_true(first == 1 && last == 3);
  sse_history_free(h);
  /* a frame that is not kept needs no memory, even with the ring full */
  ta.fail_at = 0;
  assert_int_equal(sse_history_new(&h, 100, 200, &a), SSE_OK);
  push_range(h, 1, 8, &a); /* the ring's first 8 slots, full */
  assert_int_equal(sse_frame_new_message(&f, &ev, &a), SSE_OK); /* id 5 */
  ta.fail_at = ta.calls + 1;
  ta.fail_forever = 1;
  assert_int_equal(sse_history_push(h, f, &seq), SSE_OK);
  assert_true(seq == 9);
  ta.fail_at = 0;
  ta.fail_forever = 0;
  sse_frame_release(f);
  sse_history_free(h);
  assert_int_equal(ta.live, 0);
  /* defaults */
  assert_int_equal(sse_history_new(&h, 0, 0, NULL), SSE_OK);
  assert_int_equal(hist_range(h, &first, &last), 0);
  assert_true(first == 1 && last == 0);
  sse_history_free(h);
}

static void test_count_bound_and_ring(void **state) {
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  sse_history *h;
  sse_stream *s;
  uint64_t first, last, pos;
  sink k;
  (void)state;
  /* many laps round the ring, replay from every kept id */
  assert_int_equal(sse_history_new(&h, 100, SIZE_MAX, &a), SSE_OK);
  push_range(h, 1, 1234, &a);
  hist_range(h, &first, &last);
  assert_true(first == 1135 && last == 1234);
  assert_int_equal(ta.live, 2 + 100);
  for (pos = first; pos <= last; pos += 33) {
    char id[16];
    snprintf(id, sizeof id, "%d", (int)pos);
    sink_init(&k, SINK_ALL, 0);
    s = sink_stream(&k, &a);
    assert_int_equal(replay(h, s, id, NULL), SSE_OK);
    sink_drain(s, &k);
    /* all after pos in one call per SSE_STREAM_MAX_IOV frames */
    assert_int_equal(k.calls, (last - pos + SSE_STREAM_MAX_IOV - 1) /
                                  SSE_STREAM_MAX_IOV);
    expect_ids(&k, (int)pos + 1, (int)last);
    sse_stream_free(s);
    sink_free(&k);
  }
  sse_history_free(h);
  assert_int_equal(ta.live, 0);
}

static void test_replay_from_positions(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    sse_history *h;
    sse_stream *s;
    uint64_t next = 0;
    sink k;
    sink_init(&k, mode, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_history_new(&h, 4, 0, NULL), SSE_OK);
    assert_int_equal(sse_history_replay_from(h, s, 0, &next), SSE_OK);
    assert_true(next == 0);
    assert_int_equal(sse_history_replay_from(h, s, 1, &next),
                     SSE_E_INVALID_ARGUMENT);
    push_range(h, 1, 3, NULL);
    assert_int_equal(sse_history_replay_from(h, s, 0, &next), SSE_OK);
    assert_true(next == 3);
    assert_int_equal(sse_history_replay_from(h, s, 3, &next), SSE_OK);
    assert_int_equal(sse_history_replay_from(h, s, 4, &next),
                     SSE_E_INVALID_ARGUMENT);
    push_range(h, 4, 10, NULL); /* keeps 7..10 */
    assert_int_equal(sse_history_replay_from(h, s, 0, &next), SSE_E_EVICTED);
    assert_int_equal(sse_history_replay_from(h, s, 5, &next), SSE_E_EVICTED);
    assert_true(next == 10);
    assert_int_equal(sse_history_replay_from(h, s, 6, &next), SSE_OK);
    sink_drain(s, &k);
    {
      test_log want = {0};
      events_log(&want, 1, 3);
      events_log(&want, 7, 10);
      test_log_add(&want, "result SSE_OK\n", 14);
      sink_expect_events(&k, want.p);
      test_log_free(&want);
    }
    sse_history_free(h);
    sse_stream_free(s);
    sink_free(&k);
  }
}

/* ---------------------------------------------------------------------- */
/* Hand-over from replay to live frames. A tiny hub: publish = push, then
 * send to every live stream. */

typedef struct hub {
  sse_history *h;
  sse_stream *live[4];
  int nlive;
} hub;

static void publish(hub *b, int id) {
  char s[16];
  sse_frame *f;
  int i;
  snprintf(s, sizeof s, "%d", id);
  f = frame(s, NULL);
  assert_int_equal(sse_history_push(b->h, f, NULL), SSE_OK);
  for (i = 0; i < b->nlive; i++)
    assert_int_equal(sse_stream_send_frame(b->live[i], f), SSE_OK);
  sse_frame_release(f);
}

static void test_handover(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    hub b = {0};
    sse_stream *s1, *s2, *s3;
    sink k1, k2, k3;
    uint64_t pos1, pos2, pos3;
    int i;
    assert_int_equal(sse_history_new(&b.h, 0, 0, NULL), SSE_OK);
    sink_init(&k1, mode, plain);
    sink_init(&k2, mode, plain);
    sink_init(&k3, mode, plain);
    k3.budget = 7; /* a stream that is slow all along */
    s1 = sink_stream(&k1, NULL);
    s2 = sink_stream(&k2, NULL);
    s3 = sink_stream(&k3, NULL);
    for (i = 1; i <= 5; i++)
      publish(&b, i);
    /* s1 replays and joins in the same turn */
    assert_int_equal(replay(b.h, s1, "2", &pos1), SSE_OK);
    b.live[b.nlive++] = s1;
    /* s2 replays, but joins only after two more publishes */
    assert_int_equal(replay(b.h, s2, "3", &pos2), SSE_OK);
    assert_true(pos2 == 5);
    publish(&b, 6);
    publish(&b, 7);
    assert_int_equal(sse_history_replay_from(b.h, s2, pos2, &pos2), SSE_OK);
    assert_true(pos2 == 7);
    b.live[b.nlive++] = s2;
    /* s3: unknown id, starts from now, joins later after one publish */
    assert_int_equal(replay(b.h, s3, "77", &pos3), SSE_E_UNKNOWN_ID);
    assert_true(pos3 == 7);
    publish(&b, 8);
    assert_int_equal(sse_history_replay_from(b.h, s3, pos3, &pos3), SSE_OK);
    b.live[b.nlive++] = s3;
    /* catching up again at the current position adds nothing */
    assert_int_equal(sse_history_replay_from(b.h, s3, pos3, &pos3), SSE_OK);
    for (i = 9; i <= 12; i++)
      publish(&b, i);
    k3.budget = SIZE_MAX;
    sink_drain(s1, &k1);
    sink_drain(s2, &k2);
    sink_drain(s3, &k3);
    expect_ids(&k1, 3, 12);
    expect_ids(&k2, 4, 12);
    expect_ids(&k3, 8, 12);
    sse_stream_free(s1);
    sse_stream_free(s2);
    sse_stream_free(s3);
    sse_history_free(b.h);
    sink_free(&k1);
    sink_free(&k2);
    sink_free(&k3);
  }
}

/* A replay that does not fit under the stream's cap: refused whole, and
 * the stream stays usable (for a resync). */
static void test_replay_over_the_cap(void **state) {
  sse_message resync = mk_event("resync", NULL, "");
  sse_history *h;
  sse_stream *s;
  uint64_t pos = 0;
  sink k;
  (void)state;
  assert_int_equal(sse_history_new(&h, 0, 0, NULL), SSE_OK);
  push_range(h, 1, 5, NULL); /* 16 bytes each */
  sink_init(&k, SINK_ALL, 0);
  s = sink_stream(&k, NULL);
  assert_int_equal(sse_stream_set_max_pending(s, 63), SSE_OK);
  assert_int_equal(replay(h, s, "1", &pos), SSE_E_NOSPACE);
  assert_true(pos == 0); /* not set */
  assert_int_equal(sse_stream_get_error(s), SSE_OK);
  assert_int_equal(sse_stream_get_pending(s), 0);
  assert_int_equal(k.calls, 0);
  assert_int_equal(sse_history_replay_from(h, s, 1, NULL), SSE_E_NOSPACE);
  assert_int_equal(sse_stream_send_message(s, &resync), SSE_OK);
  assert_int_equal(replay(h, s, "2", &pos), SSE_OK); /* 48 bytes fit */
  sink_drain(s, &k);
  sink_expect_events(&k, "event resync||\nevent message|d3|3\n"
                         "event message|d4|4\nevent message|d5|5\n"
                         "result SSE_OK\n");
  sse_stream_free(s);
  sse_history_free(h);
  sink_free(&k);
}

/* A replay onto a stream that is waiting queues behind it, untouched. */
static void test_replay_behind_pending(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    sse_message first = mk_event(NULL, "0", "d0");
    sse_history *h;
    sse_stream *s;
    size_t calls;
    sink k;
    assert_int_equal(sse_history_new(&h, 0, 0, NULL), SSE_OK);
    push_range(h, 1, 6, NULL);
    sink_init(&k, mode, plain);
    k.budget = 5;
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_stream_send_message(s, &first), SSE_OK);
    assert_true(sse_stream_get_pending(s) > 0);
    calls = k.calls;
    assert_int_equal(replay(h, s, "3", NULL), SSE_OK);
    assert_int_equal(k.calls, calls); /* queued only */
    k.budget = SIZE_MAX;
    sink_drain(s, &k);
    {
      test_log want = {0};
      events_log(&want, 0, 0);
      events_log(&want, 4, 6);
      test_log_add(&want, "result SSE_OK\n", 14);
      sink_expect_events(&k, want.p);
      test_log_free(&want);
    }
    sse_stream_free(s);
    sse_history_free(h);
    sink_free(&k);
  }
}

/* A replay onto an idle stream goes to the callback in place, in calls of
 * up to SSE_STREAM_MAX_IOV frames; what the callback leaves, stopping at
 * any byte, is queued with the stream's own references, so it outlives
 * the history. The ring is wrapped (evictions) and the replay spans more
 * than two calls. */
static void test_replay_in_place(void **state) {
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  test_log all = {0};
  size_t b, live;
  uint64_t pos;
  int plain, i;
  (void)state;
  for (i = 32; i <= 180; i++) {
    char id[16], data[16];
    snprintf(id, sizeof id, "%d", i);
    snprintf(data, sizeof data, "d%d", i);
    enc_event(&all, NULL, id, data);
  }
  for (plain = 0; plain < 2; plain++) {
    sse_history *h;
    assert_int_equal(sse_history_new(&h, 150, 0, &a), SSE_OK);
    push_range(h, 1, 180, &a); /* keeps 31..180, the ring wrapped */
    live = ta.live;
    for (b = 0; b <= all.len; b++) {
      sse_stream *s;
      sink k;
      sink_init(&k, SINK_ALL, plain);
      k.budget = b;
      s = sink_stream(&k, &a);
      pos = 0;
      assert_int_equal(replay(h, s, "31", &pos), SSE_OK);
      assert_true(pos == 180);
      assert_int_equal(sse_stream_get_pending(s), all.len - b);
      assert_int_equal(k.wire.len, b);
      assert_memory_equal(k.wire.p, all.p, b);
      if (b == all.len) {
        assert_int_equal(ta.live, live + 1); /* no queue kept */
        if (!plain)
          assert_int_equal(k.calls, 3); /* 64 + 64 + 21 frames */
      }
      k.budget = SIZE_MAX;
      sink_drain(s, &k);
      sink_expect(&k, all.p, all.len);
      sse_stream_free(s);
      sink_free(&k);
      assert_int_equal(ta.live, live);
    }
    /* the rest outlives the history */
    for (b = 0; b < all.len; b += all.len / 5) {
      sse_stream *s;
      sink k;
      sink_init(&k, SINK_ALL, plain);
      k.budget = b;
      s = sink_stream(&k, &a);
      assert_int_equal(replay(h, s, "31", NULL), SSE_OK);
      sse_history_free(h);
      k.budget = SIZE_MAX;
      sink_drain(s, &k);
      sink_expect(&k, all.p, all.len);
      sse_stream_free(s);
      sink_free(&k);
      assert_int_equal(ta.live, 0);
      assert_int_equal(sse_history_new(&h, 150, 0, &a), SSE_OK);
      push_range(h, 1, 180, &a);
    }
    sse_history_free(h);
    assert_int_equal(ta.live, 0);
  }
  test_log_free(&all);
}

/* A replay's callback: the stream tells what is left of the replay, and
 * the history refuses pushes until the replay returns. A failure at any
 * byte leaves nothing behind. */
static sse_history *busy_history;
static size_t busy_pending;
static void push_in_callback(sink *k) {
  sse_frame *f = frame("99", NULL);
  assert_int_equal(sse_history_push(busy_history, f, NULL), SSE_E_BUSY);
  sse_frame_release(f);
  if (!busy_pending)
    busy_pending = sse_stream_get_pending(k->hook_data);
}

static void test_replay_callback(void **state) {
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  test_log want = {0};
  size_t at;
  int mode, plain;
  (void)state;
  for (at = 6; at <= 10; at++) {
    char id[16], data[16];
    snprintf(id, sizeof id, "%zu", at);
    snprintf(data, sizeof data, "d%zu", at);
    enc_event(&want, NULL, id, data);
  }
  FOR_SINKS(mode, plain) {
    sse_history *h;
    sse_stream *s;
    sink k;
    assert_int_equal(sse_history_new(&h, 0, 0, &a), SSE_OK);
    push_range(h, 1, 10, &a);
    sink_init(&k, mode, plain);
    s = sink_stream(&k, &a);
    k.hook = push_in_callback;
    k.hook_data = s;
    busy_history = h;
    busy_pending = 0;
    assert_int_equal(replay(h, s, "5", NULL), SSE_OK);
    assert_int_equal(busy_pending, want.len);
    k.hook = NULL;
    sink_drain(s, &k);
    sink_expect(&k, want.p, want.len);
    push_range(h, 11, 11, &a); /* allowed again */
    sse_stream_free(s);
    sink_free(&k);
    /* a failure at every byte: the stream fails, nothing is held */
    for (at = 0; at < want.len; at++) {
      sink_init(&k, mode, plain);
      k.fail_at = at;
      s = sink_stream(&k, &a);
      assert_int_equal(replay(h, s, "5", NULL) == SSE_OK ||
                           sse_stream_get_error(s) == SSE_E_WRITE,
                       1);
      while (sse_stream_get_error(s) == SSE_OK)
        assert_int_not_equal(sse_stream_flush(s), SSE_OK);
      assert_int_equal(sse_stream_get_error(s), SSE_E_WRITE);
      assert_int_equal(sse_stream_get_pending(s), 0);
      assert_int_equal(k.wire.len, at);
      assert_memory_equal(k.wire.p, want.p, at);
      sse_stream_free(s);
      sink_free(&k);
    }
    sse_history_free(h);
    assert_int_equal(ta.live, 0);
  }
  test_log_free(&want);
}

/* Replay against streams that cannot take it. */
static sse_history *hook_history;
static int hook_runs;
static void reenter(sink *k) {
  hook_runs++;
  assert_int_equal(sse_history_replay(hook_history, k->hook_data, "1", 1,
                                      NULL),
                   SSE_E_BUSY);
  assert_int_equal(sse_history_replay_from(hook_history, k->hook_data, 0,
                                           NULL),
                   SSE_E_BUSY);
}

static void test_replay_errors(void **state) {
  sse_history *h;
  sse_stream *s;
  sse_frame *f;
  sse_message noid = mk_event(NULL, NULL, "x");
  uint64_t seq = 99;
  sink k;
  (void)state;
  assert_int_equal(sse_history_new(&h, 0, 0, NULL), SSE_OK);
  push_range(h, 1, 3, NULL);
  sink_init(&k, SINK_ALL, 0);
  s = sink_stream(&k, NULL);
  /* closed: the stream's state comes first, before the lookup (an unknown
   * or evicted id, a position beyond the newest, and no *pos) */
  assert_int_equal(sse_stream_close(s), SSE_OK);
  assert_int_equal(replay(h, s, "1", NULL), SSE_E_CLOSED);
  seq = 99;
  assert_int_equal(replay(h, s, "nope", &seq), SSE_E_CLOSED);
  assert_true(seq == 99);
  assert_int_equal(sse_history_replay_from(h, s, 0, NULL), SSE_E_CLOSED);
  assert_int_equal(sse_history_replay_from(h, s, 1000, &seq), SSE_E_CLOSED);
  assert_true(seq == 99);
  sse_stream_free(s);
  /* overflowed, likewise */
  s = sink_stream(&k, NULL);
  assert_int_equal(sse_stream_set_max_pending(s, 1), SSE_OK);
  assert_int_equal(sse_stream_send_comment(s, "", 0), SSE_E_OVERFLOW);
  assert_int_equal(replay(h, s, "nope", &seq), SSE_E_OVERFLOW);
  assert_int_equal(replay(h, s, "1", &seq), SSE_E_OVERFLOW);
  assert_true(seq == 99);
  sse_stream_free(s);
  /* failed */
  k.fail_at = 0;
  s = sink_stream(&k, NULL);
  assert_int_equal(replay(h, s, "1", NULL), SSE_E_WRITE);
  assert_int_equal(sse_stream_get_error(s), SSE_E_WRITE);
  assert_int_equal(replay(h, s, "1", NULL), SSE_E_WRITE);
  sse_stream_free(s);
  sink_free(&k);
  /* from inside the stream's callback */
  sink_init(&k, SINK_ALL, 0);
  s = sink_stream(&k, NULL);
  k.hook = reenter;
  k.hook_data = s;
  hook_history = h;
  hook_runs = 0;
  assert_int_equal(sse_stream_send_comment(s, "x", 1), SSE_OK);
  assert_int_equal(hook_runs, 1);
  sse_stream_free(s);
  sink_free(&k);
  /* arguments */
  s = (sse_stream *)&k; /* never looked at */
  assert_int_equal(sse_history_replay(NULL, s, "1", 1, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_history_replay(h, NULL, "1", 1, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_history_replay(h, s, NULL, 1, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_history_replay_from(NULL, s, 0, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_history_replay_from(h, NULL, 0, NULL),
                   SSE_E_INVALID_ARGUMENT);
  /* frames a history cannot resume from */
  assert_int_equal(sse_frame_new_message(&f, &noid, NULL), SSE_OK);
  assert_int_equal(sse_history_push(h, f, &seq), SSE_E_INVALID_ARGUMENT);
  sse_frame_release(f);
  noid.id = "";
  assert_int_equal(sse_frame_new_message(&f, &noid, NULL), SSE_OK);
  assert_int_equal(sse_history_push(h, f, &seq), SSE_E_INVALID_ARGUMENT);
  sse_frame_release(f);
  assert_int_equal(sse_frame_new_comment(&f, "1", 1, NULL), SSE_OK);
  assert_int_equal(sse_history_push(h, f, &seq), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_history_push(NULL, f, &seq), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_history_push(h, NULL, &seq), SSE_E_INVALID_ARGUMENT);
  sse_frame_release(f);
  assert_true(seq == 99);
  assert_int_equal(sse_history_new(NULL, 0, 0, NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(hist_range(NULL, &seq, NULL), 0);
  sse_history_free(NULL);
  sse_history_free(h);
}

/* Allocation failure at each allocation: history creation, pushes (ring
 * growth), and replays onto a stream whose queue must grow. */
static size_t nomem_run(void *ctx, test_alloc *ta, size_t *nomem) {
  sse_allocator a = test_alloc_hooks(ta);
  sse_history *h = NULL;
  sse_stream *s;
  uint64_t first, last, first2, last2;
  size_t bytes, pending;
  int i, rc;
  sink k;
  sink_init(&k, SINK_ALL, 0);
  k.budget = 3;
  s = sink_stream(&k, NULL); /* the stream's own allocations: libc */
  (void)ctx;
  rc = sse_history_new(&h, 20, 0, &a);
  if (rc == SSE_E_NOMEM) {
    ++*nomem;
    assert_null(h);
    ta->fail_at = 0;
    assert_int_equal(sse_history_new(&h, 20, 0, &a), SSE_OK);
  }
  for (i = 1; i <= 30; i++) {
    char id[16];
    sse_frame *f;
    snprintf(id, sizeof id, "%d", i);
    {
      sse_message ev = mk_event(NULL, id, "x");
      rc = sse_frame_new_message(&f, &ev, NULL);
      assert_int_equal(rc, SSE_OK);
    }
    bytes = hist_range(h, &first, &last);
    rc = sse_history_push(h, f, NULL);
    if (rc == SSE_E_NOMEM) {
      ++*nomem;
      assert_int_equal(hist_range(h, &first2, &last2), bytes);
      assert_true(first == first2 && last == last2);
      ta->fail_at = 0;
      rc = sse_history_push(h, f, NULL);
    }
    assert_int_equal(rc, SSE_OK);
    sse_frame_release(f);
  }
  /* the replay needs the stream's queue to grow: fail it through a
   * stream on the failing allocator */
  sse_stream_free(s);
  if (sink_stream_new(&k, &a, &s) == SSE_E_NOMEM) {
    ++*nomem;
    ta->fail_at = 0;
    s = sink_stream(&k, &a);
  }
  pending = sse_stream_get_pending(s);
  rc = sse_history_replay(h, s, "12", 2, NULL);
  if (rc == SSE_E_NOMEM) {
    ++*nomem;
    assert_int_equal(sse_stream_get_pending(s), pending);
    assert_int_equal(sse_stream_get_error(s), SSE_OK);
    ta->fail_at = 0;
    rc = sse_history_replay(h, s, "12", 2, NULL);
  }
  assert_int_equal(rc, SSE_OK);
  k.budget = SIZE_MAX;
  sink_drain(s, &k);
  {
    test_log want = {0};
    for (i = 13; i <= 30; i++)
      test_log_printf(&want, "event message|x|%d\n", i);
    test_log_add(&want, "result SSE_OK\n", 14);
    sink_expect_events(&k, want.p);
    test_log_free(&want);
  }
  sse_stream_free(s);
  sse_history_free(h);
  assert_int_equal(ta->live, 0);
  sink_free(&k);
  return ta->calls;
}

static void test_nomem_every_allocation(void **state) {
  (void)state;
  /* history, ring growths, stream, queue array: at least 4 allocations */
  test_oom_sweep("history", nomem_run, NULL, 4, 0);
}

static void push_x(sse_history *h, const char *id) {
  sse_message ev = mk_event(NULL, id, "x");
  sse_frame *f;
  assert_int_equal(sse_frame_new_message(&f, &ev, NULL), SSE_OK);
  assert_int_equal(sse_history_push(h, f, NULL), SSE_OK);
  sse_frame_release(f);
}

static int replay_id(sse_history *h, sse_stream *s, const char *id) {
  uint64_t pos = 0;
  return sse_history_replay(h, s, id, strlen(id), &pos);
}

static void history_ids_that_look_numeric(void **state) {
  sse_history *h;
  sse_stream *s;
  uint64_t first = 0, last = 0;
  sink k;
  int i;
  (void)state;
  sink_init(&k, SINK_ALL, 0);
  s = sink_stream(&k, NULL);
  assert_int_equal(sse_history_new(&h, 2, 0, NULL), SSE_OK);
  for (i = 1; i <= 5; i++) {
    char id[4];
    snprintf(id, sizeof id, "%d", i);
    push_x(h, id);
  }
  /* 1..3 evicted; only canonical decimals at or below 3 are "evicted" */
  assert_int_equal(replay_id(h, s, "1"), SSE_E_EVICTED);
  assert_int_equal(replay_id(h, s, "0"), SSE_E_EVICTED);
  assert_int_equal(replay_id(h, s, "3"), SSE_E_EVICTED);
  assert_int_equal(replay_id(h, s, "01"), SSE_E_UNKNOWN_ID);
  assert_int_equal(replay_id(h, s, "00"), SSE_E_UNKNOWN_ID);
  assert_int_equal(replay_id(h, s, "6"), SSE_E_UNKNOWN_ID);
  assert_int_equal(replay_id(h, s, "18446744073709551616"),
                   SSE_E_UNKNOWN_ID); /* above 2^64 - 1 */
  assert_int_equal(replay_id(h, s, "000000000000000000001"),
                   SSE_E_UNKNOWN_ID); /* 21 digits */
  assert_int_equal(k.wire.len, 0);
  /* a leading zero ends the numeric mode: evicted ids are unknown now */
  push_x(h, "007");
  assert_int_equal(replay_id(h, s, "1"), SSE_E_UNKNOWN_ID);
  assert_int_equal(replay_id(h, s, "5"), SSE_OK); /* kept: 007 follows */
  sink_expect_events(&k, "event message|x|007\nresult SSE_OK\n");

  /* optional outputs */
  assert_int_equal(sse_history_replay_from(h, s, 0, NULL), SSE_E_EVICTED);
  assert_int_equal(sse_history_replay_from(h, s, 6, NULL), SSE_OK);
  assert_int_equal(hist_range(h, NULL, &last), hist_range(h, &first, NULL));
  assert_true(first == 5 && last == 6);
  sse_history_free(h);
  sse_stream_free(s);
  sink_free(&k);
}

/* A history of ten frames: pushes grow its ring and evict; replays by id
 * and by position onto idle and busy streams (the busy queue grows),
 * unknown and evicted ids. */
static void sc_history(script *sc) {
  step *p;
  int i;
  script_n(sc, HNEW, 0, 10);
  script_n(sc, NEW, 0, 0);
  for (i = 0; i < 20; i++) {
    script_frame(sc, i % 2, script_num(i), i % 3 ? "update" : "another\nupdate");
    script_slot(sc, PUSH, 0, i % 2);
    script_slot(sc, SEND, 0, i % 2);
  }
  script_slot(sc, RELEASE, 0, 0);
  script_n(sc, NEW, 1, 0);
  p = script_add(sc, REPLAY, 1);
  p->id = "15";
  script_n(sc, NEW, 2, 1);
  script_n(sc, BUDGET, 2, 0);
  script_event(sc, 2, "before", NULL, "the replay");
  p = script_add(sc, REPLAY, 2);
  p->id = "12";
  p = script_add(sc, REPLAY, 1);
  p->id = "3";
  p = script_add(sc, REPLAY, 1);
  p->id = "zzz";
  script_n(sc, REPLAY_FROM, 1, 18);
  script_n(sc, REPLAY_FROM, 1, 2);
  for (i = 20; i < 25; i++) {
    script_frame(sc, 2, script_num(i), "live");
    script_slot(sc, PUSH, 0, 2);
    script_slot(sc, SEND, 1, 2);
    script_slot(sc, SEND, 2, 2);
  }
  script_n(sc, BUDGET, 2, SIZE_MAX);
  script_add(sc, FLUSH, 2);
}

static void oom_history(void **state) {
  script *sc = calloc(1, sizeof *sc);
  (void)state;
  assert_non_null(sc);
  sc_history(sc);
  script_sweep("history", sc);
  free(sc);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_replay_after_an_id),
      cmocka_unit_test(test_unknown_ids),
      cmocka_unit_test(test_lookup_every_id),
      cmocka_unit_test(test_evicted_ids),
      cmocka_unit_test(test_opaque_ids),
      cmocka_unit_test(test_byte_bound),
      cmocka_unit_test(test_count_bound_and_ring),
      cmocka_unit_test(test_replay_from_positions),
      cmocka_unit_test(test_handover),
      cmocka_unit_test(test_replay_over_the_cap),
      cmocka_unit_test(test_replay_behind_pending),
      cmocka_unit_test(test_replay_in_place),
      cmocka_unit_test(test_replay_callback),
      cmocka_unit_test(test_replay_errors),
      cmocka_unit_test(test_nomem_every_allocation),
      cmocka_unit_test(history_ids_that_look_numeric),
      cmocka_unit_test(oom_history),
  };
  test_filter(argc, argv);
  return cmocka_run_group_tests(tests, NULL, script_report);
}
