/* The stream object (lib/stream.c) through scripted write callbacks and
 * the pull interface. Every scenario that does not script the transport
 * itself runs under each sink mode (take all, one byte per call,
 * would-block every other call), with the vectored and with the plain
 * callback (FOR_SINKS). Allocation failure at every allocation of a
 * scenario, here and through the scripted world of stream_script.h. */
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

/* Three frames (an event with id, a typed multi-line event, a comment) and
 * what the decoder must make of them. */
static void three_frames(test_log *l) {
  enc_event(l, NULL, "1", "first");
  enc_event(l, "upd", "2", "x\ny");
  enc_comment(l, "c");
}
#define THREE_EVENTS                                                           \
  "event message|first|1\nevent upd|x\ny|2\ncomment c\nresult SSE_OK\n"

static void send_three(sse_stream *s, int expect) {
  sse_message e1 = mk_event(NULL, "1", "first");
  sse_message e2 = mk_event("upd", "2", "x\ny");
  assert_int_equal(sse_stream_send_message(s, &e1), expect);
  assert_int_equal(sse_stream_send_message(s, &e2), expect);
  assert_int_equal(sse_stream_send_comment(s, "c", 1), expect);
}

/* ---------------------------------------------------------------------- */

static void test_idle_memory(void **state) {
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  sse_message ev = mk_event(NULL, NULL, "tick");
  sse_stream *s;
  sse_frame *f;
  size_t idle, calls, i;
  sink k;
  (void)state;
  sink_init(&k, SINK_ALL, 0);
  s = sink_stream(&k, &a);
  idle = ta.live_bytes;
  assert_int_equal(ta.live, 1);
  assert_true(idle <= SSE_STREAM_IDLE_MAX_BYTES);
  printf("idle stream: %zu bytes in %zu allocation\n", idle, ta.live);

  /* A send on an idle stream allocates its frame and nothing else; a
   * shared frame costs nothing. */
  calls = ta.calls;
  assert_int_equal(sse_stream_send_message(s, &ev), SSE_OK);
  assert_int_equal(ta.calls - calls, 1);
  assert_int_equal(ta.live_bytes, idle);
  assert_int_equal(sse_frame_new_message(&f, &ev, &a), SSE_OK);
  calls = ta.calls;
  for (i = 0; i < 100; i++)
    assert_int_equal(sse_stream_send_frame(s, f), SSE_OK);
  assert_int_equal(ta.calls, calls);

  /* A long queue costs a few allocations (amortized growth, not one per
   * frame), all within the cap, and is given back when it drains. */
  k.budget = 0;
  calls = ta.calls;
  for (i = 0; i < 1000; i++)
    assert_int_equal(sse_stream_send_frame(s, f), SSE_OK);
  assert_true(ta.calls - calls <= 12);
  assert_true(ta.live_bytes > idle);
  assert_true(ta.live_bytes - idle + sse_stream_get_pending(s) <=
              SSE_DEFAULT_MAX_PENDING);
  sse_frame_release(f);
  k.budget = SIZE_MAX;
  sink_drain(s, &k);
  assert_int_equal(ta.live, 1);
  assert_int_equal(ta.live_bytes, idle);
  sse_stream_free(s);
  assert_int_equal(ta.live, 0);
  sink_free(&k);
}

static void test_sends_reach_the_wire(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    test_log want = {0};
    sse_message e1 = mk_event(NULL, "1", "hello");
    sse_message e2 = mk_event("tick", NULL, "a\r\nb");
    sse_message e3 = mk_event(NULL, NULL, "");
    sse_stream *s;
    sink k;
    sink_init(&k, mode, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_stream_open(s, 3000, 2), SSE_OK);
    assert_int_equal(sse_stream_send_message(s, &e1), SSE_OK);
    assert_int_equal(sse_stream_send_message(s, &e2), SSE_OK);
    assert_int_equal(sse_stream_send_comment(s, "note", 4), SSE_OK);
    assert_int_equal(sse_stream_send_retry(s, 500), SSE_OK);
    assert_int_equal(sse_stream_send_message(s, &e3), SSE_OK);
    assert_int_equal(sse_stream_send_comment(s, NULL, 0), SSE_OK);
    sink_drain(s, &k);
    test_log_add(&want, ":\n", 2);
    enc_retry(&want, 3000);
    enc_event(&want, NULL, "1", "hello");
    enc_event(&want, "tick", NULL, "a\r\nb");
    enc_comment(&want, "note");
    enc_retry(&want, 500);
    enc_event(&want, NULL, NULL, "");
    enc_comment(&want, NULL);
    sink_expect(&k, want.p, want.len);
    sink_expect_events(&k, "comment \nretry 3000\nevent message|hello|1\n"
                           "event tick|a\nb|1\ncomment note\nretry 500\n"
                           "event message||1\ncomment \nresult SSE_OK\n");
    assert_int_equal(sse_stream_get_error(s), SSE_OK);
    sse_stream_free(s);
    sink_free(&k);
    test_log_free(&want);
  }
}

/* The transport takes only `pos` bytes, for every pos over three frames;
 * then it opens up and the rest must follow exactly. */
static void test_short_write_at_every_position(void **state) {
  test_log want = {0};
  size_t pos;
  int mode, plain;
  (void)state;
  three_frames(&want);
  FOR_SINKS(mode, plain) {
    for (pos = 0; pos <= want.len; pos++) {
      sse_stream *s;
      sink k;
      sink_init(&k, mode, plain);
      k.budget = pos;
      s = sink_stream(&k, NULL);
      send_three(s, SSE_OK);
      assert_true(k.wire.len <= pos);
      if (mode == SINK_ALL)
        assert_int_equal(k.wire.len, pos);
      if (k.wire.len)
        assert_memory_equal(k.wire.p, want.p, k.wire.len);
      assert_int_equal(sse_stream_get_pending(s), want.len - k.wire.len);
      k.budget = SIZE_MAX;
      sink_drain(s, &k);
      sink_expect(&k, want.p, want.len);
      sink_expect_events(&k, THREE_EVENTS);
      sse_stream_free(s);
      sink_free(&k);
    }
  }
  test_log_free(&want);
}

/* Would-block: only the first send calls the callback; the flush then
 * carries every queued frame in one call. */
static void test_would_block_then_flush(void **state) {
  test_log want = {0};
  int plain;
  (void)state;
  three_frames(&want);
  for (plain = 0; plain < 2; plain++) {
    sse_stream *s;
    sink k;
    sink_init(&k, SINK_ALL, plain);
    k.budget = 0;
    s = sink_stream(&k, NULL);
    send_three(s, SSE_OK);
    assert_int_equal(k.calls, 1);
    assert_int_equal(sse_stream_get_pending(s), want.len);
    assert_int_equal(sse_stream_flush(s), SSE_E_AGAIN);
    assert_int_equal(k.calls, 2);
    k.budget = SIZE_MAX;
    assert_int_equal(sse_stream_flush(s), SSE_OK);
    assert_int_equal(k.calls, 3);
    assert_int_equal(k.last_iov, plain ? 1 : 3);
    assert_int_equal(sse_stream_get_pending(s), 0);
    sink_expect(&k, want.p, want.len);
    /* nothing pending: flush does not call the callback */
    assert_int_equal(sse_stream_flush(s), SSE_OK);
    assert_int_equal(k.calls, 3);
    sse_stream_free(s);
    sink_free(&k);
  }
  test_log_free(&want);
}

/* The transport fails once `pos` bytes are in, for every pos: the stream
 * fails for good, the callback is never called again, memory is freed. */
