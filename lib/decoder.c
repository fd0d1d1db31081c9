/*
 * The incremental text/event-stream decoder.
 *
 * Two paths share the field logic. Lines that lie wholly inside the chunk
 * being fed are processed in place (line_done), and their values are handed
 * out by pointer. A line cut by the end of a chunk is carried across feeds:
 * its start is gathered in `lb` until its field is known; a data line then
 * streams its value straight into the data buffer (or to on_data), any
 * other line keeps gathering in `lb` and is processed at its end. Every byte
 * is scanned once, so the cost is linear for any chunking.
 *
 * Pointers into the caller's chunk (d->data, d->type) are copied into owned
 * buffers before feed returns ("materialize"), and whenever the line they
 * point into was the reused `lb`.
 */
#include <stdint.h>

#include "internal.h"

enum {
  LINE_NONE, /* at the start of a line */
  LINE_BUF,  /* gathering a partial line in lb */
  LINE_DATA, /* inside a data line's value: appended to dbuf or streamed */
  LINE_SKIP  /* ignoring the rest of the line (block being discarded) */
};

/* Bytes of a partial line gathered before deciding whether it is a data
 * line: "data:" plus the possible space. */
#define CLASSIFY_LEN 6
#define BOM_DONE 3

static const char BOM[3] = {'\xEF', '\xBB', '\xBF'};

struct sse_decoder {
  sse_decoder_callbacks cb;
  void *user;
  sse_allocator mem;
  size_t max_line;
  size_t max_event;
  unsigned options;
  int error;               /* sticky error, SSE_OK when none */
  unsigned char line;      /* LINE_* */
  unsigned char cr;        /* a chunk ended with CR: swallow one LF next */
  unsigned char bom;       /* BOM bytes matched at stream start, or BOM_DONE */
  unsigned char busy;      /* inside feed/finish/reset: callbacks running */
  unsigned char finished;  /* finish() was called */
  unsigned char have_data; /* the block has a data line */
  unsigned char skipping;  /* discarding the block up to the next blank line */
  unsigned char id_dirty;  /* idbuf holds an id not yet committed */
  size_t line_len;         /* bytes of the current partial line so far */
  const char *resume;      /* a whole line paused inside: resume here */
  const char *data;        /* the data: into the chunk, lb or dbuf */
  size_t data_len;         /* its length (streamed bytes with on_data) */
  size_t out_len;          /* bytes passed to on_data for this event */
  unsigned char carry[4];  /* on_data with UTF-8: a sequence cut by a piece */
  unsigned char carry_len;
  const char *type;        /* the event type: into the chunk, lb or tbuf */
  size_t type_len;
  sse__buf dbuf;  /* data that had to be copied */
  sse__buf tbuf;  /* event type that had to be copied */
  sse__buf lb;    /* a partial line */
  sse__buf idbuf; /* the last event ID buffer, while id_dirty */
  sse__buf last;  /* the last event ID string */
  sse__buf fix;   /* UTF-8 repairs */
};

/* ------------------------------------------------------------------------ */

static int cb_result(sse_decoder *d, int r) {
  if (r == SSE_OK || r == SSE_PAUSE)
    return r;
  d->error = SSE_E_CALLBACK;
  return SSE_E_CALLBACK;
}

static int fail(sse_decoder *d, int code) {
  d->error = code;
  return code;
}

static void clear_block(sse_decoder *d) {
  d->have_data = 0;
  d->data = NULL;
  d->data_len = 0;
  d->out_len = 0;
  d->carry_len = 0;
  d->dbuf.len = 0;
  d->type_len = 0;
}

static int streaming(const sse_decoder *d) { return d->cb.on_data != NULL; }

/* Copies chunk- or lb-backed values into owned buffers. */
static int materialize_now(sse_decoder *d) {
  int rc;
  if (d->have_data && !streaming(d) && d->data != d->dbuf.p) {
    d->dbuf.len = 0;
    rc = sse__buf_append(&d->mem, &d->dbuf, d->data, d->data_len,
                         d->max_event);
    if (rc != SSE_OK)
      return fail(d, rc);
    d->data = d->dbuf.p;
  }
  if (d->type_len && d->type != d->tbuf.p) {
    d->tbuf.len = 0;
    rc = sse__buf_append(&d->mem, &d->tbuf, d->type, d->type_len,
                         d->max_line);
    if (rc != SSE_OK)
      return fail(d, rc);
    d->type = d->tbuf.p;
  }
  return SSE_OK;
}

