/* Decoder edge cases found by the hardening work (fuzzing, coverage): each
 * test pins a behaviour at a boundary the main suite does not reach.
 * Records come from tests/harness.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

/* Decodes `in` with run r at every two-way split and whole, and checks each
 * record equals `want`. */
static void expect_all_splits(const harness_run *base, const char *in,
                              const char *want) {
  size_t n = strlen(in), cut;
  for (cut = 0; cut <= n; cut++) {
    harness_run r = *base;
    test_log log = {0};
    int violations = 0;
    r.cuts = &cut;
    r.ncuts = cut < n ? 1 : 0;
    r.violations = &violations;
    harness_decode(&r, in, n, &log);
    if (strcmp(log.p, want) != 0 || violations)
      fail_msg("split at %zu:\n%s\nwant:\n%s", cut, log.p, want);
    test_log_free(&log);
  }
}

/* Regression: with on_data, a callback that paused on the LF joining two
 * data lines lost the value of the second line (whole-line path), and a
 * pause while a partial line was being classified as data lost the rest
 * of the chunk. Pausing must never change what is delivered. */
static void pause_in_data_pieces(void **state) {
  harness_run r;
  size_t every;
  (void)state;
  for (every = 1; every <= 4; every++) {
    memset(&r, 0, sizeof r);
    r.pieces = 1;
    r.pause_every = every;
    expect_all_splits(&r, "data:a\ndata::lhlo\ndata: xyz\n\n",
                      "event message|a\\n:lhlo\\nxyz|\nlast \nresult 0\n");
    expect_all_splits(&r, "data::lhlo\n\n",
                      "event message|:lhlo|\nlast \nresult 0\n");
    expect_all_splits(&r, "data\ndata\ndata:12345678\r\n\r\n",
                      "event message|\\n\\n12345678|\nlast \nresult 0\n");
  }
}

/* Regression: max_event counts the data buffer exactly (values plus one LF
 * each): a buffer of exactly max_event bytes passes, one more fails, for a
 * first line and a later line, at every chunking (a later line, and any
 * line cut by a chunk boundary, used to be refused one byte early). */
static void max_event_is_exact(void **state) {
  harness_run r;
  int pieces;
  (void)state;
  for (pieces = 0; pieces <= 1; pieces++) {
    memset(&r, 0, sizeof r);
    r.pieces = pieces;
    r.max_event = 5; /* "abcd\n" */
    expect_all_splits(&r, "data: abcd\n\n",
                      "event message|abcd|\nlast \nresult 0\n");
    expect_all_splits(&r, "data: a\ndata: bc\n\n",
                      "event message|a\\nbc|\nlast \nresult 0\n");
    expect_all_splits(&r, "data\ndata\ndata\ndata\ndata\n\n",
                      "event message|\\n\\n\\n\\n|\nlast \nresult 0\n");
    r.max_event = 4;
    expect_all_splits(&r, "data: abcd\n\n", "last \nresult -11\n");
    expect_all_splits(&r, "data: a\ndata: bc\n\n", "last \nresult -11\n");
    expect_all_splits(&r, "data\ndata\ndata\ndata\ndata\n\n",
                      "last \nresult -11\n");
  }
}

/* Regression: a data line over both max_line and max_event gave
 * SSE_E_LINE_TOO_LONG when whole in one chunk but SSE_E_EVENT_TOO_LARGE
 * when cut (the event limit was met on the first bytes). Buffered data
 * lines now meet max_event as they end, so the code is the same at every
 * chunking; streamed data (on_data) has no line limit. */
static void limit_code_does_not_depend_on_chunking(void **state) {
  static const char line[] = "data:0123456789abcdefghij\n\n";
  harness_run r;
  (void)state;
  memset(&r, 0, sizeof r);
  r.max_line = 11;
  r.max_event = 1;
  expect_all_splits(&r, line, "last \nresult -10\n");
  r.options = SSE_DECODER_SKIP_OVERSIZE;
  expect_all_splits(&r, line, "discard -10\nlast \nresult 0\n");
  r.pieces = 1;
  expect_all_splits(&r, line, "discard -11\nlast \nresult 0\n");
  r.options = 0;
  expect_all_splits(&r, line, "last \nresult -11\n");
  r.pieces = 0;
  r.max_line = 100;
  r.max_event = 20;
  expect_all_splits(&r, "data: 0123456789\ndata: 012345678\n\n",
                    "last \nresult -11\n");
  r.max_event = 21;
  expect_all_splits(&r, "data: 0123456789\ndata: 012345678\n\n",
                    "event message|0123456789\\n012345678|\nlast \n"
                    "result 0\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pause_in_data_pieces),
      cmocka_unit_test(max_event_is_exact),
      cmocka_unit_test(limit_code_does_not_depend_on_chunking),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