static void test_error_at_every_position(void **state) {
  test_log want = {0};
  size_t pos, rounds;
  int mode, plain, rc;
  (void)state;
  three_frames(&want);
  FOR_SINKS(mode, plain) {
    for (pos = 0; pos <= want.len; pos++) {
      test_alloc ta = {0};
      sse_allocator a = test_alloc_hooks(&ta);
      sse_message ev = mk_event(NULL, NULL, "late");
      sse_frame *f;
      sse_stream *s;
      uint64_t d;
      sink k;
      sink_init(&k, mode, plain);
      k.fail_at = pos;
      s = sink_stream(&k, &a);
      assert_int_equal(sse_frame_new_message(&f, &ev, &a), SSE_OK);
      {
        sse_message e1 = mk_event(NULL, "1", "first");
        sse_message e2 = mk_event("upd", "2", "x\ny");
        rc = sse_stream_send_message(s, &e1);
        assert_true(rc == SSE_OK || rc == SSE_E_WRITE);
        rc = sse_stream_send_message(s, &e2);
        assert_true(rc == SSE_OK || rc == SSE_E_WRITE);
        rc = sse_stream_send_comment(s, "c", 1);
        assert_true(rc == SSE_OK || rc == SSE_E_WRITE);
      }
      for (rounds = 0; sse_stream_get_pending(s); rounds++) {
        assert_true(rounds < 4 * want.len + 8);
        rc = sse_stream_flush(s);
        if (rc == SSE_E_WRITE)
          break;
        assert_true(rc == SSE_OK || rc == SSE_E_AGAIN);
      }
      assert_int_equal(k.wire.len, pos < want.len ? pos : want.len);
      if (k.wire.len)
        assert_memory_equal(k.wire.p, want.p, k.wire.len);
      if (pos == want.len) {
        assert_int_equal(sse_stream_get_error(s), SSE_OK);
      } else {
        size_t calls = k.calls;
        assert_int_equal(sse_stream_get_error(s), SSE_E_WRITE);
        assert_int_equal(sse_stream_get_pending(s), 0);
        assert_int_equal(sse_stream_send_message(s, &ev), SSE_E_WRITE);
        assert_int_equal(sse_stream_send_frame(s, f), SSE_E_WRITE);
        assert_int_equal(sse_stream_send_comment(s, "x", 1), SSE_E_WRITE);
        assert_int_equal(sse_stream_send_retry(s, 1), SSE_E_WRITE);
        assert_int_equal(sse_stream_open(s, 1, 0), SSE_E_WRITE);
        assert_int_equal(sse_stream_flush(s), SSE_E_WRITE);
        assert_int_equal(sse_stream_tick(s, 0, &d), SSE_E_WRITE);
        assert_int_equal(sse_stream_tick(s, 1000000, &d), SSE_E_WRITE);
        assert_true(d == SSE_NO_DEADLINE);
        assert_int_equal(sse_stream_close(s), SSE_OK);
        assert_int_equal(sse_stream_get_error(s), SSE_E_WRITE);
        assert_int_equal(k.calls, calls);
        assert_int_equal(k.calls_after_fail, 0);
        /* the failed stream holds nothing: only it and f are alive */
        assert_int_equal(ta.live, 2);
      }
      sse_stream_free(s);
      sse_frame_release(f);
      assert_int_equal(ta.live, 0);
      sink_free(&k);
    }
  }
  test_log_free(&want);
}

/* Callbacks that break the contract, and *written == 0. */
static int cb_zero(void *user, const sse_iovec *iov, size_t n,
                   size_t *written) {
  (void)iov;
  (void)n;
  ++*(int *)user;
  *written = 0;
  return SSE_OK;
}
static int cb_code(void *user, const void *buf, size_t len, size_t *written) {
  (void)buf;
  (void)len;
  (void)written;
  return *(int *)user;
}

static void test_callback_results(void **state) {
  static const int odd[] = {SSE_E_NOSPACE, SSE_PAUSE, SSE_E_WRITE, 1, -11};
  sse_stream *s;
  size_t i;
  int calls = 0, plain;
  sink k;
  (void)state;
  /* would-block has one spelling: OK with nothing written is a callback
   * bug, which fails the stream like any failure */
  assert_int_equal(sse_stream_new(&s, cb_zero, &calls, NULL), SSE_OK);
  assert_int_equal(sse_stream_send_comment(s, "a", 1), SSE_E_WRITE);
  assert_int_equal(sse_stream_get_pending(s), 0);
  assert_int_equal(sse_stream_flush(s), SSE_E_WRITE);
  assert_int_equal(calls, 1);
  assert_int_equal(sse_stream_get_error(s), SSE_E_WRITE);
  sse_stream_free(s);
  /* any code but OK and AGAIN is a failure */
  for (i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    int code = odd[i];
    assert_int_equal(sse_stream_new_write(&s, cb_code, &code, NULL), SSE_OK);
    assert_int_equal(sse_stream_send_comment(s, "a", 1), SSE_E_WRITE);
    assert_int_equal(sse_stream_get_error(s), SSE_E_WRITE);
    sse_stream_free(s);
  }
  /* reporting more than offered is a failure */
  for (plain = 0; plain < 2; plain++) {
    sink_init(&k, SINK_ALL, plain);
    k.overreport = 1;
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_stream_send_comment(s, "a", 1), SSE_E_WRITE);
    assert_int_equal(sse_stream_get_pending(s), 0);
    sse_stream_free(s);
    sink_free(&k);
  }
}

/* A slow stream hits its cap exactly; a healthy one next to it gets it
 * all. */
static void test_overflow(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    test_alloc ta = {0};
    sse_allocator a = test_alloc_hooks(&ta);
    test_log want = {0}, slow = {0};
    sse_stream *sa, *sb;
    sse_frame *f30, *f10, *f2;
    size_t calls, i;
    uint64_t d;
    sink ka, kb;
    char text[28];
    memset(text, 'x', sizeof text);
    assert_int_equal(sse_frame_new_comment(&f30, text, 27, &a), SSE_OK);
    assert_int_equal(sse_frame_new_comment(&f10, text, 7, &a), SSE_OK);
    assert_int_equal(sse_frame_new_comment(&f2, NULL, 0, &a), SSE_OK);
    sink_init(&ka, mode, plain);
    sink_init(&kb, mode, plain);
    ka.budget = 0;
    sa = sink_stream(&ka, &a);
    sb = sink_stream(&kb, &a);
    assert_int_equal(sse_stream_set_max_pending(sa, 100), SSE_OK);
    assert_int_equal(sse_stream_set_max_pending(sb, 100), SSE_OK);
    for (i = 0; i < 3; i++) {
      assert_int_equal(sse_stream_send_frame(sa, f30), SSE_OK);
      assert_int_equal(sse_stream_send_frame(sb, f30), SSE_OK);
      sink_drain(sb, &kb);
      test_log_add(&want, sse_frame_get_bytes(f30, &calls), 30);
    }
    assert_int_equal(sse_stream_get_pending(sa), 90);
    assert_int_equal(sse_stream_send_frame(sa, f10), SSE_OK); /* 100: fits */
    assert_int_equal(sse_stream_send_frame(sb, f10), SSE_OK);
    test_log_add(&want, sse_frame_get_bytes(f10, &calls), 10);
    test_log_add(&slow, want.p, want.len);
    assert_int_equal(sse_stream_get_pending(sa), 100);
    calls = ta.calls;
    assert_int_equal(sse_stream_send_frame(sa, f2), SSE_E_OVERFLOW);
    assert_int_equal(sse_stream_get_error(sa), SSE_E_OVERFLOW);
    assert_int_equal(sse_stream_get_pending(sa), 100);
    /* sticky, and a refused send allocates nothing */
    assert_int_equal(sse_stream_send_comment(sa, NULL, 0), SSE_E_OVERFLOW);
    assert_int_equal(sse_stream_send_frame(sa, f2), SSE_E_OVERFLOW);
    assert_int_equal(sse_stream_tick(sa, 0, &d), SSE_E_OVERFLOW);
    assert_true(d == SSE_NO_DEADLINE);
    assert_int_equal(ta.calls, calls);
    /* the neighbour goes on */
    assert_int_equal(sse_stream_send_frame(sb, f2), SSE_OK);
    test_log_add(&want, ":\n", 2);
    assert_int_equal(sse_stream_get_error(sb), SSE_OK);
    sink_drain(sb, &kb);
    sink_expect(&kb, want.p, want.len);
    /* the overflowed stream still drains what it had, whole frames only */
    ka.budget = SIZE_MAX;
    sink_drain(sa, &ka);
    sink_expect(&ka, slow.p, slow.len);
    assert_int_equal(sse_stream_get_error(sa), SSE_E_OVERFLOW);
    sse_stream_free(sa);
    sse_stream_free(sb);
    /* one frame over the cap of an idle stream: refused, nothing written */
    sink_free(&ka);
    sink_init(&ka, mode, plain);
    sa = sink_stream(&ka, &a);
    assert_int_equal(sse_stream_set_max_pending(sa, 29), SSE_OK);
    assert_int_equal(sse_stream_send_frame(sa, f30), SSE_E_OVERFLOW);
    assert_int_equal(ka.calls, 0);
    sse_stream_free(sa);
    sse_frame_release(f30);
    sse_frame_release(f10);
    sse_frame_release(f2);
    assert_int_equal(ta.live, 0);
    sink_free(&ka);
    sink_free(&kb);
    test_log_free(&want);
    test_log_free(&slow);
  }
}

