/* Finding line ends (CR or LF) fast: the decoder's and encoder's inner loop.
 *
 * Three tiers, all returning the same answers (tests compare them):
 *  - portable: eight bytes at a time in a 64-bit word (SWAR);
 *  - SSE2, whenever the compiler targets it (every x86-64): 64 bytes per
 *    step, compares OR-ed together so one movemask tests a whole step;
 *  - AVX2 on x86-64 with GCC or Clang, chosen at run time from the CPU's
 *    feature bits, for scans long enough to repay the check.
 * SSE_NO_SIMD (internal.h) leaves only the portable tier.
 */
#include <stdint.h>

#include "internal.h"

#define ONES UINT64_C(0x0101010101010101)
#define LOWS UINT64_C(0x7F7F7F7F7F7F7F7F)

/* High bit set in each byte of w that is zero, exactly (no false
 * positives from borrows, unlike the cheaper (w - ONES) & ~w test). */
static inline uint64_t zero_bytes(uint64_t w) {
  return ~(((w & LOWS) + LOWS) | w | LOWS);
}

static inline uint64_t eol_bytes(uint64_t w) {
  return zero_bytes(w ^ (ONES * '\n')) | zero_bytes(w ^ (ONES * '\r'));
}

static const char *find_bytewise(const char *p, const char *end) {
  for (; p < end; p++)
    if (*p == '\n' || *p == '\r')
      return p;
  return NULL;
}

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#  define SSE__LITTLE_ENDIAN 1
#endif

const char *sse__find_eol_portable(const char *p, const char *end) {
  while (end - p >= 8) {
    uint64_t w, m;
    memcpy(&w, p, 8);
    m = eol_bytes(w);
    if (m) {
#if defined(SSE__LITTLE_ENDIAN) && defined(__GNUC__)
      return p + (__builtin_ctzll(m) >> 3);
#else
      return find_bytewise(p, p + 8);
#endif
    }
    p += 8;
  }
  return find_bytewise(p, end);
}

uint64_t sse__eol_mask64_portable(const char *p) {
  uint64_t mask = 0;
  int i;
#ifdef SSE__LITTLE_ENDIAN
  /* Gathers the high bit of byte k into bit k: the eight partial products
   * land on distinct bits, so nothing carries. */
  for (i = 0; i < 8; i++) {
    uint64_t w;
    memcpy(&w, p + 8 * i, 8);
    mask |= (((eol_bytes(w) >> 7) * UINT64_C(0x0102040810204080)) >> 56)
            << (8 * i);
  }
#else
  for (i = 0; i < 64; i++)
    mask |= (uint64_t)(p[i] == '\n' || p[i] == '\r') << i;
#endif
  return mask;
}

#ifdef SSE__HAVE_SSE2
/* Nonzero when one of the 64 bytes at p is CR or LF. */
static inline unsigned any64(const char *p) {
  const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
  __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
  __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
  __m128i e = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
  __m128i x = _mm_or_si128(_mm_cmpeq_epi8(a, lf), _mm_cmpeq_epi8(a, cr));
  __m128i y = _mm_or_si128(_mm_cmpeq_epi8(b, lf), _mm_cmpeq_epi8(b, cr));
  __m128i z = _mm_or_si128(_mm_cmpeq_epi8(c, lf), _mm_cmpeq_epi8(c, cr));
  __m128i w = _mm_or_si128(_mm_cmpeq_epi8(e, lf), _mm_cmpeq_epi8(e, cr));
  return (unsigned)_mm_movemask_epi8(
      _mm_or_si128(_mm_or_si128(x, y), _mm_or_si128(z, w)));
}

static const char *find_eol_sse2(const char *p, const char *end) {
  const char *start = p;
  unsigned m;
  while (end - p >= 64) {
    SSE__PREFETCH_AHEAD(p);
    if (any64(p))
      return p + sse__ctz64(sse__eol_mask64(p));
    p += 64;
  }
  while (end - p >= 16) {
    m = sse__eol_mask16(p);
    if (m)
      return p + sse__ctz64(m);
    p += 16;
  }
  if (p == end)
    return NULL;
  if (end - start >= 16) {
    /* The last bytes: one load that overlaps bytes already checked. */
    m = sse__eol_mask16(end - 16) >> (16 - (end - p));
    return m ? p + sse__ctz64(m) : NULL;
  }
  return find_bytewise(p, end);
}
#endif

#if defined(SSE__HAVE_AVX2_RUNTIME) || \
    (defined(SSE__HAVE_SSE2) && defined(__AVX2__))
#  include <immintrin.h>
#  define SSE__HAVE_AVX2 1
#  ifdef SSE__HAVE_AVX2_RUNTIME
#    define AVX2_FN __attribute__((target("avx2"))) static
#  else
#    define AVX2_FN static
#  endif

