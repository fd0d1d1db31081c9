#include "stream_sink.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

void sink_init(sink *k, int mode, int plain) {
  memset(k, 0, sizeof *k);
  k->mode = mode;
  k->plain = plain;
  k->budget = SIZE_MAX;
  k->fail_at = SIZE_MAX;
  k->fail_code = -1000;
}

void sink_free(sink *k) { test_log_free(&k->wire); }

/* How many bytes to take of total offered, or a result code. */
static int decide(sink *k, size_t total, size_t *take) {
  k->calls++;
  if (k->failed) {
    k->calls_after_fail++;
    return k->fail_code;
  }
  if (k->hook)
    k->hook(k);
  if (k->mode == SINK_ALT && k->calls % 2)
    return SSE_E_AGAIN;
  *take = k->mode == SINK_ONE ? 1 : total;
  if (*take > k->budget)
    *take = k->budget;
  if (k->fail_at != SIZE_MAX) {
    if (k->wire.len >= k->fail_at) {
      k->failed = 1;
      return k->fail_code;
    }
    if (*take > k->fail_at - k->wire.len)
      *take = k->fail_at - k->wire.len;
  }
  if (!*take)
    return SSE_E_AGAIN;
  if (k->budget != SIZE_MAX)
    k->budget -= *take;
  return SSE_OK;
}

static int sink_writev(void *user, const sse_iovec *iov, size_t n,
                       size_t *written) {
  sink *k = user;
  size_t i, total = 0, take = 0, left;
  int rc;
  assert_int_equal(*written, 0);
  assert_true(n >= 1 && n <= SSE_STREAM_MAX_IOV);
  for (i = 0; i < n; i++) {
    assert_non_null(iov[i].base);
    assert_true(iov[i].len > 0);
    total += iov[i].len;
  }
  k->last_iov = n;
  k->last_base = iov[0].base;
  if (n > k->max_iov)
    k->max_iov = n;
  rc = decide(k, total, &take);
  if (rc != SSE_OK)
    return rc;
  for (i = 0, left = take; left; i++) {
    size_t m = iov[i].len < left ? iov[i].len : left;
    test_log_add(&k->wire, iov[i].base, m);
    left -= m;
  }
  *written = take + (k->overreport ? 1 : 0);
  return SSE_OK;
}

static int sink_write(void *user, const void *buf, size_t len,
                      size_t *written) {
  sink *k = user;
  size_t take = 0;
  int rc;
  assert_int_equal(*written, 0);
  assert_non_null(buf);
  assert_true(len > 0);
  k->last_iov = 1;
  k->last_base = buf;
  k->max_iov = 1;
  rc = decide(k, len, &take);
  if (rc != SSE_OK)
    return rc;
  test_log_add(&k->wire, buf, take);
  *written = take + (k->overreport ? 1 : 0);
  return SSE_OK;
}

int sink_stream_new(sink *k, const sse_allocator *a, sse_stream **out) {
  return k->plain ? sse_stream_new_write(out, sink_write, k, a)
                  : sse_stream_new(out, sink_writev, k, a);
}

sse_stream *sink_stream(sink *k, const sse_allocator *a) {
  sse_stream *s = NULL;
  assert_int_equal(sink_stream_new(k, a, &s), SSE_OK);
  assert_non_null(s);
  return s;
}

void sink_drain(sse_stream *s, sink *k) {
  size_t rounds = 0, limit = 4 * (sse_stream_get_pending(s) + 4);
  int rc;
  while (sse_stream_get_pending(s)) {
    rc = sse_stream_flush(s);
    assert_true(rc == SSE_OK || rc == SSE_E_AGAIN);
    /* every mode makes progress at least every second call */
    assert_true(++rounds < limit);
    if (rc == SSE_OK)
      assert_int_equal(sse_stream_get_pending(s), 0);
  }
  assert_int_equal(sse_stream_flush(s), SSE_OK);
  assert_int_equal(k->calls_after_fail, 0);
}

void sink_expect(const sink *k, const void *want, size_t n) {
  assert_int_equal(k->wire.len, n);
  if (n)
    assert_memory_equal(k->wire.p, want, n);
}

void sink_expect_events(const sink *k, const char *want) {
  test_run run = {0};
  test_log got;
  run.comments = 1;
  run.finish = 1;
  got = test_decode(&run, k->wire.p ? k->wire.p : "", k->wire.len, 0);
  assert_string_equal(got.p, want);
  test_log_free(&got);
}

sse_message mk_event(const char *type, const char *id, const char *data) {
  sse_message ev;
  memset(&ev, 0, sizeof ev);
  ev.type = type;
  ev.type_len = type ? strlen(type) : 0;
  ev.id = id;
  ev.id_len = id ? strlen(id) : 0;
  ev.data = data;
  ev.data_len = data ? strlen(data) : 0;
  return ev;
}

void enc_event(test_log *l, const char *type, const char *id,
               const char *data) {
  sse_message ev = mk_event(type, id, data);
  char buf[4096];
  size_t n;
  assert_int_equal(sse_encode_message(buf, sizeof buf, &ev, &n), SSE_OK);
  test_log_add(l, buf, n);
}

void enc_comment(test_log *l, const char *text) {
  char buf[4096];
  size_t n;
  assert_int_equal(
      sse_encode_comment(buf, sizeof buf, text, text ? strlen(text) : 0, &n),
      SSE_OK);
  test_log_add(l, buf, n);
}

void enc_retry(test_log *l, uint64_t ms) {
  char buf[32];
  size_t n;
  assert_int_equal(sse_encode_retry(buf, sizeof buf, ms, &n), SSE_OK);
  test_log_add(l, buf, n);
}

size_t hist_range(const sse_history *h, uint64_t *first, uint64_t *last) {
  if (first)
    *first = h ? sse_history_get_first_seq(h) : 1;
  if (last)
    *last = sse_history_get_last_seq(h);
  return sse_history_get_bytes(h);
}