/* Keep-alives with a fake clock. */
static void test_heartbeat(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    test_log want = {0};
    sse_message ev = mk_event(NULL, NULL, "e");
    sse_message half = mk_event(NULL, NULL, "half");
    sse_stream *s;
    uint64_t d = 0;
    sink k;
    sink_init(&k, mode, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_stream_set_heartbeat(s, 1000), SSE_OK);
    /* the first tick starts the clock */
    assert_int_equal(sse_stream_tick(s, 5000, &d), SSE_OK);
    assert_true(d == 6000);
    assert_int_equal(sse_stream_tick(s, 5999, &d), SSE_OK);
    assert_true(d == 6000);
    assert_int_equal(k.wire.len, 0);
    assert_int_equal(sse_stream_tick(s, 6000, &d), SSE_OK);
    sink_drain(s, &k);
    test_log_add(&want, ":\n", 2);
    sink_expect(&k, want.p, want.len);
    assert_true(d == 7000);
    /* a write resets the idle time (stamped with the latest tick) */
    assert_int_equal(sse_stream_tick(s, 6500, &d), SSE_OK);
    assert_true(d == 7000);
    assert_int_equal(sse_stream_send_message(s, &ev), SSE_OK);
    sink_drain(s, &k);
    enc_event(&want, NULL, NULL, "e");
    assert_int_equal(sse_stream_tick(s, 7000, &d), SSE_OK);
    assert_true(d == 7500);
    assert_int_equal(sse_stream_tick(s, 7499, &d), SSE_OK);
    assert_true(d == 7500);
    sink_expect(&k, want.p, want.len);
    assert_int_equal(sse_stream_tick(s, 7500, &d), SSE_OK);
    sink_drain(s, &k);
    test_log_add(&want, ":\n", 2);
    assert_true(d == 8500);
    /* time going back is ignored */
    assert_int_equal(sse_stream_tick(s, 100, &d), SSE_OK);
    assert_true(d == 8500);
    /* a frame half written when the keep-alive falls due: no keep-alive
     * while it waits, none inside it, the next one after it */
    assert_int_equal(sse_stream_tick(s, 8000, &d), SSE_OK);
    k.budget = 3;
    assert_int_equal(sse_stream_send_message(s, &half), SSE_OK);
    assert_true(sse_stream_get_pending(s) > 0);
    assert_int_equal(sse_stream_tick(s, 9000, &d), SSE_OK);
    assert_true(d == 10000);
    assert_int_equal(sse_stream_tick(s, 20000, &d), SSE_OK);
    assert_true(d == 21000);
    assert_true(sse_stream_get_pending(s) > 0);
    k.budget = SIZE_MAX;
    sink_drain(s, &k); /* at 20000 */
    enc_event(&want, NULL, NULL, "half");
    sink_expect(&k, want.p, want.len);
    assert_int_equal(sse_stream_tick(s, 20500, &d), SSE_OK);
    assert_true(d == 21000);
    assert_int_equal(sse_stream_tick(s, 21000, &d), SSE_OK);
    sink_drain(s, &k);
    test_log_add(&want, ":\n", 2);
    assert_true(d == 22000);
    sink_expect(&k, want.p, want.len);
    sink_expect_events(&k, "comment \nevent message|e|\ncomment \n"
                           "event message|half|\ncomment \nresult SSE_OK\n");
    /* off: no deadline; saturating intervals */
    assert_int_equal(sse_stream_set_heartbeat(s, 0), SSE_OK);
    assert_int_equal(sse_stream_tick(s, 99999, &d), SSE_OK);
    assert_true(d == SSE_NO_DEADLINE);
    assert_int_equal(sse_stream_set_heartbeat(s, UINT64_MAX), SSE_OK);
    assert_int_equal(sse_stream_tick(s, 99999, &d), SSE_OK);
    assert_true(d == UINT64_MAX);
    assert_int_equal(sse_stream_tick(s, 99999, NULL), SSE_OK);
    sink_expect(&k, want.p, want.len);
    /* closed: no keep-alives, no deadline */
    assert_int_equal(sse_stream_set_heartbeat(s, 10), SSE_OK);
    assert_int_equal(sse_stream_close(s), SSE_OK);
    assert_int_equal(sse_stream_tick(s, 999999, &d), SSE_E_CLOSED);
    assert_true(d == SSE_NO_DEADLINE);
    sink_expect(&k, want.p, want.len);
    sse_stream_free(s);
    sink_free(&k);
    test_log_free(&want);
  }
}

/* Writes are stamped with the latest tick's time, whenever they happen
 * between ticks; writes before the first tick do not count. */
static void test_heartbeat_stamps(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    test_log want = {0};
    sse_message ev = mk_event(NULL, NULL, "s");
    sse_stream *s;
    uint64_t d = 0;
    sink k;
    sink_init(&k, mode, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_stream_set_heartbeat(s, 1000), SSE_OK);
    assert_int_equal(sse_stream_send_message(s, &ev), SSE_OK);
    sink_drain(s, &k);
    enc_event(&want, NULL, NULL, "s");
    assert_int_equal(sse_stream_tick(s, 5000, &d), SSE_OK);
    assert_true(d == 6000);
    /* a write after the tick at 5600: stamped 5600, even when the clock
     * moves on before the next write */
    assert_int_equal(sse_stream_tick(s, 5600, &d), SSE_OK);
    assert_int_equal(sse_stream_send_message(s, &ev), SSE_OK);
    sink_drain(s, &k);
    enc_event(&want, NULL, NULL, "s");
    assert_int_equal(sse_stream_tick(s, 6000, &d), SSE_OK);
    assert_true(d == 6600);
    assert_int_equal(sse_stream_tick(s, 6300, &d), SSE_OK);
    assert_true(d == 6600);
    assert_int_equal(sse_stream_tick(s, 6599, &d), SSE_OK);
    assert_true(d == 6600);
    sink_expect(&k, want.p, want.len);
    assert_int_equal(sse_stream_tick(s, 6600, &d), SSE_OK);
    sink_drain(s, &k);
    test_log_add(&want, ":\n", 2);
    sink_expect(&k, want.p, want.len);
    /* the keep-alive's own write is stamped 6600 (or later, when it was
     * drained by flushes after ticks: none here) */
    assert_int_equal(sse_stream_tick(s, 7599, &d), SSE_OK);
    assert_true(d == 7600);
    sink_expect(&k, want.p, want.len);
    sse_stream_free(s);
    sink_free(&k);
    test_log_free(&want);
  }
}

/* A frame sent onto an idle stream is offered to the callback in place;
 * only what the callback leaves is queued, with the stream's own
 * reference, so the caller may release the frame at once. */
static void test_write_through(void **state) {
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  sse_message ev = mk_event(NULL, "5", "through");
  int plain;
  (void)state;
  for (plain = 0; plain < 2; plain++) {
    test_log want = {0};
    sse_frame *f;
    sse_stream *s;
    size_t n, calls;
    const char *b;
    sink k;
    sink_init(&k, SINK_ALL, plain);
    s = sink_stream(&k, &a);
    assert_int_equal(sse_frame_new_message(&f, &ev, &a), SSE_OK);
    b = sse_frame_get_bytes(f, &n);
    /* written whole, in place: nothing queued */
    assert_int_equal(sse_stream_send_frame(s, f), SSE_OK);
    assert_ptr_equal(k.last_base, b);
    assert_int_equal(k.last_iov, 1);
    assert_int_equal(sse_stream_get_pending(s), 0);
    /* written in part: the rest outlives the caller's reference */
    k.budget = 3;
    assert_int_equal(sse_stream_send_frame(s, f), SSE_OK);
    assert_int_equal(sse_stream_get_pending(s), n - 3);
    sse_frame_release(f);
    assert_int_equal(ta.live, 2); /* the stream and the frame it holds */
    k.budget = SIZE_MAX;
    assert_int_equal(sse_stream_flush(s), SSE_OK);
    assert_int_equal(ta.live, 1); /* written, so released */
    /* would-block: all of it queued */
    assert_int_equal(sse_frame_new_message(&f, &ev, &a), SSE_OK);
    k.budget = 0;
    calls = k.calls;
    assert_int_equal(sse_stream_send_frame(s, f), SSE_OK);
    assert_int_equal(k.calls, calls + 1);
    assert_int_equal(sse_stream_get_pending(s), n);
    sse_frame_release(f);
    assert_int_equal(ta.live, 2);
    k.budget = SIZE_MAX;
    assert_int_equal(sse_stream_flush(s), SSE_OK);
    assert_int_equal(ta.live, 1);
    for (calls = 0; calls < 3; calls++)
      enc_event(&want, NULL, "5", "through");
    sink_expect(&k, want.p, want.len);
    sse_stream_free(s);
    sink_free(&k);
    /* over the cap on an idle stream: nothing offered, the stream ends */
    sink_init(&k, SINK_ALL, plain);
    s = sink_stream(&k, &a);
    assert_int_equal(sse_frame_new_message(&f, &ev, &a), SSE_OK);
    assert_int_equal(sse_stream_set_max_pending(s, n - 1), SSE_OK);
    assert_int_equal(sse_stream_send_frame(s, f), SSE_E_OVERFLOW);
    assert_int_equal(k.calls, 0);
    assert_int_equal(sse_stream_get_error(s), SSE_E_OVERFLOW);
    assert_int_equal(sse_stream_set_max_pending(s, n), SSE_OK);
    assert_int_equal(sse_stream_send_frame(s, f), SSE_E_OVERFLOW);
    sse_frame_release(f);
    sse_stream_free(s);
    sink_free(&k);
    assert_int_equal(ta.live, 0);
    test_log_free(&want);
  }
}

