/* The decoder's fast paths, included by decoder.c only (unless
 * SSE_NO_FAST_PATHS), after the reference helpers they build on, so that
 * they inline into its loop. Each must give exactly what the reference
 * path gives (decoder.c: line_done, partial_bytes): CMake's
 * SSE_FAST_PATHS=OFF builds without them, and the same tests run both.
 *  - chunk_line: data lines inside the chunk appended to dbuf inline;
 *  - next_eol: line ends found 64 bytes at a time;
 *  - data_run: a data line continued from an earlier chunk copied into
 *    dbuf while scanned, before run() takes over. */
#ifndef SSE_DECODER_FAST_H
#define SSE_DECODER_FAST_H

/* Copies a short line's value (memcpy, without the call for the usual
 * lengths). */
static SSE__INLINE void copy_value(char *dst, const char *src, size_t n) {
  uint64_t a, b;
  uint32_t x, y;
  if (n > 64) {
    memcpy(dst, src, n);
  } else if (n >= 16) {
    size_t i;
    for (i = 0; i + 16 < n; i += 16)
      memcpy(dst + i, src + i, 16);
    memcpy(dst + n - 16, src + n - 16, 16); /* overlaps the last step */
  } else if (n >= 8) {
    memcpy(&a, src, 8);
    memcpy(&b, src + n - 8, 8);
    memcpy(dst, &a, 8);
    memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4) {
    memcpy(&x, src, 4);
    memcpy(&y, src + n - 4, 4);
    memcpy(dst, &x, 4);
    memcpy(dst + n - 4, &y, 4);
  } else {
    while (n--)
      *dst++ = *src++;
  }
}

/* line_done for a line inside the chunk, with data lines (the bulk of
 * every stream) handled inline. */
static SSE__INLINE int chunk_line(sse_decoder *d, const char *s, size_t n,
                                  const char *end) {
  const char *v;
  sse__buf *b;
  if (n == 0)
    return dispatch(d);
  if (n < 5 || memcmp(s, "data:", 5) != 0 || d->skipping ||
      n > d->max_line || streaming(d))
    return line_done(d, s, n);
  v = s + 5;
  n -= 5;
  if (n && *v == ' ') {
    v++;
    n--;
  }
  if (!d->have_data) { /* the first: passed by pointer, as in data_line */
    if (n >= d->max_event) /* the value and its LF do not fit */
      return data_line(d, s, v, n);
    set_mark_data(d, s);
    d->have_data = 1;
    d->data = v;
    d->data_len = n;
    return SSE_OK;
  }
  b = &d->dbuf;
  if (d->data != b->p || n >= b->cap - b->len || !fits(d, n + 1))
    return data_join(d, v, n);
  /* A further data line, the data already in dbuf with room to spare. */
  b->p[b->len] = '\n';
  if (n <= 128 && end - v >= 128 && b->cap - b->len > 128)
    memcpy(b->p + b->len + 1, v, 128); /* no branch on n: bytes past n are
                                          scratch inside both buffers */
  else
    copy_value(b->p + b->len + 1, v, n);
  b->len += n + 1;
  d->data_len = b->len;
  return SSE_OK;
}

/* The line ends of the chunk being fed, found 64 bytes at a time: bit k of
 * mask is set when base[k] is CR or LF, for the bytes [base, stop). */
typedef struct eols {
  const char *base;
  const char *stop;
  uint64_t mask;
} eols;

/* The first CR or LF in [p, end), or NULL; p never moves backwards between
 * calls on the same eols. */
static SSE__INLINE const char *next_eol(eols *s, const char *p,
                                        const char *end) {
  uint64_t m;
  size_t i, n;
  if (p < s->stop) {
    m = s->mask >> (p - s->base);
    if (m)
      return p + sse__ctz64(m);
    p = s->stop;
  }
  if (end - p >= 64) {
    SSE__PREFETCH_AHEAD(p); /* lines stall less on memory */
    s->base = p;
    s->stop = p + 64;
    s->mask = sse__eol_mask64(p);
    if (s->mask)
      return p + sse__ctz64(s->mask);
    p += 64;
    if (end - p >= 64) {
      s->base = p;
      s->stop = p + 64;
      s->mask = sse__eol_mask64(p);
      if (s->mask)
        return p + sse__ctz64(s->mask);
      /* A long line: skip ahead with the fastest scan. */
      p = sse__find_eol(p + 64, end);
      if (p) {
        s->base = p;
        s->stop = p + 1;
        s->mask = 1;
      }
      return p;
    }
  }
  /* The last bytes of the chunk. */
  n = (size_t)(end - p);
  m = 0;
  for (i = 0; i < n; i++)
    m |= (uint64_t)(p[i] == '\n' || p[i] == '\r') << i;
  s->base = p;
  s->stop = end;
  s->mask = m;
  return m ? p + sse__ctz64(m) : NULL;
}

/* Long pieces of a data line continued from an earlier chunk: see
 * data_run. n (>= 256) bytes are within the limits. A failed reserve stops
 * the run where it is (*rc = SSE_E_NOMEM), even when the line would have
 * fitted: every NULL from the allocator is reported. */
static const char *data_run_long(sse_decoder *d, const char *p, size_t n,
                                 int *rc) {
  sse__buf *b = &d->dbuf;
  size_t room, k;
  const char *e;
  while (n >= 256) {
    room = b->cap - b->len;
    if (room < 4096) {
      *rc = sse__buf_reserve(&d->mem, b, n < 4096 ? n : 4096, d->max_event);
      if (*rc != SSE_OK)
        break;
      d->data = b->p;
      room = b->cap - b->len;
    }
    if (room > n)
      room = n;
    e = sse__copy_to_eol(b->p + b->len, p, p + room);
    k = (size_t)((e ? e : p + room) - p);
    b->len += k;
    d->data_len += k;
    d->line_len += k;
    p += k;
    n -= k;
    if (e)
      break;
  }
  return p;
}

/* A data line continued from an earlier chunk, buffered: copies its bytes
 * into dbuf while looking for its end, in one pass, as far as the limits
 * surely allow. Returns where it stopped (the line end, the chunk end, or
 * short of a limit, which the general path then judges and reports, or of
 * memory, with *rc set). */
static SSE__INLINE const char *data_run(sse_decoder *d, const char *p,
                                        const char *end, int *rc) {
  sse__buf *b = &d->dbuf;
  size_t n = (size_t)(end - p), k;
  if (d->line_len >= d->max_line || d->data_len >= d->max_event - 1)
    return p;
  if (n > d->max_line - d->line_len)
    n = d->max_line - d->line_len;
  if (n > d->max_event - 1 - d->data_len)
    n = d->max_event - 1 - d->data_len;
  if (n >= 256)
    return data_run_long(d, p, n, rc);
  if (n > b->cap - b->len) /* a short piece, e.g. a byte at a time */
    return p;
  for (k = 0; k < n && p[k] != '\n' && p[k] != '\r'; k++)
    ;
  copy_value(b->p + b->len, p, k);
  b->len += k;
  d->data_len += k;
  d->line_len += k;
  return p + k;
}

#endif
