/* sse-bench: helpers shared by the benchmark modes.
 *
 * A mode is a function `int mode(int argc, char **argv)` (argv[0] is the mode
 * name) listed in the table in sse_bench.c; modes for other parts of the
 * library live in their own bench_<part>.c file, declare their functions
 * here, and add a row to that table and the file to CMakeLists.txt.
 *
 * Every timed figure is printed as a RESULT line in the format of the shared
 * benchmark folder (see bench_result), so one summariser reads them all;
 * figures that are not timings (memory, checks) are printed as lines of
 * their own starting with an upper-case tag and key=value pairs.
 */
#ifndef SSE_BENCH_H
#define SSE_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <sse.h>

/* A monotonic clock in seconds. */
double bench_now(void);

/* Reads a whole file into memory (exits with a message on failure). The
 * result has 64 zero bytes after its end; free it with free(). */
char *bench_read_file(const char *path, size_t *len);

/* Allocates n bytes and touches every page, so timings see no page faults.
 * Exits on failure. */
void *bench_alloc(size_t n);

/* Prints one RESULT line:
 *   RESULT impl=IMPL corpus=CORPUS rep=REP bytes=BYTES events=EVENTS
 *          data=DATA unit=bytes seconds=SECONDS
 * and flushes stdout. */
void bench_result(const char *impl, const char *corpus, int rep, size_t bytes,
                  size_t events, size_t data, double seconds);

/* Parses a positive count argument (exits with a message when invalid). */
size_t bench_count(const char *arg, const char *what);

/* Exits with status 1 after printing "sse-bench: MSG" to stderr. */
void bench_die(const char *fmt, ...);

/* The median of n values (sorts them). */
double bench_median(double *v, size_t n);

/* Modes of bench_stream.c (streams, frames, history). */
int bench_broadcast(int argc, char **argv);
int bench_broadcast_blocked(int argc, char **argv);
int bench_stream_memory(int argc, char **argv);
int bench_partial(int argc, char **argv);
int bench_replay(int argc, char **argv);

#endif /* SSE_BENCH_H */
