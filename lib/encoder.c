/* The encoder: events, retry fields and comments as text/event-stream. */
#include <stdint.h>

#include "internal.h"

/* Output into caller memory, counting what does not fit. */
typedef struct out {
  char *buf;
  size_t cap;
  size_t pos;
} out;

static void put(out *o, const char *s, size_t n) {
  if (o->pos <= o->cap && n <= o->cap - o->pos && n)
    memcpy(o->buf + o->pos, s, n);
  o->pos += n;
}

/* Writes prefix + line + "\n" for each line of s (split at LF, CR, CRLF). */
static void put_lines(out *o, const char *prefix, size_t plen, const char *s,
                      size_t n) {
  const char *p = s, *end = s + n, *eol;
  for (;;) {
    eol = n ? sse__find_eol(p, end) : NULL;
    put(o, prefix, plen);
    put(o, p, (size_t)((eol ? eol : end) - p));
    put(o, "\n", 1);
    if (!eol)
      return;
    p = eol + 1;
    if (*eol == '\r' && p < end && *p == '\n')
      p++;
  }
}

int sse__check_field(const char *value, size_t len, int is_id) {
  if (!len)
    return SSE_OK;
  if (!value)
    return SSE_E_INVALID_ARGUMENT;
  if (sse__find_eol(value, value + len) || (is_id && memchr(value, 0, len)))
    return SSE_E_INVALID_FIELD;
  return SSE_OK;
}

static int check_event(const sse_message *ev) {
  int rc;
  if ((!ev->type && ev->type_len) || (!ev->id && ev->id_len) ||
      (!ev->data && ev->data_len))
    return SSE_E_INVALID_ARGUMENT;
  rc = sse__check_field(ev->type, ev->type_len, 0);
  if (rc == SSE_OK)
    rc = sse__check_field(ev->id, ev->id_len, 1);
  return rc;
}

static int finish(const out *o, size_t *len) {
  *len = o->pos;
  return o->pos <= o->cap ? SSE_OK : SSE_E_NOSPACE;
}

/* *a += b, unless that overflows (returns 0). */
static int add_size(size_t *a, size_t b) {
  if (b > (size_t)-1 - *a)
    return 0;
  *a += b;
  return 1;
}

/* The frame of an event whose data is one line (or absent), written
 * without per-piece bounds checks once its size is known to fit. */
static int encode_one_line(char *buf, size_t cap, const sse_message *ev,
                           size_t *len) {
  size_t need = 1 + (ev->type ? 8 : 0) + (ev->id ? 5 : 0) +
                (ev->data ? 7 : 0),
         i = 0;
  if (!add_size(&need, ev->type ? ev->type_len : 0) ||
      !add_size(&need, ev->id ? ev->id_len : 0) ||
      !add_size(&need, ev->data ? ev->data_len : 0)) {
    *len = (size_t)-1; /* more than can be represented, let alone fit */
    return SSE_E_NOSPACE;
  }
  *len = need;
  if (need > cap)
    return SSE_E_NOSPACE;
  if (ev->type) {
    memcpy(buf, "event: ", 7);
    memcpy(buf + 7, ev->type, ev->type_len);
    i = 7 + ev->type_len;
    buf[i++] = '\n';
  }
  if (ev->id) {
    memcpy(buf + i, "id: ", 4);
    memcpy(buf + i + 4, ev->id, ev->id_len);
    i += 4 + ev->id_len;
    buf[i++] = '\n';
  }
  if (ev->data) {
    memcpy(buf + i, "data: ", 6);
    memcpy(buf + i + 6, ev->data, ev->data_len);
    i += 6 + ev->data_len;
    buf[i++] = '\n';
  }
  buf[i] = '\n';
  return SSE_OK;
}

