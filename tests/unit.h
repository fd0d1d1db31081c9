/* Helpers for the cmocka suites only (support.c and harness.c, which need
 * no cmocka, are shared with the fuzz drivers). */
#ifndef SSE_TEST_UNIT_H
#define SSE_TEST_UNIT_H

#include <stddef.h>

#include "support.h"

/* `test_NAME [PATTERN]` runs only the tests whose names match PATTERN (a
 * cmocka glob: * and ?), e.g. `test_frame '*threads*'`. Call before
 * cmocka_run_group_tests. */
void test_filter(int argc, char **argv);

/* ---- the allocation-failure sweep ----------------------------------------- */

/* One run of a scenario under allocation failure: it allocates through ta
 * (fail_at and fail_forever set by the sweep, the counters zero), frees
 * everything before it returns, and adds to *nomem each SSE_E_NOMEM it
 * met. It makes its own checks (the failing call changed nothing, a retry
 * succeeds, the output is the run without failure's...). Returns the
 * allocations the scenario made (ta->calls, or fewer to leave out its own
 * final checks). ctx is the sweep's. */
typedef size_t (*test_oom_run)(void *ctx, test_alloc *ta, size_t *nomem);

/* Counts the allocations N of a run without failure (no SSE_E_NOMEM, at
 * least min_calls), then for k = 1 .. N + 1 runs the scenario failing
 * allocation k once: allocation k is reached and exactly one SSE_E_NOMEM
 * is met while k <= N; none at k = N + 1, which makes exactly N
 * allocations (the sweep is complete). With forever, each k also runs
 * failing allocation k and every later one: at least one SSE_E_NOMEM while
 * k <= N. After every run nothing is live (blocks and bytes). Failures name
 * the scenario by `what`. Returns N. */
size_t test_oom_sweep(const char *what, test_oom_run run, void *ctx,
                      size_t min_calls, int forever);

#endif
