/*
 * The incremental text/event-stream decoder: the line machine and feed.
 * Life cycle, settings, finish/reset and UTF-8 repair are in decoder_api.c;
 * the state is in decoder_int.h.
 *
 * Map. Line states (d->line), between two bytes of the stream:
 *  - LINE_NONE: at a line start. Lines found whole in the chunk being fed
 *    are processed in place (line_done), their values handed out by pointer.
 *  - LINE_BUF: a line cut by the end of a chunk, gathered in `lb`; at
 *    CLASSIFY_LEN bytes a data line turns into LINE_DATA, any other line
 *    keeps gathering and is processed at its end (partial_end).
 *  - LINE_DATA: inside a data line's value: bytes are appended to `dbuf`, or
 *    passed to on_data as they come.
 *  - LINE_SKIP: the rest of the line is ignored (block being discarded).
 * Where the pending event lives:
 *  - data: in the caller's chunk while its only data line lies wholly in
 *    the chunk being fed; in `lb` for a moment when that line crossed a
 *    chunk; otherwise in `dbuf`. With on_data: nowhere, only counted.
 *  - type: in the chunk, in `lb` for a moment, or in `tbuf`.
 *  - id: `idbuf` from its line until the blank line commits it to `last`.
 * Values in the chunk or in lb are copied to dbuf/tbuf before feed returns
 * and before the line that pointed into lb is left ("materialize").
 *
 * Allocation failure is not sticky: it stops feed exactly where a later
 * feed can carry on. Every allocation comes before the change it is for,
 * so a failed line is given back whole, except where a callback already
 * ran for part of it (a streamed data line: then the line resumes at its
 * value, as after a pause). Values pointing into the chunk make one more
 * case: copying them may fail after later lines were processed, so `mark`
 * remembers the first line whose value points into the chunk and `snap`
 * the block before it; no line with a side effect (a callback) runs while
 * mark is set ("commit" copies first), so feed can give back every byte
 * from mark and restore snap.
 *
 * Paths. The reference path takes every byte: run() finds each line end
 * with sse__find_eol, then line_done() for a whole line, or partial_bytes()
 * and partial_end() for a line cut by a chunk. Unless SSE_NO_FAST_PATHS is
 * defined, faster paths in decoder_fast.h take the bulk: line ends found 64
 * at a time (next_eol), data lines handled inline (chunk_line), a continued
 * data line copied while scanned (data_run). SSE_NO_SIMD (internal.h) leaves only the
 * portable scanners. Every byte is scanned once: the cost is linear for any
 * chunking.
 */
#include <stdint.h>

#include "decoder_int.h"

/* Bytes of a partial line gathered before deciding whether it is a data
 * line: "data:" plus the possible space. */
#define CLASSIFY_LEN 6

static const char BOM[3] = {'\xEF', '\xBB', '\xBF'};

/* ------------------------------------------------------------------------ */

static int streaming(const sse_decoder *d) { return d->cb.on_data != NULL; }

/* Copies chunk- or lb-backed values into owned buffers. A failure may leave
 * the data copied and the type not: the same event either way. */
static int materialize_now(sse_decoder *d) {
  int rc;
  if (d->have_data && !streaming(d) && d->data != d->dbuf.p) {
    d->dbuf.len = 0;
    rc = sse__buf_append(&d->mem, &d->dbuf, d->data, d->data_len,
                         d->max_event);
    if (rc != SSE_OK)
      return rc;
    d->data = d->dbuf.p;
  }
  if (d->type_len && d->type != d->tbuf.p) {
    d->tbuf.len = 0;
    rc = sse__buf_append(&d->mem, &d->tbuf, d->type, d->type_len,
                         d->max_line);
    if (rc != SSE_OK)
      return rc;
    d->type = d->tbuf.p;
  }
  d->mark = NULL;
  return SSE_OK;
}

static SSE__INLINE int materialize(sse_decoder *d) {
  if ((d->have_data && !streaming(d) && d->data != d->dbuf.p) ||
      (d->type_len && d->type != d->tbuf.p))
    return materialize_now(d);
  d->mark = NULL;
  return SSE_OK;
}

/* Before a line with a side effect: nothing may point into the chunk. */
static SSE__INLINE int commit(sse_decoder *d) {
  return d->mark ? materialize_now(d) : SSE_OK;
}

