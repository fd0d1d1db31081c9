/*
 * sse-bench: libsse's benchmark program.
 *
 *   sse-bench decode FILE NAME REPS [CHUNK]
 *       The shared protocol (../shared/bench/README.md): reads FILE fully,
 *       then per repetition times only the decode, feeding CHUNK-byte pieces
 *       (default 64 KiB), and prints a RESULT line with the events dispatched
 *       and the total length of their data. impl=libsse at 64 KiB,
 *       libsse-1byte at 1, libsse-chunkN otherwise.
 *   sse-bench encode PAYLOAD_FILE REPS
 *       The shared protocol: each line of PAYLOAD_FILE is one event's data,
 *       encoded with sse_encode_message into one output buffer per repetition.
 *       data= is the output size, as the shared summariser checks it.
 *   sse-bench encode-iov PAYLOAD_FILE REPS
 *       The same events through sse_encode_message_iov; then an untimed check
 *       that every data piece points into the payload (no data byte copied)
 *       and that the pieces spell the same bytes as sse_encode_message.
 *   sse-bench huge [MIB] [REPS]
 *       One event whose data is a single MIB MiB line (default 8), fed whole,
 *       in 64 KiB chunks and 1 byte at a time; as many feed calls with
 *       nothing to do (the floor of 1-byte feeding); then 1-byte feeds of
 *       1/8, 1/4 and 1/2 of it, to show the cost per byte does not grow with
 *       the size.
 *   sse-bench memory [FILE]
 *       Bytes a fresh decoder holds (counting allocator), and with FILE what
 *       it holds after decoding FILE in 64 KiB chunks (buffers it keeps).
 *   sse-bench broadcast | broadcast-blocked | stream-memory | partial | replay
 *       Streams, shared frames and the replay history: see bench_stream.c.
 *
 * Exit status: 0 on success, 1 on a failure (bad input, a decode or encode
 * error, a failed check), 2 on bad usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "support.h"

#define CHUNK_DEFAULT ((size_t)64 * 1024)

/* ---- helpers (bench.h) --------------------------------------------------- */

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_die(const char *fmt, ...) {
  va_list ap;
  fputs("sse-bench: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

void *bench_alloc(size_t n) {
  char *p = malloc(n ? n : 1);
  if (!p)
    bench_die("out of memory (%zu bytes)", n);
  memset(p, 1, n); /* non-zero, so it is not turned into calloc */
  return p;
}

char *bench_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *b;
  long n = 0;
  if (!f)
    bench_die("%s: %s", path, strerror(errno));
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0)
    bench_die("%s: cannot get its size", path);
  b = malloc((size_t)n + 64);
  if (!b)
    bench_die("%s: out of memory", path);
  if (fread(b, 1, (size_t)n, f) != (size_t)n)
    bench_die("%s: read error", path);
  memset(b + n, 0, 64);
  fclose(f);
  *len = (size_t)n;
  return b;
}

void bench_result(const char *impl, const char *corpus, int rep, size_t bytes,
                  size_t events, size_t data, double seconds) {
  printf("RESULT impl=%s corpus=%s rep=%d bytes=%zu events=%zu data=%zu "
         "unit=bytes seconds=%.6f\n",
         impl, corpus, rep, bytes, events, data, seconds);
  fflush(stdout);
}

