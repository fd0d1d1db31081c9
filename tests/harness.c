#include "harness.h"

#include <stdio.h>
#include <string.h>

typedef struct hrec {
  const harness_run *r;
  sse_decoder *d;
  test_log *log;
  test_log data;   /* pieces of the pending event (on_data) */
  test_log viol;   /* contract violations */
  size_t calls;    /* callbacks so far */
  int in_feed;     /* inside sse_decoder_feed */
  int paused;      /* a callback of the current feed returned SSE_PAUSE */
  int dead;        /* an error was returned: no callback may follow */
  int quiet;       /* record nothing, never pause */
  int nomems;      /* SSE_E_NOMEM returns so far */
  int gave_up;     /* retries exhausted: the run ends with SSE_E_NOMEM */
} hrec;

void harness_log_str(test_log *l, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  char buf[256];
  size_t i, k = 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (k > sizeof buf - 4) {
      test_log_add(l, buf, k);
      k = 0;
    }
    if (c >= 0x20 && c < 0x7F && c != '\\' && c != '|') {
      buf[k++] = (char)c;
      continue;
    }
    buf[k++] = '\\';
    if (c == '\n')
      buf[k++] = 'n';
    else if (c == '\r')
      buf[k++] = 'r';
    else if (c == '\\' || c == '|')
      buf[k++] = (char)c;
    else {
      buf[k++] = 'x';
      buf[k++] = hex[c >> 4];
      buf[k++] = hex[c & 15];
    }
  }
  test_log_add(l, buf, k);
}

static void violation(hrec *h, const char *what) {
  if (h->r->violations)
    ++*h->r->violations;
  if (h->viol.len < 2048)
    test_log_printf(&h->viol, "!violation %s\n", what);
}

/* Strict UTF-8 well-formedness (Unicode table 3-7), written plainly. */
static int utf8_ok(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i], lo = 0x80, hi = 0xBF;
    size_t k, need;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF)
      need = 1;
    else if (c >= 0xE0 && c <= 0xEF)
      need = 2;
    else if (c >= 0xF0 && c <= 0xF4)
      need = 3;
    else
      return 0;
    if (c == 0xE0)
      lo = 0xA0;
    else if (c == 0xED)
      hi = 0x9F;
    else if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F;
    if (n - i <= need)
      return 0;
    for (k = 1; k <= need; k++) {
      if (p[i + k] < lo || p[i + k] > hi)
        return 0;
      lo = 0x80;
      hi = 0xBF;
    }
    i += need + 1;
  }
  return 1;
}

/* Every callback starts here: checks it may run at all, and now and then
 * that the decoder refuses re-entrant calls. */
static void cb_enter(hrec *h) {
  if (h->dead)
    violation(h, "callback after an error was returned");
  if (h->paused)
    violation(h, "callback after another one paused");
  if (h->calls % 16 == 0) {
    size_t used = 7;
    if (sse_decoder_feed(h->d, "x", 1, &used) != SSE_E_BUSY || used != 0)
      violation(h, "re-entrant feed not refused");
    if (sse_decoder_finish(h->d) != SSE_E_BUSY)
      violation(h, "re-entrant finish not refused");
    if (sse_decoder_reset(h->d) != SSE_E_BUSY)
      violation(h, "re-entrant reset not refused");
    if (sse_decoder_set_last_event_id(h->d, "", 0) != SSE_E_BUSY)
      violation(h, "re-entrant set_last_event_id not refused");
  }
}

static int cb_leave(hrec *h) {
  h->calls++;
  if (!h->quiet && h->r->pause_every && h->calls % h->r->pause_every == 0) {
    h->paused = h->in_feed; /* finish and reset ignore a pause */
    return SSE_PAUSE;
  }
  return SSE_OK;
}

static int h_event(void *u, const sse_event *ev) {
  hrec *h = u;
  size_t idn;
  const char *id;
  cb_enter(h);
  if (!ev->type || !ev->type_len || !ev->id || (ev->id_len && !ev->id))
    violation(h, "event with a NULL or empty type, or a NULL id");
  id = sse_decoder_get_last_event_id(h->d, &idn);
  /* (Under SSE_DECODER_UTF8 the event's id is repaired, the getter's raw.) */
  if (!(h->r->options & SSE_DECODER_UTF8) &&
      (idn != ev->id_len || (idn && memcmp(id, ev->id, idn))))
    violation(h, "event id differs from sse_decoder_get_last_event_id");
  if (h->r->pieces ? ev->data != NULL : ev->data == NULL)
    violation(h, "event data pointer does not match the delivery mode");
  if (h->r->pieces && h->data.len != ev->data_len)
    violation(h, "pieces do not add up to data_len");
  /* Pieces are passed as received, even under SSE_DECODER_UTF8. */
  if ((h->r->options & SSE_DECODER_UTF8) &&
      (!utf8_ok(ev->type, ev->type_len) || !utf8_ok(ev->id, ev->id_len) ||
       (ev->data && !utf8_ok(ev->data, ev->data_len))))
    violation(h, "invalid UTF-8 under SSE_DECODER_UTF8");
  if (!h->quiet) {
    test_log_add(h->log, "event ", 6);
    harness_log_str(h->log, ev->type, ev->type_len);
    test_log_add(h->log, "|", 1);
    if (ev->data)
      harness_log_str(h->log, ev->data, ev->data_len);
    else
      harness_log_str(h->log, h->data.p, h->data.len);
    test_log_add(h->log, "|", 1);
    harness_log_str(h->log, ev->id, ev->id_len);
    test_log_add(h->log, "\n", 1);
  }
  h->data.len = 0;
  return cb_leave(h);
}

