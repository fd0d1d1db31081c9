/* Decoder fast paths: generated streams that reach the paths taken for
 * speed (lines found 64 bytes at a time, the skip through long lines, data
 * lines copied in fixed 128-byte steps near buffer and chunk ends, long data
 * lines copied and scanned in one pass across chunks, bytes inside a data
 * line fed without the line machinery). Every stream is checked whole
 * against the events it was generated from, then at many chunkings against
 * the whole run, also at limits set exactly at and just below its needs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

typedef struct gen {
  test_log in;     /* the stream */
  test_log want;   /* its log, as test_decode writes it */
  test_log data;   /* the pending event's data */
  size_t max_data; /* the largest event's data buffer: data + 1 */
  size_t max_line; /* the longest line */
  unsigned long seed;
} gen;

static unsigned next_rand(gen *g) {
  g->seed = g->seed * 1103515245u + 12345u;
  return (unsigned)((g->seed >> 16) & 0x7fff);
}

/* A line end; never an LF right after a CR that ended the line before
 * (the two would be one CRLF). */
static const char *eol(gen *g) {
  static const char *const ends[] = {"\n", "\r", "\r\n"};
  const char *e = ends[next_rand(g) % 3];
  if (g->in.len && g->in.p[g->in.len - 1] == '\r' && e[0] == '\n')
    e = "\r\n";
  return e;
}

/* A data line with a value of n bytes (no CR or LF in it). */
static void data_line(gen *g, size_t n) {
  size_t i, start;
  int space = next_rand(g) % 4 != 0;
  test_log_add(&g->in, space ? "data: " : "data:", space ? 6 : 5);
  if (g->data.p) /* a further line */
    test_log_add(&g->data, "\n", 1);
  else
    test_log_add(&g->data, "", 0); /* the event has data from now on */
  start = g->data.len;
  for (i = 0; i < n; i++) {
    char c = (char)('!' + (next_rand(g) + i) % 90);
    if (i == 0 && !space && c == ' ')
      c = '_'; /* a leading space would be stripped */
    test_log_add(&g->data, &c, 1);
  }
  test_log_add(&g->in, g->data.p + start, n);
  {
    const char *e = eol(g);
    test_log_add(&g->in, e, strlen(e));
  }
  if (n + 6 > g->max_line)
    g->max_line = n + 6;
}

static void end_event(gen *g) {
  const char *e = eol(g);
  test_log_add(&g->in, e, strlen(e));
  if (g->data.p) {
    test_log_add(&g->want, "event message|", 14);
    test_log_add(&g->want, g->data.p, g->data.len);
    test_log_add(&g->want, "|\n", 2);
    if (g->data.len + 1 > g->max_data)
      g->max_data = g->data.len + 1;
  }
  test_log_free(&g->data);
}

static void gen_free(gen *g) {
  test_log_free(&g->in);
  test_log_free(&g->want);
  test_log_free(&g->data);
}

/* Chunk sizes around the block (64), fixed-copy (128), long-path (256) and
 * chunk (64 KiB) sizes, plus a random split per stream. */
static const size_t CHUNKS[] = {1,   2,   3,   7,    63,   64,    65,
                                127, 129, 255, 257,  1000, 4096, 65536};

