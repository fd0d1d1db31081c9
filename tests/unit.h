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

#endif