/* Every call that changes the stream, from inside its own callback. */
static sse_frame *hook_frame;
static int hook_runs;
static void reenter(sink *k) {
  sse_stream *s = k->hook_data;
  sse_message ev = mk_event(NULL, NULL, "x");
  uint64_t d = 0;
  hook_runs++;
  assert_int_equal(sse_stream_send_message(s, &ev), SSE_E_BUSY);
  assert_int_equal(sse_stream_send_comment(s, "x", 1), SSE_E_BUSY);
  assert_int_equal(sse_stream_send_retry(s, 1), SSE_E_BUSY);
  assert_int_equal(sse_stream_send_frame(s, hook_frame), SSE_E_BUSY);
  assert_int_equal(sse_stream_open(s, 1, 2), SSE_E_BUSY);
  assert_int_equal(sse_stream_flush(s), SSE_E_BUSY);
  assert_int_equal(sse_stream_tick(s, 1, &d), SSE_E_BUSY);
  assert_true(d == SSE_NO_DEADLINE);
  assert_int_equal(sse_stream_close(s), SSE_E_BUSY);
  assert_int_equal(sse_stream_set_max_pending(s, 5), SSE_E_BUSY);
  assert_int_equal(sse_stream_set_heartbeat(s, 5), SSE_E_BUSY);
  {
    char b[4];
    sse_iovec v[2];
    size_t n = 9, c = 9;
    sse_frame *fs[1];
    size_t failed = 9;
    int res = 0;
    fs[0] = hook_frame;
    assert_int_equal(sse_stream_read(s, b, sizeof b, &n), SSE_E_BUSY);
    assert_int_equal(n, 0);
    assert_int_equal(sse_stream_peek(s, v, 2, &c), SSE_E_BUSY);
    assert_int_equal(c, 0);
    assert_int_equal(sse_stream_consume(s, 0), SSE_E_BUSY);
    assert_int_equal(sse_stream_send_frames(s, fs, 1), SSE_E_BUSY);
    assert_int_equal(sse_stream_broadcast(&s, 1, hook_frame, &res, &failed),
                     SSE_OK);
    assert_int_equal(res, SSE_E_BUSY);
    assert_int_equal(failed, 1);
  }
  assert_true(sse_stream_get_pending(s) > 0);
  assert_int_equal(sse_stream_get_error(s), SSE_OK);
}

static void test_reentrant_calls(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    test_log want = {0};
    sse_stream *s;
    sink k;
    sink_init(&k, mode, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_frame_new_comment(&hook_frame, "h", 1, NULL),
                     SSE_OK);
    k.hook = reenter;
    k.hook_data = s;
    hook_runs = 0;
    send_three(s, SSE_OK);
    sink_drain(s, &k);
    assert_true(hook_runs > 0);
    three_frames(&want);
    sink_expect(&k, want.p, want.len);
    assert_int_equal(sse_stream_get_error(s), SSE_OK);
    sse_frame_release(hook_frame);
    sse_stream_free(s);
    sink_free(&k);
    test_log_free(&want);
  }
}

static void test_close(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    test_log want = {0};
    sse_message ev = mk_event(NULL, NULL, "x");
    sse_stream *s;
    sse_frame *f;
    sink k;
    sink_init(&k, mode, plain);
    k.budget = 5;
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_frame_new_message(&f, &ev, NULL), SSE_OK);
    send_three(s, SSE_OK);
    assert_int_equal(sse_stream_close(s), SSE_OK);
    assert_int_equal(sse_stream_get_error(s), SSE_E_CLOSED);
    assert_int_equal(sse_stream_send_message(s, &ev), SSE_E_CLOSED);
    assert_int_equal(sse_stream_send_frame(s, f), SSE_E_CLOSED);
    assert_int_equal(sse_stream_send_comment(s, NULL, 0), SSE_E_CLOSED);
    assert_int_equal(sse_stream_send_retry(s, 9), SSE_E_CLOSED);
    assert_int_equal(sse_stream_open(s, 9, 9), SSE_E_CLOSED);
    assert_int_equal(sse_stream_close(s), SSE_OK);
    /* a graceful end: what was queued still goes out */
    k.budget = SIZE_MAX;
    sink_drain(s, &k);
    three_frames(&want);
    sink_expect(&k, want.p, want.len);
    assert_int_equal(sse_stream_get_error(s), SSE_E_CLOSED);
    sse_frame_release(f);
    sse_stream_free(s);
    sink_free(&k);
    test_log_free(&want);
  }
}

static void test_open(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    test_log want = {0};
    sse_stream *s;
    sink k;
    sink_init(&k, mode, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_stream_open(s, 0, SSE_MAX_PADDING + 1),
                     SSE_E_INVALID_ARGUMENT);
    assert_int_equal(sse_stream_open(s, 0, 0), SSE_OK); /* sends nothing */
    assert_int_equal(k.calls, 0);
    assert_int_equal(sse_stream_open(s, 3000, 2048), SSE_OK);
    assert_int_equal(sse_stream_open(s, 3000, 2048), SSE_E_STATE);
    sink_drain(s, &k);
    test_log_add(&want, ":", 1);
    while (want.len < 2047)
      test_log_add(&want, " ", 1);
    test_log_add(&want, "\n", 1);
    enc_retry(&want, 3000);
    sink_expect(&k, want.p, want.len);
    want.len = 0;
    test_log_add(&want, "comment ", 8);
    while (want.len < 8 + 2045) /* one of the 2046 spaces is stripped */
      test_log_add(&want, " ", 1);
    test_log_add(&want, "\nretry 3000\nresult SSE_OK\n", 26);
    sink_expect_events(&k, want.p);
    sse_stream_free(s);
    sink_free(&k);
    /* padding 1 is the smallest comment; retry alone; the biggest pad */
    sink_init(&k, mode, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_stream_open(s, 0, 1), SSE_OK);
    sink_drain(s, &k);
    sink_expect(&k, ":\n", 2);
    sse_stream_free(s);
    sink_free(&k);
    sink_init(&k, mode, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_stream_open(s, 15, 0), SSE_OK);
    sink_drain(s, &k);
    sink_expect(&k, "retry: 15\n\n", 11);
    sse_stream_free(s);
    sink_free(&k);
    sink_init(&k, mode, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_stream_open(s, 0, SSE_MAX_PADDING), SSE_OK);
    sink_drain(s, &k);
    assert_int_equal(k.wire.len, SSE_MAX_PADDING);
    sse_stream_free(s);
    sink_free(&k);
    /* too late after any output, a keep-alive included */
    sink_init(&k, mode, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_stream_set_heartbeat(s, 1), SSE_OK);
    assert_int_equal(sse_stream_tick(s, 0, NULL), SSE_OK);
    assert_int_equal(sse_stream_tick(s, 1, NULL), SSE_OK);
    assert_int_equal(sse_stream_open(s, 10, 0), SSE_E_STATE);
    sse_stream_free(s);
    sink_free(&k);
    test_log_free(&want);
  }
}