int sse_encode_message(void *buf, size_t cap, const sse_message *ev,
                       size_t *len) {
  out o;
  int rc;
  if (!ev || !len || (!buf && cap))
    return SSE_E_INVALID_ARGUMENT;
  *len = 0;
  rc = check_event(ev);
  if (rc != SSE_OK)
    return rc;
  if (!ev->data || !ev->data_len ||
      !sse__find_eol(ev->data, ev->data + ev->data_len))
    return encode_one_line(buf, cap, ev, len);
  o.buf = buf;
  o.cap = cap;
  o.pos = 0;
  if (ev->type) {
    put(&o, "event: ", 7);
    put(&o, ev->type, ev->type_len);
    put(&o, "\n", 1);
  }
  if (ev->id) {
    put(&o, "id: ", 4);
    put(&o, ev->id, ev->id_len);
    put(&o, "\n", 1);
  }
  if (ev->data)
    put_lines(&o, "data: ", 6, ev->data, ev->data_len);
  put(&o, "\n", 1);
  return finish(&o, len);
}

int sse_encode_retry(void *buf, size_t cap, uint64_t ms, size_t *len) {
  char digits[20];
  size_t n = 0;
  out o;
  if (!len || (!buf && cap))
    return SSE_E_INVALID_ARGUMENT;
  do {
    digits[sizeof digits - ++n] = (char)('0' + ms % 10);
    ms /= 10;
  } while (ms);
  o.buf = buf;
  o.cap = cap;
  o.pos = 0;
  put(&o, "retry: ", 7);
  put(&o, digits + sizeof digits - n, n);
  put(&o, "\n\n", 2);
  return finish(&o, len);
}

int sse_encode_comment(void *buf, size_t cap, const char *text,
                       size_t text_len, size_t *len) {
  out o;
  if (!len || (!buf && cap) || (!text && text_len))
    return SSE_E_INVALID_ARGUMENT;
  o.buf = buf;
  o.cap = cap;
  o.pos = 0;
  if (!text_len)
    put(&o, ":\n", 2);
  else
    put_lines(&o, ": ", 2, text, text_len);
  return finish(&o, len);
}

/* ------------------------------------------------------------------------ */
/* Pieces. */

typedef struct pieces {
  sse_iovec *iov;
  size_t cap;
  size_t count;
  size_t bytes;
} pieces;

static void piece(pieces *v, const char *s, size_t n) {
  if (!n)
    return;
  if (v->count < v->cap) {
    v->iov[v->count].base = s;
    v->iov[v->count].len = n;
  }
  v->count++;
  v->bytes += n;
}

int sse_encode_message_iov(sse_iovec *iov, size_t iov_cap,
                           const sse_message *ev, size_t *count,
                           size_t *bytes) {
  pieces v;
  int rc;
  if (!ev || !count || (!iov && iov_cap))
    return SSE_E_INVALID_ARGUMENT;
  *count = 0;
  if (bytes)
    *bytes = 0;
  rc = check_event(ev);
  if (rc != SSE_OK)
    return rc;
  v.iov = iov;
  v.cap = iov_cap;
  v.count = 0;
  v.bytes = 0;
  if (ev->type) {
    piece(&v, "event: ", 7);
    piece(&v, ev->type, ev->type_len);
    piece(&v, "\n", 1);
  }
  if (ev->id) {
    piece(&v, "id: ", 4);
    piece(&v, ev->id, ev->id_len);
    piece(&v, "\n", 1);
  }
  if (ev->data) {
    const char *p = ev->data, *end = p + ev->data_len, *eol;
    piece(&v, "data: ", 6);
    for (;;) {
      eol = ev->data_len ? sse__find_eol(p, end) : NULL;
      piece(&v, p, (size_t)((eol ? eol : end) - p));
      if (!eol)
        break;
      piece(&v, "\ndata: ", 7);
      p = eol + 1;
      if (*eol == '\r' && p < end && *p == '\n')
        p++;
    }
    piece(&v, "\n\n", 2);
  } else
    piece(&v, "\n", 1);
  *count = v.count;
  if (bytes)
    *bytes = v.bytes;
  return v.count <= v.cap ? SSE_OK : SSE_E_NOSPACE;
}
