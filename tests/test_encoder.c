/* The encoder (lib/encoder.c): exact output, snprintf-style sizing,
 * injection refusal, data and comment splitting by CR, LF and CRLF, the
 * iovec form, argument checks, and a deterministic random round trip
 * through the decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"
#include "unit.h"

/* The encoder's verdict on a message with only this type and id. */
static int enc_fields(const char *type, size_t type_len, const char *id,
                      size_t id_len) {
  sse_message m;
  char b[64];
  size_t n;
  memset(&m, 0, sizeof m);
  m.type = type;
  m.type_len = type_len;
  m.id = id;
  m.id_len = id_len;
  return sse_encode_message(b, sizeof b, &m, &n);
}

static sse_message mk(const char *type, const char *id, const char *data) {
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

static void expect_event(const sse_message *ev, const char *want) {
  char buf[512];
  size_t len = 0;
  assert_int_equal(sse_encode_message(buf, sizeof buf, ev, &len), SSE_OK);
  assert_int_equal(len, strlen(want));
  assert_memory_equal(buf, want, len);
}

static void test_event_output(void **state) {
  sse_message ev;
  (void)state;
  ev = mk(NULL, NULL, "hello");
  expect_event(&ev, "data: hello\n\n");
  ev = mk("update", "42", "x");
  expect_event(&ev, "event: update\nid: 42\ndata: x\n\n");
  ev = mk(NULL, NULL, "");
  expect_event(&ev, "data: \n\n"); /* dispatched with empty data */
  ev = mk(NULL, "7", NULL);
  expect_event(&ev, "id: 7\n\n"); /* id only: nothing dispatched */
  ev = mk(NULL, "", "x");
  expect_event(&ev, "id: \ndata: x\n\n"); /* clears the last event ID */
  ev = mk(NULL, NULL, NULL);
  expect_event(&ev, "\n");
  /* a leading space or colon survives the decoder's one-space strip */
  ev = mk(" t", " i", " d");
  expect_event(&ev, "event:  t\nid:  i\ndata:  d\n\n");
}

static void test_data_splitting(void **state) {
  sse_message ev;
  (void)state;
  ev = mk(NULL, NULL, "a\nb");
  expect_event(&ev, "data: a\ndata: b\n\n");
  ev = mk(NULL, NULL, "a\rb\r\nc");
  expect_event(&ev, "data: a\ndata: b\ndata: c\n\n");
  ev = mk(NULL, NULL, "x\n");
  expect_event(&ev, "data: x\ndata: \n\n");
  ev = mk(NULL, NULL, "\n");
  expect_event(&ev, "data: \ndata: \n\n");
  ev = mk(NULL, NULL, "\r\r");
  expect_event(&ev, "data: \ndata: \ndata: \n\n");
  ev = mk(NULL, NULL, "\n\r"); /* LF then CR: two line breaks */
  expect_event(&ev, "data: \ndata: \ndata: \n\n");
  /* an injection attempt through data stays data */
  ev = mk(NULL, NULL, "x\revent: foo\n\nid: 1");
  expect_event(&ev, "data: x\ndata: event: foo\ndata: \ndata: id: 1\n\n");
  /* NUL in data passes through */
  ev = mk(NULL, NULL, NULL);
  ev.data = "a\0b";
  ev.data_len = 3;
  {
    char buf[32];
    size_t len;
    assert_int_equal(sse_encode_message(buf, sizeof buf, &ev, &len), SSE_OK);
    assert_int_equal(len, 11);
    assert_memory_equal(buf, "data: a\0b\n\n", 11);
  }
}

/* Refused fields write nothing, in either form. */
static void expect_refused(const sse_message *ev) {
  char buf[128];
  sse_iovec iov[16];
  size_t len = 99, count = 99, i;
  memset(buf, '#', sizeof buf);
  assert_int_equal(sse_encode_message(buf, sizeof buf, ev, &len),
                   SSE_E_INVALID_FIELD);
  for (i = 0; i < sizeof buf; i++)
    assert_int_equal(buf[i], '#');
  assert_int_equal(len, 0);
  assert_int_equal(sse_encode_message_iov(iov, 16, ev, &count, NULL),
                   SSE_E_INVALID_FIELD);
  assert_int_equal(count, 0);
}

static void test_injection_refused(void **state) {
  static const char *const bad_type[] = {
      "a\nb", "a\rb", "a\r\nb", "\n", "\r", "x\nevent: spoofed",
      "x\revent: spoofed", "t\n\ndata: injected", "trailing\n", "\rleading"};
  static const char *const bad_id[] = {
      "abc\ndata: injected\n\nid: next", "1\r", "1\r\n", "\n1",
      "x\rretry: 1", "id\n\n"};
  size_t i;
  sse_message ev;
  (void)state;
  for (i = 0; i < sizeof bad_type / sizeof bad_type[0]; i++) {
    ev = mk(bad_type[i], NULL, "x");
    expect_refused(&ev);
  }
  for (i = 0; i < sizeof bad_id / sizeof bad_id[0]; i++) {
    ev = mk(NULL, bad_id[i], "x");
    expect_refused(&ev);
  }
  /* NUL: refused in an id (clients would ignore it), allowed in a type */
  ev = mk(NULL, NULL, "x");
  ev.id = "a\0b";
  ev.id_len = 3;
  expect_refused(&ev);
  ev.id = "\0";
  ev.id_len = 1;
  expect_refused(&ev);
  ev = mk(NULL, NULL, "x");
  ev.type = "a\0b";
  ev.type_len = 3;
  {
    char buf[64];
    size_t len;
    assert_int_equal(sse_encode_message(buf, sizeof buf, &ev, &len), SSE_OK);
  }
  assert_int_equal(enc_fields(NULL, 0, "ok", 2), SSE_OK);
  assert_int_equal(enc_fields("o\nk", 3, NULL, 0), SSE_E_INVALID_FIELD);
  assert_int_equal(enc_fields("o\0k", 3, NULL, 0), SSE_OK);
  assert_int_equal(enc_fields(NULL, 0, "o\0k", 3), SSE_E_INVALID_FIELD);
  assert_int_equal(enc_fields(NULL, 0, NULL, 0), SSE_OK);
}

static void test_sizing(void **state) {
  sse_message ev = mk("t", "1", "a\nb");
  static const char want[] = "event: t\nid: 1\ndata: a\ndata: b\n\n";
  char buf[64];
  size_t len, need = sizeof want - 1;
  (void)state;
  assert_int_equal(sse_encode_message(NULL, 0, &ev, &len), SSE_E_NOSPACE);
  assert_int_equal(len, need);
  assert_int_equal(sse_encode_message(buf, need - 1, &ev, &len), SSE_E_NOSPACE);
  assert_int_equal(len, need);
  memset(buf, '#', sizeof buf);
  assert_int_equal(sse_encode_message(buf, need, &ev, &len), SSE_OK);
  assert_int_equal(len, need);
  assert_memory_equal(buf, want, need);
  assert_int_equal(buf[need], '#'); /* nothing past the frame */
  assert_int_equal(sse_encode_retry(NULL, 0, 5, &len), SSE_E_NOSPACE);
  assert_int_equal(len, 10);
  assert_int_equal(sse_encode_comment(NULL, 0, "hi", 2, &len), SSE_E_NOSPACE);
  assert_int_equal(len, 5);
  /* arguments */
  assert_int_equal(sse_encode_message(buf, sizeof buf, NULL, &len),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_message(buf, sizeof buf, &ev, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_message(NULL, 5, &ev, &len),
                   SSE_E_INVALID_ARGUMENT);
  ev.data = NULL; /* with data_len 3 */
  assert_int_equal(sse_encode_message(buf, sizeof buf, &ev, &len),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_comment(buf, sizeof buf, NULL, 1, &len),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_retry(buf, sizeof buf, 1, NULL),
                   SSE_E_INVALID_ARGUMENT);
}

static void test_retry_and_comment(void **state) {
  char buf[64];
  size_t len;
  (void)state;
  assert_int_equal(sse_encode_retry(buf, sizeof buf, 0, &len), SSE_OK);
  assert_int_equal(len, 10);
  assert_memory_equal(buf, "retry: 0\n\n", 10);
  assert_int_equal(sse_encode_retry(buf, sizeof buf, UINT64_MAX, &len), SSE_OK);
  assert_int_equal(len, 29);
  assert_memory_equal(buf, "retry: 18446744073709551615\n\n", 29);
  assert_int_equal(sse_encode_comment(buf, sizeof buf, NULL, 0, &len), SSE_OK);
  assert_int_equal(len, 2);
  assert_memory_equal(buf, ":\n", 2);
  assert_int_equal(sse_encode_comment(buf, sizeof buf, "ok\ndata: x\r\ny", 13,
                                      &len),
                   SSE_OK);
  assert_int_equal(len, 19);
  assert_memory_equal(buf, ": ok\n: data: x\n: y\n", 19);
}

/* ---- iovec form ---------------------------------------------------------- */

static size_t gather(const sse_iovec *iov, size_t n, char *out) {
  size_t i, len = 0;
  for (i = 0; i < n; i++) {
    memcpy(out + len, iov[i].base, iov[i].len);
    len += iov[i].len;
  }
  return len;
}

static void test_iov_matches_buffer_and_copies_nothing(void **state) {
  static const char *const datas[] = {"", "x", "a\nb", "a\r\nb\rc\n", "\n\n",
                                      "long line without breaks"};
  size_t k;
  (void)state;
  for (k = 0; k < sizeof datas / sizeof datas[0]; k++) {
    sse_message ev = mk(k % 2 ? "type" : NULL, k % 3 ? "id" : NULL, datas[k]);
    char buf[256], flat[256];
    sse_iovec iov[32];
    size_t len, count, bytes, i, need;
    assert_int_equal(sse_encode_message_iov(NULL, 0, &ev, &need, NULL),
                     SSE_E_NOSPACE);
    assert_int_equal(sse_encode_message_iov(iov, need - 1, &ev, &count, NULL),
                     SSE_E_NOSPACE);
    assert_int_equal(count, need);
    assert_int_equal(sse_encode_message_iov(iov, 32, &ev, &count, &bytes),
                     SSE_OK);
    assert_int_equal(count, need);
    assert_int_equal(sse_encode_message(buf, sizeof buf, &ev, &len), SSE_OK);
    assert_int_equal(bytes, len);
    assert_int_equal(gather(iov, count, flat), len);
    assert_memory_equal(flat, buf, len);
    /* every piece with data bytes points into the caller's data */
    for (i = 0; i < count; i++) {
      const char *b = iov[i].base;
      int in_data = b >= ev.data && b + iov[i].len <= ev.data + ev.data_len;
      int in_type = ev.type && b >= ev.type && b < ev.type + ev.type_len;
      int in_id = ev.id && b >= ev.id && b < ev.id + ev.id_len;
      int separator = iov[i].len <= 7 && !in_data;
      assert_true(in_data || in_type || in_id || separator);
    }
  }
}

/* ---- round trip ---------------------------------------------------------- */

typedef struct got {
  sse_event ev;
  char buf[4096];
  int events;
} got;

static int grab(void *u, const sse_event *ev) {
  got *g = u;
  size_t n = ev->type_len + ev->data_len + ev->id_len;
  assert_true(n <= sizeof g->buf);
  memcpy(g->buf, ev->type, ev->type_len);
  memcpy(g->buf + ev->type_len, ev->data, ev->data_len);
  memcpy(g->buf + ev->type_len + ev->data_len, ev->id, ev->id_len);
  g->ev = *ev;
  g->ev.type = g->buf;
  g->ev.data = g->buf + ev->type_len;
  g->ev.id = g->buf + ev->type_len + ev->data_len;
  g->events++;
  return SSE_OK;
}

static uint32_t rng_next(uint64_t *s) {
  *s = *s * 6364136223846793005u + 1442695040888963407u;
  return (uint32_t)(*s >> 33);
}

/* Random bytes biased towards the characters that matter. */
static size_t random_field(uint64_t *s, char *out, size_t max, int breaks,
                           int nul) {
  static const char special[] = "\r\n:  dataeventidretry\xEF\xBB\xBF";
  size_t n = rng_next(s) % (max + 1), i;
  for (i = 0; i < n; i++) {
    uint32_t r = rng_next(s);
    char c = r % 3 ? special[r % (sizeof special - 1)] : (char)(r >> 8);
    if (!breaks && (c == '\r' || c == '\n'))
      c = 'x';
    if (!nul && c == 0)
      c = 'y';
    out[i] = c;
  }
  return n;
}

/* data with CR and CRLF turned into LF: what the decoder gives back. */
static size_t normalize(const char *s, size_t n, char *out) {
  size_t i, o = 0;
  for (i = 0; i < n; i++) {
    if (s[i] == '\r') {
      out[o++] = '\n';
      if (i + 1 < n && s[i + 1] == '\n')
        i++;
    } else
      out[o++] = s[i];
  }
  return o;
}

static void test_random_round_trip(void **state) {
  uint64_t seed = 20261125;
  char type[40], id[40], data[600], norm[600], wire[4096];
  got g;
  sse_decoder_callbacks cb = {0};
  sse_decoder *d;
  int i;
  (void)state;
  cb.on_event = grab;
  memset(&g, 0, sizeof g);
  assert_int_equal(sse_decoder_new(&d, &cb, &g, NULL), SSE_OK);
  for (i = 0; i < 5000; i++) {
    sse_message ev;
    size_t len, nlen, chunk, off;
    memset(&ev, 0, sizeof ev);
    ev.type_len = random_field(&seed, type, sizeof type, 0, 1);
    ev.type = type;
    ev.id_len = random_field(&seed, id, sizeof id, 0, 0);
    ev.id = id;
    ev.data_len = random_field(&seed, data, sizeof data, 1, 1);
    ev.data = data;
    assert_int_equal(sse_encode_message(wire, sizeof wire, &ev, &len), SSE_OK);
    chunk = 1 + rng_next(&seed) % 17;
    for (off = 0; off < len; off += chunk)
      assert_int_equal(sse_decoder_feed(d, wire + off,
                                        len - off < chunk ? len - off : chunk,
                                        NULL),
                       SSE_OK);
    assert_int_equal(g.events, i + 1);
    nlen = normalize(data, ev.data_len, norm);
    assert_int_equal(g.ev.data_len, nlen);
    assert_memory_equal(g.ev.data, norm, nlen);
    if (ev.type_len) {
      assert_int_equal(g.ev.type_len, ev.type_len);
      assert_memory_equal(g.ev.type, type, ev.type_len);
    } else {
      assert_int_equal(g.ev.type_len, 7); /* "message" */
    }
    assert_int_equal(g.ev.id_len, ev.id_len);
    assert_memory_equal(g.ev.id, id, ev.id_len);
  }
  sse_decoder_free(d);
}

/* Comments and retry round trip through the decoder's callbacks. */
static int grab_comment(void *u, const char *s, size_t n) {
  test_log_add(u, s, n);
  test_log_add(u, "|", 1);
  return SSE_OK;
}
static int grab_retry(void *u, uint64_t ms) {
  test_log_printf(u, "retry=%llu|", (unsigned long long)ms);
  return SSE_OK;
}

static void test_comment_retry_round_trip(void **state) {
  sse_decoder_callbacks cb = {0};
  test_log log = {0};
  sse_decoder *d;
  char buf[128];
  size_t len;
  (void)state;
  cb.on_comment = grab_comment;
  cb.on_retry = grab_retry;
  assert_int_equal(sse_decoder_new(&d, &cb, &log, NULL), SSE_OK);
  assert_int_equal(sse_encode_comment(buf, sizeof buf, " a\r\nb\n", 6, &len),
                   SSE_OK);
  assert_int_equal(sse_decoder_feed(d, buf, len, NULL), SSE_OK);
  assert_int_equal(sse_encode_retry(buf, sizeof buf, UINT64_MAX, &len), SSE_OK);
  assert_int_equal(sse_decoder_feed(d, buf, len, NULL), SSE_OK);
  assert_string_equal(log.p, " a|b||retry=18446744073709551615|");
  sse_decoder_free(d);
  test_log_free(&log);
}

static void encoder_arguments(void **state) {
  sse_message ev;
  sse_iovec iov[4];
  char buf[64];
  size_t len = 7, count = 7, bytes = 7;
  (void)state;
  memset(&ev, 0, sizeof ev);
  assert_int_equal(sse_encode_message(buf, sizeof buf, NULL, &len),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_message(buf, sizeof buf, &ev, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_message(NULL, 1, &ev, &len),
                   SSE_E_INVALID_ARGUMENT);
  ev.type_len = 1;
  assert_int_equal(sse_encode_message(buf, sizeof buf, &ev, &len),
                   SSE_E_INVALID_ARGUMENT);
  ev.type_len = 0;
  ev.id_len = 1;
  assert_int_equal(sse_encode_message(buf, sizeof buf, &ev, &len),
                   SSE_E_INVALID_ARGUMENT);
  ev.id_len = 0;
  ev.data_len = 1;
  assert_int_equal(sse_encode_message_iov(iov, 4, &ev, &count, &bytes),
                   SSE_E_INVALID_ARGUMENT);
  ev.data_len = 0;
  assert_int_equal(sse_encode_message_iov(iov, 4, NULL, &count, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_message_iov(iov, 4, &ev, NULL, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_message_iov(NULL, 4, &ev, &count, NULL),
                   SSE_E_INVALID_ARGUMENT);
  /* An empty event (no field at all) is one blank line. */
  assert_int_equal(sse_encode_message_iov(iov, 4, &ev, &count, NULL), SSE_OK);
  assert_int_equal(count, 1);
  assert_int_equal(sse_encode_retry(buf, sizeof buf, 1, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_retry(NULL, 3, 1, &len), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_comment(buf, sizeof buf, "x", 1, NULL),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_comment(NULL, 2, "x", 1, &len),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_comment(buf, sizeof buf, NULL, 1, &len),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_encode_comment(buf, sizeof buf, NULL, 0, &len), SSE_OK);
  assert_memory_equal(buf, ":\n", 2);
  assert_int_equal(enc_fields(NULL, 0, NULL, 0), SSE_OK);
  assert_int_equal(enc_fields(NULL, 1, NULL, 0), SSE_E_INVALID_ARGUMENT);
  assert_int_equal(enc_fields("a\0b", 3, NULL, 0), SSE_OK);
  assert_int_equal(enc_fields(NULL, 0, "a\0b", 3), SSE_E_INVALID_FIELD);
  assert_int_equal(enc_fields("a\rb", 3, NULL, 0), SSE_E_INVALID_FIELD);
}

/* CR, LF and CRLF split data and comments into lines, in both output
 * forms; a CRLF cut by nothing stays one line end. */
static void encoder_line_splitting(void **state) {
  static const char want_event[] = "data: a\ndata: b\ndata: c\ndata: \n\n";
  static const char want_comment[] = ": a\n: b\n: c\n: \n";
  sse_message ev;
  sse_iovec iov[16];
  char buf[128], joined[128];
  size_t len, count, bytes, i, at = 0;
  (void)state;
  memset(&ev, 0, sizeof ev);
  ev.data = "a\r\nb\rc\n";
  ev.data_len = 7;
  assert_int_equal(sse_encode_message(buf, sizeof buf, &ev, &len), SSE_OK);
  assert_int_equal(len, strlen(want_event));
  assert_memory_equal(buf, want_event, len);
  assert_int_equal(sse_encode_message_iov(iov, 16, &ev, &count, &bytes), SSE_OK);
  for (i = 0; i < count; i++) {
    memcpy(joined + at, iov[i].base, iov[i].len);
    at += iov[i].len;
  }
  assert_int_equal(at, bytes);
  assert_memory_equal(joined, want_event, at);
  assert_int_equal(sse_encode_comment(buf, sizeof buf, "a\r\nb\rc\n", 7, &len),
                   SSE_OK);
  assert_int_equal(len, strlen(want_comment));
  assert_memory_equal(buf, want_comment, len);
  assert_int_equal(sse_encode_retry(buf, sizeof buf, UINT64_MAX, &len), SSE_OK);
  assert_memory_equal(buf, "retry: 18446744073709551615\n\n", len);
  assert_int_equal(sse_encode_retry(buf, 5, 0, &len), SSE_E_NOSPACE);
  assert_int_equal(len, 10);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_event_output),
      cmocka_unit_test(test_data_splitting),
      cmocka_unit_test(test_injection_refused),
      cmocka_unit_test(test_sizing),
      cmocka_unit_test(test_retry_and_comment),
      cmocka_unit_test(test_iov_matches_buffer_and_copies_nothing),
      cmocka_unit_test(test_random_round_trip),
      cmocka_unit_test(test_comment_retry_round_trip),
      cmocka_unit_test(encoder_arguments),
      cmocka_unit_test(encoder_line_splitting),
  };
  test_filter(argc, argv);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
