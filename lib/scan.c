/* Finding line ends (CR or LF) fast: the decoder's and encoder's inner loop. */
#include <stdint.h>

#include "internal.h"

#if defined(__SSE2__)
#  include <emmintrin.h>
#  define SSE__HAVE_SSE2 1
#endif

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Nonzero when some byte of w is zero (exact as a yes/no answer). */
static inline uint64_t has_zero(uint64_t w) { return (w - ONES) & ~w & HIGHS; }

static const char *find_bytewise(const char *p, const char *end) {
  for (; p < end; p++)
    if (*p == '\n' || *p == '\r')
      return p;
  return NULL;
}

const char *sse__find_eol_portable(const char *p, const char *end) {
  while (end - p >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    if (has_zero(w ^ (ONES * '\n')) | has_zero(w ^ (ONES * '\r')))
      return find_bytewise(p, p + 8);
    p += 8;
  }
  return find_bytewise(p, end);
}

#ifdef SSE__HAVE_SSE2
static inline unsigned eol_mask(const char *p) {
  const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
  const __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
  return (unsigned)_mm_movemask_epi8(m);
}

const char *sse__find_eol(const char *p, const char *end) {
  unsigned m;
  /* Short lines are the common case: look at the first 16 bytes alone. */
  while (end - p >= 16) {
    m = eol_mask(p);
    if (m)
      return p + __builtin_ctz(m);
    p += 16;
    /* Then 64 bytes per iteration for long lines. */
    while (end - p >= 64) {
      m = eol_mask(p) | eol_mask(p + 16) | eol_mask(p + 32) |
          eol_mask(p + 48);
      if (m)
        break;
      p += 64;
    }
  }
  return find_bytewise(p, end);
}
#else
const char *sse__find_eol(const char *p, const char *end) {
  return sse__find_eol_portable(p, end);
}
#endif
