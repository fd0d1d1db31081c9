/* Internals shared by the modules of libsse. Not installed. */
#ifndef SSE_INTERNAL_H
#define SSE_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include "sse.h"

#if defined(__GNUC__)
#  define SSE__LIKELY(x) __builtin_expect(!!(x), 1)
#  define SSE__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define SSE__LIKELY(x) (x)
#  define SSE__UNLIKELY(x) (x)
#endif

/* --- allocation (common.c) ------------------------------------------------ */

/* Copies src into dst, filling in libc for a NULL struct or any NULL hook. */
void sse__allocator_init(sse_allocator *dst, const sse_allocator *src);

static inline void *sse__malloc(const sse_allocator *a, size_t n) {
  return a->malloc_fn(n, a->user);
}
static inline void sse__free(const sse_allocator *a, void *p) {
  if (p)
    a->free_fn(p, a->user);
}

/* A growable byte buffer. */
typedef struct sse__buf {
  char *p;
  size_t len;
  size_t cap;
} sse__buf;

/* Makes room for len + extra bytes, growing geometrically but never past
 * max(len + extra, soft_max). Returns SSE_OK or SSE_E_NOMEM (also on size
 * overflow); the buffer is unchanged on failure. */
int sse__buf_reserve(const sse_allocator *a, sse__buf *b, size_t extra,
                     size_t soft_max);

/* Appends n bytes (s may be NULL when n is 0). Same results as reserve. */
int sse__buf_append(const sse_allocator *a, sse__buf *b, const void *s,
                    size_t n, size_t soft_max);

void sse__buf_free(const sse_allocator *a, sse__buf *b);

/* --- scanning (scan.c) ------------------------------------------------------ */

/* The first CR or LF in [p, end), or NULL. Uses SIMD where the compiler
 * targets it (SSE2); sse__find_eol_portable is the word-at-a-time fallback,
 * kept callable so tests compare the two. */
const char *sse__find_eol(const char *p, const char *end);
const char *sse__find_eol_portable(const char *p, const char *end);

/* --- UTF-8 (utf8.c) ------------------------------------------------------- */

/* Length of the longest prefix of s that is valid UTF-8 (n when all is). */
size_t sse__utf8_valid_prefix(const unsigned char *s, size_t n);

/* Writes s to out with every maximal invalid subpart replaced by U+FFFD, as
 * the WHATWG UTF-8 decoder does, treating the end of s as the end of input.
 * out must hold 3 * n bytes. Returns the bytes written. */
size_t sse__utf8_repair(const unsigned char *s, size_t n, unsigned char *out);

#endif /* SSE_INTERNAL_H */