static void expect_same_at_every_chunking(const test_run *run, const gen *g,
                                          const char *want) {
  size_t i;
  test_log whole = test_decode(run, g->in.p, g->in.len, 0);
  if (want)
    assert_string_equal(whole.p, want);
  for (i = 0; i < sizeof CHUNKS / sizeof CHUNKS[0]; i++) {
    test_log l = test_decode(run, g->in.p, g->in.len, CHUNKS[i]);
    if (strcmp(l.p, whole.p) != 0)
      fail_msg("chunk %zu differs from the whole feed", CHUNKS[i]);
    test_log_free(&l);
  }
  {
    size_t cuts[9], k;
    unsigned long s = g->in.len;
    for (k = 0; k < 9; k++) {
      s = s * 1103515245u + 12345u;
      cuts[k] = g->in.len > 1 ? 1 + (size_t)((s >> 8) % (g->in.len - 1)) : 0;
    }
    for (k = 1; k < 9; k++) { /* insertion sort, then drop duplicates */
      size_t v = cuts[k], j = k;
      for (; j && cuts[j - 1] > v; j--)
        cuts[j] = cuts[j - 1];
      cuts[j] = v;
    }
    for (i = k = 0; k < 9; k++)
      if (cuts[k] && (!i || cuts[k] != cuts[i - 1]))
        cuts[i++] = cuts[k];
    {
      test_log l = test_decode_split(run, g->in.p, g->in.len, cuts, i);
      assert_string_equal(l.p, whole.p);
      test_log_free(&l);
    }
  }
  test_log_free(&whole);
}

/* Runs g's stream with default limits (against its generated events), with
 * limits exactly at its needs (the same), and with each one byte short (the
 * limit error, at every chunking alike). */
static void check_stream(gen *g, int pieces) {
  test_run run;
  test_log want = {0};
  memset(&run, 0, sizeof run);
  run.finish = 1;
  run.pieces = pieces;
  test_log_add(&want, g->want.p ? g->want.p : "", g->want.len);
  test_log_add(&want, "result SSE_OK\n", 14);
  expect_same_at_every_chunking(&run, g, want.p);
  run.max_event = g->max_data;
  run.max_line = g->max_line;
  expect_same_at_every_chunking(&run, g, want.p);
  run.max_event = g->max_data - 1;
  if (run.max_event) {
    test_log l = test_decode(&run, g->in.p, g->in.len, 0);
    assert_non_null(strstr(l.p, "result SSE_E_EVENT_TOO_LARGE\n"));
    test_log_free(&l);
    expect_same_at_every_chunking(&run, g, NULL);
  }
  test_log_free(&want);
}

/* Events of 1 to 40 data lines of 0 to 300 bytes. */
static void test_many_short_lines(void **state) {
  int round;
  (void)state;
  for (round = 0; round < 12; round++) {
    gen g;
    int ev;
    memset(&g, 0, sizeof g);
    g.seed = 100 + (unsigned long)round;
    for (ev = 0; ev < 40; ev++) {
      int k = 1 + (int)(next_rand(&g) % 40), i;
      for (i = 0; i < k; i++)
        data_line(&g, next_rand(&g) % (round % 2 ? 300 : 140));
      end_event(&g);
    }
    check_stream(&g, round % 4 == 3);
    gen_free(&g);
  }
}

/* Lines of every length around the 64-byte blocks and the 128-byte copy. */
static void test_lengths_around_blocks(void **state) {
  gen g;
  size_t n;
  (void)state;
  memset(&g, 0, sizeof g);
  g.seed = 7;
  for (n = 0; n < 270; n++) {
    data_line(&g, n);
    data_line(&g, 270 - n);
    if (n % 3 == 0)
      end_event(&g);
  }
  end_event(&g);
  check_stream(&g, 0);
  gen_free(&g);
}

/* Data lines longer than a 64 KiB chunk, between short ones. */
static void test_long_lines(void **state) {
  int round;
  (void)state;
  for (round = 0; round < 2; round++) {
    gen g;
    memset(&g, 0, sizeof g);
    g.seed = 900 + (unsigned long)round;
    data_line(&g, 5);
    end_event(&g);
    data_line(&g, 66000 + next_rand(&g));
    end_event(&g);
    data_line(&g, 3);
    data_line(&g, 70000 + 1000 * (size_t)round);
    data_line(&g, 300);
    end_event(&g);
    data_line(&g, 3000);
    end_event(&g);
    check_stream(&g, round == 1);
    gen_free(&g);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_many_short_lines),
      cmocka_unit_test(test_lengths_around_blocks),
      cmocka_unit_test(test_long_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
