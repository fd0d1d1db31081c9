/* The decoder's cold half: life cycle, settings, finish and reset, the last
 * event ID, and UTF-8 repair. The line machine and feed are in decoder.c. */
#include "decoder_int.h"

/* ------------------------------------------------------------------------ */
/* UTF-8 repair (SSE_DECODER_UTF8). */

/* Empties d->fix with room for `in` bytes and their repair after them. */
static int fix_room(sse_decoder *d, size_t in) {
  d->fix.len = 0;
  if (in > (size_t)-1 / 4)
    return SSE_E_NOMEM;
  return sse__buf_reserve(&d->mem, &d->fix, 4 * in, 4 * in);
}

/* With SSE_DECODER_UTF8 the piece is repaired first, and a sequence cut at
 * its end is held back in d->carry until the next piece of the line
 * completes it or the line ends (last). Every allocation comes before any
 * change, so SSE_E_NOMEM leaves the decoder as it was. */
int sse__dec_emit(sse_decoder *d, const char *s, size_t n, int last) {
  const char *b = s;
  size_t len = n, tail = 0;
  int rc;
  if (!(d->options & SSE_DECODER_UTF8)) {
    d->out_len += n;
    return n ? sse__dec_cb(d, d->cb.on_data(d->user, s, n)) : SSE_OK;
  }
  if (d->carry_len) { /* rare: join the held bytes and the piece */
    len = d->carry_len + n;
    if ((rc = fix_room(d, len)) != SSE_OK)
      return rc;
    memcpy(d->fix.p, d->carry, d->carry_len);
    if (n)
      memcpy(d->fix.p + d->carry_len, s, n);
    b = d->fix.p;
  }
  if (!last)
    tail = sse__utf8_cut_tail((const unsigned char *)b, len);
  len -= tail;
  if (sse__utf8_valid_prefix((const unsigned char *)b, len) != len) {
    char *out;
    if (b != d->fix.p) {
      if ((rc = fix_room(d, len + tail)) != SSE_OK)
        return rc;
      memcpy(d->fix.p, b, len + tail);
      b = d->fix.p;
    }
    out = d->fix.p + len + tail; /* repairs go after the input */
    memcpy(d->carry, b + len, tail);
    len = sse__utf8_repair((const unsigned char *)b, len, (unsigned char *)out);
    b = out;
  } else {
    memcpy(d->carry, b + len, tail);
  }
  d->carry_len = (unsigned char)tail;
  d->out_len += len;
  return len ? sse__dec_cb(d, d->cb.on_data(d->user, b, len)) : SSE_OK;
}

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

static int valid(const char *s, size_t n) {
  return sse__utf8_valid_prefix((const unsigned char *)s, n) == n;
}

int sse__dec_fix_event(sse_decoder *d, sse_event *ev) {
  size_t off = 0;
  size_t total = ev->type_len + ev->id_len + (ev->data ? ev->data_len : 0);
  int rc;
  if (valid(ev->type, ev->type_len) && valid(ev->id, ev->id_len) &&
      (!ev->data || valid(ev->data, ev->data_len)))
    return SSE_OK;
  rc = utf8_reserve(d, total);
  if (rc != SSE_OK)
    return rc;
  repair(d, &ev->type, &ev->type_len, &off);
  repair(d, &ev->id, &ev->id_len, &off);
  if (ev->data)
    repair(d, &ev->data, &ev->data_len, &off);
  return SSE_OK;
}

int sse__dec_fix_text(sse_decoder *d, const char **s, size_t *n) {
  size_t off = 0;
  int rc;
  if (valid(*s, *n))
    return SSE_OK;
  rc = utf8_reserve(d, *n);
  if (rc != SSE_OK)
    return rc;
  repair(d, s, n, &off);
  return SSE_OK;
}

/* ------------------------------------------------------------------------ */
/* Finish and reset. */

static int enter(sse_decoder *d) {
  if (!d)
    return SSE_E_INVALID_ARGUMENT;
  if (d->busy)
    return SSE_E_BUSY;
  return SSE_OK;
}

/* Whether the stream stopped inside an event: a data line was seen in the
 * block (its pieces may have gone to on_data), or the unfinished last line
 * already began with "data:". A block being skipped was reported already. */
static int pending_event(const sse_decoder *d) {
  if (d->skipping)
    return 0;
  return d->have_data || (d->line == LINE_BUF && d->lb.len >= 5 &&
                          memcmp(d->lb.p, "data:", 5) == 0);
}

/* Drops the partial line and the pending block, whatever the sticky state,
 * and reports a pending event to on_discard. The limits set meanwhile are
 * in force for whatever comes next. Returns on_discard's result. */
static int abandon(sse_decoder *d) {
  int had = pending_event(d);
  d->line = LINE_NONE;
  d->lb.len = 0;
  d->line_len = 0;
  d->cr = 0;
  d->skipping = 0;
  d->id_dirty = 0;
  d->resume = NULL;
  d->after_line = 0;
  sse__dec_clear_block(d);
  sse__dec_apply_limits(d);
  if (had && d->cb.on_discard)
    return d->cb.on_discard(d->user, SSE_E_TRUNCATED);
  return SSE_OK;
}

int sse_decoder_finish(sse_decoder *d) {
  int rc = enter(d);
  if (rc != SSE_OK)
    return rc;
  if (d->finished)
    return d->error;
  d->busy = 1;
  rc = abandon(d);
  if (d->limits_pending) /* set from on_discard */
    sse__dec_apply_limits(d);
  d->finished = 1;
  d->busy = 0;
  if (d->error)
    return d->error;
  if (rc != SSE_OK && rc != SSE_PAUSE)
    d->error = SSE_E_CALLBACK;
  return d->error;
}

int sse_decoder_reset(sse_decoder *d) {
  int rc = enter(d);
  if (rc != SSE_OK)
    return rc;
  d->busy = 1;
  (void)abandon(d); /* on_discard's result is ignored */
  if (d->limits_pending)
    sse__dec_apply_limits(d);
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
  d->max_line = d->set_line = SSE_DEFAULT_MAX_LINE;
  d->max_event = d->set_event = SSE_DEFAULT_MAX_EVENT;
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
  d->set_line = max_line ? max_line : SSE_DEFAULT_MAX_LINE;
  d->set_event = max_event ? max_event : SSE_DEFAULT_MAX_EVENT;
  /* Between lines (and outside a callback) the next line is not begun. */
  if (!d->busy && d->line == LINE_NONE) {
    sse__dec_apply_limits(d);
  } else {
    d->limits_pending = 1;
    d->after_line = d->busy; /* from a callback: see run() */
  }
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
  size_t had;
  int rc = enter(d);
  if (rc != SSE_OK)
    return rc;
  if (!id && len)
    return SSE_E_INVALID_ARGUMENT;
  if (sse__check_field(id, len, 1) != SSE_OK)
    return SSE_E_INVALID_FIELD;
  if (len > d->set_line)
    return SSE_E_INVALID_VALUE;
  /* A failed append leaves the buffer as it was: restoring its length
   * restores the previous id. */
  had = d->last.len;
  d->last.len = 0;
  rc = sse__buf_append(&d->mem, &d->last, id, len, d->set_line);
  if (rc != SSE_OK) {
    d->last.len = had;
    return rc;
  }
  d->id_dirty = 0;
  return SSE_OK;
}
