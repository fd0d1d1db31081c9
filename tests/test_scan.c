/* The line-end scanners (lib/scan.c): the 64-byte line-end masks, find_eol
 * and the copy-until-line-end kernel agree with a byte-by-byte reference at
 * every length, alignment and offset and on random input, in their SIMD and
 * portable forms, and never read or write outside their ranges (inputs end
 * at the end of their heap block, so a sanitizer sees any overrun). */
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

static unsigned next_rand(unsigned long *s) {
  *s = *s * 1103515245u + 12345u;
  return (unsigned)((*s >> 16) & 0x7fff);
}

/* Bytes that look like CR or LF to a sloppy bit trick, and real ones. */
static char noise(unsigned long *s, unsigned eol_per_mille) {
  static const char near[] = {'\x0b', '\x0c', '\x8a', '\x8d', '\x00', '\xff',
                               '\x09', '\x0e', '\x2a', '\x2d', 'a',    ' '};
  unsigned r = next_rand(s) % 1000;
  if (r < eol_per_mille)
    return r % 2 ? '\r' : '\n';
  return near[next_rand(s) % sizeof near];
}

static const char *ref_find(const char *p, const char *end) {
  for (; p < end; p++)
    if (*p == '\n' || *p == '\r')
      return p;
  return NULL;
}

static void test_mask64_agrees(void **state) {
  unsigned long seed = 11;
  char *buf = malloc(64);
  int round, k;
  (void)state;
  assert_non_null(buf);
  for (round = 0; round < 20000; round++) {
    uint64_t want = 0;
    unsigned density = round % 4 == 0 ? 0 : (unsigned)(round % 500);
    for (k = 0; k < 64; k++) {
      buf[k] = noise(&seed, density);
      if (buf[k] == '\n' || buf[k] == '\r')
        want |= (uint64_t)1 << k;
    }
    assert_int_equal(sse__eol_mask64(buf), want);
    assert_int_equal(sse__eol_mask64_portable(buf), want);
  }
  free(buf);
}

/* sse__find_eol past the lengths where the wider SIMD paths start. */
static void test_find_eol_long(void **state) {
  size_t len, pos;
  (void)state;
  for (len = 200; len <= 5000; len += len < 600 ? 1 : 97) {
    char *buf = malloc(len);
    assert_non_null(buf);
    memset(buf, '\x8d', len);
    assert_null(sse__find_eol(buf, buf + len));
    for (pos = len > 300 ? len - 300 : 0; pos < len; pos += 7) {
      buf[pos] = pos % 2 ? '\r' : '\n';
      assert_ptr_equal(sse__find_eol(buf, buf + len), buf + pos);
      assert_ptr_equal(sse__find_eol_portable(buf, buf + len), buf + pos);
      buf[pos] = '\x0a' ^ '\x80';
    }
    free(buf);
  }
}

/* Copies with sse__copy_to_eol from the last n bytes of a heap block into a
 * destination of exactly n bytes, and checks it against the reference. */
static void check_copy(const char *src, size_t n) {
  char *dst = malloc(n ? n : 1);
  const char *want = ref_find(src, src + n), *got;
  size_t k = (size_t)((want ? want : src + n) - src);
  assert_non_null(dst);
  got = sse__copy_to_eol(dst, src, src + n);
  assert_ptr_equal(got, want);
  assert_memory_equal(dst, src, k);
  free(dst);
}

static void test_copy_to_eol(void **state) {
  unsigned long seed = 5;
  size_t n, start, pos;
  int round;
  (void)state;
  for (n = 0; n <= 700; n += n < 300 ? 1 : 13)
    for (start = 0; start < 4; start++) {
      char *blk = malloc(n + start ? n + start : 1), *src = blk + start;
      size_t i;
      assert_non_null(blk);
      for (i = 0; i < n + start; i++)
        blk[i] = (char)('a' + i % 26);
      check_copy(src, n); /* no line end */
      for (pos = 0; pos < n; pos += 1 + n / 17) {
        src[pos] = pos % 3 ? '\n' : '\r';
        check_copy(src, n);
        src[pos] = 'x';
      }
      free(blk);
    }
  for (round = 0; round < 3000; round++) {
    size_t len = next_rand(&seed) % 3000, i;
    char *src = malloc(len ? len : 1);
    assert_non_null(src);
    for (i = 0; i < len; i++)
      src[i] = noise(&seed, round % 3 ? 1 : 0);
    check_copy(src, len);
    free(src);
  }
}

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

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mask64_agrees),
      cmocka_unit_test(test_find_eol_long),
      cmocka_unit_test(test_copy_to_eol),
      cmocka_unit_test(test_find_eol_agrees),
      cmocka_unit_test(test_find_eol_random),
      cmocka_unit_test(scanners),
  };
  test_filter(argc, argv);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