AVX2_FN const char *find_eol_avx2(const char *p, const char *end) {
  const __m256i lf = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r');
  while (end - p >= 64) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
    __m256i x = _mm256_or_si256(_mm256_cmpeq_epi8(a, lf),
                                _mm256_cmpeq_epi8(a, cr));
    __m256i y = _mm256_or_si256(_mm256_cmpeq_epi8(b, lf),
                                _mm256_cmpeq_epi8(b, cr));
    SSE__PREFETCH_AHEAD(p);
    if (!_mm256_testz_si256(_mm256_or_si256(x, y), _mm256_or_si256(x, y))) {
      uint64_t m = (uint32_t)_mm256_movemask_epi8(x) |
                   (uint64_t)(uint32_t)_mm256_movemask_epi8(y) << 32;
      return p + sse__ctz64(m);
    }
    p += 64;
  }
  return find_eol_sse2(p, end);
}
#endif

/* sse__copy_to_eol: copies 64 bytes per step while testing them, so each
 * byte is loaded once. A step may store bytes past the line end: they lie
 * within the end - p bytes dst has room for, and the caller ignores them. */
#ifdef SSE__HAVE_SSE2
static const char *copy_to_eol_sse2(char *dst, const char *p,
                                    const char *end) {
  const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
  const char *e;
  while (end - p >= 64) {
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
    __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
    __m128i t = _mm_or_si128(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(a, lf), _mm_cmpeq_epi8(a, cr)),
                     _mm_or_si128(_mm_cmpeq_epi8(b, lf), _mm_cmpeq_epi8(b, cr))),
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(c, lf), _mm_cmpeq_epi8(c, cr)),
                     _mm_or_si128(_mm_cmpeq_epi8(w, lf), _mm_cmpeq_epi8(w, cr))));
    SSE__PREFETCH_AHEAD(p);
    _mm_storeu_si128((__m128i *)(void *)dst, a);
    _mm_storeu_si128((__m128i *)(void *)(dst + 16), b);
    _mm_storeu_si128((__m128i *)(void *)(dst + 32), c);
    _mm_storeu_si128((__m128i *)(void *)(dst + 48), w);
    if (_mm_movemask_epi8(t))
      return p + sse__ctz64(sse__eol_mask64(p));
    p += 64;
    dst += 64;
  }
  e = find_eol_sse2(p, end);
  memcpy(dst, p, (size_t)((e ? e : end) - p));
  return e;
}
#endif

#ifdef SSE__HAVE_AVX2
AVX2_FN const char *copy_to_eol_avx2(char *dst, const char *p,
                                     const char *end) {
  const __m256i lf = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r');
  while (end - p >= 64) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
    __m256i x = _mm256_or_si256(_mm256_cmpeq_epi8(a, lf),
                                _mm256_cmpeq_epi8(a, cr));
    __m256i y = _mm256_or_si256(_mm256_cmpeq_epi8(b, lf),
                                _mm256_cmpeq_epi8(b, cr));
    __m256i t = _mm256_or_si256(x, y);
    SSE__PREFETCH_AHEAD(p);
    _mm256_storeu_si256((__m256i *)(void *)dst, a);
    _mm256_storeu_si256((__m256i *)(void *)(dst + 32), b);
    if (!_mm256_testz_si256(t, t)) {
      uint64_t m = (uint32_t)_mm256_movemask_epi8(x) |
                   (uint64_t)(uint32_t)_mm256_movemask_epi8(y) << 32;
      return p + sse__ctz64(m);
    }
    p += 64;
    dst += 64;
  }
  return copy_to_eol_sse2(dst, p, end);
}
#endif

const char *sse__copy_to_eol(char *dst, const char *p, const char *end) {
#if defined(SSE__HAVE_AVX2_RUNTIME)
  if (end - p >= 256 && __builtin_cpu_supports("avx2"))
    return copy_to_eol_avx2(dst, p, end);
#elif defined(SSE__HAVE_AVX2)
  if (end - p >= 256)
    return copy_to_eol_avx2(dst, p, end);
#endif
#ifdef SSE__HAVE_SSE2
  return copy_to_eol_sse2(dst, p, end);
#else
  {
    const char *e = sse__find_eol_portable(p, end);
    memcpy(dst, p, (size_t)((e ? e : end) - p));
    return e;
  }
#endif
}

const char *sse__find_eol(const char *p, const char *end) {
#if defined(SSE__HAVE_AVX2_RUNTIME)
  /* The feature test is a load and a test; worth it past a few blocks. */
  if (end - p >= 256 && __builtin_cpu_supports("avx2"))
    return find_eol_avx2(p, end);
#elif defined(SSE__HAVE_AVX2)
  if (end - p >= 256)
    return find_eol_avx2(p, end);
#endif
#ifdef SSE__HAVE_SSE2
  return find_eol_sse2(p, end);
#else
  return sse__find_eol_portable(p, end);
#endif
}
