/* The HTTP helpers (lib/http.c): header fields and text, Last-Event-ID and Content-Type
 * values, hostile ones included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sse.h>

#include "unit.h"

#define H1                                                                     \
  "Content-Type: text/event-stream\r\n"                                        \
  "Cache-Control: no-cache, no-transform\r\n"                                  \
  "X-Accel-Buffering: no\r\n"                                                  \
  "Connection: keep-alive\r\n"
#define H2                                                                     \
  "content-type: text/event-stream\r\n"                                        \
  "cache-control: no-cache, no-transform\r\n"                                  \
  "x-accel-buffering: no\r\n"

/* Formats with flags at every capacity up to the size needed: too small
 * gives SSE_E_NOSPACE with the size, and nothing is written past cap. */
static void expect_headers(unsigned flags, const char *want) {
  size_t n = strlen(want), cap, len;
  char buf[512];
  assert_true(n < sizeof buf);
  for (cap = 0; cap <= n; cap++) {
    memset(buf, '#', sizeof buf);
    len = 0;
    assert_int_equal(sse_http_headers(cap ? buf : NULL, cap, flags, &len),
                     cap < n ? SSE_E_NOSPACE : SSE_OK);
    assert_int_equal(len, n);
    assert_int_equal(buf[cap], '#');
  }
  assert_memory_equal(buf, want, n);
}