static int h_retry(void *u, uint64_t ms) {
  hrec *h = u;
  cb_enter(h);
  if (!h->quiet)
    test_log_printf(h->log, "retry %llu\n", (unsigned long long)ms);
  return cb_leave(h);
}

static int h_comment(void *u, const char *s, size_t n) {
  hrec *h = u;
  cb_enter(h);
  if (n && !s)
    violation(h, "comment NULL with a length");
  if ((h->r->options & SSE_DECODER_UTF8) && !utf8_ok(s, n))
    violation(h, "invalid UTF-8 comment under SSE_DECODER_UTF8");
  if (!h->quiet) {
    test_log_add(h->log, "comment ", 8);
    harness_log_str(h->log, s, n);
    test_log_add(h->log, "\n", 1);
  }
  return cb_leave(h);
}

static int h_data(void *u, const char *s, size_t n) {
  hrec *h = u;
  cb_enter(h);
  if (!s || !n)
    violation(h, "empty or NULL data piece");
  test_log_add(&h->data, s, n);
  return cb_leave(h);
}

static int h_discard(void *u, int reason) {
  hrec *h = u;
  cb_enter(h);
  if (reason != SSE_E_TRUNCATED &&
      !((h->r->options & SSE_DECODER_SKIP_OVERSIZE) &&
        (reason == SSE_E_LINE_TOO_LONG || reason == SSE_E_EVENT_TOO_LARGE)))
    violation(h, "unexpected discard reason");
  h->data.len = 0;
  if (!h->quiet)
    test_log_printf(h->log, "discard %s\n", sse_error_name(reason));
  return cb_leave(h);
}

/* Feeds in[0..n) along the cuts, resuming after pauses and, when asked,
 * after SSE_E_NOMEM (feeding what was not consumed again). */
static int feed_all(hrec *h, const char *in, size_t n) {
  const harness_run *r = h->r;
  size_t start = 0, i, budget = 4 * n + 64;
  int max_retries = r->max_retries ? r->max_retries : 3, stuck = 0;
  int rc = SSE_OK;
  for (i = 0; i <= r->ncuts && rc == SSE_OK; i++) {
    size_t stop = i < r->ncuts ? r->cuts[i] : n;
    if (stop < start || stop > n) {
      violation(h, "harness: bad cuts");
      return SSE_OK;
    }
    do {
      size_t used = (size_t)-1, len = stop - start;
      h->paused = 0;
      h->in_feed = 1;
      rc = sse_decoder_feed(h->d, len ? in + start : in, len, &used);
      h->in_feed = 0;
      if (used > len) {
        violation(h, "consumed more than was fed");
        used = len;
      }
      if (rc == SSE_OK && used != len)
        violation(h, "SSE_OK without consuming everything");
      if (rc == SSE_OK && h->paused)
        violation(h, "a callback paused but feed returned SSE_OK");
      if (rc == SSE_PAUSE && !h->paused)
        violation(h, "SSE_PAUSE although no callback paused");
      if (rc == SSE_E_NOMEM && h->paused)
        violation(h, "a callback paused but feed returned SSE_E_NOMEM");
      start += used;
      if (rc == SSE_PAUSE) {
        rc = SSE_OK;
        if (!budget--) {
          violation(h, "no progress across pauses");
          return SSE_OK;
        }
      } else if (rc == SSE_E_NOMEM) {
        h->nomems++;
        stuck = used ? 0 : stuck + 1;
        if (!r->retry_on_nomem || stuck >= max_retries) {
          h->gave_up = 1;
          return rc;
        }
        rc = SSE_OK; /* the rest again, as if memory were back */
      }
    } while (rc == SSE_OK && start < stop);
    h->paused = 0;
  }
  return rc;
}

/* Sets the initial last event ID; SSE_E_NOMEM must leave the previous id
 * and is retried like a feed. */