static SSE__INLINE int materialize(sse_decoder *d) {
  if ((d->have_data && !streaming(d) && d->data != d->dbuf.p) ||
      (d->type_len && d->type != d->tbuf.p))
    return materialize_now(d);
  return SSE_OK;
}

/* A limit was exceeded by the current line: fail, or discard the block. */
static int over_limit(sse_decoder *d, int code) {
  if (!(d->options & SSE_DECODER_SKIP_OVERSIZE))
    return fail(d, code);
  d->skipping = 1;
  clear_block(d);
  if (d->line != LINE_NONE)
    d->line = LINE_SKIP;
  return d->cb.on_discard ? cb_result(d, d->cb.on_discard(d->user, code))
                          : SSE_OK;
}

/* ------------------------------------------------------------------------ */
/* Data lines. The standard's data buffer holds each value plus an LF; its
 * length is data_len + 1 once a data line was seen.
 *
 * When max_event is checked: buffered data lines are checked as they end
 * (a partial one is bounded by max_line meanwhile), so a line over both
 * limits fails on max_line whatever the chunking; data streamed to on_data
 * has no line limit and is checked as it arrives. */

/* Whether the data buffer can grow by `more` bytes within max_event. */
static int fits(const sse_decoder *d, size_t more) {
  size_t have = d->have_data ? d->data_len + 1 : 0;
  return more <= d->max_event && have <= d->max_event - more;
}

/* Empties d->fix with room for `in` bytes and their repair after them. */
static int fix_room(sse_decoder *d, size_t in) {
  d->fix.len = 0;
  if (in > (size_t)-1 / 4)
    return SSE_E_NOMEM;
  return sse__buf_reserve(&d->mem, &d->fix, 4 * in, 4 * in);
}

/* Passes a piece of data to on_data. With SSE_DECODER_UTF8 the piece is
 * repaired first, and a sequence cut at its end is held back in d->carry
 * until the next piece of the line completes it or the line ends (last). */
static int emit(sse_decoder *d, const char *s, size_t n, int last) {
  const char *b = s;
  size_t len = n, tail = 0;
  int rc;
  if (!(d->options & SSE_DECODER_UTF8)) {
    d->out_len += n;
    return n ? cb_result(d, d->cb.on_data(d->user, s, n)) : SSE_OK;
  }
  if (d->carry_len) { /* rare: join the held bytes and the piece */
    len = d->carry_len + n;
    if ((rc = fix_room(d, len)) != SSE_OK)
      return fail(d, rc);
    memcpy(d->fix.p, d->carry, d->carry_len);
    if (n)
      memcpy(d->fix.p + d->carry_len, s, n);
    b = d->fix.p;
    d->carry_len = 0;
  }
  if (!last)
    tail = sse__utf8_cut_tail((const unsigned char *)b, len);
  len -= tail;
  if (sse__utf8_valid_prefix((const unsigned char *)b, len) != len) {
    char *out;
    if (b != d->fix.p) {
      if ((rc = fix_room(d, len + tail)) != SSE_OK)
        return fail(d, rc);
      memcpy(d->fix.p, b, len + tail);
      b = d->fix.p;
    }
    out = d->fix.p + len + tail; /* repairs go after the input */
    memcpy(d->carry, b + len, tail);
    d->carry_len = (unsigned char)tail;
    len = sse__utf8_repair((const unsigned char *)b, len, (unsigned char *)out);
    b = out;
  } else {
    memcpy(d->carry, b + len, tail);
    d->carry_len = (unsigned char)tail;
  }
  d->out_len += len;
  return len ? cb_result(d, d->cb.on_data(d->user, b, len)) : SSE_OK;
}

