/* Internals: the line-end scanners (SIMD and portable must agree at every
 * length and alignment) and the UTF-8 checks and repairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static void test_find_eol_agrees(void **state) {
  char buf[300];
  size_t start, len, pos;
  (void)state;
  for (start = 0; start < 16; start++)
    for (len = 0; len + start <= 200; len++) {
      memset(buf, 'a', sizeof buf);
      /* no line end at all */
      assert_null(sse__find_eol(buf + start, buf + start + len));
      assert_null(sse__find_eol_portable(buf + start, buf + start + len));
      /* one line end at every position, both kinds; bytes around it that
       * look like CR/LF to a sloppy bit trick */
      for (pos = 0; pos < len; pos += 1 + len / 23) {
        int k;
        for (k = 0; k < 2; k++) {
          const char *want = buf + start + pos;
          memset(buf, pos % 2 ? '\x8d' : '\x0c', sizeof buf);
          buf[start + pos] = k ? '\r' : '\n';
          if (pos + 1 < len)
            buf[start + pos + 1] = k ? '\n' : '\r';
          assert_ptr_equal(sse__find_eol(buf + start, buf + start + len), want);
          assert_ptr_equal(
              sse__find_eol_portable(buf + start, buf + start + len), want);
        }
      }
    }
}

static int next_rand(unsigned long *s) {
  *s = *s * 1103515245u + 12345u;
  return (int)((*s >> 16) & 0x7fff);
}

static void test_find_eol_random(void **state) {
  unsigned char buf[1024];
  unsigned long seed = 7;
  int round;
  (void)state;
  for (round = 0; round < 2000; round++) {
    size_t n = (size_t)(next_rand(&seed) % 1024), i, a, b;
    for (i = 0; i < n; i++) {
      int r = next_rand(&seed) % 300;
      buf[i] = (unsigned char)(r < 2 ? (r ? '\r' : '\n') : r % 256);
    }
    a = n ? (size_t)next_rand(&seed) % n : 0;
    b = a + (n - a ? (size_t)next_rand(&seed) % (n - a + 1) : 0);
    assert_ptr_equal(sse__find_eol((char *)buf + a, (char *)buf + b),
                     sse__find_eol_portable((char *)buf + a, (char *)buf + b));
  }
}

typedef struct utf8_case {
  const char *in;
  size_t len;
  size_t valid_prefix;
  const char *out; /* after repair */
} utf8_case;

#define U(in, prefix, out) {in, sizeof(in) - 1, prefix, out}
#define FFFD "\xEF\xBF\xBD"

static const utf8_case UTF8[] = {
    U("", 0, ""),
    U("plain ascii text", 16, "plain ascii text"),
    U("\xC3\xA9", 2, "\xC3\xA9"),
    U("\xE2\x82\xAC", 3, "\xE2\x82\xAC"),
    U("\xF0\x9F\x98\x80", 4, "\xF0\x9F\x98\x80"),
    U("\xF4\x8F\xBF\xBF", 4, "\xF4\x8F\xBF\xBF"),  /* U+10FFFF */
    U("\xEF\xBF\xBF", 3, "\xEF\xBF\xBF"),          /* U+FFFF noncharacter */
    U("a\x80" "b", 1, "a" FFFD "b"),               /* lone continuation */
    U("\xC0\xAF", 0, FFFD FFFD),                   /* overlong lead */
    U("\xC1\xBF", 0, FFFD FFFD),
    U("\xE0\x80\xAF", 0, FFFD FFFD FFFD),          /* overlong 3-byte */
    U("\xED\xA0\x80", 0, FFFD FFFD FFFD),          /* surrogate */
    U("\xF0\x80\x80\x80", 0, FFFD FFFD FFFD FFFD), /* overlong 4-byte */
    U("\xF4\x90\x80\x80", 0, FFFD FFFD FFFD FFFD), /* above U+10FFFF */
    U("\xF5\x80", 0, FFFD FFFD),
    U("\xFF", 0, FFFD),
    U("\xE2\x82", 0, FFFD),              /* truncated at the end: one */
    U("\xE2\x82" "x", 0, FFFD "x"),      /* maximal subpart: one */
    U("\xF0\x9F\x98" "x", 0, FFFD "x"),
    U("\xE2" "x\xE2\x82\xAC", 0, FFFD "x\xE2\x82\xAC"),
    U("12345678\xC3", 8, "12345678" FFFD), /* after the ASCII fast path */
};

static void test_utf8(void **state) {
  unsigned char out[64];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof UTF8 / sizeof UTF8[0]; i++) {
    const utf8_case *c = &UTF8[i];
    size_t n;
    assert_int_equal(
        sse__utf8_valid_prefix((const unsigned char *)c->in, c->len),
        c->valid_prefix);
    n = sse__utf8_repair((const unsigned char *)c->in, c->len, out);
    assert_int_equal(n, strlen(c->out));
    assert_memory_equal(out, c->out, n);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_find_eol_agrees),
      cmocka_unit_test(test_find_eol_random),
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_buf_growth_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