static void test_headers(void **state) {
  size_t len;
  char buf[8];
  (void)state;
  expect_headers(0, H1);
  expect_headers(SSE_HTTP_2, H2);
  expect_headers(SSE_HTTP_RESPONSE, "HTTP/1.1 200 OK\r\n" H1 "\r\n");
  assert_int_equal(sse_http_headers(buf, sizeof buf, 1u << 7, &len),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(
      sse_http_headers(buf, sizeof buf, SSE_HTTP_RESPONSE | SSE_HTTP_2, &len),
      SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_http_headers(NULL, 1, 0, &len),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_http_headers(buf, sizeof buf, 0, NULL),
                   SSE_E_INVALID_ARGUMENT);
}

static void test_fields(void **state) {
  const sse_http_field *f;
  size_t n, i;
  (void)state;
  f = sse_http_fields(0, &n);
  assert_non_null(f);
  assert_int_equal(n, 4);
  assert_string_equal(f[0].name, "Content-Type");
  assert_string_equal(f[0].value, "text/event-stream");
  assert_string_equal(f[1].value, "no-cache, no-transform");
  assert_string_equal(f[2].name, "X-Accel-Buffering");
  assert_string_equal(f[3].name, "Connection");
  f = sse_http_fields(SSE_HTTP_2, &n);
  assert_int_equal(n, 3);
  for (i = 0; i < n; i++) {
    const char *c;
    for (c = f[i].name; *c; c++)
      assert_false(*c >= 'A' && *c <= 'Z'); /* HTTP/2 wants lower case */
    assert_string_not_equal(f[i].name, "connection");
  }
  assert_null(sse_http_fields(SSE_HTTP_RESPONSE, &n));
  assert_int_equal(n, 0);
  assert_null(sse_http_fields(1u << 9, &n));
  assert_null(sse_http_fields(0, NULL));
}

/* ---------------------------------------------------------------------- */

static void id_ok(const char *v, size_t len, size_t max, const char *want) {
  const char *id = NULL;
  size_t n = 99;
  assert_int_equal(sse_http_last_event_id(v, len, max, &id, &n), SSE_OK);
  assert_int_equal(n, strlen(want));
  if (n) {
    assert_memory_equal(id, want, n);
    assert_true(id >= v && id + n <= v + len); /* points into the value */
  }
}

static void id_bad(const char *v, size_t len, size_t max) {
  const char *id = v;
  size_t n = 99;
  assert_int_equal(sse_http_last_event_id(v, len, max, &id, &n),
                   SSE_E_INVALID_VALUE);
  assert_null(id);
  assert_int_equal(n, 0);
}

#define OK(v, want) id_ok(v, sizeof v - 1, 0, want)
#define BAD(v) id_bad(v, sizeof v - 1, 0)

static void test_last_event_id(void **state) {
  static char big[2000];
  const char *id;
  size_t n;
  (void)state;
  OK("42", "42");
  OK("  42\t", "42");
  OK("\t \t42", "42");
  OK("a b", "a b");
  OK("", "");
  OK(" \t ", "");
  OK("\x01\x7f", "\x01\x7f");        /* other controls are kept */
  OK("caf\xc3\xa9", "caf\xc3\xa9"); /* bytes are not decoded */
  OK("%C3%A9", "%C3%A9");
  OK("x: y", "x: y");
  BAD("4\r\n2");
  BAD("42\n");
  BAD("\r");
  BAD("\n");
  BAD("4\0002");
  BAD("\0");
  BAD("x\rdata: injected");
  BAD("1\n\nid: 2");
  BAD("  42 \r\n");
  /* length, after trimming */
  id_ok("1234", 4, 4, "1234");
  id_ok("  1234  ", 8, 4, "1234");
  id_bad("12345", 5, 4);
  memset(big, 'a', sizeof big);
  id_bad(big, SSE_DEFAULT_MAX_LAST_EVENT_ID + 1, 0);
  id_bad(big, sizeof big, 0);
  assert_int_equal(sse_http_last_event_id(big, sizeof big, SIZE_MAX, &id, &n),
                   SSE_OK);
  assert_int_equal(n, sizeof big);
  /* arguments */
  assert_int_equal(sse_http_last_event_id(NULL, 1, 0, &id, &n),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_http_last_event_id(NULL, 0, 0, &id, &n), SSE_OK);
  assert_int_equal(n, 0);
  assert_int_equal(sse_http_last_event_id("1", 1, 0, NULL, &n),
                   SSE_E_INVALID_ARGUMENT);
  assert_int_equal(sse_http_last_event_id("1", 1, 0, &id, NULL),
                   SSE_E_INVALID_ARGUMENT);
}

/* The id of the default-length case is 1024 'a's, checked here apart. */
static void test_last_event_id_long(void **state) {
  static char big[SSE_DEFAULT_MAX_LAST_EVENT_ID];
  const char *id;
  size_t n;
  (void)state;
  memset(big, 'a', sizeof big);
  assert_int_equal(sse_http_last_event_id(big, sizeof big, 0, &id, &n),
                   SSE_OK);
  assert_ptr_equal(id, big);
  assert_int_equal(n, sizeof big);
}

/* ---------------------------------------------------------------------- */

static void test_content_type(void **state) {
  static const char *good[] = {
      "text/event-stream",
      "TEXT/Event-Stream",
      " text/event-stream ",
      "\ttext/event-stream\t",
      "text/event-stream;charset=utf-8",
      "text/event-stream; charset=UTF-8",
      "text/event-stream ; charset=\"utf-8\"",
      "text/event-stream; charset=iso-8859-1",
      "text/event-stream;",
      "text/event-stream;;",
      "text/event-stream; ; a=b ;",
      "text/event-stream; a=b; c=\"d;e\"",
      "text/event-stream; a=\"b\\\"c\"",
      "text/event-stream; a=\"\"",
      "text/event-stream; a=\"\xc3\xa9\"",
      "text/event-stream; a=!#$%&'*+-.^_`|~09AZaz",
  };
  static const char *bad[] = {
      "",
      " ",
      "text/html",
      "application/json",
      "text/event-streams",
      "text/event-strea",
      "text/event",
      "text/event-stream,text/html",
      "text/event-stream, text/event-stream",
      "text/event-stream x",
      "text /event-stream",
      "text/ event-stream",
      "xtext/event-stream",
      "text/plain; x=text/event-stream",
      "text/event-stream; charset",
      "text/event-stream; =utf-8",
      "text/event-stream; charset=",
      "text/event-stream; charset = utf-8",
      "text/event-stream; charset=\"utf-8",
      "text/event-stream; charset=\"utf-8\\",
      "text/event-stream; a b=c",
      "text/event-stream; a=b c",
      "text/event-stream; a=b\x01",
      "text/event-stream; a=\"b\x01\"",
      "text/event-stream; a=\"b\x7f\"",
      "text/event-stream; a=b\xc3\xa9",
      "text/event-stream\r\n",
      "text/event-stream\r\nX-Evil: 1",
      "text/event-stream\n",
      "\r\ntext/event-stream",
      "text/event-stream; a=\"b\r\n\"",
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof good / sizeof good[0]; i++) {
    int rc = sse_http_check_content_type(good[i], strlen(good[i]));
    if (rc != SSE_OK)
      fail_msg("refused: \"%s\"", good[i]);
  }
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = sse_http_check_content_type(bad[i], strlen(bad[i]));
    if (rc != SSE_E_INVALID_VALUE)
      fail_msg("accepted: \"%s\" (%d)", bad[i], rc);
  }
  /* NUL inside, and lengths that cut a valid value */
  assert_int_equal(sse_http_check_content_type("text/event-stream\0", 18),
                   SSE_E_INVALID_VALUE);
  assert_int_equal(sse_http_check_content_type("text/event\0stream", 17),
                   SSE_E_INVALID_VALUE);
  assert_int_equal(sse_http_check_content_type("text/event-stream;a\0b=c", 24),
                   SSE_E_INVALID_VALUE);
  assert_int_equal(sse_http_check_content_type("text/event-stream;a=b\0", 22),
                   SSE_E_INVALID_VALUE);
  assert_int_equal(sse_http_check_content_type("text/event-stream; a=b", 16),
                   SSE_E_INVALID_VALUE);
  assert_int_equal(sse_http_check_content_type("text/event-streamXYZ", 17),
                   SSE_OK);
  assert_int_equal(sse_http_check_content_type(NULL, 0), SSE_E_INVALID_VALUE);
  assert_int_equal(sse_http_check_content_type(NULL, 5),
                   SSE_E_INVALID_ARGUMENT);
}