/* Starts a data line whose value will follow through data_bytes(). */
static int data_begin(sse_decoder *d) {
  int rc;
  if (streaming(d) && !fits(d, 1)) /* the line's LF */
    return over_limit(d, SSE_E_EVENT_TOO_LARGE);
  if (!d->have_data) {
    d->have_data = 1;
    d->data = d->dbuf.p;
    d->data_len = 0;
    d->dbuf.len = 0;
    return SSE_OK;
  }
  if (streaming(d)) {
    d->data_len++;
    return emit(d, "\n", 1, 1);
  }
  rc = materialize(d);
  if (rc == SSE_OK)
    rc = sse__buf_append(&d->mem, &d->dbuf, "\n", 1, d->max_event);
  if (rc != SSE_OK)
    return fail(d, rc);
  d->data = d->dbuf.p;
  d->data_len++;
  return SSE_OK;
}

/* Appends n bytes to the value of the current data line; last says they
 * end it. */
static int data_bytes(sse_decoder *d, const char *s, size_t n, int last) {
  int rc;
  if (streaming(d)) {
    if (n && !fits(d, n))
      return over_limit(d, SSE_E_EVENT_TOO_LARGE);
    d->data_len += n;
    return emit(d, s, n, last);
  }
  if (n == 0)
    return SSE_OK;
  d->data_len += n; /* checked against max_event when the line ends */
  rc = sse__buf_append(&d->mem, &d->dbuf, s, n, d->max_event);
  if (rc != SSE_OK)
    return fail(d, rc);
  d->data = d->dbuf.p;
  return SSE_OK;
}

/* A whole data line whose value is in memory that outlives this call. */
static int data_line(sse_decoder *d, const char *v, size_t n) {
  int rc;
  if (n >= (size_t)-1 || !fits(d, n + 1)) /* the value and its LF */
    return over_limit(d, SSE_E_EVENT_TOO_LARGE);
  if (!d->have_data && !streaming(d)) {
    /* The first data line is passed by pointer: no copy. */
    d->have_data = 1;
    d->data = v;
    d->data_len = n;
    return SSE_OK;
  }
  rc = data_begin(d);
  if (rc == SSE_PAUSE && n && !d->skipping) {
    /* on_data paused on the joining LF: the value is not consumed; the
     * rest of the line goes on as a partial data line on resume. (A line
     * gathered in lb never gets here with a value: it was classified.) */
    d->line = LINE_DATA;
    d->line_len = 0;
    d->resume = v;
    return rc;
  }
  if (rc != SSE_OK || d->skipping)
    return rc;
  return data_bytes(d, v, n, 1);
}

/* ------------------------------------------------------------------------ */
/* Dispatch. */

/* Repairs *s in place for SSE_DECODER_UTF8, writing into d->fix at *off. */
static void repair(sse_decoder *d, const char **s, size_t *n, size_t *off) {
  size_t k;
  if (sse__utf8_valid_prefix((const unsigned char *)*s, *n) == *n)
    return;
  k = sse__utf8_repair((const unsigned char *)*s, *n,
                       (unsigned char *)d->fix.p + *off);
  *s = d->fix.p + *off;
  *n = k;
  *off += k;
}

static int utf8_reserve(sse_decoder *d, size_t total) {
  d->fix.len = 0;
  if (total > (size_t)-1 / 3)
    return SSE_E_NOMEM;
  return sse__buf_reserve(&d->mem, &d->fix, 3 * total, 3 * total);
}

static int fix_event(sse_decoder *d, sse_event *ev) {
  size_t off = 0;
  size_t total = ev->type_len + ev->id_len + (ev->data ? ev->data_len : 0);
  int rc;
  if (sse__utf8_valid_prefix((const unsigned char *)ev->type, ev->type_len) ==
          ev->type_len &&
      sse__utf8_valid_prefix((const unsigned char *)ev->id, ev->id_len) ==
          ev->id_len &&
      (!ev->data ||
       sse__utf8_valid_prefix((const unsigned char *)ev->data, ev->data_len) ==
           ev->data_len))
    return SSE_OK;
  rc = utf8_reserve(d, total);
  if (rc != SSE_OK)
    return fail(d, rc);
  repair(d, &ev->type, &ev->type_len, &off);
  repair(d, &ev->id, &ev->id_len, &off);
  if (ev->data)
    repair(d, &ev->data, &ev->data_len, &off);
  return SSE_OK;
}

