/* Version, error strings and the allocator plumbing. */
#include <stdlib.h>

#include "internal.h"

unsigned sse_version(void) { return SSE_VERSION_NUMBER; }

const char *sse_version_string(void) { return SSE_VERSION_STRING; }

const char *sse_strerror(int code) {
  switch (code) {
  case SSE_OK: return "success";
  case SSE_PAUSE: return "paused by a callback";
  case SSE_E_AGAIN: return "would block";
  case SSE_E_NOSPACE: return "output buffer too small";
  case SSE_E_LINE_TOO_LONG: return "line too long";
  case SSE_E_EVENT_TOO_LARGE: return "event data too large";
  case SSE_E_INVALID_FIELD: return "field cannot be encoded (CR, LF or NUL)";
  case SSE_E_TRUNCATED: return "stream ended inside an event";
  case SSE_E_INVALID_VALUE: return "malformed value";
  case SSE_E_UNKNOWN_ID: return "id not in the history";
  case SSE_E_EVICTED: return "id or position evicted from the history";
  case SSE_E_INVALID_ARGUMENT: return "invalid argument";
  case SSE_E_STATE: return "not allowed in this state";
  case SSE_E_BUSY: return "called from the object's own callback";
  case SSE_E_NOMEM: return "out of memory";
  case SSE_E_CALLBACK: return "callback failed";
  case SSE_E_WRITE: return "write callback failed";
  case SSE_E_OVERFLOW: return "stream over its cap";
  case SSE_E_CLOSED: return "stream closed";
  default: return "unknown error";
  }
}

const char *sse_error_name(int code) {
  switch (code) {
  case SSE_OK: return "SSE_OK";
  case SSE_PAUSE: return "SSE_PAUSE";
  case SSE_E_AGAIN: return "SSE_E_AGAIN";
  case SSE_E_NOSPACE: return "SSE_E_NOSPACE";
  case SSE_E_NOMEM: return "SSE_E_NOMEM";
  case SSE_E_INVALID_FIELD: return "SSE_E_INVALID_FIELD";
  case SSE_E_INVALID_VALUE: return "SSE_E_INVALID_VALUE";
  case SSE_E_UNKNOWN_ID: return "SSE_E_UNKNOWN_ID";
  case SSE_E_EVICTED: return "SSE_E_EVICTED";
  case SSE_E_TRUNCATED: return "SSE_E_TRUNCATED";
  case SSE_E_INVALID_ARGUMENT: return "SSE_E_INVALID_ARGUMENT";
  case SSE_E_STATE: return "SSE_E_STATE";
  case SSE_E_BUSY: return "SSE_E_BUSY";
  case SSE_E_LINE_TOO_LONG: return "SSE_E_LINE_TOO_LONG";
  case SSE_E_EVENT_TOO_LARGE: return "SSE_E_EVENT_TOO_LARGE";
  case SSE_E_CALLBACK: return "SSE_E_CALLBACK";
  case SSE_E_WRITE: return "SSE_E_WRITE";
  case SSE_E_OVERFLOW: return "SSE_E_OVERFLOW";
  case SSE_E_CLOSED: return "SSE_E_CLOSED";
  default: return "SSE_E_UNKNOWN";
  }
}

int sse_is_fatal(int code) { return code <= -60 && code >= -79; }

static void *libc_malloc(size_t n, void *user) {
  (void)user;
  return malloc(n);
}
static void *libc_realloc(void *p, size_t n, void *user) {
  (void)user;
  return realloc(p, n);
}
static void libc_free(void *p, void *user) {
  (void)user;
  free(p);
}

void sse__allocator_init(sse_allocator *dst, const sse_allocator *src) {
  if (src && src->malloc_fn && src->realloc_fn && src->free_fn) {
    *dst = *src;
    return;
  }
  dst->malloc_fn = libc_malloc;
  dst->realloc_fn = libc_realloc;
  dst->free_fn = libc_free;
  dst->user = NULL;
}

int sse__buf_reserve(const sse_allocator *a, sse__buf *b, size_t extra,
                     size_t soft_max) {
  size_t need, cap;
  char *p;
  if (extra <= b->cap - b->len)
    return SSE_OK;
  if (extra > (size_t)-1 - b->len)
    return SSE_E_NOMEM;
  need = b->len + extra;
  cap = b->cap < 64 ? 64 : b->cap;
  while (cap < need && cap <= (size_t)-1 / 2)
    cap *= 2;
  if (cap < need)
    cap = need;
  if (cap > soft_max)
    cap = soft_max > need ? soft_max : need;
  p = a->realloc_fn(b->p, cap, a->user);
  if (!p)
    return SSE_E_NOMEM;
  b->p = p;
  b->cap = cap;
  return SSE_OK;
}

int sse__buf_append(const sse_allocator *a, sse__buf *b, const void *s,
                    size_t n, size_t soft_max) {
  int rc;
  if (n == 0)
    return SSE_OK;
  rc = sse__buf_reserve(a, b, n, soft_max);
  if (rc != SSE_OK)
    return rc;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  return SSE_OK;
}

void sse__buf_free(const sse_allocator *a, sse__buf *b) {
  sse__free(a, b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}
