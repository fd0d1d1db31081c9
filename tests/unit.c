#include "unit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

void test_filter(int argc, char **argv) {
  if (argc > 1)
    cmocka_set_test_filter(argv[1]);
}
