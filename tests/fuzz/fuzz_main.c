/*
 * main() for the fuzz targets when libFuzzer is not linked in.
 *
 *  - Built with afl-clang-fast (AFL++): persistent mode with the test case
 *    in shared memory, the fastest way AFL++ runs a libFuzzer-style target.
 *  - Otherwise: a replay driver. Each argument is a file or a directory of
 *    files (not recursive); every file is run once through
 *    LLVMFuzzerTestOneInput. Prints how many inputs ran; a finding aborts
 *    as under the fuzzer. This is how CTest runs the committed corpus.
 */
#define _POSIX_C_SOURCE 200809L /* dirent, stat */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifdef __AFL_FUZZ_TESTCASE_LEN

#include <unistd.h> /* read, used by the AFL++ macros */

__AFL_FUZZ_INIT();

int main(void) {
  unsigned char *buf;
  __AFL_INIT();
  buf = __AFL_FUZZ_TESTCASE_BUF;
  while (__AFL_LOOP(10000)) {
    size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
    LLVMFuzzerTestOneInput(buf, len);
  }
  return 0;
}

#else

#include <dirent.h>
#include <sys/stat.h>

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf = NULL;
  size_t len = 0, cap = 0, got;
  if (!f) {
    perror(path);
    return 0;
  }
  do {
    if (len == cap) {
      unsigned char *nb;
      cap = cap ? 2 * cap : 4096;
      nb = realloc(buf, cap);
      if (!nb) {
        fprintf(stderr, "%s: out of memory\n", path);
        exit(1);
      }
      buf = nb;
    }
    got = fread(buf + len, 1, cap - len, f);
    len += got;
  } while (got);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  return 1;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the regular files of a directory, in name order. */
static size_t run_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char **names = NULL;
  size_t n = 0, cap = 0, i, ran = 0;
  if (!d) {
    perror(dir);
    exit(1);
  }
  while ((e = readdir(d)) != NULL) {
    size_t len;
    if (e->d_name[0] == '.')
      continue;
    if (n == cap) {
      char **nn;
      cap = cap ? 2 * cap : 64;
      nn = realloc(names, cap * sizeof *names);
      if (!nn)
        exit(1);
      names = nn;
    }
    len = strlen(dir) + strlen(e->d_name) + 2;
    names[n] = malloc(len);
    if (!names[n])
      exit(1);
    snprintf(names[n], len, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof *names, cmp_names);
  for (i = 0; i < n; i++) {
    struct stat st;
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
      ran += (size_t)run_file(names[i]);
    free(names[i]);
  }
  free(names);
  return ran;
}

int main(int argc, char **argv) {
  size_t ran = 0;
  int i;
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  for (i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 1;
    }
    if (S_ISDIR(st.st_mode))
      ran += run_dir(argv[i]);
    else
      ran += (size_t)run_file(argv[i]);
  }
  printf("%s: %zu inputs replayed, no finding\n", argv[0], ran);
  return ran ? 0 : 1;
}

#endif
