#include "unit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

void test_filter(int argc, char **argv) {
  if (argc > 1)
    cmocka_set_test_filter(argv[1]);
}

/* One run: fresh counters, then the leak check. */
static size_t oom_once(const char *what, test_oom_run run, void *ctx,
                       size_t fail_at, int forever, test_alloc *ta,
                       size_t *nomem) {
  size_t made;
  memset(ta, 0, sizeof *ta);
  ta->fail_at = fail_at;
  ta->fail_forever = forever;
  *nomem = 0;
  made = run(ctx, ta, nomem);
  if (ta->live || ta->live_bytes)
    fail_msg("%s: failing allocation %zu (%s): %zu blocks, %zu bytes leaked",
             what, fail_at, forever ? "forever" : "once", ta->live,
             ta->live_bytes);
  return made;
}

size_t test_oom_sweep(const char *what, test_oom_run run, void *ctx,
                      size_t min_calls, int forever) {
  test_alloc ta;
  size_t n, k, nomem, made;
  int f;
  n = oom_once(what, run, ctx, 0, 0, &ta, &nomem);
  if (nomem || n < min_calls)
    fail_msg("%s: without failure, %zu SSE_E_NOMEM and %zu allocations (at "
             "least %zu expected)",
             what, nomem, n, min_calls);
  for (k = 1; k <= n + 1; k++)
    for (f = 0; f <= forever; f++) {
      made = oom_once(what, run, ctx, k, f, &ta, &nomem);
      if (k <= n && ta.calls < k)
        fail_msg("%s: allocation %zu of %zu was never reached", what, k, n);
      if (k > n && (nomem || made != n))
        fail_msg("%s: no allocation failed, yet %zu SSE_E_NOMEM and %zu "
                 "allocations instead of %zu",
                 what, nomem, made, n);
      else if (k <= n && !f && nomem != 1)
        fail_msg("%s: failing allocation %zu once gave %zu SSE_E_NOMEM", what,
                 k, nomem);
      else if (k <= n && f && nomem < 1)
        fail_msg("%s: failing allocation %zu on gave no SSE_E_NOMEM", what, k);
    }
  return n;
}