static int dispatch(sse_decoder *d) {
  sse_event ev;
  int rc;
  if (d->skipping) {
    /* The end of a discarded block: nothing of it is applied. */
    d->skipping = 0;
    d->id_dirty = 0;
    clear_block(d);
    return SSE_OK;
  }
  if (d->id_dirty) {
    sse__buf t = d->last;
    d->last = d->idbuf;
    d->idbuf = t;
    d->id_dirty = 0;
  }
  if (!d->have_data) {
    d->type_len = 0;
    return SSE_OK;
  }
  if (d->type_len) {
    ev.type = d->type;
    ev.type_len = d->type_len;
  } else {
    ev.type = "message";
    ev.type_len = 7;
  }
  ev.data = streaming(d) ? NULL : (d->data ? d->data : "");
  ev.data_len = streaming(d) ? d->out_len : d->data_len;
  ev.id = d->last.len ? d->last.p : "";
  ev.id_len = d->last.len;
  if (d->options & SSE_DECODER_UTF8) {
    rc = fix_event(d, &ev);
    if (rc != SSE_OK)
      return rc;
  }
  /* The block is over; the bytes ev points at stay untouched until the
   * callback returns, since the callback cannot feed this decoder. */
  clear_block(d);
  return d->cb.on_event ? cb_result(d, d->cb.on_event(d->user, &ev)) : SSE_OK;
}

/* ------------------------------------------------------------------------ */
/* Whole lines. */

static int on_comment(sse_decoder *d, const char *s, size_t n) {
  int rc;
  if (n && *s == ' ') {
    s++;
    n--;
  }
  if ((d->options & SSE_DECODER_UTF8) &&
      sse__utf8_valid_prefix((const unsigned char *)s, n) != n) {
    rc = utf8_reserve(d, n);
    if (rc != SSE_OK)
      return fail(d, rc);
    n = sse__utf8_repair((const unsigned char *)s, n,
                         (unsigned char *)d->fix.p);
    s = d->fix.p;
  }
  return cb_result(d, d->cb.on_comment(d->user, s, n));
}

static int on_retry(sse_decoder *d, const char *s, size_t n) {
  uint64_t v = 0;
  size_t i;
  if (n == 0)
    return SSE_OK;
  for (i = 0; i < n; i++) {
    unsigned c = (unsigned char)s[i] - '0';
    if (c > 9)
      return SSE_OK; /* not all ASCII digits: ignored */
    if (v > (UINT64_MAX - c) / 10)
      v = UINT64_MAX;
    else
      v = v * 10 + c;
  }
  return d->cb.on_retry ? cb_result(d, d->cb.on_retry(d->user, v)) : SSE_OK;
}

static int on_id(sse_decoder *d, const char *s, size_t n) {
  int rc;
  if (n && memchr(s, 0, n))
    return SSE_OK; /* an id containing NUL is ignored */
  d->idbuf.len = 0;
  rc = sse__buf_append(&d->mem, &d->idbuf, s, n, d->max_line);
  if (rc != SSE_OK)
    return fail(d, rc);
  d->id_dirty = 1;
  return SSE_OK;
}

/* Field names: what the line starts with, up to the colon. */
enum { F_UNKNOWN, F_DATA, F_EVENT, F_ID, F_RETRY };

static int field_of(const char *s, size_t n, size_t *name_len) {
  switch (s[0]) {
  case 'd':
    if (n >= 4 && s[1] == 'a' && s[2] == 't' && s[3] == 'a' &&
        (n == 4 || s[4] == ':')) {
      *name_len = 4;
      return F_DATA;
    }
    break;
  case 'e':
    if (n >= 5 && memcmp(s, "event", 5) == 0 && (n == 5 || s[5] == ':')) {
      *name_len = 5;
      return F_EVENT;
    }
    break;
  case 'i':
    if (n >= 2 && s[1] == 'd' && (n == 2 || s[2] == ':')) {
      *name_len = 2;
      return F_ID;
    }
    break;
  case 'r':
    if (n >= 5 && memcmp(s, "retry", 5) == 0 && (n == 5 || s[5] == ':')) {
      *name_len = 5;
      return F_RETRY;
    }
    break;
  default:
    break;
  }
  return F_UNKNOWN;
}

