/* Edge cases of the encoder and the shared internals (common.c, scan.c,
 * utf8.c) found by the hardening work: argument checks, size overflow
 * guards, every error string, and the scanners and UTF-8 helpers checked
 * against plain byte loops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "support.h"

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

static void error_strings_and_version(void **state) {
  static const int codes[] = {
      SSE_OK, SSE_PAUSE, SSE_E_AGAIN, SSE_E_NOSPACE, SSE_E_LINE_TOO_LONG,
      SSE_E_EVENT_TOO_LARGE, SSE_E_INVALID_FIELD, SSE_E_TRUNCATED,
      SSE_E_INVALID_VALUE, SSE_E_INVALID_ARGUMENT, SSE_E_STATE, SSE_E_BUSY,
      SSE_E_NOMEM, SSE_E_CALLBACK, SSE_E_WRITE, SSE_E_OVERFLOW, SSE_E_CLOSED};
  size_t i, j;
  (void)state;
  for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    const char *s = sse_strerror(codes[i]);
    assert_non_null(s);
    assert_string_not_equal(s, "unknown error");
    for (j = 0; j < i; j++)
      assert_string_not_equal(s, sse_strerror(codes[j]));
  }
  assert_string_equal(sse_strerror(12345), "unknown error");
  assert_int_equal(sse_version(), SSE_VERSION_NUMBER);
  assert_string_equal(sse_version_string(), SSE_VERSION_STRING);
}

/* A struct with any NULL hook means libc; a full one is used as given. */
static void allocator_init(void **state) {
  sse_allocator in, out;
  test_alloc t;
  sse_decoder *d = NULL;
  (void)state;
  memset(&t, 0, sizeof t);
  in = test_alloc_hooks(&t);
  sse__allocator_init(&out, &in);
  assert_ptr_equal(out.user, &t);
  in.free_fn = NULL;
  sse__allocator_init(&out, &in);
  assert_null(out.user);
  in = test_alloc_hooks(&t);
  in.realloc_fn = NULL;
  assert_int_equal(sse_decoder_new(&d, NULL, NULL, &in), SSE_OK);
  sse_decoder_free(d);
  assert_int_equal(t.calls, 0); /* libc was used */
  in = test_alloc_hooks(&t);
  in.malloc_fn = NULL;
  sse__allocator_init(&out, &in);
  assert_null(out.user);
}

/* The growable buffer refuses sizes that would overflow, and grows to
 * exactly what is needed past the soft maximum. */
static void buffer_overflow_guards(void **state) {
  sse_allocator a;
  sse__buf b = {NULL, 0, 0};
  (void)state;
  sse__allocator_init(&a, NULL);
  assert_int_equal(sse__buf_append(&a, &b, "abc", 3, 8), SSE_OK);
  assert_int_equal(b.cap, 8); /* clamped to the soft maximum */
  assert_int_equal(sse__buf_reserve(&a, &b, (size_t)-1, 8), SSE_E_NOMEM);
  assert_int_equal(sse__buf_reserve(&a, &b, (size_t)-1 - 2, 8), SSE_E_NOMEM);
  assert_int_equal(b.len, 3);
  assert_int_equal(sse__buf_append(&a, &b, "0123456789", 10, 8), SSE_OK);
  assert_int_equal(b.cap, 13); /* past the soft maximum: exactly the need */
  assert_int_equal(sse__buf_reserve(&a, &b, 100, (size_t)-1), SSE_OK);
  assert_true(b.cap >= 113);
  assert_int_equal(sse__buf_append(&a, &b, NULL, 0, 8), SSE_OK);
  sse__buf_free(&a, &b);
  assert_null(b.p);
  /* A huge request that doubling cannot reach without overflow. */
  {
    test_alloc t;
    sse_allocator ta;
    sse__buf c = {NULL, 0, 0};
    memset(&t, 0, sizeof t);
    t.fail_at = 1; /* refuse it without asking libc (or a sanitizer) */
    ta = test_alloc_hooks(&t);
    assert_int_equal(sse__buf_reserve(&ta, &c, (size_t)-1 / 2 + 2, (size_t)-1),
                     SSE_E_NOMEM);
    assert_int_equal(t.calls, 1);
    assert_null(c.p);
  }
}

/* Both line-end scanners against a byte loop, at every offset and
 * length around their block sizes. */
static void scanners(void **state) {
  char buf[200];
  size_t start, len, pos;
  (void)state;
  for (pos = 0; pos < 140; pos += 3) {
    memset(buf, 'x', sizeof buf);
    buf[pos] = pos % 2 ? '\r' : '\n';
    for (start = 0; start < 9; start++) {
      for (len = 0; start + len <= 150; len++) {
        const char *p = buf + start, *end = p + len, *want = NULL, *q;
        for (q = p; q < end; q++)
          if (*q == '\n' || *q == '\r') {
            want = q;
            break;
          }
        assert_ptr_equal(sse__find_eol(p, end), want);
        assert_ptr_equal(sse__find_eol_portable(p, end), want);
      }
    }
  }
}

/* The UTF-8 helpers on every class of sequence. */
static void utf8_helpers(void **state) {
  static const struct {
    const char *in;
    size_t len, valid;
    const char *out;
    size_t out_len;
  } cases[] = {
      {"abcdefghij", 10, 10, "abcdefghij", 10},
      {"\xC3\xA9", 2, 2, "\xC3\xA9", 2},
      {"\xE0\xA0\x80", 3, 3, "\xE0\xA0\x80", 3},
      {"\xE0\x80\x80", 3, 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 9},
      {"\xED\x9F\xBF", 3, 3, "\xED\x9F\xBF", 3},
      {"\xED\xA0\x80", 3, 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 9},
      {"\xF0\x90\x80\x80", 4, 4, "\xF0\x90\x80\x80", 4},
      {"\xF0\x8F\xBF\xBF", 4, 0,
       "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 12},
      {"\xF4\x8F\xBF\xBF", 4, 4, "\xF4\x8F\xBF\xBF", 4},
      {"\xF4\x90\x80\x80", 4, 0,
       "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 12},
      {"\xF1\x80\x80", 3, 0, "\xEF\xBF\xBD", 3},
      {"\xF5\x80", 2, 0, "\xEF\xBF\xBD\xEF\xBF\xBD", 6},
      {"ab\xC2", 3, 2, "ab\xEF\xBF\xBD", 5},
      {"abcdefgh\xC3\xA9xyz\x80", 14, 13, "abcdefgh\xC3\xA9xyz\xEF\xBF\xBD", 16},
  };
  unsigned char out[64];
  size_t i, n;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const unsigned char *in = (const unsigned char *)cases[i].in;
    assert_int_equal(sse__utf8_valid_prefix(in, cases[i].len), cases[i].valid);
    n = sse__utf8_repair(in, cases[i].len, out);
    assert_int_equal(n, cases[i].out_len);
    assert_memory_equal(out, cases[i].out, n);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(encoder_arguments),
      cmocka_unit_test(encoder_line_splitting),
      cmocka_unit_test(error_strings_and_version),
      cmocka_unit_test(allocator_init),
      cmocka_unit_test(buffer_overflow_guards),
      cmocka_unit_test(scanners),
      cmocka_unit_test(utf8_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