/* The line at s is about to point a value into the chunk (or lb). */
static SSE__INLINE void set_mark(sse_decoder *d, const char *s) {
  if (d->mark)
    return;
  d->mark = s;
  d->snap.have_data = d->have_data;
  d->snap.data = d->data;
  d->snap.data_len = d->data_len;
  d->snap.dbuf_len = d->dbuf.len;
  d->snap.data_in_dbuf = d->dbuf.p && d->data == d->dbuf.p;
  d->snap.type = d->type;
  d->snap.type_len = d->type_len;
  d->snap.type_in_tbuf = d->tbuf.p && d->type == d->tbuf.p;
  d->snap.id_dirty = d->id_dirty;
}

/* set_mark for the first data line of a block: with no data before it, the
 * data fields need no saving (they are set afresh when have_data is 0). */
static SSE__INLINE void set_mark_data(sse_decoder *d, const char *s) {
  if (d->mark)
    return;
  d->mark = s;
  d->snap.have_data = 0;
  d->snap.type = d->type;
  d->snap.type_len = d->type_len;
  d->snap.type_in_tbuf = d->tbuf.p && d->type == d->tbuf.p;
  d->snap.id_dirty = d->id_dirty;
}

/* Buffers may have moved since the mark (a copy into dbuf succeeded before
 * a later one failed): a value that was in one is found there anew. */
static void restore_snapshot(sse_decoder *d) {
  d->have_data = d->snap.have_data;
  d->data = d->snap.data_in_dbuf ? d->dbuf.p : d->snap.data;
  d->data_len = d->snap.data_len;
  d->dbuf.len = d->snap.dbuf_len;
  d->type = d->snap.type_in_tbuf ? d->tbuf.p : d->snap.type;
  d->type_len = d->snap.type_len;
  d->id_dirty = d->snap.id_dirty;
  d->mark = NULL;
}

/* A limit error: sticky until reset. */
static int fail(sse_decoder *d, int code) {
  d->error = code;
  return code;
}

/* A limit was exceeded by the current line: fail, or discard the block.
 * When the line is a data line the block counts as having data, whether or
 * not the line got as far as its value (which depends on the chunking), so
 * that finish and reset report the event the same way for every chunking. */
static int over_limit(sse_decoder *d, int code, int data_line) {
  if (!(d->options & SSE_DECODER_SKIP_OVERSIZE)) {
    if (data_line)
      d->have_data = 1;
    return fail(d, code);
  }
  d->skipping = 1;
  sse__dec_clear_block(d);
  if (d->line != LINE_NONE)
    d->line = LINE_SKIP;
  return d->cb.on_discard ? sse__dec_cb(d, d->cb.on_discard(d->user, code))
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

/* Starts a data line whose value will follow through data_bytes(). */
static int data_begin(sse_decoder *d) {
  int rc;
  if (streaming(d)) {
    if (!fits(d, 1)) /* the line's LF */
      return over_limit(d, SSE_E_EVENT_TOO_LARGE, 1);
    if ((rc = commit(d)) != SSE_OK) /* on_data is a side effect */
      return rc;
    if (!d->have_data) {
      d->have_data = 1;
      d->data_len = 0;
      return SSE_OK;
    }
    d->data_len++;
    return sse__dec_emit(d, "\n", 1, 1);
  }
  if (!d->have_data) {
    d->have_data = 1;
    d->data = d->dbuf.p;
    d->data_len = 0;
    d->dbuf.len = 0;
    return SSE_OK;
  }
  rc = materialize(d);
  if (rc == SSE_OK)
    rc = sse__buf_append(&d->mem, &d->dbuf, "\n", 1, d->max_event);
  if (rc != SSE_OK)
    return rc;
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
      return over_limit(d, SSE_E_EVENT_TOO_LARGE, 1);
    d->data_len += n;
    rc = sse__dec_emit(d, s, n, last);
    if (rc == SSE_E_NOMEM)
      d->data_len -= n;
    return rc;
  }
  if (n == 0)
    return SSE_OK;
  /* checked against max_event when the line ends */
  rc = sse__buf_append(&d->mem, &d->dbuf, s, n, d->max_event);
  if (rc != SSE_OK)
    return rc;
  d->data_len += n;
  d->data = d->dbuf.p;
  return SSE_OK;
}

/* A further data line of a buffered event: appends LF and the value to the
 * data buffer in one step, moving the data there first if it is not yet. */