/* A complete line s[0..n), terminator excluded, in memory that stays valid
 * until materialize() runs. */
static int line_done(sse_decoder *d, const char *s, size_t n) {
  size_t name = 0;
  int field;
  const char *v;
  size_t vn;
  if (n == 0)
    return dispatch(d);
  if (d->skipping)
    return SSE_OK;
  field = s[0] == ':' ? F_UNKNOWN : field_of(s, n, &name);
  if (n > d->max_line && !(field == F_DATA && streaming(d)))
    return over_limit(d, SSE_E_LINE_TOO_LONG);
  if (s[0] == ':')
    return d->cb.on_comment ? on_comment(d, s + 1, n - 1) : SSE_OK;
  if (field == F_UNKNOWN)
    return SSE_OK;
  v = s + name;
  vn = n - name;
  if (vn) { /* skip the colon and at most one space */
    v++;
    vn--;
    if (vn && *v == ' ') {
      v++;
      vn--;
    }
  }
  switch (field) {
  case F_DATA:
    return data_line(d, v, vn);
  case F_EVENT:
    d->type = v;
    d->type_len = vn;
    return SSE_OK;
  case F_ID:
    return on_id(d, v, vn);
  default:
    return on_retry(d, v, vn);
  }
}

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

/* A further data line of a buffered event: appends LF and the value to the
 * data buffer in one step, moving the data there first if it is not yet. */
