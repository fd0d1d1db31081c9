/* Internals shared by the modules of libsse. Not installed. */
#ifndef SSE_INTERNAL_H
#define SSE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sse.h"

#if defined(__GNUC__)
#  define SSE__LIKELY(x) __builtin_expect(!!(x), 1)
#  define SSE__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define SSE__LIKELY(x) (x)
#  define SSE__UNLIKELY(x) (x)
#endif

/* Asks for the memory 2 KiB after p, for streams bigger than the cache: a
 * hint that never faults, even past the caller's buffer (so the address is
 * computed as an integer, not as a pointer past the object). */
#if defined(__GNUC__)
#  define SSE__PREFETCH(p) __builtin_prefetch((const void *)(p))
#  define SSE__PREFETCH_AHEAD(p) \
    __builtin_prefetch((const void *)((uintptr_t)(p) + 2048))
#else
#  define SSE__PREFETCH(p) ((void)0)
#  define SSE__PREFETCH_AHEAD(p) ((void)0)
#endif

/* For the few hot helpers that must be inlined into their loop. */
#if defined(__GNUC__)
#  define SSE__INLINE inline __attribute__((always_inline))
#else
#  define SSE__INLINE inline
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

/* --- fields (encoder.c) ------------------------------------------------- */

/* SSE_OK when value can be written on one line: no CR or LF, and with
 * is_id nonzero no NUL either; else SSE_E_INVALID_FIELD (value may be NULL
 * when len is 0; SSE_E_INVALID_ARGUMENT when not). */
int sse__check_field(const char *value, size_t len, int is_id);

/* --- scanning (scan.c) ------------------------------------------------------ */

/* SSE_NO_SIMD (CMake: SSE_SIMD=OFF) builds no SIMD code at all: only the
 * portable scanners below, the reference every SIMD tier must agree with. */
#if !defined(SSE_NO_SIMD) && \
    (defined(__SSE2__) || defined(_M_X64) || \
     (defined(_M_IX86_FP) && _M_IX86_FP >= 2))
#  include <emmintrin.h>
#  define SSE__HAVE_SSE2 1
#endif
/* AVX2 chosen at run time: x86-64 with GCC or Clang (target attributes and
 * __builtin_cpu_supports), unless the build already targets AVX2. */
#if defined(SSE__HAVE_SSE2) && defined(__x86_64__) && defined(__GNUC__) && \
    !defined(__AVX2__) && \
    (defined(__clang__) || __GNUC__ >= 5)
#  define SSE__HAVE_AVX2_RUNTIME 1
#endif

/* The first CR or LF in [p, end), or NULL. Uses SIMD where available (SSE2,
 * AVX2 when the CPU has it); sse__find_eol_portable is the word-at-a-time
 * fallback, kept callable so tests compare the two. */
const char *sse__find_eol(const char *p, const char *end);
const char *sse__find_eol_portable(const char *p, const char *end);

/* Copies the bytes of [p, end) up to the first CR or LF into dst and returns
 * that line end, or NULL after copying all end - p bytes. dst must have room
 * for end - p bytes, which may all be written. */
const char *sse__copy_to_eol(char *dst, const char *p, const char *end);

/* Bit k set when p[k] is CR or LF, for the 64 bytes at p (all readable). */
uint64_t sse__eol_mask64_portable(const char *p);

/* The index of the lowest set bit; x must not be 0. */
static inline unsigned sse__ctz64(uint64_t x) {
#if defined(__GNUC__)
  return (unsigned)__builtin_ctzll(x);
#else
  unsigned n = 0;
  while (!(x & 1)) {
    x >>= 1;
    n++;
  }
  return n;
#endif
}

#ifdef SSE__HAVE_SSE2
/* Bit k set when p[k] is CR or LF, for the 16 bytes at p. */
static inline unsigned sse__eol_mask16(const char *p) {
  const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
  return (unsigned)_mm_movemask_epi8(
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                   _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))));
}
#endif

/* As sse__eol_mask64_portable, inline and with SIMD where available. */
static inline uint64_t sse__eol_mask64(const char *p) {
#ifdef SSE__HAVE_SSE2
  return (uint64_t)sse__eol_mask16(p) |
         (uint64_t)sse__eol_mask16(p + 16) << 16 |
         (uint64_t)sse__eol_mask16(p + 32) << 32 |
         (uint64_t)sse__eol_mask16(p + 48) << 48;
#else
  return sse__eol_mask64_portable(p);
#endif
}

/* --- UTF-8 (utf8.c) ------------------------------------------------------- */

/* Length of the longest prefix of s that is valid UTF-8 (n when all is). */
size_t sse__utf8_valid_prefix(const unsigned char *s, size_t n);

/* How many bytes at the end of s (0 to 3) are the start of a well-formed
 * sequence cut short, which the next bytes may complete. */
size_t sse__utf8_cut_tail(const unsigned char *s, size_t n);

/* Writes s to out with every maximal invalid subpart replaced by U+FFFD, as
 * the WHATWG UTF-8 decoder does, treating the end of s as the end of input.
 * out must hold 3 * n bytes. Returns the bytes written. */
size_t sse__utf8_repair(const unsigned char *s, size_t n, unsigned char *out);

#endif /* SSE_INTERNAL_H */