static int data_join(sse_decoder *d, const char *v, size_t n) {
  sse__buf *b = &d->dbuf;
  size_t keep = 0;
  char *q;
  int rc;
  if (!fits(d, n + 1)) /* the value and its LF */
    return over_limit(d, SSE_E_EVENT_TOO_LARGE, 1);
  if (d->data != b->p) { /* the data is still in the chunk or in lb */
    b->len = 0;
    keep = d->data_len;
  }
  /* n + 1 + keep cannot overflow: fits() bounds it by max_event. */
  if (n + 1 + keep > b->cap - b->len) {
    rc = sse__buf_reserve(&d->mem, b, n + 1 + keep, d->max_event);
    if (rc != SSE_OK)
      return rc; /* nothing changed */
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


/* A whole data line (s its start, v its value) in memory that outlives this
 * call: the chunk, or lb until partial_end materializes. */
static int data_line(sse_decoder *d, const char *s, const char *v, size_t n) {
  int rc;
  if (n >= (size_t)-1 || !fits(d, n + 1)) /* the value and its LF */
    return over_limit(d, SSE_E_EVENT_TOO_LARGE, 1);
  if (!streaming(d)) {
    if (d->have_data)
      return data_join(d, v, n);
    /* The first data line is passed by pointer: no copy. */
    set_mark_data(d, s);
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
    d->after_line = 1;
    return rc;
  }
  if (rc != SSE_OK || d->skipping)
    return rc;
  rc = data_bytes(d, v, n, 1);
  if (rc == SSE_E_NOMEM && n) { /* the LF went out: resume at the value */
    d->line = LINE_DATA;
    d->line_len = 0;
    d->resume = v;
    d->after_line = 1;
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Dispatch. */

static int dispatch(sse_decoder *d) {
  sse_event ev;
  int rc;
  if (d->skipping) {
    /* The end of a discarded block: nothing of it is applied. */
    d->skipping = 0;
    d->id_dirty = 0;
    sse__dec_clear_block(d);
    return SSE_OK;
  }
  if (d->have_data) {
    const sse__buf *id = d->id_dirty ? &d->idbuf : &d->last;
    if (d->type_len) {
      ev.type = d->type;
      ev.type_len = d->type_len;
    } else {
      ev.type = "message";
      ev.type_len = 7;
    }
    ev.data = streaming(d) ? NULL : (d->data ? d->data : "");
    ev.data_len = streaming(d) ? d->out_len : d->data_len;
    ev.id = id->len ? id->p : "";
    ev.id_len = id->len;
    if (d->options & SSE_DECODER_UTF8) {
      rc = sse__dec_fix_event(d, &ev); /* before any change */
      if (rc != SSE_OK)
        return rc;
    }
  }
  if (d->id_dirty) { /* ev.id stays valid: the buffers swap */
    sse__buf t = d->last;
    d->last = d->idbuf;
    d->idbuf = t;
    d->id_dirty = 0;
  }
  if (!d->have_data) {
    d->type_len = 0;
    d->mark = NULL;
    return SSE_OK;
  }
  /* The block is over; the bytes ev points at stay untouched until the
   * callback returns, since the callback cannot feed this decoder. */
  sse__dec_clear_block(d);
  return d->cb.on_event ? sse__dec_cb(d, d->cb.on_event(d->user, &ev))
                        : SSE_OK;
}

/* ------------------------------------------------------------------------ */
/* Whole lines. */

static int on_comment(sse_decoder *d, const char *s, size_t n) {
  int rc = commit(d);
  if (rc != SSE_OK)
    return rc;
  if (n && *s == ' ') {
    s++;
    n--;
  }
  if ((d->options & SSE_DECODER_UTF8) &&
      (rc = sse__dec_fix_text(d, &s, &n)) != SSE_OK)
    return rc;
  return sse__dec_cb(d, d->cb.on_comment(d->user, s, n));
}

static int on_retry(sse_decoder *d, const char *s, size_t n) {
  uint64_t v = 0;
  size_t i;
  int rc;
  if (n == 0 || !d->cb.on_retry)
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
  if ((rc = commit(d)) != SSE_OK)
    return rc;
  return sse__dec_cb(d, d->cb.on_retry(d->user, v));
}

static int on_id(sse_decoder *d, const char *s, size_t n) {
  size_t had;
  int rc;
  if (n && memchr(s, 0, n))
    return SSE_OK; /* an id containing NUL is ignored */
  /* Undone by restoring snap.id_dirty, unless it overwrites an id that
   * was pending before the mark: then nothing may point into the chunk. */
  if (d->mark && d->snap.id_dirty && (rc = commit(d)) != SSE_OK)
    return rc;
  had = d->idbuf.len; /* a failed append changes no byte */
  d->idbuf.len = 0;
  rc = sse__buf_append(&d->mem, &d->idbuf, s, n, d->max_line);
  if (rc != SSE_OK) {
    d->idbuf.len = had;
    return rc;
  }
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
    return over_limit(d, SSE_E_LINE_TOO_LONG, field == F_DATA);
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
    return data_line(d, s, v, vn);
  case F_EVENT:
    set_mark(d, s);
    d->type = v;
    d->type_len = vn;
    return SSE_OK;
  case F_ID:
    return on_id(d, v, vn);
  default:
    return on_retry(d, v, vn);
  }
}

#ifdef SSE_NO_FAST_PATHS
/* The reference path: every line through line_done. */
static SSE__INLINE int chunk_line(sse_decoder *d, const char *s, size_t n,
                                  const char *end) {
  (void)end;
  return line_done(d, s, n);
}
#  define NEXT_EOL(p, end) sse__find_eol(p, end)
#else
#  include "decoder_fast.h"
#  define NEXT_EOL(p, end) next_eol(&s, p, end)
#endif

/* ------------------------------------------------------------------------ */
/* Partial lines. */

/* Decides, once CLASSIFY_LEN bytes of a partial line are in lb, whether it
 * is a data line whose value can stream into the data buffer. When on_data
 * pauses on the joining LF, or passing the value fails for memory, *unread
 * gets the bytes of lb's value not yet passed on (they came last from the
 * current chunk, and are given back). SSE_E_NOMEM with the line still
 * LINE_BUF: nothing changed. */
static int classify(sse_decoder *d, size_t *unread) {
  size_t skip;
  int rc;
  if (d->skipping) {
    d->line = LINE_SKIP;
    return SSE_OK;
  }
  if (memcmp(d->lb.p, "data:", 5) != 0) {
    if (d->line_len > d->max_line)
      return over_limit(d, SSE_E_LINE_TOO_LONG, 0);
    return SSE_OK; /* keep gathering */
  }
  if (d->line_len > d->max_line && !streaming(d))
    return over_limit(d, SSE_E_LINE_TOO_LONG, 1);
  skip = d->lb.p[5] == ' ' ? 6 : 5;
  rc = data_begin(d);
  if (rc == SSE_E_NOMEM || d->skipping)
    return rc;
  if (rc == SSE_PAUSE) {
    d->line = LINE_DATA;
    d->line_len = skip;
    *unread = d->lb.len - skip;
    d->lb.len = 0;
    return rc;
  }
  if (rc != SSE_OK)
    return rc;
  d->line = LINE_DATA;
  rc = data_bytes(d, d->lb.p + skip, d->lb.len - skip, 0);
  if (rc == SSE_E_NOMEM) {
    d->line_len = skip;
    *unread = d->lb.len - skip;
  }
  d->lb.len = 0;
  return rc;
}

/* Bytes s[0..n) of the current line, no terminator among them. *used gets
 * the bytes consumed: all of them, unless a callback paused part way or
 * memory failed (then the decoder is as if fed only those). */
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
        return over_limit(d, SSE_E_LINE_TOO_LONG, 1);
      rc = data_bytes(d, s, n, 0);
      if (rc == SSE_E_NOMEM) {
        d->line_len -= n;
        *used = (size_t)(s - start);
      }
      return rc;
    default: { /* LINE_BUF */
      size_t k = n;
      if (d->lb.len < CLASSIFY_LEN && k > CLASSIFY_LEN - d->lb.len)
        k = CLASSIFY_LEN - d->lb.len;
      d->line_len += k;
      if (d->lb.len >= CLASSIFY_LEN && d->line_len > d->max_line)
        return over_limit(d, SSE_E_LINE_TOO_LONG, 0);
      rc = sse__buf_append(&d->mem, &d->lb, s, k, d->max_line);
      if (rc == SSE_OK) {
        s += k;
        n -= k;
        if (d->lb.len == CLASSIFY_LEN && d->line_len == CLASSIFY_LEN) {
          size_t unread = 0;
          rc = classify(d, &unread);
          if (rc == SSE_E_NOMEM && d->line == LINE_BUF) {
            d->lb.len -= k; /* give the step back */
            s -= k;
          } else if (rc != SSE_OK) {
            *used = (size_t)(s - start) - unread;
            return rc;
          }
        }
      }
      if (rc != SSE_OK) { /* SSE_E_NOMEM: the step is not taken */
        d->line_len -= k;
        *used = (size_t)(s - start);
        if (d->lb.len == 0)
          d->line = LINE_NONE;
        return rc;
      }
    }
    }
  }
  return SSE_OK;
}