size_t bench_count(const char *arg, const char *what) {
  char *end;
  unsigned long long v;
  errno = 0;
  v = strtoull(arg, &end, 10);
  if (errno || end == arg || *end || v == 0 || v > (size_t)-1 / 2)
    bench_die("%s must be a positive number, not '%s'", what, arg);
  return (size_t)v;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, size_t n) {
  if (!n)
    return 0;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- decoding -------------------------------------------------------------- */

typedef struct counts {
  size_t events;
  size_t data;
} counts;

static int count_event(void *user, const sse_event *ev) {
  counts *c = user;
  c->events++;
  c->data += ev->data_len;
  return SSE_OK;
}

/* Decodes in[0..n) in chunk-byte feeds with a fresh decoder; returns the
 * seconds spent in feed and finish. */
static double decode_once(const char *in, size_t n, size_t chunk, counts *c,
                          const sse_allocator *mem) {
  sse_decoder_callbacks cb;
  sse_decoder *d;
  size_t off;
  double t0, t1;
  int rc;
  memset(&cb, 0, sizeof cb);
  cb.on_event = count_event;
  c->events = c->data = 0;
  if ((rc = sse_decoder_new(&d, &cb, c, mem)) != SSE_OK)
    bench_die("sse_decoder_new: %s", sse_strerror(rc));
  t0 = bench_now();
  if (chunk == 1) {
    for (off = 0; off < n; off++)
      if ((rc = sse_decoder_feed(d, in + off, 1, NULL)) != SSE_OK)
        break;
  } else {
    for (off = 0; off < n; off += chunk) {
      size_t k = n - off < chunk ? n - off : chunk;
      if ((rc = sse_decoder_feed(d, in + off, k, NULL)) != SSE_OK)
        break;
    }
  }
  if (rc == SSE_OK)
    rc = sse_decoder_finish(d);
  t1 = bench_now();
  if (rc != SSE_OK)
    bench_die("decode failed at byte %zu: %s", off, sse_strerror(rc));
  sse_decoder_free(d);
  return t1 - t0;
}

static const char *decode_impl(size_t chunk, char *buf, size_t cap) {
  if (chunk == CHUNK_DEFAULT)
    return "libsse";
  if (chunk == 1)
    return "libsse-1byte";
  snprintf(buf, cap, "libsse-chunk%zu", chunk);
  return buf;
}

static int mode_decode(int argc, char **argv) {
  size_t n, chunk = CHUNK_DEFAULT, reps;
  char *in, name[64];
  int rep;
  if (argc < 4 || argc > 5)
    return 2;
  reps = bench_count(argv[3], "REPS");
  if (argc == 5)
    chunk = bench_count(argv[4], "CHUNK");
  in = bench_read_file(argv[1], &n);
  for (rep = 0; (size_t)rep < reps; rep++) {
    counts c;
    double s = decode_once(in, n, chunk, &c, NULL);
    bench_result(decode_impl(chunk, name, sizeof name), argv[2], rep, n,
                 c.events, c.data, s);
  }
  free(in);
  return 0;
}

/* One event whose data is a single line of `size` bytes. */
static char *huge_event(size_t size, size_t *n) {
  char *b = bench_alloc(size + 8);
  size_t i;
  memcpy(b, "data: ", 6);
  for (i = 0; i < size; i++)
    b[6 + i] = (char)('a' + i % 26);
  memcpy(b + 6 + size, "\n\n", 2);
  *n = size + 8;
  return b;
}

static void huge_run(const char *impl, const char *corpus, size_t size,
                     size_t chunk, size_t reps) {
  size_t n, rep;
  char *in = huge_event(size, &n);
  for (rep = 0; rep < reps; rep++) {
    counts c;
    double s = decode_once(in, n, chunk, &c, NULL);
    if (c.events != 1 || c.data != size)
      bench_die("huge event: got %zu events, %zu data bytes", c.events,
                c.data);
    bench_result(impl, corpus, (int)rep, n, c.events, c.data, s);
  }
  free(in);
}

/* The floor of any 1-byte feeding: n calls of feed that have nothing to
 * do (len 0), for comparison with n calls that each take a byte. */
static void feed_calls(const char *corpus, size_t n, size_t reps) {
  sse_decoder *d;
  size_t rep, i;
  char byte = 'x';
  int rc = SSE_OK;
  if (sse_decoder_new(&d, NULL, NULL, NULL) != SSE_OK)
    bench_die("sse_decoder_new failed");
  for (rep = 0; rep < reps; rep++) {
    double t0 = bench_now(), t1;
    for (i = 0; i < n; i++)
      rc |= sse_decoder_feed(d, &byte, 0, NULL);
    t1 = bench_now();
    if (rc != SSE_OK)
      bench_die("empty feed failed: %s", sse_strerror(rc));
    bench_result("libsse-emptyfeeds", corpus, (int)rep, n, 0, 0, t1 - t0);
  }
  sse_decoder_free(d);
}

static int mode_huge(int argc, char **argv) {
  size_t mib = argc > 1 ? bench_count(argv[1], "MIB") : 8;
  size_t reps = argc > 2 ? bench_count(argv[2], "REPS") : 3;
  size_t size = mib << 20, div;
  char corpus[32];
  if (argc > 3)
    return 2;
  snprintf(corpus, sizeof corpus, "huge%zum", mib);
  huge_run("libsse-whole", corpus, size, size + 8, reps);
  huge_run("libsse", corpus, size, CHUNK_DEFAULT, reps);
  huge_run("libsse-1byte", corpus, size, 1, reps);
  feed_calls(corpus, size + 8, reps);
  /* The same per-byte cost at every size: linear time. */
  for (div = 8; div >= 2; div /= 2) {
    snprintf(corpus, sizeof corpus, "huge%zuk", (mib << 10) / div);
    huge_run("libsse-1byte", corpus, size / div, 1, reps);
  }
  return 0;
}

/* ---- encoding -------------------------------------------------------------- */

typedef struct payloads {
  char *buf; /* the file */
  size_t size;
  size_t count;
  size_t *off;
  size_t *len;
  size_t total; /* payload bytes */
} payloads;

static void payloads_load(payloads *p, const char *path) {
  size_t i, k = 0, start = 0;
  p->buf = bench_read_file(path, &p->size);
  p->count = 0;
  for (i = 0; i < p->size; i++)
    p->count += p->buf[i] == '\n';
  if (!p->count)
    bench_die("%s: no payload lines", path);
  p->off = malloc(p->count * sizeof *p->off);
  p->len = malloc(p->count * sizeof *p->len);
  if (!p->off || !p->len)
    bench_die("out of memory");
  p->total = 0;
  for (i = 0; i < p->size; i++)
    if (p->buf[i] == '\n') {
      p->off[k] = start;
      p->len[k] = i - start;
      p->total += i - start;
      k++;
      start = i + 1;
    }
}

static void payloads_free(payloads *p) {
  free(p->buf);
  free(p->off);
  free(p->len);
}

static void payload_event(const payloads *p, size_t i, sse_message *ev) {
  memset(ev, 0, sizeof *ev);
  ev->data = p->buf + p->off[i];
  ev->data_len = p->len[i];
}

static int mode_encode(int argc, char **argv) {
  payloads p;
  size_t cap, reps, rep, i;
  char *out;
  if (argc != 3)
    return 2;
  reps = bench_count(argv[2], "REPS");
  payloads_load(&p, argv[1]);
  cap = p.total + 8 * p.count + 64;
  out = bench_alloc(cap);
  for (rep = 0; rep < reps; rep++) {
    size_t o = 0, w;
    double t0, t1;
    sse_message ev;
    int rc = SSE_OK;
    payload_event(&p, 0, &ev);
    t0 = bench_now();
    for (i = 0; i < p.count; i++) {
      ev.data = p.buf + p.off[i];
      ev.data_len = p.len[i];
      rc = sse_encode_message(out + o, cap - o, &ev, &w);
      if (rc != SSE_OK)
        break;
      o += w;
    }
    t1 = bench_now();
    if (rc != SSE_OK)
      bench_die("encode failed at payload %zu: %s", i, sse_strerror(rc));
    bench_result("libsse-enc", "encode", (int)rep, o, p.count, o, t1 - t0);
  }
  free(out);
  payloads_free(&p);
  return 0;
}

#define IOV_CAP 16

/* Checks that the pieces of every event point into its payload (the data)
 * or outside the payload file altogether (separators), that all payload
 * bytes are referenced in place, and that the pieces spell what
 * sse_encode_message writes. */
static void check_iov(const payloads *p) {
  sse_iovec iov[IOV_CAP];
  size_t i, k, count, bytes, in_place = 0, separators = 0, copied = 0;
  char want[1024], got[1024];
  const char *file_end = p->buf + p->size;
  for (i = 0; i < p->count; i++) {
    const char *data = p->buf + p->off[i];
    size_t w, g = 0, here = 0;
    sse_message ev;
    payload_event(p, i, &ev);
    if (sse_encode_message_iov(iov, IOV_CAP, &ev, &count, &bytes) != SSE_OK ||
        sse_encode_message(want, sizeof want, &ev, &w) != SSE_OK || w != bytes)
      bench_die("encode-iov check: payload %zu failed", i);
    for (k = 0; k < count; k++) {
      const char *b = iov[k].base;
      if (b >= p->buf && b < file_end) {
        if (b < data || iov[k].len > p->len[i] ||
            b + iov[k].len > data + p->len[i])
          bench_die("encode-iov check: payload %zu: a piece points outside "
                    "its payload",
                    i);
        here += iov[k].len;
      } else {
        separators += iov[k].len;
        /* A separator holding payload bytes would be a copy. */
        if (iov[k].len > 7)
          copied += iov[k].len;
      }
      memcpy(got + g, b, iov[k].len);
      g += iov[k].len;
    }
    if (here != p->len[i])
      bench_die("encode-iov check: payload %zu: %zu of %zu bytes in place", i,
                here, p->len[i]);
    if (g != w || memcmp(got, want, w) != 0)
      bench_die("encode-iov check: payload %zu: pieces differ from the "
                "buffer form",
                i);
    in_place += here;
  }
  printf("ZEROCOPY events=%zu payload_bytes=%zu in_place=%zu copied=%zu "
         "separator_bytes=%zu %s\n",
         p->count, p->total, in_place, copied, separators,
         in_place == p->total && !copied ? "ok" : "FAIL");
  fflush(stdout);
  if (in_place != p->total || copied)
    exit(1);
}

static int mode_encode_iov(int argc, char **argv) {
  payloads p;
  sse_iovec iov[IOV_CAP];
  size_t reps, rep, i;
  if (argc != 3)
    return 2;
  reps = bench_count(argv[2], "REPS");
  payloads_load(&p, argv[1]);
  for (i = 0; i < p.count; i++)
    if (p.len[i] > 512)
      bench_die("payload %zu longer than this benchmark expects", i);
  for (rep = 0; rep < reps; rep++) {
    size_t total = 0, pieces = 0, count, bytes;
    double t0, t1;
    sse_message ev;
    int rc = SSE_OK;
    payload_event(&p, 0, &ev);
    t0 = bench_now();
    for (i = 0; i < p.count; i++) {
      ev.data = p.buf + p.off[i];
      ev.data_len = p.len[i];
      rc = sse_encode_message_iov(iov, IOV_CAP, &ev, &count, &bytes);
      if (rc != SSE_OK)
        break;
      total += bytes;
      pieces += count;
    }
    t1 = bench_now();
    if (rc != SSE_OK)
      bench_die("encode-iov failed at payload %zu: %s", i, sse_strerror(rc));
    (void)pieces;
    bench_result("libsse-enc-iov", "encode", (int)rep, total, p.count, total,
                 t1 - t0);
  }
  check_iov(&p);
  payloads_free(&p);
  return 0;
}

/* ---- memory ------------------------------------------------------------------ */

static int mode_memory(int argc, char **argv) {
  test_alloc t;
  sse_allocator mem;
  sse_decoder *d;
  int rc;
  if (argc > 2)
    return 2;
  memset(&t, 0, sizeof t);
  mem = test_alloc_hooks(&t);
  if ((rc = sse_decoder_new(&d, NULL, NULL, &mem)) != SSE_OK)
    bench_die("sse_decoder_new: %s", sse_strerror(rc));
  printf("MEMORY object=decoder state=idle bytes=%zu allocations=%zu\n",
         t.live_bytes, t.live);
  sse_decoder_free(d);
  if (t.live)
    bench_die("decoder leaked %zu blocks", t.live);
  if (argc == 2) {
    size_t n;
    char *in = bench_read_file(argv[1], &n);
    counts c;
    memset(&t, 0, sizeof t);
    (void)decode_once(in, n, CHUNK_DEFAULT, &c, &mem);
    printf("MEMORY object=decoder state=after-decode file=%s peak_bytes=%zu "
           "allocation_calls=%zu events=%zu\n",
           argv[1], t.peak_bytes, t.calls, c.events);
    free(in);
  }
  fflush(stdout);
  return 0;
}

/* ---- modes ------------------------------------------------------------------- */

typedef struct mode {
  const char *name;
  const char *args;
  int (*run)(int argc, char **argv); /* 2 = usage error */
} mode;

static const mode modes[] = {
    {"decode", "FILE NAME REPS [CHUNK]", mode_decode},
    {"encode", "PAYLOAD_FILE REPS", mode_encode},
    {"encode-iov", "PAYLOAD_FILE REPS", mode_encode_iov},
    {"huge", "[MIB] [REPS]", mode_huge},
    {"memory", "[FILE]", mode_memory},
    {"broadcast", "[REPS] [MAX_STREAMS] [DELIVERIES]", bench_broadcast},
    {"broadcast-blocked", "[REPS] [MAX_STREAMS] [DELIVERIES] [QUEUE]",
     bench_broadcast_blocked},
    {"stream-memory", "[STREAMS]", bench_stream_memory},
    {"partial", "[REPS] [FRAMES]", bench_partial},
    {"replay", "[REPS] [FRAMES] [REPLAYED]", bench_replay},
};

static int usage(void) {
  size_t i;
  fputs("usage:\n", stderr);
  for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
    fprintf(stderr, "  sse-bench %s %s\n", modes[i].name, modes[i].args);
  return 2;
}

int main(int argc, char **argv) {
  size_t i;
  if (argc < 2)
    return usage();
  for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
    if (strcmp(argv[1], modes[i].name) == 0) {
      int rc = modes[i].run(argc - 1, argv + 1);
      return rc == 2 ? usage() : rc;
    }
  return usage();
}
