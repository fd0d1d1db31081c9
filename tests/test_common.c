/* The shared internals and the error codes (lib/common.c): the version,
 * every code's name, message and group, the fatal predicate, the allocator
 * hooks and the growable buffer's overflow guards and bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "support.h"
#include "unit.h"

static void test_strerror(void **state) {
  (void)state;
  assert_string_equal(sse_strerror(SSE_E_LINE_TOO_LONG), "line too long");
  assert_string_equal(sse_strerror(12345), "unknown error");
  assert_int_equal(sse_version(), SSE_VERSION_NUMBER);
  assert_string_equal(sse_version_string(), SSE_VERSION_STRING);
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

static void test_buf_growth_bounded(void **state) {
  sse_allocator a;
  sse__buf b = {NULL, 0, 0};
  (void)state;
  sse__allocator_init(&a, NULL);
  assert_int_equal(sse__buf_append(&a, &b, "0123456789", 10, 100), SSE_OK);
  assert_int_equal(sse__buf_reserve(&a, &b, 85, 100), SSE_OK);
  assert_true(b.cap >= 95 && b.cap <= 100); /* never past the soft max */
  assert_int_equal(sse__buf_reserve(&a, &b, (size_t)-1, 100), SSE_E_NOMEM);
  assert_int_equal(b.len, 10);
  sse__buf_free(&a, &b);
  assert_null(b.p);
}

/* Every code has a name and a message; the groups are the documented
 * ranges, and only the "finished" group is fatal. */
static void test_error_groups(void **state) {
  static const struct {
    int code;
    const char *name;
    int group; /* 0 ok, 1 recoverable, 2 refused, 3 misuse, 4 finished */
  } codes[] = {
      {SSE_OK, "SSE_OK", 0},
      {SSE_PAUSE, "SSE_PAUSE", 1},
      {SSE_E_AGAIN, "SSE_E_AGAIN", 1},
      {SSE_E_NOSPACE, "SSE_E_NOSPACE", 1},
      {SSE_E_NOMEM, "SSE_E_NOMEM", 1},
      {SSE_E_INVALID_FIELD, "SSE_E_INVALID_FIELD", 2},
      {SSE_E_INVALID_VALUE, "SSE_E_INVALID_VALUE", 2},
      {SSE_E_UNKNOWN_ID, "SSE_E_UNKNOWN_ID", 2},
      {SSE_E_EVICTED, "SSE_E_EVICTED", 2},
      {SSE_E_TRUNCATED, "SSE_E_TRUNCATED", 2},
      {SSE_E_INVALID_ARGUMENT, "SSE_E_INVALID_ARGUMENT", 3},
      {SSE_E_STATE, "SSE_E_STATE", 3},
      {SSE_E_BUSY, "SSE_E_BUSY", 3},
      {SSE_E_LINE_TOO_LONG, "SSE_E_LINE_TOO_LONG", 4},
      {SSE_E_EVENT_TOO_LARGE, "SSE_E_EVENT_TOO_LARGE", 4},
      {SSE_E_CALLBACK, "SSE_E_CALLBACK", 4},
      {SSE_E_WRITE, "SSE_E_WRITE", 4},
      {SSE_E_OVERFLOW, "SSE_E_OVERFLOW", 4},
      {SSE_E_CLOSED, "SSE_E_CLOSED", 4},
  };
  static const int lo[] = {0, -19, -39, -59, -79}, hi[] = {0, -1, -20, -40,
                                                           -60};
  size_t i, j;
  int c;
  (void)state;
  for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    int g = codes[i].group;
    assert_string_equal(sse_error_name(codes[i].code), codes[i].name);
    assert_string_not_equal(sse_strerror(codes[i].code), "unknown error");
    assert_true(codes[i].code >= lo[g] && codes[i].code <= hi[g]);
    assert_int_equal(sse_is_fatal(codes[i].code) != 0, g == 4);
    for (j = 0; j < i; j++)
      assert_int_not_equal(codes[i].code, codes[j].code);
  }
  /* any other value is unknown and not fatal */
  for (c = -100; c <= 5; c++) {
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
      if (codes[i].code == c)
        break;
    if (i < sizeof codes / sizeof codes[0])
      continue;
    assert_string_equal(sse_error_name(c), "SSE_E_UNKNOWN");
    assert_string_equal(sse_strerror(c), "unknown error");
    assert_int_equal(sse_is_fatal(c), c <= -60 && c >= -79);
  }
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strerror),
      cmocka_unit_test(error_strings_and_version),
      cmocka_unit_test(allocator_init),
      cmocka_unit_test(buffer_overflow_guards),
      cmocka_unit_test(test_buf_growth_bounded),
      cmocka_unit_test(test_error_groups),
  };
  test_filter(argc, argv);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