static void test_bad_arguments(void **state) {
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  sse_message bad_type = mk_event("a\rb", NULL, "x");
  sse_message bad_id = mk_event(NULL, "1\n2", "x");
  sse_message nul_id = mk_event(NULL, "12", "x");
  sse_message null_data = mk_event(NULL, NULL, NULL);
  sse_stream *s;
  sse_frame *f = NULL;
  size_t n, calls;
  sink k;
  (void)state;
  nul_id.id = "1\0002";
  nul_id.id_len = 3;
  null_data.data_len = 4;
  sink_init(&k, SINK_ALL, 0);
  s = sink_stream(&k, &a);
  calls = ta.calls;
  assert_int_equal(sse_stream_send_message(s, &bad_type), SSE_E_INVALID_FIELD);
  assert_int_equal(sse_stream_send_message(s, &bad_id), SSE_E_INVALID_FIELD);
  assert_int_equal(sse_stream_send_message(s, &nul_id), SSE_E_INVALID_FIELD);
  assert_int_equal(sse_stream_send_message(s, &null_data),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_send_message(s, NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_send_comment(s, NULL, 1),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_send_frame(s, NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_frame_new_message(&f, &bad_id, &a), SSE_E_INVALID_FIELD);
  assert_null(f);
  assert_int_equal(sse_frame_new_message(&f, NULL, &a), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_frame_new_message(NULL, &bad_id, &a),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_frame_new_comment(&f, NULL, 2, &a),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_frame_new_comment(NULL, NULL, 0, &a),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(ta.calls, calls); /* nothing allocated */
  assert_int_equal(k.calls, 0);      /* nothing written */
  assert_int_equal(sse_stream_get_pending(s), 0);
  assert_int_equal(sse_stream_get_error(s), SSE_OK);
  sse_stream_free(s);
  assert_int_equal(ta.live, 0);
  sink_free(&k);
  /* NULL objects */
  assert_int_equal(sse_stream_new(NULL, NULL, NULL, NULL),
                   SSE_E_INVALID_ARGUMENT);
  s = (sse_stream *)&k;
  assert_int_equal(sse_stream_new(&s, NULL, NULL, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_null(s);
  assert_int_equal(sse_stream_new_write(&s, NULL, NULL, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_send_message(NULL, &bad_id),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_send_comment(NULL, NULL, 0),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_send_retry(NULL, 0), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_send_frame(NULL, NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_open(NULL, 0, 0), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_flush(NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_tick(NULL, 0, NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_close(NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_set_max_pending(NULL, 0),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_set_heartbeat(NULL, 0), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_get_error(NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_get_pending(NULL), 0);
  sse_stream_free(NULL);
  assert_null(sse_frame_retain(NULL));
  sse_frame_release(NULL);
  assert_null(sse_frame_get_bytes(NULL, &n));
  assert_int_equal(n, 0);
  assert_null(sse_frame_get_id(NULL, &n));
  /* the length pointer is optional */
  assert_null(sse_frame_get_bytes(NULL, NULL));
  assert_null(sse_frame_get_id(NULL, NULL));
  {
    sse_frame *idf;
    sse_message ev = {0};
    ev.id = "7";
    ev.id_len = 1;
    ev.data = "x";
    ev.data_len = 1;
    assert_int_equal(sse_frame_new_message(&idf, &ev, NULL), SSE_OK);
    assert_memory_equal(sse_frame_get_bytes(idf, NULL), "id: 7\ndata: x\n\n", 15);
    assert_memory_equal(sse_frame_get_id(idf, NULL), "7", 1);
    sse_frame_release(idf);
  }
}

/* A long queue: one vectored call per SSE_STREAM_MAX_IOV frames; the plain
 * callback gets small frames coalesced, large ones as they are. */
static void test_flush_batches(void **state) {
  test_log want = {0};
  sse_frame *small, *big;
  char text[3000];
  size_t i;
  int plain;
  (void)state;
  memset(text, 'b', sizeof text);
  assert_int_equal(sse_frame_new_comment(&small, "0123456789abcdefghijklmnopq",
                                         27, NULL),
                   SSE_OK); /* 30 bytes */
  assert_int_equal(sse_frame_new_comment(&big, text, sizeof text, NULL),
                   SSE_OK);
  for (plain = 0; plain < 2; plain++) {
    sse_stream *s;
    sink k;
    test_log_free(&want);
    sink_init(&k, SINK_ALL, plain);
    k.budget = 0;
    s = sink_stream(&k, NULL);
    for (i = 0; i < 200; i++) {
      sse_frame *f = i == 100 ? big : small;
      size_t n;
      const char *b = sse_frame_get_bytes(f, &n);
      assert_int_equal(sse_stream_send_frame(s, f), SSE_OK);
      test_log_add(&want, b, n);
    }
    assert_int_equal(k.calls, 1);
    k.budget = SIZE_MAX;
    assert_int_equal(sse_stream_flush(s), SSE_OK);
    sink_expect(&k, want.p, want.len);
    if (!plain) {
      assert_int_equal(k.calls, 1 + 4); /* 64 + 64 + 64 + 8 */
      assert_int_equal(k.max_iov, SSE_STREAM_MAX_IOV);
    } else {
      /* 100 small frames of 30 bytes: 34 + 34 + 32 per 1 KiB call; the
       * big frame alone; then 99 small: 34 + 34 + 31 */
      assert_int_equal(k.calls, 1 + 3 + 1 + 3);
    }
    sse_stream_free(s);
    sink_free(&k);
  }
  sse_frame_release(small);
  sse_frame_release(big);
  test_log_free(&want);
}

/* A frame is handed to the callback in place, never copied, with either
 * callback. */
static void test_zero_copy(void **state) {
  sse_message ev = mk_event(NULL, "9", "shared bytes");
  sse_frame *f;
  int plain;
  (void)state;
  assert_int_equal(sse_frame_new_message(&f, &ev, NULL), SSE_OK);
  for (plain = 0; plain < 2; plain++) {
    size_t n;
    const char *b = sse_frame_get_bytes(f, &n);
    sse_stream *s;
    sink k;
    sink_init(&k, SINK_ALL, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_stream_send_frame(s, f), SSE_OK);
    assert_ptr_equal(k.last_base, b);
    k.budget = 4;
    assert_int_equal(sse_stream_send_frame(s, f), SSE_OK);
    k.budget = SIZE_MAX;
    assert_int_equal(sse_stream_flush(s), SSE_OK);
    assert_ptr_equal(k.last_base, b + 4); /* the rest, in place */
    sse_stream_free(s);
    sink_free(&k);
  }
  sse_frame_release(f);
}

/* ---------------------------------------------------------------------- */
/* Allocation failure at each allocation of a scenario, failing once (then
 * the operation is retried) or for good (then it is skipped): the failing
 * operation returns SSE_E_NOMEM and changes nothing, the wire holds exactly
 * the operations that succeeded, and nothing leaks. */

enum { OPS = 23 };

/* Runs op i; appends its bytes to want on success. */
static int run_op(int i, sse_stream *s, sink *k, const sse_allocator *a,
                  test_log *want) {
  static const char *texts[] = {"zero", "one", "two", "three", "four", "five"};
  char big[2000];
  sse_message ev;
  sse_frame *f;
  int rc;
  switch (i) {
  case 0:
    return sse_stream_set_max_pending(s, 8192);
  case 1:
    rc = sse_stream_open(s, 1500, 40);
    if (rc == SSE_OK) {
      int sp;
      test_log_add(want, ":", 1);
      for (sp = 0; sp < 38; sp++)
        test_log_add(want, " ", 1);
      test_log_add(want, "\n", 1);
      enc_retry(want, 1500);
    }
    return rc;
  case 2:
    k->budget = 10;
    return SSE_OK;
  case 3: case 4: case 5: case 6: case 7: case 8:
    ev = mk_event(NULL, texts[i - 3], texts[i - 3]);
    rc = sse_stream_send_message(s, &ev);
    if (rc == SSE_OK)
      enc_event(want, NULL, texts[i - 3], texts[i - 3]);
    return rc;
  case 9:
    rc = sse_stream_send_comment(s, "mid", 3);
    if (rc == SSE_OK)
      enc_comment(want, "mid");
    return rc;
  case 10:
    rc = sse_stream_send_retry(s, 2500);
    if (rc == SSE_OK)
      enc_retry(want, 2500);
    return rc;
  case 11:
    ev = mk_event("shared", "s1", "for everyone");
    rc = sse_frame_new_message(&f, &ev, a);
    if (rc != SSE_OK)
      return rc;
    rc = sse_stream_send_frame(s, f);
    sse_frame_release(f);
    if (rc == SSE_OK)
      enc_event(want, "shared", "s1", "for everyone");
    return rc;
  case 12: /* a keep-alive only if everything before was skipped */
    rc = sse_stream_tick(s, 0, NULL);
    if (rc == SSE_OK && !sse_stream_get_pending(s) &&
        (rc = sse_stream_tick(s, 20000, NULL)) == SSE_OK)
      test_log_add(want, ":\n", 2);
    return rc == SSE_OK ? sse_stream_tick(s, 20000, NULL) : rc;
  case 13:
    k->budget = SIZE_MAX;
    sink_drain(s, k);
    return SSE_OK;
  case 14:
    rc = sse_stream_tick(s, 40000, NULL);
    if (rc == SSE_OK)
      test_log_add(want, ":\n", 2);
    sink_drain(s, k);
    return rc;
  case 15:
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ev = mk_event(NULL, NULL, big);
    rc = sse_stream_send_message(s, &ev);
    if (rc == SSE_OK)
      enc_event(want, NULL, NULL, big);
    return rc;
  case 16:
    k->budget = 0;
    return SSE_OK;
  case 17: case 18: case 19: case 20: case 21: /* the 5th grows the queue */
    rc = sse_stream_send_comment(s, "tail", 4);
    if (rc == SSE_OK)
      enc_comment(want, "tail");
    return rc;
  default:
    k->budget = SIZE_MAX;
    sink_drain(s, k);
    return SSE_OK;
  }
}

/* One run; returns the allocation calls made. *nomem counts NOMEM seen. */
/* A run of the scenario (a test_oom_run) with the sink pacing in ctx:
 * {plain, mode}. */
static size_t scenario(void *ctx, test_alloc *ta, size_t *nomem) {
  const int plain = ((const int *)ctx)[0], mode = ((const int *)ctx)[1];
  const int forever = ta->fail_forever;
  sse_allocator a = test_alloc_hooks(ta);
  test_log want = {0};
  sse_stream *s = NULL;
  sink k;
  int i, rc;
  sink_init(&k, mode, plain);
  rc = sink_stream_new(&k, &a, &s);
  if (rc == SSE_E_NOMEM) {
    ++*nomem;
    assert_null(s);
    assert_int_equal(ta->live, 0);
    ta->fail_at = 0;
    s = sink_stream(&k, &a);
  }
  assert_int_equal(rc == SSE_OK || rc == SSE_E_NOMEM, 1);
  for (i = 0; i < OPS; i++) {
    size_t pending = sse_stream_get_pending(s), wire = k.wire.len;
    size_t calls = k.calls;
    rc = run_op(i, s, &k, &a, &want);
    if (rc == SSE_E_NOMEM) {
      ++*nomem;
      /* nothing queued, nothing written, the stream unharmed */
      assert_int_equal(sse_stream_get_pending(s), pending);
      assert_int_equal(k.wire.len, wire);
      assert_int_equal(k.calls, calls);
      assert_int_equal(sse_stream_get_error(s), SSE_OK);
      if (!forever) {
        rc = run_op(i, s, &k, &a, &want);
        assert_int_equal(rc, SSE_OK);
      }
      continue;
    }
    assert_int_equal(rc, SSE_OK);
  }
  sink_expect(&k, want.p, want.len);
  sse_stream_free(s);
  assert_int_equal(ta->live, 0);
  sink_free(&k);
  test_log_free(&want);
  return ta->calls;
}

static void test_nomem_every_allocation(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    int ctx[2];
    ctx[0] = plain;
    ctx[1] = mode;
    /* stream, frames, queue arrays: at least 14 allocations */
    test_oom_sweep("stream sends", scenario, ctx, 14, 1);
  }
}

/* ---- the cap bounds everything a stream holds ------------------------- */

/* A stalled stream fed tiny shared frames: what it allocates beyond its
 * idle allocation plus the bytes it queues stays under its cap, whatever
 * the cap, and the send that would cross it overflows the stream. */
static void test_cap_bounds_queue_memory(void **state) {
  static const size_t caps[] = {64, 1000, 4096, 65536, 1 << 20};
  size_t c;
  (void)state;
  for (c = 0; c < sizeof caps / sizeof caps[0]; c++) {
    test_alloc ta = {0};
    sse_allocator a = test_alloc_hooks(&ta);
    sse_stream *s;
    sse_frame *f;
    size_t idle, n = 0, flen, peak = 0;
    int rc;
    assert_int_equal(sse_stream_new_pull(&s, &a), SSE_OK);
    idle = ta.live_bytes;
    assert_int_equal(sse_stream_set_max_pending(s, caps[c]), SSE_OK);
    assert_int_equal(sse_frame_new_comment(&f, "0123456789abcdef", 16, NULL),
                     SSE_OK);
    sse_frame_get_bytes(f, &flen); /* 19 bytes */
    while ((rc = sse_stream_send_frame(s, f)) == SSE_OK) {
      size_t held = ta.live_bytes - idle + sse_stream_get_pending(s);
      n++;
      assert_true(held <= caps[c]);
      if (held > peak)
        peak = held;
    }
    assert_int_equal(rc, SSE_E_OVERFLOW);
    assert_int_equal(sse_stream_get_error(s), SSE_E_OVERFLOW);
    assert_int_equal(sse_stream_get_pending(s), n * flen);
    /* the queue array is what a real cap is mostly spent on here: the
     * bookkeeping counts, so fewer frames fit than bytes alone allow */
    assert_true(n * flen <= caps[c]);
    if (caps[c] >= 4096)
      assert_true(n * flen < caps[c] - 8 * 16);
    printf("cap %zu: %zu frames of %zu bytes, %zu bytes held at most\n",
           caps[c], n, flen, peak);
    sse_frame_release(f);
    sse_stream_free(s);
    assert_int_equal(ta.live, 0);
  }
}

/* ---- pull streams ------------------------------------------------------ */

/* Reads everything a pull stream holds, in pieces of at most chunk bytes,
 * into l; returns the last code (SSE_E_AGAIN once drained while open). */
static int pull_all(sse_stream *s, size_t chunk, test_log *l) {
  char buf[4096];
  size_t len;
  int rc;
  assert_true(chunk <= sizeof buf);
  while ((rc = sse_stream_read(s, buf, chunk, &len)) == SSE_OK) {
    assert_true(len > 0 && len <= chunk);
    test_log_add(l, buf, len);
  }
  assert_int_equal(len, 0);
  return rc;
}

/* The same through peek and consume, taking at most take bytes a turn. */
static int peek_all(sse_stream *s, size_t take, test_log *l) {
  sse_iovec iov[3];
  size_t count, i, left;
  int rc;
  while ((rc = sse_stream_peek(s, iov, 3, &count)) == SSE_OK) {
    assert_true(count >= 1 && count <= 3);
    for (i = 0, left = take; i < count && left; i++) {
      size_t k = iov[i].len < left ? iov[i].len : left;
      assert_true(iov[i].len > 0);
      test_log_add(l, iov[i].base, k);
      left -= k;
    }
    assert_int_equal(sse_stream_consume(s, take - left), SSE_OK);
  }
  assert_int_equal(count, 0);
  return rc;
}

/* What a push stream writes, a pull stream gives out byte for byte, at any
 * read size, by copy or by pieces. */
static void test_pull_same_bytes_as_push(void **state) {
  static const size_t sizes[] = {1, 2, 7, 64, 4096};
  size_t z;
  int how;
  (void)state;
  for (how = 0; how < 2; how++)
    for (z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
      test_log want = {0}, got = {0};
      sse_message m1 = mk_event("up", "1", "a\nb"), m2 = mk_event(NULL, NULL,
                                                                  "");
      sse_frame *f;
      sse_stream *s;
      assert_int_equal(sse_stream_new_pull(&s, NULL), SSE_OK);
      assert_int_equal(pull_all(s, 8, &got), SSE_E_AGAIN);
      assert_int_equal(sse_stream_open(s, 3000, 2), SSE_OK);
      assert_int_equal(sse_stream_send_message(s, &m1), SSE_OK);
      assert_int_equal(sse_frame_new_message(&f, &m2, NULL), SSE_OK);
      assert_int_equal(sse_stream_send_frame(s, f), SSE_OK);
      assert_int_equal(sse_stream_send_frames(s, &f, 1), SSE_OK);
      sse_frame_release(f);
      assert_int_equal(sse_stream_send_comment(s, "hi", 2), SSE_OK);
      assert_int_equal(sse_stream_send_retry(s, 5), SSE_OK);
      test_log_add(&want, ":\n", 2);
      enc_retry(&want, 3000);
      enc_event(&want, "up", "1", "a\nb");
      enc_event(&want, NULL, NULL, "");
      enc_event(&want, NULL, NULL, "");
      enc_comment(&want, "hi");
      enc_retry(&want, 5);
      assert_int_equal(sse_stream_get_pending(s), want.len);
      assert_int_equal(how ? peek_all(s, sizes[z], &got)
                           : pull_all(s, sizes[z], &got),
                       SSE_E_AGAIN);
      assert_int_equal(got.len, want.len);
      assert_memory_equal(got.p, want.p, want.len);
      assert_int_equal(sse_stream_get_pending(s), 0);
      /* closed: what is left is given out, then the end */
      assert_int_equal(sse_stream_send_comment(s, "", 0), SSE_OK);
      assert_int_equal(sse_stream_close(s), SSE_OK);
      assert_int_equal(sse_stream_send_comment(s, "", 0), SSE_E_CLOSED);
      got.len = 0;
      assert_int_equal(how ? peek_all(s, sizes[z], &got)
                           : pull_all(s, sizes[z], &got),
                       SSE_E_CLOSED);
      assert_int_equal(got.len, 2);
      sse_stream_free(s);
      test_log_free(&want);
      test_log_free(&got);
    }
}

/* Overflow, replay and heartbeats behave as on a push stream; the pull
 * calls refuse push streams and the push calls refuse pull streams. */
static void test_pull_states(void **state) {
  sse_message m = mk_event(NULL, NULL, "0123456789");
  sse_history *h;
  sse_frame *f;
  sse_stream *s, *p;
  sse_iovec iov[2];
  char buf[64];
  size_t len = 99, count = 99;
  uint64_t deadline, pos;
  test_log got = {0};
  sink k;
  (void)state;
  assert_int_equal(sse_stream_new_pull(&s, NULL), SSE_OK);
  assert_int_equal(sse_stream_set_max_pending(s, 40), SSE_OK);
  assert_int_equal(sse_stream_send_message(s, &m), SSE_OK); /* 18 bytes */
  assert_int_equal(sse_stream_send_message(s, &m), SSE_OK);
  assert_int_equal(sse_stream_send_message(s, &m), SSE_E_OVERFLOW);
  assert_int_equal(sse_stream_send_message(s, &m), SSE_E_OVERFLOW);
  assert_int_equal(pull_all(s, 5, &got), SSE_E_OVERFLOW);
  assert_int_equal(got.len, 36);
  assert_int_equal(sse_stream_peek(s, iov, 2, &count), SSE_E_OVERFLOW);
  assert_int_equal(count, 0);
  sse_stream_free(s);

  /* arguments and kinds */
  assert_int_equal(sse_stream_new_pull(NULL, NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_new_pull(&s, NULL), SSE_OK);
  assert_int_equal(sse_stream_read(s, NULL, 1, &len), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_read(s, buf, 0, &len), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_read(s, buf, 1, NULL), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_read(NULL, buf, 1, &len),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_peek(s, NULL, 1, &count),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_peek(s, iov, 0, &count), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_consume(s, 1), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_consume(s, 0), SSE_OK);
  assert_int_equal(sse_stream_flush(s), SSE_E_STATE);
  sink_init(&k, SINK_ALL, 0);
  p = sink_stream(&k, NULL);
  assert_int_equal(sse_stream_read(p, buf, sizeof buf, &len), SSE_E_STATE);
  assert_int_equal(sse_stream_peek(p, iov, 2, &count), SSE_E_STATE);
  assert_int_equal(sse_stream_consume(p, 0), SSE_E_STATE);
  sse_stream_free(p);
  sink_free(&k);

  /* heartbeats: due only when idle, stamped by reads */
  assert_int_equal(sse_stream_tick(s, 1000, &deadline), SSE_OK);
  assert_true(deadline == 1000 + SSE_DEFAULT_HEARTBEAT_MS);
  assert_int_equal(sse_stream_tick(s, deadline, &deadline), SSE_OK);
  assert_int_equal(sse_stream_get_pending(s), 2); /* ":\n" queued */
  assert_int_equal(sse_stream_tick(s, 100000, &deadline), SSE_OK);
  assert_int_equal(sse_stream_get_pending(s), 2); /* not twice: unread */
  assert_int_equal(sse_stream_read(s, buf, sizeof buf, &len), SSE_OK);
  assert_int_equal(len, 2);
  assert_memory_equal(buf, ":\n", 2);
  /* the read is a write at the latest tick's time, 100000 */
  assert_int_equal(sse_stream_tick(s, 100000 + SSE_DEFAULT_HEARTBEAT_MS - 1,
                                   &deadline),
                   SSE_OK);
  assert_int_equal(sse_stream_get_pending(s), 0);
  assert_true(deadline == 100000 + SSE_DEFAULT_HEARTBEAT_MS);
  assert_int_equal(sse_stream_tick(s, deadline, &deadline), SSE_OK);
  assert_int_equal(sse_stream_get_pending(s), 2);
  assert_int_equal(sse_stream_consume(s, 2), SSE_OK);

  /* replay from a history onto a pull stream queues the frames */
  assert_int_equal(sse_history_new(&h, 0, 0, NULL), SSE_OK);
  m = mk_event(NULL, "1", "x");
  assert_int_equal(sse_frame_new_message(&f, &m, NULL), SSE_OK);
  assert_int_equal(sse_history_push(h, f, NULL), SSE_OK);
  sse_frame_release(f);
  m = mk_event(NULL, "2", "y");
  assert_int_equal(sse_frame_new_message(&f, &m, NULL), SSE_OK);
  assert_int_equal(sse_history_push(h, f, NULL), SSE_OK);
  assert_int_equal(sse_history_replay(h, s, "1", 1, &pos), SSE_OK);
  assert_true(pos == 2);
  assert_int_equal(sse_stream_read(s, buf, sizeof buf, &len), SSE_OK);
  assert_int_equal(len, 15);
  assert_memory_equal(buf, "id: 2\ndata: y\n\n", 15);
  sse_frame_release(f);
  sse_history_free(h);
  sse_stream_free(s);
  test_log_free(&got);
}

/* ---- batch sends ------------------------------------------------------- */

/* send_frames: in order, as one send, all or nothing. */
static void test_send_frames(void **state) {
  int mode, plain;
  (void)state;
  FOR_SINKS(mode, plain) {
    sse_message m1 = mk_event(NULL, "1", "a"), m2 = mk_event("t", "2", "bc");
    sse_frame *f[3];
    sse_stream *s;
    test_log want = {0};
    size_t i, pend;
    sink k;
    sink_init(&k, mode, plain);
    s = sink_stream(&k, NULL);
    assert_int_equal(sse_frame_new_message(&f[0], &m1, NULL), SSE_OK);
    assert_int_equal(sse_frame_new_message(&f[1], &m2, NULL), SSE_OK);
    assert_int_equal(sse_frame_new_comment(&f[2], "c", 1, NULL), SSE_OK);
    assert_int_equal(sse_stream_send_frames(s, NULL, 0), SSE_OK);
    assert_int_equal(sse_stream_send_frames(s, f, 3), SSE_OK);
    assert_int_equal(sse_stream_send_frames(s, f + 1, 2), SSE_OK);
    for (i = 0; i < 5; i++) {
      size_t flen;
      const char *b = sse_frame_get_bytes(f[i < 3 ? i : i - 2], &flen);
      test_log_add(&want, b, flen);
    }
    /* a NULL in the array, or more than the cap: nothing sent */
    {
      sse_frame *bad[2];
      bad[0] = f[0];
      bad[1] = NULL;
      pend = sse_stream_get_pending(s);
      assert_int_equal(sse_stream_send_frames(s, bad, 2),
                       SSE_E_INVALID_ARGUMENT);
      assert_int_equal(sse_stream_send_frames(s, NULL, 1),
                       SSE_E_INVALID_ARGUMENT);
      assert_int_equal(sse_stream_get_pending(s), pend);
    }
    sink_drain(s, &k);
    sink_expect(&k, want.p, want.len);
    assert_int_equal(sse_stream_set_max_pending(s, 20), SSE_OK);
    k.budget = 0;
    assert_int_equal(sse_stream_send_frames(s, f, 2), SSE_E_OVERFLOW);
    assert_int_equal(sse_stream_get_pending(s), 0);
    assert_int_equal(sse_stream_get_error(s), SSE_E_OVERFLOW);
    assert_int_equal(sse_stream_send_frames(s, f, 1), SSE_E_OVERFLOW);
    k.budget = SIZE_MAX;
    sink_expect(&k, want.p, want.len);
    for (i = 0; i < 3; i++)
      sse_frame_release(f[i]);
    sse_stream_free(s);
    sink_free(&k);
    test_log_free(&want);
  }
}

/* broadcast: each stream gets the frame as send_frame would give it; the
 * results say which failed, and the failed ones do not stop the rest. */
static void test_broadcast_batch(void **state) {
  enum { N = 6 };
  sse_message m = mk_event(NULL, "7", "hello");
  sse_stream *s[N];
  int results[N];
  size_t failed = 99, i, flen;
  sink k[N];
  sse_frame *f;
  (void)state;
  assert_int_equal(sse_frame_new_message(&f, &m, NULL), SSE_OK);
  sse_frame_get_bytes(f, &flen);
  for (i = 0; i < N; i++) {
    sink_init(&k[i], i % SINK_MODES, (int)(i & 1));
    s[i] = sink_stream(&k[i], NULL);
  }
  assert_int_equal(sse_stream_close(s[1]), SSE_OK);
  assert_int_equal(sse_stream_set_max_pending(s[2], flen - 1), SSE_OK);
  k[3].fail_at = 0;
  k[3].fail_code = -1;
  assert_int_equal(sse_stream_broadcast(s, N, f, results, &failed), SSE_OK);
  assert_int_equal(failed, 3);
  assert_int_equal(results[0], SSE_OK);
  assert_int_equal(results[1], SSE_E_CLOSED);
  assert_int_equal(results[2], SSE_E_OVERFLOW);
  assert_int_equal(results[3], SSE_E_WRITE);
  assert_int_equal(results[4], SSE_OK);
  assert_int_equal(results[5], SSE_OK);
  assert_int_equal(sse_stream_broadcast(s, N, f, NULL, NULL), SSE_OK);
  for (i = 0; i < N; i++) {
    if (i >= 1 && i <= 3)
      continue;
    sink_drain(s[i], &k[i]);
    assert_int_equal(k[i].wire.len, 2 * flen);
  }
  /* bad arguments send nothing */
  assert_int_equal(sse_stream_broadcast(s, N, NULL, results, &failed),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_broadcast(NULL, 1, f, results, &failed),
                   SSE_E_INVALID_ARGUMENT);
  sse_stream_free(s[5]);
  s[5] = NULL;
  assert_int_equal(sse_stream_broadcast(s, N, f, results, &failed),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(k[0].wire.len, 2 * flen);
  assert_int_equal(sse_stream_broadcast(s, 0, f, results, &failed), SSE_OK);
  assert_int_equal(failed, 0);
  for (i = 0; i < N; i++) {
    sse_stream_free(s[i]);
    sink_free(&k[i]);
  }
  sse_frame_release(f);
}

static void cap_zero_restores_the_default(void **state) {
  static char big[100 * 1024];
  sse_message ev;
  sse_stream *s;
  sink k;
  (void)state;
  memset(big, 'b', sizeof big - 1);
  ev = mk_event(NULL, NULL, big);
  sink_init(&k, SINK_ALL, 0);
  k.budget = 0; /* everything stays pending */
  s = sink_stream(&k, NULL);
  assert_int_equal(sse_stream_set_max_pending(s, 1000), SSE_OK);
  assert_int_equal(sse_stream_set_max_pending(s, 0), SSE_OK);
  /* 100 KiB fit under the default (1 MiB), ten times over */
  assert_int_equal(sse_stream_send_message(s, &ev), SSE_OK);
  assert_true(sse_stream_get_pending(s) > sizeof big);
  assert_int_equal(sse_stream_set_max_pending(s, 1000), SSE_OK);
  assert_int_equal(sse_stream_send_comment(s, "x", 1), SSE_E_OVERFLOW);
  k.budget = SIZE_MAX;
  sink_drain(s, &k);
  assert_int_equal(k.wire.len, sizeof big + 6 + 1);
  sse_stream_free(s);
  sink_free(&k);
}

/* One stream: preamble, private sends past the inline queue (it grows
 * twice), a stall, a keep-alive, a big event, the queue grown again after
 * it was freed, and grown while it wraps around. */
static void sc_private(script *sc, int plain) {
  static const char *const words[] = {"zero", "one", "two", "three", "four",
                                      "five", "six", "seven", "eight"};
  static char big[3000];
  step *p;
  size_t i;
  memset(big, 'q', sizeof big - 1);
  script_n(sc, NEW, 0, (uint64_t)plain);
  script_n(sc, CAP, 0, 16384);
  p = script_add(sc, OPEN, 0);
  p->n = 1500;
  p->slot = 40;
  script_n(sc, BUDGET, 0, 10);
  for (i = 0; i < 9; i++)
    script_event(sc, 0, i % 3 ? NULL : "t", i % 2 ? script_num(i) : NULL, words[i]);
  p = script_add(sc, COMMENT, 0);
  p->data = "a\ncomment";
  script_n(sc, RETRY, 0, 2500);
  script_n(sc, BUDGET, 0, SIZE_MAX);
  script_add(sc, FLUSH, 0);
  script_n(sc, TICK, 0, 0);
  script_n(sc, TICK, 0, 20000); /* a keep-alive: constant storage */
  script_event(sc, 0, NULL, NULL, big);
  script_n(sc, BUDGET, 0, 0);
  for (i = 0; i < 12; i++) {
    p = script_add(sc, COMMENT, 0);
    p->data = words[i % 9];
  }
  script_n(sc, BUDGET, 0, SIZE_MAX);
  script_add(sc, FLUSH, 0);
  /* a wrapped ring grows: four frames queued, two written, three more */
  script_n(sc, BUDGET, 0, 0);
  for (i = 0; i < 4; i++)
    script_add(sc, COMMENT, 0)->data = "x"; /* ": x\n" */
  script_n(sc, BUDGET, 0, 8);
  for (i = 0; i < 8; i++)
    script_add(sc, FLUSH, 0);
  script_n(sc, BUDGET, 0, 0);
  for (i = 0; i < 3; i++)
    script_add(sc, COMMENT, 0)->data = words[i];
  script_n(sc, BUDGET, 0, SIZE_MAX);
  script_add(sc, FLUSH, 0);
}

static void oom_private_sends(void **state) {
  script *sc = calloc(1, sizeof *sc);
  (void)state;
  assert_non_null(sc);
  sc_private(sc, 0);
  script_sweep("private sends, vectored", sc);
  sc->n = 0;
  sc_private(sc, 1);
  script_sweep("private sends, plain", sc);
  free(sc);
}

/* Pull streams in every send path: broadcast and send_frames onto idle and
 * busy pull streams, the cap counted with the queue array, peek's limits,
 * and send_frames' allocation failure. */
static void test_pull_paths(void **state) {
  enum { N = 100 };
  sse_message m = mk_event(NULL, NULL, "x"); /* "data: x\n\n": 9 bytes */
  sse_frame *f, *fs[N];
  sse_stream *s[2];
  sse_iovec iov[N];
  int results[2];
  size_t failed, count, i, flen;
  test_alloc ta = {0};
  sse_allocator a = test_alloc_hooks(&ta);
  (void)state;
  assert_int_equal(sse_frame_new_message(&f, &m, NULL), SSE_OK);
  sse_frame_get_bytes(f, &flen);
  assert_int_equal(sse_stream_new_pull(&s[0], NULL), SSE_OK);
  assert_int_equal(sse_stream_new_pull(&s[1], NULL), SSE_OK);
  /* broadcast onto idle, then busy, pull streams; the second one's cap
   * holds the inline ring only, so it overflows when the array is due */
  assert_int_equal(sse_stream_set_max_pending(s[1], 4 * flen + 16), SSE_OK);
  for (i = 0; i < 4; i++) {
    assert_int_equal(sse_stream_broadcast(s, 2, f, results, &failed), SSE_OK);
    assert_int_equal(failed, 0);
  }
  assert_int_equal(sse_stream_broadcast(s, 2, f, results, &failed), SSE_OK);
  assert_int_equal(results[0], SSE_OK);
  assert_int_equal(results[1], SSE_E_OVERFLOW);
  assert_int_equal(failed, 1);
  assert_int_equal(sse_stream_get_pending(s[1]), 4 * flen);
  assert_int_equal(sse_stream_broadcast(NULL, 0, f, NULL, &failed), SSE_OK);
  assert_int_equal(failed, 0);
  /* peek gives at most SSE_STREAM_MAX_IOV pieces, whatever iov_cap says */
  for (i = 0; i < N; i++)
    fs[i] = f;
  assert_int_equal(sse_stream_send_frames(s[0], fs, N), SSE_OK);
  assert_int_equal(sse_stream_peek(s[0], iov, N, &count), SSE_OK);
  assert_int_equal(count, SSE_STREAM_MAX_IOV);
  assert_int_equal(sse_stream_peek(s[0], iov, N, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_peek(NULL, iov, N, &count),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_consume(NULL, 0), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_consume(s[0], (N + 5) * flen), SSE_OK);
  assert_int_equal(sse_stream_get_pending(s[0]), 0);
  sse_stream_free(s[0]);
  sse_stream_free(s[1]);
  /* send_frames whose queue array cannot be allocated: nothing queued */
  assert_int_equal(sse_stream_new_pull(&s[0], &a), SSE_OK);
  ta.fail_at = ta.calls + 1;
  ta.fail_forever = 1;
  assert_int_equal(sse_stream_send_frames(s[0], fs, N), SSE_E_NOMEM);
  assert_int_equal(sse_stream_get_pending(s[0]), 0);
  assert_int_equal(sse_stream_get_error(s[0]), SSE_OK);
  ta.fail_at = 0;
  assert_int_equal(sse_stream_send_frames(s[0], fs, N), SSE_OK);
  sse_stream_free(s[0]);
  assert_int_equal(ta.live, 0);
  assert_int_equal(sse_stream_new(NULL, NULL, NULL, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_stream_new_write(NULL, NULL, NULL, NULL),
                   SSE_E_INVALID_ARGUMENT);
  sse_frame_release(f);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idle_memory),
      cmocka_unit_test(test_sends_reach_the_wire),
      cmocka_unit_test(test_short_write_at_every_position),
      cmocka_unit_test(test_would_block_then_flush),
      cmocka_unit_test(test_error_at_every_position),
      cmocka_unit_test(test_callback_results),
      cmocka_unit_test(test_overflow),
      cmocka_unit_test(test_heartbeat),
      cmocka_unit_test(test_heartbeat_stamps),
      cmocka_unit_test(test_write_through),
      cmocka_unit_test(test_reentrant_calls),
      cmocka_unit_test(test_close),
      cmocka_unit_test(test_open),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_flush_batches),
      cmocka_unit_test(test_zero_copy),
      cmocka_unit_test(test_nomem_every_allocation),
      cmocka_unit_test(test_cap_bounds_queue_memory),
      cmocka_unit_test(test_pull_same_bytes_as_push),
      cmocka_unit_test(test_pull_states),
      cmocka_unit_test(test_pull_paths),
      cmocka_unit_test(test_send_frames),
      cmocka_unit_test(test_broadcast_batch),
      cmocka_unit_test(cap_zero_restores_the_default),
      cmocka_unit_test(oom_private_sends),
  };
  test_filter(argc, argv);
  return cmocka_run_group_tests(tests, NULL, script_report);
}
