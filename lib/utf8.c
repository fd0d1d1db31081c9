/* The WHATWG "UTF-8 decode" step, on byte strings: validity checks and
 * replacement of invalid sequences with U+FFFD. */
#include <stdint.h>

#include "internal.h"

/* Length of the well-formed sequence starting at s[0] (0 when it is not
 * one), and in *bad how many bytes the maximal invalid subpart there
 * spans. Follows the decoder's lower/upper boundary rules exactly. */
static size_t seq_len(const unsigned char *s, size_t n, size_t *bad) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t need, i;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    need = 1;
  else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0)
      lo = 0xA0;
    if (c == 0xED)
      hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0)
      lo = 0x90;
    if (c == 0xF4)
      hi = 0x8F;
  } else {
    *bad = 1;
    return 0;
  }
  for (i = 1; i <= need; i++) {
    if (i >= n || s[i] < lo || s[i] > hi) {
      *bad = i; /* the lead and the continuation bytes that fitted */
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need + 1;
}

size_t sse__utf8_valid_prefix(const unsigned char *s, size_t n) {
  size_t i = 0, bad;
  while (i < n) {
    /* ASCII runs eight bytes at a time. */
    while (n - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & UINT64_C(0x8080808080808080))
        break;
      i += 8;
    }
    if (i >= n)
      break;
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    {
      size_t k = seq_len(s + i, n - i, &bad);
      if (!k)
        return i;
      i += k;
    }
  }
  return n;
}

size_t sse__utf8_repair(const unsigned char *s, size_t n, unsigned char *out) {
  size_t i = 0, o = 0, bad;
  while (i < n) {
    size_t k = seq_len(s + i, n - i, &bad);
    if (k) {
      memcpy(out + o, s + i, k);
      o += k;
      i += k;
    } else {
      out[o++] = 0xEF;
      out[o++] = 0xBF;
      out[o++] = 0xBD;
      i += bad;
    }
  }
  return o;
}

size_t sse__utf8_cut_tail(const unsigned char *s, size_t n) {
  size_t k, bad;
  for (k = 1; k <= 3 && k <= n; k++) {
    unsigned char c = s[n - k];
    if (c >= 0x80 && c <= 0xBF)
      continue; /* a continuation byte: the lead is further back */
    /* A lead byte cut short leaves a well-formed start that ran out. */
    if (c >= 0xC2 && c <= 0xF4 && !seq_len(s + n - k, k, &bad) && bad == k)
      return k;
    return 0;
  }
  return 0;
}