static int data_join(sse_decoder *d, const char *v, size_t n) {
  sse__buf *b = &d->dbuf;
  size_t keep = 0;
  char *q;
  int rc;
  if (!fits(d, n + 1)) /* the value and its LF */
    return over_limit(d, SSE_E_EVENT_TOO_LARGE);
  if (d->data != b->p) { /* the data is still in the chunk or in lb */
    b->len = 0;
    keep = d->data_len;
  }
  /* n + 1 + keep cannot overflow: fits() bounds it by max_event. */
  if (n + 1 + keep > b->cap - b->len) {
    rc = sse__buf_reserve(&d->mem, b, n + 1 + keep, d->max_event);
    if (rc != SSE_OK)
      return fail(d, rc);
  }
  q = b->p + b->len;
  if (keep) {
    memcpy(q, d->data, keep);
    q += keep;
  }
  *q = '\n';
  if (n)
    memcpy(q + 1, v, n);
  b->len += keep + 1 + n;
  d->data = b->p;
  d->data_len = b->len;
  return SSE_OK;
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
  if (!d->have_data)
    return data_line(d, v, n); /* the first: passed by pointer */
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

/* ------------------------------------------------------------------------ */
/* Partial lines. */

/* Decides, once CLASSIFY_LEN bytes of a partial line are in lb, whether it
 * is a data line whose value can stream into the data buffer. When on_data
 * pauses on the joining LF, *unread gets the bytes of lb's value not yet
 * passed on (they came last from the current chunk, and are given back). */
static int classify(sse_decoder *d, size_t *unread) {
  size_t skip;
  int rc;
  if (d->skipping) {
    d->line = LINE_SKIP;
    return SSE_OK;
  }
  if (memcmp(d->lb.p, "data:", 5) != 0) {
    if (d->line_len > d->max_line)
      return over_limit(d, SSE_E_LINE_TOO_LONG);
    return SSE_OK; /* keep gathering */
  }
  if (d->line_len > d->max_line && !streaming(d))
    return over_limit(d, SSE_E_LINE_TOO_LONG);
  skip = d->lb.p[5] == ' ' ? 6 : 5;
  rc = data_begin(d);
  if (rc == SSE_PAUSE && !d->skipping) {
    d->line = LINE_DATA;
    d->line_len = skip;
    *unread = d->lb.len - skip;
    d->lb.len = 0;
    return rc;
  }
  if (rc != SSE_OK || d->skipping)
    return rc;
  d->line = LINE_DATA;
  rc = data_bytes(d, d->lb.p + skip, d->lb.len - skip, 0);
  d->lb.len = 0;
  return rc;
}

/* Bytes s[0..n) of the current line, no terminator among them. *used gets
 * the bytes consumed: all of them, unless a callback paused part way. */
static int partial_bytes(sse_decoder *d, const char *s, size_t n,
                         size_t *used) {
  const char *start = s;
  int rc;
  *used = n;
  if (d->line == LINE_NONE) {
    d->line = d->skipping ? LINE_SKIP : LINE_BUF;
    d->line_len = 0;
    d->lb.len = 0;
  }
  while (n) {
    switch (d->line) {
    case LINE_SKIP:
      return SSE_OK;
    case LINE_DATA:
      d->line_len += n;
      if (d->line_len > d->max_line && !streaming(d))
        return over_limit(d, SSE_E_LINE_TOO_LONG);
      return data_bytes(d, s, n, 0);
    default: { /* LINE_BUF */
      size_t k = n;
      if (d->lb.len < CLASSIFY_LEN && k > CLASSIFY_LEN - d->lb.len)
        k = CLASSIFY_LEN - d->lb.len;
      d->line_len += k;
      if (d->lb.len >= CLASSIFY_LEN && d->line_len > d->max_line)
        return over_limit(d, SSE_E_LINE_TOO_LONG);
      rc = sse__buf_append(&d->mem, &d->lb, s, k, d->max_line);
      if (rc != SSE_OK)
        return fail(d, rc);
      s += k;
      n -= k;
      if (d->lb.len == CLASSIFY_LEN && d->line_len == CLASSIFY_LEN) {
        size_t unread = 0;
        rc = classify(d, &unread);
        if (rc != SSE_OK) {
          *used = (size_t)(s - start) - unread;
          return rc;
        }
      }
    }
    }
  }
  return SSE_OK;
}

/* The current partial line just ended. */
static int partial_end(sse_decoder *d) {
  int rc = SSE_OK;
  if (d->line == LINE_DATA && !streaming(d) && d->data_len >= d->max_event)
    rc = over_limit(d, SSE_E_EVENT_TOO_LARGE); /* see "Data lines" */
  else if (d->line == LINE_DATA && d->carry_len)
    rc = emit(d, NULL, 0, 1); /* a sequence cut by the line end */
  else if (d->line == LINE_BUF) {
    rc = line_done(d, d->lb.p, d->lb.len);
    if (rc == SSE_OK || rc == SSE_PAUSE) {
      int m = materialize(d); /* values may point into lb */
      if (m != SSE_OK)
        rc = m;
    }
    d->lb.len = 0;
  }
  d->line = LINE_NONE;
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Feeding. */

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
 * data_run. n (>= 256) bytes are within the limits. A failed reserve fails
 * the decoder, even when the line would have fitted: every NULL from the
 * allocator is reported. */
static const char *data_run_long(sse_decoder *d, const char *p, size_t n) {
  sse__buf *b = &d->dbuf;
  size_t room, k;
  const char *e;
  while (n >= 256) {
    room = b->cap - b->len;
    if (room < 4096) {
      int rc = sse__buf_reserve(&d->mem, b, n < 4096 ? n : 4096, d->max_event);
      if (rc != SSE_OK) {
        fail(d, rc); /* reported by feed */
        break;
      }
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
 * memory, with the decoder failed). */
static SSE__INLINE const char *data_run(sse_decoder *d, const char *p,
                                        const char *end) {
  sse__buf *b = &d->dbuf;
  size_t n = (size_t)(end - p), k;
  if (d->line_len >= d->max_line || d->data_len >= d->max_event - 1)
    return p;
  if (n > d->max_line - d->line_len)
    n = d->max_line - d->line_len;
  if (n > d->max_event - 1 - d->data_len)
    n = d->max_event - 1 - d->data_len;
  if (n >= 256)
    return data_run_long(d, p, n);
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

/* Consumes from *pp; stops early on pause or error. */
static int run(sse_decoder *d, const char **pp, const char *end) {
  const char *p = *pp, *eol;
  eols s;
  int rc = SSE_OK;
  s.base = s.stop = p;
  s.mask = 0;
  if (d->cr && p < end) {
    if (*p == '\n')
      p++;
    d->cr = 0;
  }
  while (p < end) {
    size_t used;
    eol = next_eol(&s, p, end);
    if (SSE__UNLIKELY(d->line != LINE_NONE)) {
      /* The end of a line begun in an earlier chunk (first pass only). */
      rc = partial_bytes(d, p, (size_t)((eol ? eol : end) - p), &used);
      if (rc != SSE_OK || !eol) {
        /* The bytes used were consumed; the line end, if any, was not. */
        p += used;
        break;
      }
      rc = partial_end(d);
    } else if (!eol) {
      rc = partial_bytes(d, p, (size_t)(end - p), &used);
      p += used;
      break;
    } else {
      rc = chunk_line(d, p, (size_t)(eol - p), end);
      if (SSE__UNLIKELY(d->resume != NULL)) { /* paused inside the line */
        p = d->resume;
        d->resume = NULL;
        break;
      }
    }
    p = eol + 1;
    if (*eol == '\r') {
      if (p < end) {
        if (*p == '\n')
          p++;
      } else
        d->cr = 1;
    }
    if (rc != SSE_OK)
      break;
  }
  *pp = p;
  return rc;
}

/* Checks for a byte order mark at the start of the stream; bytes that began
 * like one but were not are fed as content. */
static int strip_bom(sse_decoder *d, const char **pp, const char *end) {
  const char *p = *pp;
  while (p < end && d->bom < BOM_DONE) {
    if (*p == BOM[d->bom]) {
      d->bom++;
      p++;
      if (d->bom == BOM_DONE) {
        *pp = p;
        return SSE_OK;
      }
      continue;
    }
    {
      const char *b = BOM;
      size_t k = d->bom;
      d->bom = BOM_DONE;
      *pp = p;
      return k ? run(d, &b, BOM + k) : SSE_OK;
    }
  }
  *pp = p;
  return SSE_OK;
}

static int enter(sse_decoder *d) {
  if (!d)
    return SSE_E_INVALID_ARGUMENT;
  if (d->busy)
    return SSE_E_BUSY;
  return SSE_OK;
}

int sse_decoder_feed(sse_decoder *d, const void *data, size_t len,
                     size_t *consumed) {
  const char *p = data, *end;
  int rc = SSE_OK;
  if (consumed)
    *consumed = 0;
  /* One test for the usual case; the rare ones are told apart in order. */
  if (SSE__UNLIKELY(!d || !p || !len || d->busy || d->error || d->finished ||
                    d->bom < BOM_DONE)) {
    rc = enter(d);
    if (rc != SSE_OK)
      return rc;
    if (!data && len)
      return SSE_E_INVALID_ARGUMENT;
    if (d->error)
      return d->error;
    if (d->finished)
      return SSE_E_STATE;
    if (!len)
      return SSE_OK;
  }
  end = p + len;
  d->busy = 1;
  /* Inside a buffered data line (never at a CR or a BOM): its bytes go
   * straight to dbuf, and run() is needed only past its end. */
  if (d->line == LINE_DATA && !streaming(d)) {
    p = data_run(d, p, end);
    rc = d->error;
  }
  if (rc == SSE_OK && d->bom < BOM_DONE)
    rc = strip_bom(d, &p, end);
  if (rc == SSE_OK && p < end)
    rc = run(d, &p, end);
  if (rc == SSE_OK || rc == SSE_PAUSE) {
    int m = materialize(d);
    if (m != SSE_OK)
      rc = m;
  }
  d->busy = 0;
  if (consumed)
    *consumed = (size_t)(p - (const char *)data);
  return rc;
}

/* Drops the partial line and the pending block; reports a pending event. */
static int abandon(sse_decoder *d) {
  int had = d->have_data && !d->skipping;
  d->line = LINE_NONE;
  d->lb.len = 0;
  d->cr = 0;
  d->skipping = 0;
  d->id_dirty = 0;
  clear_block(d);
  if (had && d->cb.on_discard)
    return d->cb.on_discard(d->user, SSE_E_TRUNCATED);
  return SSE_OK;
}

int sse_decoder_finish(sse_decoder *d) {
  int rc = enter(d);
  if (rc != SSE_OK)
    return rc;
  if (d->error)
    return d->error;
  if (d->finished)
    return SSE_OK;
  d->busy = 1;
  d->finished = 1;
  rc = abandon(d);
  d->busy = 0;
  return rc == SSE_OK || rc == SSE_PAUSE ? SSE_OK : fail(d, SSE_E_CALLBACK);
}

int sse_decoder_reset(sse_decoder *d) {
  int rc = enter(d);
  if (rc != SSE_OK)
    return rc;
  d->busy = 1;
  if (!d->error && !d->finished)
    (void)abandon(d);
  d->line = LINE_NONE;
  d->lb.len = 0;
  d->cr = 0;
  d->skipping = 0;
  d->id_dirty = 0;
  clear_block(d);
  d->error = SSE_OK;
  d->finished = 0;
  d->bom = 0;
  d->busy = 0;
  return SSE_OK;
}

/* ------------------------------------------------------------------------ */
/* Life cycle and settings. */

int sse_decoder_new(sse_decoder **out, const sse_decoder_callbacks *callbacks,
                    void *user, const sse_allocator *allocator) {
  sse_allocator mem;
  sse_decoder *d;
  if (!out)
    return SSE_E_INVALID_ARGUMENT;
  *out = NULL;
  sse__allocator_init(&mem, allocator);
  d = sse__malloc(&mem, sizeof *d);
  if (!d)
    return SSE_E_NOMEM;
  memset(d, 0, sizeof *d);
  if (callbacks)
    d->cb = *callbacks;
  d->user = user;
  d->mem = mem;
  d->max_line = SSE_DEFAULT_MAX_LINE;
  d->max_event = SSE_DEFAULT_MAX_EVENT;
  *out = d;
  return SSE_OK;
}

void sse_decoder_free(sse_decoder *d) {
  sse_allocator mem;
  if (!d)
    return;
  mem = d->mem;
  sse__buf_free(&mem, &d->dbuf);
  sse__buf_free(&mem, &d->tbuf);
  sse__buf_free(&mem, &d->lb);
  sse__buf_free(&mem, &d->idbuf);
  sse__buf_free(&mem, &d->last);
  sse__buf_free(&mem, &d->fix);
  sse__free(&mem, d);
}

int sse_decoder_set_limits(sse_decoder *d, size_t max_line, size_t max_event) {
  if (!d)
    return SSE_E_INVALID_ARGUMENT;
  d->max_line = max_line ? max_line : SSE_DEFAULT_MAX_LINE;
  d->max_event = max_event ? max_event : SSE_DEFAULT_MAX_EVENT;
  return SSE_OK;
}

int sse_decoder_set_options(sse_decoder *d, unsigned options) {
  if (!d || (options & ~(unsigned)(SSE_DECODER_UTF8 |
                                   SSE_DECODER_SKIP_OVERSIZE)))
    return SSE_E_INVALID_ARGUMENT;
  d->options = options;
  return SSE_OK;
}

const char *sse_decoder_get_last_event_id(const sse_decoder *d, size_t *len) {
  if (len)
    *len = d && d->last.len ? d->last.len : 0;
  return d && d->last.len ? d->last.p : "";
}

int sse_decoder_set_last_event_id(sse_decoder *d, const char *id, size_t len) {
  int rc = enter(d);
  if (rc != SSE_OK)
    return rc;
  if (!id && len)
    return SSE_E_INVALID_ARGUMENT;
  if (sse__check_field(id, len, 1) != SSE_OK)
    return SSE_E_INVALID_FIELD;
  if (len > d->max_line)
    return SSE_E_LINE_TOO_LONG;
  d->last.len = 0;
  rc = sse__buf_append(&d->mem, &d->last, id, len, d->max_line);
  if (rc != SSE_OK)
    return rc;
  d->id_dirty = 0;
  return SSE_OK;
}