/* The current partial line just ended. SSE_E_NOMEM: it has not (the
 * decoder is as before the call). */
static int partial_end(sse_decoder *d) {
  int rc = SSE_OK;
  if (d->line == LINE_DATA && !streaming(d) && d->data_len >= d->max_event)
    rc = over_limit(d, SSE_E_EVENT_TOO_LARGE, 1); /* see "Data lines" */
  else if (d->line == LINE_DATA && d->carry_len) {
    rc = sse__dec_emit(d, NULL, 0, 1); /* a sequence cut by the line end */
    if (rc == SSE_E_NOMEM)
      return rc;
  } else if (d->line == LINE_BUF) {
    rc = line_done(d, d->lb.p, d->lb.len);
    if (rc == SSE_OK || rc == SSE_PAUSE) {
      int m = materialize(d); /* values may point into lb */
      if (m != SSE_OK)
        rc = m;
    }
    if (rc == SSE_E_NOMEM) {
      if (d->mark) /* set by this line: the first of the feed */
        restore_snapshot(d);
      return rc;
    }
    d->lb.len = 0;
  }
  d->line = LINE_NONE;
  if (d->limits_pending)
    sse__dec_apply_limits(d);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Feeding. */

/* Consumes from *pp; stops early on pause or error. */
static int run(sse_decoder *d, const char **pp, const char *end) {
  const char *p = *pp, *eol;
  int rc = SSE_OK;
#ifndef SSE_NO_FAST_PATHS
  eols s;
  s.base = s.stop = p;
  s.mask = 0;
#endif
  if (d->cr && p < end) {
    if (*p == '\n')
      p++;
    d->cr = 0;
  }
  while (p < end) {
    size_t used;
    eol = NEXT_EOL(p, end);
    if (SSE__UNLIKELY(d->line != LINE_NONE)) {
      /* The end of a line begun in an earlier chunk (first pass only). */
      rc = partial_bytes(d, p, (size_t)((eol ? eol : end) - p), &used);
      if (rc != SSE_OK || !eol) {
        /* The bytes used were consumed; the line end, if any, was not. */
        p += used;
        break;
      }
      rc = partial_end(d);
      if (rc == SSE_E_NOMEM) {
        p = eol;
        break;
      }
    } else if (!eol) {
      rc = partial_bytes(d, p, (size_t)(end - p), &used);
      p += used;
      break;
    } else {
      rc = chunk_line(d, p, (size_t)(eol - p), end);
      if (SSE__UNLIKELY(d->after_line)) {
        d->after_line = 0;
        if (d->resume) { /* stopped inside the line */
          p = d->resume;
          d->resume = NULL;
          break;
        }
        if (d->limits_pending && rc != SSE_E_NOMEM) /* set from a callback */
          sse__dec_apply_limits(d);
      }
      if (rc == SSE_E_NOMEM) /* the line is given back whole */
        break;
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
  while (p < end && d->bom < SSE__BOM_DONE) {
    if (*p == BOM[d->bom]) {
      d->bom++;
      p++;
      if (d->bom == SSE__BOM_DONE) {
        *pp = p;
        return SSE_OK;
      }
      continue;
    }
    {
      const char *b = BOM;
      unsigned char k = d->bom;
      int rc;
      d->bom = SSE__BOM_DONE;
      *pp = p;
      if (!k)
        return SSE_OK;
      rc = run(d, &b, BOM + k); /* at most 2 bytes, one append */
      if (rc == SSE_E_NOMEM)
        d->bom = k; /* nothing taken: the next feed tries again */
      return rc;
    }
  }
  *pp = p;
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
                    d->bom < SSE__BOM_DONE)) {
    if (!d)
      return SSE_E_INVALID_ARGUMENT;
    if (d->busy)
      return SSE_E_BUSY;
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
#ifndef SSE_NO_FAST_PATHS
  /* Inside a buffered data line (never at a CR or a BOM): its bytes go
   * straight to dbuf, and run() is needed only past its end. */
  if (d->line == LINE_DATA && !streaming(d))
    p = data_run(d, p, end, &rc);
#endif
  if (rc == SSE_OK && d->bom < SSE__BOM_DONE)
    rc = strip_bom(d, &p, end);
  if (rc == SSE_OK && p < end)
    rc = run(d, &p, end);
  if (rc == SSE_OK || rc == SSE_PAUSE) {
    int m = materialize(d);
    if (m != SSE_OK)
      rc = m;
  }
  if (rc == SSE_E_NOMEM && d->mark) {
    /* Give back every byte from the first line still pointed at. */
    p = d->mark;
    restore_snapshot(d);
    d->line = LINE_NONE;
    d->lb.len = 0;
    d->line_len = 0;
    d->cr = 0;
  }
  d->mark = NULL;
  d->busy = 0;
  if (consumed)
    *consumed = (size_t)(p - (const char *)data);
  return rc;
}