static int set_last_id(hrec *h) {
  const harness_run *r = h->r;
  int max_retries = r->max_retries ? r->max_retries : 3, tries = 0, s;
  if (!r->last_id)
    return SSE_OK;
  for (;;) {
    size_t before_len, after_len;
    const char *before = sse_decoder_get_last_event_id(h->d, &before_len);
    char keep[64];
    if (before_len > sizeof keep)
      before_len = sizeof keep;
    memcpy(keep, before, before_len);
    s = sse_decoder_set_last_event_id(h->d, r->last_id, r->last_id_len);
    if (s != SSE_E_NOMEM)
      break;
    h->nomems++;
    before = sse_decoder_get_last_event_id(h->d, &after_len);
    if (after_len != before_len || memcmp(before, keep, after_len) != 0)
      violation(h, "a failed sse_decoder_set_last_event_id changed the id");
    if (!r->retry_on_nomem || ++tries >= max_retries) {
      h->gave_up = 1;
      return s;
    }
  }
  if (s != SSE_OK && !h->quiet)
    test_log_printf(h->log, "setid %s\n", sse_error_name(s));
  return SSE_OK;
}

/* After a limit or callback error: it must stick, with nothing consumed
 * and no callback, except that finish reports a pending event to
 * on_discard (once). */
static void check_sticky(hrec *h, int rc) {
  size_t used = 7;
  h->dead = 1;
  if (sse_decoder_feed(h->d, "data: x\n\n", 9, &used) != rc || used != 0)
    violation(h, "error not sticky in feed");
  h->dead = 0;
  if (sse_decoder_finish(h->d) != rc)
    violation(h, "error not sticky in finish");
  h->dead = 1;
  if (sse_decoder_finish(h->d) != rc)
    violation(h, "error not sticky in a second finish");
  h->dead = 0;
}

int harness_decode(const harness_run *r, const void *in, size_t n,
                   test_log *log) {
  sse_decoder_callbacks cb;
  sse_allocator mem;
  hrec h;
  int max_retries = r->max_retries ? r->max_retries : 3, tries = 0;
  int rc;

  memset(&h, 0, sizeof h);
  memset(&cb, 0, sizeof cb);
  h.r = r;
  h.log = log;
  cb.on_event = h_event;
  cb.on_retry = h_retry;
  cb.on_discard = h_discard;
  if (r->comments)
    cb.on_comment = h_comment;
  if (r->pieces)
    cb.on_data = h_data;
  if (r->alloc)
    mem = test_alloc_hooks(r->alloc);

  for (;;) {
    rc = sse_decoder_new(&h.d, &cb, &h, r->alloc ? &mem : NULL);
    if (rc == SSE_OK)
      break;
    if (rc != SSE_E_NOMEM || h.d)
      violation(&h, "sse_decoder_new failed oddly");
    h.nomems++;
    if (!r->retry_on_nomem || ++tries >= max_retries) {
      test_log_printf(log, "result %s\n", sse_error_name(rc));
      goto out;
    }
  }
  if (sse_decoder_set_limits(h.d, r->max_line, r->max_event) != SSE_OK ||
      sse_decoder_set_options(h.d, r->options) != SSE_OK)
    violation(&h, "settings refused");

  rc = set_last_id(&h);
  if (rc == SSE_OK)
    rc = feed_all(&h, in, n);
  if (rc == SSE_OK && !r->no_finish)
    rc = sse_decoder_finish(h.d);
  if (rc == SSE_PAUSE)
    rc = SSE_OK;
  if (rc == SSE_E_NOMEM && !h.gave_up)
    violation(&h, "SSE_E_NOMEM from a call that cannot allocate");
  if (rc != SSE_OK && rc != SSE_E_NOMEM)
    check_sticky(&h, rc);
  {
    size_t idn;
    const char *id = sse_decoder_get_last_event_id(h.d, &idn);
    test_log_add(log, "last ", 5);
    harness_log_str(log, id, idn);
    test_log_printf(log, "\nresult %s\n", sse_error_name(rc));
  }
  sse_decoder_free(h.d);
out:
  if (r->alloc && (r->alloc->live || r->alloc->live_bytes))
    violation(&h, "leak: allocations live after sse_decoder_free");
  if (r->nomems)
    *r->nomems = h.nomems;
  if (h.viol.len)
    test_log_add(log, h.viol.p, h.viol.len);
  if (!log->p)
    test_log_add(log, "", 0);
  test_log_free(&h.data);
  test_log_free(&h.viol);
  return rc;
}

size_t harness_fixed_cuts(size_t n, size_t chunk, size_t *cuts) {
  size_t k = 0, at;
  if (!chunk)
    return 0;
  for (at = chunk; at < n; at += chunk)
    cuts[k++] = at;
  return k;
}
