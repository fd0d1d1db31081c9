#include "support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocator ------------------------------------------------------------ */

/* Each block carries its size in a header so live bytes can be tracked. */
typedef union hdr {
  size_t size;
  long double ld; /* for alignment (C99 has no max_align_t) */
  long long ll;
  void *p;
} hdr;

static int should_fail(test_alloc *t) {
  t->calls++;
  if (!t->fail_at)
    return 0;
  return t->fail_forever ? t->calls >= t->fail_at : t->calls == t->fail_at;
}

static void *t_malloc(size_t n, void *user) {
  test_alloc *t = user;
  hdr *h;
  if (should_fail(t) || n > SIZE_MAX - sizeof(hdr))
    return NULL;
  h = malloc(sizeof(hdr) + n);
  if (!h)
    return NULL;
  h->size = n;
  t->live++;
  t->live_bytes += n;
  if (t->live_bytes > t->peak_bytes)
    t->peak_bytes = t->live_bytes;
  return h + 1;
}

static void t_free(void *p, void *user) {
  test_alloc *t = user;
  hdr *h;
  if (!p)
    return;
  h = (hdr *)p - 1;
  t->live--;
  t->live_bytes -= h->size;
  free(h);
}

static void *t_realloc(void *p, size_t n, void *user) {
  test_alloc *t = user;
  hdr *h, *nh;
  size_t old;
  if (!p)
    return t_malloc(n, user);
  if (should_fail(t) || n > SIZE_MAX - sizeof(hdr))
    return NULL;
  h = (hdr *)p - 1;
  old = h->size;
  nh = realloc(h, sizeof(hdr) + n);
  if (!nh)
    return NULL;
  nh->size = n;
  t->live_bytes = t->live_bytes - old + n;
  if (t->live_bytes > t->peak_bytes)
    t->peak_bytes = t->live_bytes;
  return nh + 1;
}

sse_allocator test_alloc_hooks(test_alloc *t) {
  sse_allocator a;
  a.malloc_fn = t_malloc;
  a.realloc_fn = t_realloc;
  a.free_fn = t_free;
  a.user = t;
  return a;
}

/* ---- log ------------------------------------------------------------------- */

void test_log_add(test_log *l, const void *s, size_t n) {
  if (l->len + n + 1 > l->cap) {
    size_t cap = l->cap ? l->cap : 256;
    while (cap < l->len + n + 1)
      cap *= 2;
    l->p = realloc(l->p, cap);
    if (!l->p)
      abort();
    l->cap = cap;
  }
  if (n)
    memcpy(l->p + l->len, s, n);
  l->len += n;
  l->p[l->len] = 0;
}

void test_log_printf(test_log *l, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0)
    test_log_add(l, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void test_log_free(test_log *l) {
  free(l->p);
  l->p = NULL;
  l->len = l->cap = 0;
}

/* ---- decoder driver ------------------------------------------------------ */

typedef struct rec {
  test_log log;
  test_log data; /* pieces of the pending event */
} rec;

static int r_event(void *u, const sse_event *ev) {
  rec *r = u;
  test_log_add(&r->log, "event ", 6);
  test_log_add(&r->log, ev->type, ev->type_len);
  test_log_add(&r->log, "|", 1);
  if (ev->data)
    test_log_add(&r->log, ev->data, ev->data_len);
  else {
    if (r->data.len != ev->data_len)
      test_log_printf(&r->log, "<pieces %zu != %zu>", r->data.len,
                      ev->data_len);
    test_log_add(&r->log, r->data.p, r->data.len);
    r->data.len = 0;
  }
  test_log_add(&r->log, "|", 1);
  test_log_add(&r->log, ev->id, ev->id_len);
  test_log_add(&r->log, "\n", 1);
  return SSE_OK;
}

static int r_retry(void *u, uint64_t ms) {
  test_log_printf(&((rec *)u)->log, "retry %llu\n", (unsigned long long)ms);
  return SSE_OK;
}

static int r_comment(void *u, const char *s, size_t n) {
  rec *r = u;
  test_log_add(&r->log, "comment ", 8);
  test_log_add(&r->log, s, n);
  test_log_add(&r->log, "\n", 1);
  return SSE_OK;
}

static int r_data(void *u, const char *s, size_t n) {
  test_log_add(&((rec *)u)->data, s, n);
  return SSE_OK;
}

static int r_discard(void *u, int code) {
  rec *r = u;
  r->data.len = 0;
  test_log_printf(&r->log, "discard %s\n", sse_error_name(code));
  return SSE_OK;
}

test_log test_decode_split(const test_run *run, const void *in, size_t n,
                           const size_t *cuts, size_t ncuts) {
  sse_decoder_callbacks cb = {0};
  sse_decoder *d = NULL;
  rec r = {{0}, {0}};
  const char *p = in;
  size_t start = 0, i;
  int rc;
  cb.on_event = r_event;
  cb.on_retry = r_retry;
  cb.on_discard = r_discard;
  if (run->comments)
    cb.on_comment = r_comment;
  if (run->pieces)
    cb.on_data = r_data;
  rc = sse_decoder_new(&d, &cb, &r, NULL);
  if (rc == SSE_OK)
    rc = sse_decoder_set_limits(d, run->max_line, run->max_event);
  if (rc == SSE_OK)
    rc = sse_decoder_set_options(d, run->options);
  for (i = 0; rc == SSE_OK && i <= ncuts; i++) {
    size_t stop = i < ncuts ? cuts[i] : n;
    size_t used = 0;
    rc = sse_decoder_feed(d, p + start, stop - start, &used);
    if (rc == SSE_OK && used != stop - start)
      rc = -999; /* consumed must be all on success */
    start = stop;
  }
  if (rc == SSE_OK && run->finish)
    rc = sse_decoder_finish(d);
  test_log_printf(&r.log, "result %s\n", sse_error_name(rc));
  sse_decoder_free(d);
  test_log_free(&r.data);
  if (!r.log.p)
    test_log_add(&r.log, "", 0);
  return r.log;
}

test_log test_decode(const test_run *run, const void *in, size_t n,
                     size_t chunk) {
  size_t *cuts, ncuts = 0, at;
  test_log l;
  if (!chunk || chunk >= n)
    return test_decode_split(run, in, n, NULL, 0);
  cuts = malloc(sizeof(size_t) * (n / chunk + 1));
  if (!cuts)
    abort();
  for (at = chunk; at < n; at += chunk)
    cuts[ncuts++] = at;
  l = test_decode_split(run, in, n, cuts, ncuts);
  free(cuts);
  return l;
}