/* An id passes the round-trip check exactly when a Last-Event-ID header
 * carrying it gives it back unchanged, and it has no byte that HTTP or a
 * browser would alter. */
static void test_check_id(void **state) {
  static const struct {
    const char *id;
    size_t len;
    int ok;
  } cases[] = {
      {"42", 2, 1},          {"a b", 3, 1},     {"~!#$%&'()*+,-./:;<=>?@", 22, 1},
      {"", 0, 0},            {" x", 2, 0},      {"x ", 2, 0},
      {" ", 1, 0},           {"a\x01", 2, 0},   {"\x1b[0m", 5, 0},
      {"a\x7f", 2, 0},       {"a\tb", 3, 0},    {"a\rb", 3, 0},
      {"a\nb", 3, 0},        {"a\0b", 3, 0},    {"caf\xc3\xa9", 5, 0},
      {"\xff", 1, 0},
  };
  char big[2048];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *got;
    size_t got_len;
    int rc = sse_http_check_id(cases[i].id, cases[i].len, 0);
    assert_int_equal(rc, cases[i].ok ? SSE_OK : SSE_E_INVALID_VALUE);
    if (rc == SSE_OK) {
      /* the round trip: the header value gives the same bytes back */
      assert_int_equal(sse_http_last_event_id(cases[i].id, cases[i].len, 0,
                                              &got, &got_len),
                       SSE_OK);
      assert_int_equal(got_len, cases[i].len);
      assert_memory_equal(got, cases[i].id, got_len);
    }
  }
  /* every single byte */
  for (i = 0; i < 256; i++) {
    char c = (char)i;
    assert_int_equal(sse_http_check_id(&c, 1, 0) == SSE_OK,
                     i > 0x20 && i < 0x7f);
  }
  /* the length limit, default and given */
  memset(big, 'a', sizeof big);
  assert_int_equal(sse_http_check_id(big, SSE_DEFAULT_MAX_LAST_EVENT_ID, 0),
                   SSE_OK);
  assert_int_equal(
      sse_http_check_id(big, SSE_DEFAULT_MAX_LAST_EVENT_ID + 1, 0),
      SSE_E_INVALID_VALUE);
  assert_int_equal(sse_http_check_id(big, 10, 10), SSE_OK);
  assert_int_equal(sse_http_check_id(big, 11, 10), SSE_E_INVALID_VALUE);
  assert_int_equal(sse_http_check_id(big, 2000, 4096), SSE_OK);
  assert_int_equal(sse_http_check_id(NULL, 0, 0), SSE_E_INVALID_VALUE);
  assert_int_equal(sse_http_check_id(NULL, 1, 0), SSE_E_INVALID_ARGUMENT);
}

static void content_type_quoted_controls(void **state) {
  static const char *const bad[] = {
      "text/event-stream; a=\"x\x7f\"",   /* DEL */
      "text/event-stream; a=\"x\\\x7f\"", /* escaped DEL */
      "text/event-stream; a=\"x\x01\"",
      "text/event-stream; a=\"x\\",       /* escape at the end */
  };
  static const char *const good[] = {
      "text/event-stream; a=\"x\ty\"", /* a tab is allowed */
      "text/event-stream; a=\"\\\"\"", /* an escaped quote */
      "text/event-stream; a=\"\x80\xff\"", /* obs-text */
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(sse_http_check_content_type(bad[i], strlen(bad[i])),
                     SSE_E_INVALID_VALUE);
  for (i = 0; i < sizeof good / sizeof good[0]; i++)
    assert_int_equal(sse_http_check_content_type(good[i], strlen(good[i])),
                     SSE_OK);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_headers),
      cmocka_unit_test(test_check_id),
      cmocka_unit_test(test_fields),
      cmocka_unit_test(test_last_event_id),
      cmocka_unit_test(test_last_event_id_long),
      cmocka_unit_test(test_content_type),
      cmocka_unit_test(content_type_quoted_controls),
  };
  test_filter(argc, argv);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
