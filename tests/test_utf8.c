/* The UTF-8 checks and repairs (lib/utf8.c) on every class of sequence,
 * maximal subparts and the ASCII fast path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "unit.h"

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

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(utf8_helpers),
  };
  test_filter(argc, argv);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
