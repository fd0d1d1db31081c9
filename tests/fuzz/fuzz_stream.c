/*
 * fuzz_stream: streams, shared frames and a replay history, driven by a
 * script and checked against a model at every step.
 *
 * Input: a 6-byte header, then operations read forward from the start (at
 * most MAX_OPS), while the write callbacks take their outcomes one byte per
 * call from the end of the input, backwards: the two never shift each
 * other, and they stop where they meet.
 *   header 0   bits 0-1: streams - 1; bit 2 + i: stream i has the plain
 *              write callback (else the vectored one)
 *          1   the history's max_count (0: the default)
 *          2   the history's max_bytes / 32 (0: the default)
 *          3   each stream's cap / 16 at creation (0: the default)
 *          4-5 allocation failure (little-endian): bits 0-14 the allocation
 *              that fails (0: none), bit 15: every one from it on
 *   operation  bits 0-3 what (enum op below), bits 4-5 the stream (modulo
 *              their number), bits 6-7 a variant; then its arguments
 *   callback   0x00-0x5f accept all; 0x60-0xbf accept b - 0x60 bytes (all
 *              if that is more; 0 is a would-block); 0xc0-0xf9 would-block
 *              (SSE_E_AGAIN); 0xfa-0xfc fail (three different codes);
 *              0xfd-0xfe report one byte more than offered; 0xff accept all
 *   strings    a length byte (255: two more bytes, little-endian), then
 *              the bytes
 * Once the two meet, the operations end and the callbacks accept all.
 *
 * The model predicts every result code (SSE_E_NOMEM is allowed exactly
 * when the failing allocator refused something during the call) and:
 *  - the bytes each callback accepts are the next bytes of the frames the
 *    stream accepted, in order (compared as they arrive): nothing
 *    duplicated, reordered or invented; after the final drain they are all
 *    of them (nothing dropped), and the library's decoder, fed along the
 *    callback boundaries, reports exactly the events, comments and retries
 *    sent (with the last event ID each event carries);
 *  - sse_stream_get_pending() is always the accepted bytes not yet written;
 *    a send is accepted only if pending + its bytes fit the cap, so pending
 *    never exceeds it; a refused or failed send writes and queues nothing;
 *  - an idle stream writes at once, a busy one only queues; writes stop
 *    only when the transport is full; no callback after a failure; the
 *    callback's re-entrant calls are refused with SSE_E_BUSY;
 *  - errors are sticky (closed, overflowed, failed; a failure overrides);
 *    heartbeat keep-alives and deadlines follow the documented rule;
 *  - the history keeps the newest frames within both bounds, replays the
 *    frames after an id or a position, and tells unknown from evicted ids;
 *  - memory: the live bytes of the counting allocator stay within the
 *    frames the model says are held (queued, kept, or held by the script)
 *    plus a small constant per stream and per frame, and the queue's
 *    bookkeeping within amortized growth; a stream holds at most its cap;
 *    all is freed at the end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define MAX_STREAMS 4
#define POOL 4
#define MAX_OPS 4096
/* Memory per object beyond the frames' bytes (generous for LP64; the
 * stream's own is documented as about 170 bytes, its frame header is 80). */
#define STREAM_OVH 256
#define HISTORY_OVH 256
#define FRAME_OVH 96
/* The script sends no more than this to one connection (a one-byte replay
 * can queue a whole history), so the model's copy stays small. */
#define SENT_MAX ((size_t)2 << 20)

enum op {
  OP_EVENT,       /* send_event; the event's fields (take_event) */
  OP_COMMENT,     /* send_comment; a string (variant 1: NULL, empty) */
  OP_RETRY,       /* send_retry; variant: u8, u16, u64 or 0 */
  OP_FRAME,       /* a shared frame in pool slot variant; stream bit 0:
                     a comment frame (a string), else an event */
  OP_SEND,        /* send_frame(pool slot variant) */
  OP_BROADCAST,   /* send_frame(pool slot variant) to every stream */
  OP_PUSH,        /* history push(pool slot variant) */
  OP_REPLAY,      /* history replay; variant: the id of a pushed frame (u8:
                     how far back), a string, a decimal (u8), empty */
  OP_REPLAY_FROM, /* replay_from; variant: last - u8, the stream's position,
                     u8, last + 1 */
  OP_FLUSH,
  OP_TICK,        /* variant: + u8, + u16, + 1000 * u8 ms; now - u8 */
  OP_OPEN,        /* variant bit 0: retry u16 (else 0), bit 1: padding u16
                     (else u8); padding 0xffff means SSE_MAX_PADDING + 1 */
  OP_CAP,         /* variant: u16, u8, 0 (default), SIZE_MAX */
  OP_HEARTBEAT,   /* variant: u16, u8, 0 (off), the default */
  OP_CLOSE,
  OP_MISC         /* variant: 0 a new connection for the stream, 1 the same
                     with the other kind of callback, 2 release pool slot
                     (stream bits), 3 flush every stream */
};

enum { K_EVENT, K_COMMENT, K_RETRY, K_OPEN, K_KEEPALIVE };

/* What a frame carries, for the model. Strings point into the input or
 * into num. */
typedef struct finfo {
  int kind;
  const char *type, *id, *data; /* K_EVENT: NULL when absent; K_COMMENT:
                                   the text in data */
  size_t type_len, id_len, data_len;
  uint64_t ms;    /* K_RETRY, K_OPEN */
  size_t padding; /* K_OPEN */
  char num[24];   /* a numeric id made by the script */
  char *bytes;    /* the encoding */
  size_t len;
} finfo;

struct run;

typedef struct fstream {
  struct run *r;
  int index;
  sse_stream *s;
  int plain;
  /* the model */
  test_log sent;   /* bytes of every frame accepted, in order */
  test_log wire;   /* bytes the callback accepted */
  test_log expect; /* the decoder's record of the frames accepted */
  test_log lastid; /* the last event ID those frames leave */
  size_t *cuts;    /* wire.len after each accepting call */
  size_t ncuts, cuts_cap;
  size_t *ends; /* where each accepted frame ends in sent */
  size_t nends, ends_cap, qhead; /* frames qhead.. are still queued */
  size_t qmax;  /* most frames queued since the queue was last empty */
  size_t cap;
  uint64_t interval, now, last;
  int clock, started, err, dropped;
  uint64_t pos; /* a position from the history, for OP_REPLAY_FROM */
  /* the callback */
  size_t calls;
  int full;  /* the transport was full (or failed) during this API call */
  int final; /* accept everything (the final drain) */
} fstream;

/* The history model: kept frames are kept[khead .. nkept), oldest first. */
typedef struct hmodel {
  size_t max_count, max_bytes;
  const finfo **kept;
  size_t khead, nkept, kept_cap, bytes, peak;
  uint64_t last, last_num, evicted_num;
  int numeric, evicted;
} hmodel;

typedef struct run {
  fuzz_reader in;
  test_alloc ta;
  sse_allocator mem;
  size_t fail_at;
  int fail_forever;
  int nstreams;
  size_t init_cap;
  fstream st[MAX_STREAMS];
  sse_history *h;
  hmodel hm;
  finfo **frames; /* every finfo made, freed at the end */
  size_t nframes, frames_cap;
  sse_frame *pool[POOL];
  const finfo *pool_fi[POOL];
  uint64_t clock_ms, next_num;
  size_t op;
} run;

static const finfo keepalive_fi = {K_KEEPALIVE, NULL, NULL, NULL, 0, 0, 0, 0, 0,
                             {0}, (char *)":\n", 2};

/* ---- small helpers -------------------------------------------------------- */

static void failf(const run *r, const char *fmt, ...) {
  char msg[512];
  int n;
  va_list ap;
  n = snprintf(msg, sizeof msg, "op %zu: ", r->op);
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  fuzz_fail(msg, NULL, NULL, NULL, NULL);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    abort();
  return p;
}

static void grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return;
  *cap = *cap ? 2 * *cap : 16;
  if (*cap < need)
    *cap = need;
  *p = realloc(*p, *cap * size);
  if (!*p)
    abort();
}

static void take_string(run *r, const char **p, size_t *len) {
  size_t want = fuzz_u8(&r->in);
  if (want == 255)
    want = fuzz_u16(&r->in);
  *p = (const char *)fuzz_bytes(&r->in, want, len);
  if (!*len)
    *p = "";
}

/* The next callback outcome: from the end of the input, backwards. */
static uint8_t take_outcome(run *r) {
  if (!r->in.n)
    return 0;
  return r->in.p[--r->in.n];
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A canonical decimal ("0", or 1-20 digits without a leading zero) within
 * 64 bits, as the history documents. */
static int decimal(const char *s, size_t n, uint64_t *v) {
  uint64_t x = 0;
  size_t i;
  if (!n || n > 20 || (s[0] == '0' && n > 1))
    return 0;
  for (i = 0; i < n; i++) {
    unsigned d = (unsigned)(unsigned char)s[i] - '0';
    if (d > 9 || x > (UINT64_MAX - d) / 10)
      return 0;
    x = x * 10 + d;
  }
  *v = x;
  return 1;
}

/* Whether the allocator refused anything since it had made `before`
 * calls. */
static int alloc_failed(const run *r, size_t before) {
  size_t now = r->ta.calls;
  if (!r->fail_at || now == before)
    return 0;
  if (r->fail_forever)
    return now >= r->fail_at;
  return before < r->fail_at && r->fail_at <= now;
}

static finfo *new_finfo(run *r, int kind) {
  finfo *fi = xmalloc(sizeof *fi);
  memset(fi, 0, sizeof *fi);
  fi->kind = kind;
  grow((void **)&r->frames, &r->frames_cap, r->nframes + 1, sizeof *r->frames);
  r->frames[r->nframes++] = fi;
  return fi;
}

static sse_message event_of(const finfo *fi) {
  sse_message ev;
  memset(&ev, 0, sizeof ev);
  ev.type = fi->type;
  ev.type_len = fi->type_len;
  ev.id = fi->id;
  ev.id_len = fi->id_len;
  ev.data = fi->data;
  ev.data_len = fi->data_len;
  return ev;
}

/* An event's fields: a tag byte (1 type, 2 id, 4 data; 8 a numeric id from
 * the script's counter instead, which skips tag >> 4 numbers first), then
 * the strings. */
static void take_event(run *r, finfo *fi) {
  uint8_t tag = fuzz_u8(&r->in);
  if (tag & 1)
    take_string(r, &fi->type, &fi->type_len);
  if (tag & 8) {
    r->next_num += 1 + (tag >> 4);
    snprintf(fi->num, sizeof fi->num, "%llu", (unsigned long long)r->next_num);
    fi->id = fi->num;
    fi->id_len = strlen(fi->num);
  } else if (tag & 2)
    take_string(r, &fi->id, &fi->id_len);
  if (tag & 4)
    take_string(r, &fi->data, &fi->data_len);
}

/* The frame's bytes, made with the encoder (whose own output is checked
 * by fuzz_roundtrip). Returns SSE_OK or SSE_E_INVALID_FIELD. */
static int encode(const run *r, finfo *fi) {
  size_t need = 0, len = 0;
  int rc;
  if (fi->kind == K_EVENT) {
    sse_message ev = event_of(fi);
    rc = sse_encode_message(NULL, 0, &ev, &need);
    if (rc == SSE_E_INVALID_FIELD)
      return rc;
    fi->bytes = xmalloc(need);
    rc = sse_encode_message(fi->bytes, need, &ev, &len);
  } else if (fi->kind == K_COMMENT) {
    sse_encode_comment(NULL, 0, fi->data, fi->data_len, &need);
    fi->bytes = xmalloc(need);
    rc = sse_encode_comment(fi->bytes, need, fi->data, fi->data_len, &len);
  } else if (fi->kind == K_RETRY) {
    fi->bytes = xmalloc(32);
    rc = sse_encode_retry(fi->bytes, 32, fi->ms, &len);
    need = len;
  } else { /* K_OPEN: padding comment, then the retry field */
    char retry[32];
    size_t rlen = 0, pad = fi->padding == 1 ? 2 : fi->padding;
    if (fi->ms)
      sse_encode_retry(retry, sizeof retry, fi->ms, &rlen);
    need = pad + rlen;
    fi->bytes = xmalloc(need);
    if (pad) {
      fi->bytes[0] = ':';
      memset(fi->bytes + 1, ' ', pad - 2);
      fi->bytes[pad - 1] = '\n';
    }
    memcpy(fi->bytes + pad, retry, rlen);
    len = need;
    rc = SSE_OK;
  }
  if (rc != SSE_OK || len != need)
    failf(r, "the encoder failed on a valid frame (%d)", rc);
  fi->len = len;
  return SSE_OK;
}

/* ---- the stream model ----------------------------------------------------- */

static size_t pend(const fstream *fs) {
  return fs->dropped ? 0 : fs->sent.len - fs->wire.len;
}

static size_t queued(const fstream *fs) { return fs->nends - fs->qhead; }

/* Whether the script skips a send of `bytes` to this connection. */
static int over_budget(const fstream *fs, size_t bytes) {
  return bytes > SENT_MAX - fs->sent.len;
}

/* Appends the decoder's record of fi as this stream delivers it. */
static void record(fstream *fs, const finfo *fi) {
  test_log *l = &fs->expect;
  switch (fi->kind) {
  case K_EVENT:
    if (fi->id) {
      fs->lastid.len = 0;
      test_log_add(&fs->lastid, fi->id, fi->id_len);
    }
    if (fi->data)
      fuzz_log_event(l, fi->type, fi->type_len, fi->data, fi->data_len,
                     fs->lastid.p, fs->lastid.len);
    break;
  case K_COMMENT:
    fuzz_log_comments(l, fi->data, fi->data_len);
    break;
  case K_KEEPALIVE:
    test_log_add(l, "comment \n", 9);
    break;
  case K_OPEN:
    if (fi->padding) { /* ":" + spaces: the decoder strips one space */
      size_t pad = fi->padding == 1 ? 2 : fi->padding;
      test_log_add(l, "comment ", 8);
      for (; pad > 3; pad--)
        test_log_add(l, " ", 1);
      test_log_add(l, "\n", 1);
    }
    if (!fi->ms)
      break;
    /* fall through */
  default:
    test_log_printf(l, "retry %llu\n", (unsigned long long)fi->ms);
    break;
  }
}

/* Puts fi on the model's queue (before the call that may write it). */
static void put(fstream *fs, const finfo *fi) {
  test_log_add(&fs->sent, fi->bytes, fi->len);
  grow((void **)&fs->ends, &fs->ends_cap, fs->nends + 1, sizeof *fs->ends);
  fs->ends[fs->nends++] = fs->sent.len;
  fs->started = 1;
  if (queued(fs) > fs->qmax)
    fs->qmax = queued(fs);
}

/* The model's state before a call, to check and to roll back. */
typedef struct before {
  size_t sent_len, nends, qmax, calls, allocs, wire_len, pending;
  int started, err;
} before;

static void snap(const fstream *fs, before *b) {
  b->sent_len = fs->sent.len;
  b->nends = fs->nends;
  b->qmax = fs->qmax;
  b->calls = fs->calls;
  b->allocs = fs->r->ta.calls;
  b->wire_len = fs->wire.len;
  b->pending = pend(fs);
  b->started = fs->started;
  b->err = fs->err;
}

static void rollback(fstream *fs, const before *b) {
  fs->sent.len = b->sent_len;
  fs->nends = b->nends;
  fs->qmax = b->qmax;
  fs->started = b->started;
}

/* What a send of `bytes` gets from the stream's own checks. */
/* What a stream's queue bookkeeping may take with n frames queued at most
 * since it was last empty: nothing up to 4 (the idle allocation holds
 * them), else within amortized growth. A bound, not the layout. */
static size_t queue_bound(size_t n) { return n > 4 ? 16 * n + 128 : 0; }

/* The model's verdict on sending n frames of bytes: the stream's state, an
 * overflow when the bytes alone pass the cap, SSE_OK when they fit with the
 * most bookkeeping they may need, and GATE_EITHER in between, where the
 * answer depends on the queue's layout (the script skips those sends). */
#define GATE_EITHER 1
static int gate(const fstream *fs, size_t bytes, size_t n) {
  size_t most = queued(fs) + n > fs->qmax ? queued(fs) + n : fs->qmax;
  size_t book = queue_bound(most);
  if (fs->err != SSE_OK)
    return fs->err;
  if (bytes > fs->cap || pend(fs) > fs->cap - bytes)
    return SSE_E_OVERFLOW;
  if (book > fs->cap - bytes - pend(fs))
    return GATE_EITHER;
  return SSE_OK;
}

static void fail_stream(fstream *fs) {
  fs->err = SSE_E_WRITE;
  fs->dropped = 1;
  fs->qhead = fs->nends;
  fs->qmax = 0;
  fs->full = 1;
}

/*
 * Checks the result of a send of the frames fis[0..n) (already put on the
 * model when want is SSE_OK). want: what the model predicts before any
 * allocation or write. sticky: an overflow ends the stream (sends; not
 * replays). may_alloc: the call may allocate (not the keep-alive).
 */
static void settle(fstream *fs, const before *b, int want, int got,
                   int sticky, int may_alloc, const finfo *const *fis,
                   size_t n, const char *what) {
  const run *r = fs->r;
  int nomem = alloc_failed(r, b->allocs);
  size_t i;
  if (!may_alloc && r->ta.calls != b->allocs)
    failf(r, "%s allocated (stream %d)", what, fs->index);
  if (want == SSE_OK && nomem)
    want = SSE_E_NOMEM;
  else if (want == SSE_OK && fs->err == SSE_E_WRITE)
    want = SSE_E_WRITE; /* the callback failed during this call */
  else if (want != SSE_OK && nomem)
    failf(r, "%s allocated before refusing with %d (stream %d)", what, want,
          fs->index);
  if (got != want)
    failf(r, "%s on stream %d returned %d where the model says %d", what,
          fs->index, got, want);
  if (want == SSE_OK || (want == SSE_E_WRITE && b->err == SSE_OK)) {
    if (want == SSE_OK)
      for (i = 0; i < n; i++)
        record(fs, fis[i]);
    if (b->pending == 0 && n && fs->calls == b->calls)
      failf(r, "%s onto idle stream %d did not write at once", what,
            fs->index);
    if (b->pending != 0 && fs->calls != b->calls)
      failf(r, "%s onto stream %d with bytes pending wrote before the flush",
            what, fs->index);
    if (want == SSE_OK && b->pending == 0 && pend(fs) && !fs->full)
      failf(r, "%s on stream %d stopped writing while the transport took "
               "everything", what, fs->index);
    if (want == SSE_OK && pend(fs) > fs->cap)
      failf(r, "stream %d: pending %zu above the cap %zu", fs->index,
            pend(fs), fs->cap);
  } else {
    if (fs->calls != b->calls || fs->wire.len != b->wire_len)
      failf(r, "%s on stream %d failed with %d but wrote", what, fs->index,
            got);
    rollback(fs, b);
    if (want == SSE_E_OVERFLOW && sticky)
      fs->err = SSE_E_OVERFLOW;
  }
}

/* ---- the write callbacks -------------------------------------------------- */

static void advance(fstream *fs) {
  while (fs->qhead < fs->nends && fs->ends[fs->qhead] <= fs->wire.len)
    fs->qhead++;
  if (fs->qhead == fs->nends)
    fs->qmax = 0; /* the stream frees its queue array when it drains */
}

/* Calls the callback must not make: each is refused with SSE_E_BUSY. One
 * of them per call, in turn. */
static void probe(fstream *fs) {
  run *r = fs->r;
  sse_stream *s = fs->s;
  sse_message ev;
  uint64_t d = 0;
  int rc = SSE_OK;
  if (sse_stream_get_pending(s) != pend(fs) || sse_stream_get_error(s) != fs->err)
    failf(r, "stream %d: pending or state wrong inside the callback",
          fs->index);
  switch (fs->calls % 10) {
  case 0:
    rc = sse_stream_send_comment(s, "x", 1);
    break;
  case 1:
    rc = sse_stream_flush(s);
    break;
  case 2:
    rc = sse_stream_tick(s, r->clock_ms, &d);
    if (d != SSE_NO_DEADLINE)
      rc = SSE_OK;
    break;
  case 3:
    rc = sse_stream_close(s);
    break;
  case 4:
    rc = sse_stream_set_max_pending(s, 1);
    break;
  case 5:
    rc = sse_stream_set_heartbeat(s, 1);
    break;
  case 6:
    rc = sse_stream_open(s, 1, 2);
    break;
  case 7:
    rc = sse_stream_send_retry(s, 1);
    break;
  case 8:
    memset(&ev, 0, sizeof ev);
    rc = sse_stream_send_message(s, &ev);
    break;
  default: /* the replay reaches the stream's checks (pos is the newest) */
    rc = r->h ? sse_history_replay_from(r->h, s, r->hm.last, NULL)
              : SSE_E_BUSY;
    break;
  }
  if (rc != SSE_E_BUSY)
    failf(r, "stream %d: a re-entrant call (%zu) from the callback gave %d",
          fs->index, fs->calls % 10, rc);
}

static int transport(fstream *fs, const sse_iovec *iov, size_t n,
                     size_t *written) {
  run *r = fs->r;
  size_t total = 0, take, i, left, at;
  uint8_t b;
  if (*written != 0)
    failf(r, "*written does not start at 0");
  if (n < 1 || n > SSE_STREAM_MAX_IOV)
    failf(r, "callback offered %zu pieces", n);
  for (i = 0; i < n; i++) {
    if (!iov[i].base || !iov[i].len)
      failf(r, "callback offered an empty or NULL piece");
    total += iov[i].len;
  }
  if (fs->dropped)
    failf(r, "stream %d called its callback after it failed", fs->index);
  if (fs->full)
    failf(r, "stream %d called its callback again in the same call after "
             "the transport was full", fs->index);
  fs->calls++;
  probe(fs);
  b = fs->final ? 0 : take_outcome(r);
  if (b >= 0xc0 && b <= 0xf9) {
    fs->full = 1;
    return SSE_E_AGAIN;
  }
  if (b >= 0xfa && b <= 0xfe) {
    fail_stream(fs);
    if (b >= 0xfd) {
      *written = total + 1;
      return SSE_OK;
    }
    return b == 0xfa ? SSE_E_WRITE : b == 0xfb ? SSE_PAUSE : 1;
  }
  take = total;
  if (b >= 0x60 && b < 0xc0 && (size_t)(b - 0x60) < total)
    take = (size_t)(b - 0x60);
  if (!take) {
    /* SSE_OK without progress is a callback bug: the stream fails */
    fail_stream(fs);
    return SSE_OK;
  }
  if (take > fs->sent.len - fs->wire.len)
    failf(r, "stream %d wrote %zu bytes more than it accepted", fs->index,
          take - (fs->sent.len - fs->wire.len));
  for (i = 0, left = take, at = fs->wire.len; left; i++) {
    size_t m = iov[i].len < left ? iov[i].len : left;
    if (memcmp(iov[i].base, fs->sent.p + at, m) != 0)
      failf(r, "stream %d wrote bytes out of order at byte %zu", fs->index,
            at);
    at += m;
    left -= m;
  }
  for (i = 0, left = take; left; i++) {
    size_t m = iov[i].len < left ? iov[i].len : left;
    test_log_add(&fs->wire, iov[i].base, m);
    left -= m;
  }
  if (take) {
    fs->last = fs->now;
    advance(fs);
    grow((void **)&fs->cuts, &fs->cuts_cap, fs->ncuts + 1, sizeof *fs->cuts);
    fs->cuts[fs->ncuts++] = fs->wire.len;
  }
  if (take < total)
    fs->full = 1;
  *written = take;
  return SSE_OK;
}

static int cb_writev(void *user, const sse_iovec *iov, size_t n,
                     size_t *written) {
  return transport(user, iov, n, written);
}

static int cb_write(void *user, const void *buf, size_t len,
                    size_t *written) {
  sse_iovec one;
  one.base = buf;
  one.len = len;
  return transport(user, &one, 1, written);
}

/* ---- stream lifetimes ----------------------------------------------------- */

/* Decodes what the stream wrote, fed along the callback boundaries, and
 * compares with the record of what was sent. */
static void check_record(fstream *fs) {
  harness_run hr;
  test_log want = {0}, got = {0};
  int violations = 0;
  memset(&hr, 0, sizeof hr);
  hr.comments = 1;
  hr.cuts = fs->cuts;
  hr.ncuts = fs->ncuts;
  hr.violations = &violations;
  if (fs->ncuts && fs->cuts[fs->ncuts - 1] == fs->wire.len)
    hr.ncuts--; /* the last boundary is the end */
  test_log_add(&want, fs->expect.p, fs->expect.len);
  test_log_add(&want, "last ", 5);
  harness_log_str(&want, fs->lastid.p, fs->lastid.len);
  test_log_add(&want, "\nresult SSE_OK\n", 15);
  harness_decode(&hr, fs->wire.p ? fs->wire.p : "", fs->wire.len, &got);
  if (violations)
    fuzz_fail("the decoder broke its contract on a stream's output", &got,
              "decoded", NULL, NULL);
  fuzz_expect_same("what the stream wrote decodes differently from what was "
                   "sent",
                   &want, "sent", &got, "written, decoded");
  test_log_free(&want);
  test_log_free(&got);
}

static void reset_model(fstream *fs) {
  fs->sent.len = fs->wire.len = fs->expect.len = fs->lastid.len = 0;
  fs->ncuts = fs->nends = fs->qhead = fs->qmax = 0;
  fs->cap = SSE_DEFAULT_MAX_PENDING;
  fs->interval = SSE_DEFAULT_HEARTBEAT_MS;
  fs->now = fs->last = 0;
  fs->clock = fs->started = fs->dropped = fs->full = fs->final = 0;
  fs->err = SSE_OK;
  fs->pos = 0;
  fs->calls = 0;
}

static void make_stream(run *r, fstream *fs) {
  size_t allocs = r->ta.calls;
  sse_stream *s = (sse_stream *)&s; /* must be set to NULL on failure */
  int rc, want;
  reset_model(fs);
  rc = fs->plain ? sse_stream_new_write(&s, cb_write, fs, &r->mem)
                 : sse_stream_new(&s, cb_writev, fs, &r->mem);
  want = alloc_failed(r, allocs) ? SSE_E_NOMEM : SSE_OK;
  if (rc != want || (rc != SSE_OK) != (s == NULL))
    failf(r, "sse_stream_new gave %d where the model says %d", rc, want);
  fs->s = s;
  if (s && r->init_cap) {
    if (sse_stream_set_max_pending(s, r->init_cap) != SSE_OK)
      failf(r, "set_max_pending failed");
    fs->cap = r->init_cap;
  }
}

/* Ends a connection: a stream that wrote all it accepted must have written
 * exactly the events sent. */
static void retire(fstream *fs) {
  if (fs->s && !fs->dropped && pend(fs) == 0)
    check_record(fs);
  sse_stream_free(fs->s);
  fs->s = NULL;
  reset_model(fs);
}

/* ---- the history model ---------------------------------------------------- */

static void h_evict_note(hmodel *m, const finfo *fi) {
  m->evicted = 1;
  if (m->numeric) {
    uint64_t v = 0;
    decimal(fi->id, fi->id_len, &v);
    m->evicted_num = v;
  }
}

static void h_evict_oldest(hmodel *m) {
  const finfo *fi = m->kept[m->khead++];
  h_evict_note(m, fi);
  m->bytes -= fi->len;
}

static size_t h_count(const hmodel *m) { return m->nkept - m->khead; }

static void h_push(hmodel *m, const finfo *fi) {
  uint64_t v;
  if (m->numeric) {
    if (decimal(fi->id, fi->id_len, &v) && (m->last == 0 || v > m->last_num))
      m->last_num = v;
    else
      m->numeric = 0;
  }
  m->last++;
  if (fi->len > m->max_bytes) {
    while (h_count(m))
      h_evict_oldest(m);
    h_evict_note(m, fi);
    return;
  }
  while (h_count(m) && (h_count(m) >= m->max_count ||
                        m->bytes > m->max_bytes - fi->len))
    h_evict_oldest(m);
  grow((void **)&m->kept, &m->kept_cap, m->nkept + 1, sizeof *m->kept);
  m->kept[m->nkept++] = fi;
  m->bytes += fi->len;
  if (h_count(m) > m->peak)
    m->peak = h_count(m);
}

/* ---- memory and state checks ---------------------------------------------- */

static void check_all(run *r) {
  size_t bound = HISTORY_OVH;
  const hmodel *m = &r->hm;
  int k;
  /* the history: its ring (doubling from 8 up to max_count) and frames */
  {
    size_t ring = 2 * m->peak + 8;
    uint64_t first = sse_history_get_first_seq(r->h),
             last = sse_history_get_last_seq(r->h);
    size_t bytes = sse_history_get_bytes(r->h);
    if (r->h && (bytes != m->bytes || last != m->last ||
                 first != m->last - h_count(m) + 1))
      failf(r, "history range %llu..%llu (%zu bytes), the model says "
               "%llu..%llu (%zu bytes)",
            (unsigned long long)first, (unsigned long long)last, bytes,
            (unsigned long long)(m->last - h_count(m) + 1),
            (unsigned long long)m->last, m->bytes);
    bound += sizeof(void *) * (ring < m->max_count ? ring : m->max_count);
    bound += FRAME_OVH * h_count(m) + m->bytes;
  }
  for (k = 0; k < POOL; k++)
    if (r->pool[k])
      bound += FRAME_OVH + r->pool_fi[k]->len;
  for (k = 0; k < r->nstreams; k++) {
    const fstream *fs = &r->st[k];
    if (!fs->s)
      continue;
    if (sse_stream_get_pending(fs->s) != pend(fs))
      failf(r, "stream %d: pending %zu, the model says %zu", k,
            sse_stream_get_pending(fs->s), pend(fs));
    if (sse_stream_get_error(fs->s) != fs->err)
      failf(r, "stream %d: state %d, the model says %d", k,
            sse_stream_get_error(fs->s), fs->err);
    /* the queue's bookkeeping (queue_bound) and the queued frames, whole */
    bound += STREAM_OVH + queue_bound(fs->qmax);
    if (queued(fs))
      bound += FRAME_OVH * queued(fs) + fs->sent.len -
               (fs->qhead ? fs->ends[fs->qhead - 1] : 0);
  }
  if (r->ta.live_bytes > bound)
    failf(r, "%zu bytes live, above the %zu the queues, the history and "
             "the held frames account for",
          r->ta.live_bytes, bound);
}

/* ---- operations ----------------------------------------------------------- */

static void op_send_frame(run *r, fstream *fs, int slot) {
  sse_frame *f = r->pool[slot];
  const finfo *fi = r->pool_fi[slot];
  before b;
  int want, got;
  if (!fs->s || (fi && over_budget(fs, fi->len)))
    return;
  snap(fs, &b);
  want = fs->err ? fs->err : !f ? SSE_E_INVALID_ARGUMENT : gate(fs, fi->len, 1);
  if (want == GATE_EITHER)
    return;
  if (want == SSE_OK)
    put(fs, fi);
  fs->full = 0;
  got = sse_stream_send_frame(fs->s, f);
  settle(fs, &b, want, got, 1, 1, &fi, 1, "send_frame");
}

/* Replays kept frames from index `from` (model) onto fs, or checks the
 * refusal `refused` (nonzero: an answer without touching the stream). */
static void replay(run *r, fstream *fs, int by_id, const char *id,
                   size_t id_len, uint64_t pos, size_t from, int refused) {
  const hmodel *m = &r->hm;
  const finfo *const *fis = m->kept ? m->kept + m->khead + from : NULL;
  size_t n = h_count(m) - from, bytes = 0, i;
  uint64_t out = UINT64_MAX - 1;
  before b;
  int want, got;
  snap(fs, &b);
  if (refused) {
    want = fs->err ? fs->err : refused; /* the stream's state comes first */
    n = 0;
  } else {
    for (i = 0; i < n; i++)
      bytes += fis[i]->len;
    if (over_budget(fs, bytes))
      return;
    want = gate(fs, bytes, n);
    if (want == GATE_EITHER)
      return;
    if (want == SSE_E_OVERFLOW && fs->err == SSE_OK)
      want = SSE_E_NOSPACE; /* a replay that does not fit is only refused */
    if (want == SSE_OK)
      for (i = 0; i < n; i++)
        put(fs, fis[i]);
  }
  fs->full = 0;
  got = by_id ? sse_history_replay(r->h, fs->s, id, id_len, &out)
              : sse_history_replay_from(r->h, fs->s, pos, &out);
  settle(fs, &b, want, got, 0, 1, fis, n,
         by_id ? "sse_history_replay" : "sse_history_replay_from");
  if (got == SSE_OK || got == SSE_E_EVICTED ||
      (by_id && got == SSE_E_UNKNOWN_ID)) {
    if (out != m->last)
      failf(r, "replay set the position %llu, the newest is %llu",
            (unsigned long long)out, (unsigned long long)m->last);
    fs->pos = out;
  }
}

static void op_replay(run *r, fstream *fs, int variant) {
  const hmodel *m = &r->hm;
  const char *id = "";
  size_t len = 0, i, count = h_count(m);
  char num[24];
  uint64_t v;
  int refused;
  if (variant == 0) { /* a frame pushed, kept or not */
    size_t back = fuzz_u8(&r->in);
    if (m->nkept) {
      const finfo *fi = m->kept[m->nkept - 1 - back % m->nkept];
      id = fi->id;
      len = fi->id_len;
    }
  } else if (variant == 1) {
    take_string(r, &id, &len);
  } else if (variant == 2) {
    snprintf(num, sizeof num, "%u", (unsigned)fuzz_u8(&r->in));
    id = num;
    len = strlen(num);
  } else if (fuzz_u8(&r->in) & 1) {
    id = NULL; /* NULL with length 0 is allowed */
  }
  if (!fs->s)
    return;
  for (i = count; i-- > 0;) {
    const finfo *fi = m->kept[m->khead + i];
    if (fi->id_len == len && !memcmp(fi->id, id ? id : "", len)) {
      replay(r, fs, 1, id, len, 0, i + 1, 0);
      return;
    }
  }
  refused = m->numeric && m->evicted && decimal(id ? id : "", len, &v) &&
                    v <= m->evicted_num
                ? SSE_E_EVICTED
                : SSE_E_UNKNOWN_ID;
  replay(r, fs, 1, id, len, 0, 0, refused);
}

static void op_replay_from(run *r, fstream *fs, int variant) {
  const hmodel *m = &r->hm;
  uint64_t pos, first = m->last - h_count(m) + 1;
  uint8_t k = fuzz_u8(&r->in);
  if (variant == 0)
    pos = m->last > k ? m->last - k : 0;
  else if (variant == 1)
    pos = fs->pos;
  else if (variant == 2)
    pos = k;
  else
    pos = m->last + 1;
  if (!fs->s)
    return;
  if (pos > m->last)
    replay(r, fs, 0, NULL, 0, pos, 0, SSE_E_INVALID_ARGUMENT);
  else if (pos + 1 < first)
    replay(r, fs, 0, NULL, 0, pos, 0, SSE_E_EVICTED);
  else
    replay(r, fs, 0, NULL, 0, pos, (size_t)(pos + 1 - first), 0);
}

static void op_flush(run *r, fstream *fs) {
  before b;
  int want, got;
  if (!fs->s)
    return;
  snap(fs, &b);
  fs->full = 0;
  got = sse_stream_flush(fs->s);
  if (r->ta.calls != b.allocs)
    failf(r, "flush allocated");
  if (fs->err == SSE_E_WRITE)
    want = SSE_E_WRITE;
  else
    want = pend(fs) ? SSE_E_AGAIN : SSE_OK;
  if (got != want)
    failf(r, "flush on stream %d returned %d where the model says %d",
          fs->index, got, want);
  if (b.err != SSE_E_WRITE && b.pending && fs->calls == b.calls)
    failf(r, "flush on stream %d with bytes pending did not write",
          fs->index);
  if ((!b.pending || b.err == SSE_E_WRITE) && fs->calls != b.calls)
    failf(r, "flush on stream %d with nothing to write called the "
             "callback", fs->index);
  if (got == SSE_E_AGAIN && !fs->full)
    failf(r, "flush on stream %d stopped while the transport took "
             "everything", fs->index);
}

static void op_tick(run *r, fstream *fs, int variant) {
  uint64_t now_ms, deadline = 0, due;
  uint8_t k = fuzz_u8(&r->in);
  before b;
  int want, got;
  if (variant == 0)
    now_ms = r->clock_ms += k;
  else if (variant == 1)
    now_ms = r->clock_ms += ((uint64_t)k << 8) | fuzz_u8(&r->in);
  else if (variant == 2)
    now_ms = r->clock_ms += 1000u * k;
  else
    now_ms = r->clock_ms > k ? r->clock_ms - k : 0; /* an earlier time */
  if (!fs->s)
    return;
  snap(fs, &b);
  if (!fs->clock) {
    fs->clock = 1;
    fs->now = fs->last = now_ms;
  } else if (now_ms > fs->now)
    fs->now = now_ms;
  fs->full = 0;
  if (fs->err == SSE_OK && fs->interval && !pend(fs) &&
      fs->now >= add_sat(fs->last, fs->interval)) {
    const finfo *ka = &keepalive_fi;
    want = gate(fs, 2, 1); /* nothing pending: never GATE_EITHER */
    if (want == SSE_OK)
      put(fs, ka);
    got = sse_stream_tick(fs->s, now_ms, &deadline);
    settle(fs, &b, want, got, 1, 0, &ka, 1, "a keep-alive");
  } else {
    want = fs->err;
    got = sse_stream_tick(fs->s, now_ms, &deadline);
    if (got != want || fs->calls != b.calls || r->ta.calls != b.allocs)
      failf(r, "tick on stream %d returned %d where the model says %d, or "
               "wrote, or allocated", fs->index, got, want);
  }
  if (fs->err != SSE_OK || !fs->interval)
    due = SSE_NO_DEADLINE;
  else {
    due = add_sat(fs->last, fs->interval);
    if (due <= fs->now)
      due = add_sat(fs->now, fs->interval);
  }
  if (deadline != due || (due != SSE_NO_DEADLINE && due <= now_ms))
    failf(r, "tick on stream %d: deadline %llu, the model says %llu",
          fs->index, (unsigned long long)deadline, (unsigned long long)due);
}

static void op_open(run *r, fstream *fs, int variant) {
  finfo *fi = new_finfo(r, K_OPEN);
  const finfo *cfi = fi;
  before b;
  int want, got;
  fi->ms = variant & 1 ? fuzz_u16(&r->in) : 0;
  fi->padding = variant & 2 ? fuzz_u16(&r->in) : fuzz_u8(&r->in);
  if (fi->padding == 0xffff)
    fi->padding = SSE_MAX_PADDING + 1;
  if (!fs->s)
    return;
  snap(fs, &b);
  if (fs->err)
    want = fs->err;
  else if (fs->started)
    want = SSE_E_STATE;
  else if (fi->padding > SSE_MAX_PADDING)
    want = SSE_E_INVALID_ARGUMENT;
  else if (!fi->padding && !fi->ms)
    want = -1000; /* nothing to send: SSE_OK, nothing happens */
  else {
    encode(r, fi);
    want = gate(fs, fi->len, 1); /* at most 64 KiB: no budget needed */
  }
  if (want == GATE_EITHER)
    return;
  if (want == SSE_OK)
    put(fs, fi);
  fs->full = 0;
  got = sse_stream_open(fs->s, fi->ms, fi->padding);
  if (want == -1000) {
    if (got != SSE_OK || fs->calls != b.calls || r->ta.calls != b.allocs)
      failf(r, "open with nothing to send returned %d, or wrote", got);
    return;
  }
  settle(fs, &b, want, got, 1, 1, &cfi, 1, "open");
}

/* A send of a private frame (event, comment, retry). */
static void op_private(run *r, fstream *fs, int what, int variant) {
  finfo *fi = new_finfo(r, what == OP_EVENT ? K_EVENT
                           : what == OP_COMMENT ? K_COMMENT
                                                : K_RETRY);
  const finfo *cfi = fi;
  sse_message ev;
  before b;
  int want, enc = SSE_OK, got, null_text = 0;
  if (what == OP_EVENT)
    take_event(r, fi);
  else if (what == OP_COMMENT) {
    if (variant == 1)
      null_text = 1;
    else
      take_string(r, &fi->data, &fi->data_len);
  } else
    fi->ms = variant == 0   ? fuzz_u8(&r->in)
             : variant == 1 ? fuzz_u16(&r->in)
             : variant == 2 ? fuzz_u64(&r->in)
                            : 0;
  if (!fs->s)
    return;
  enc = encode(r, fi);
  if (enc == SSE_OK && over_budget(fs, fi->len))
    return;
  snap(fs, &b);
  if (fs->err)
    want = fs->err;
  else if (enc != SSE_OK)
    want = enc;
  else
    want = gate(fs, fi->len, 1);
  if (want == GATE_EITHER)
    return;
  if (want == SSE_OK)
    put(fs, fi);
  fs->full = 0;
  if (what == OP_EVENT) {
    ev = event_of(fi);
    got = sse_stream_send_message(fs->s, &ev);
  } else if (what == OP_COMMENT)
    got = sse_stream_send_comment(fs->s, null_text ? NULL : fi->data,
                                  fi->data_len);
  else
    got = sse_stream_send_retry(fs->s, fi->ms);
  settle(fs, &b, want, got, 1, 1, &cfi, 1,
         what == OP_EVENT     ? "send_event"
         : what == OP_COMMENT ? "send_comment"
                              : "send_retry");
}

static void release_slot(run *r, int slot) {
  sse_frame_release(r->pool[slot]);
  r->pool[slot] = NULL;
  r->pool_fi[slot] = NULL;
}

static void op_frame(run *r, int slot, int comment) {
  finfo *fi = new_finfo(r, comment ? K_COMMENT : K_EVENT);
  sse_frame *f = (sse_frame *)&f;
  size_t allocs, n = 0, idn = 0;
  const char *p, *id;
  int rc, want;
  sse_message ev;
  if (comment)
    take_string(r, &fi->data, &fi->data_len);
  else
    take_event(r, fi);
  release_slot(r, slot);
  want = encode(r, fi);
  allocs = r->ta.calls;
  if (comment)
    rc = sse_frame_new_comment(&f, fi->data, fi->data_len, &r->mem);
  else {
    ev = event_of(fi);
    rc = sse_frame_new_message(&f, &ev, &r->mem);
  }
  if (want == SSE_OK && alloc_failed(r, allocs))
    want = SSE_E_NOMEM;
  if (rc != want || (rc != SSE_OK) != (f == NULL))
    failf(r, "making a frame gave %d where the model says %d", rc, want);
  if (rc != SSE_OK)
    return;
  p = sse_frame_get_bytes(f, &n);
  id = sse_frame_get_id(f, &idn);
  if (n != fi->len || memcmp(p, fi->bytes, n) != 0)
    failf(r, "a frame's bytes differ from the encoder's");
  if (!fi->id != !id || idn != fi->id_len ||
      (idn && memcmp(id, fi->id, idn) != 0))
    failf(r, "a frame's id differs from the event's");
  r->pool[slot] = f;
  r->pool_fi[slot] = fi;
}

static void op_push(run *r, int slot) {
  sse_frame *f = r->pool[slot];
  const finfo *fi = r->pool_fi[slot];
  size_t allocs = r->ta.calls;
  uint64_t seq = 0;
  int rc, want;
  rc = sse_history_push(r->h, f, &seq);
  if (!f || fi->kind != K_EVENT || !fi->id || !fi->id_len)
    want = SSE_E_INVALID_ARGUMENT;
  else
    want = alloc_failed(r, allocs) ? SSE_E_NOMEM : SSE_OK;
  if (rc != want)
    failf(r, "history push gave %d where the model says %d", rc, want);
  if (rc != SSE_OK)
    return;
  h_push(&r->hm, fi);
  if (seq != r->hm.last)
    failf(r, "history push gave number %llu, the model says %llu",
          (unsigned long long)seq, (unsigned long long)r->hm.last);
}

static void run_op(run *r) {
  uint8_t b = fuzz_u8(&r->in);
  int what = b & 15, variant = b >> 6, k;
  fstream *fs = &r->st[((b >> 4) & 3) % r->nstreams];
  if (!fs->s && what != OP_MISC)
    make_stream(r, fs); /* a new connection where the last one could not
                           be made */
  switch (what) {
  case OP_EVENT:
  case OP_COMMENT:
  case OP_RETRY:
    op_private(r, fs, what, variant);
    break;
  case OP_FRAME:
    op_frame(r, variant, (b >> 4) & 1);
    break;
  case OP_SEND:
    op_send_frame(r, fs, variant);
    break;
  case OP_BROADCAST:
    for (k = 0; k < r->nstreams; k++)
      op_send_frame(r, &r->st[k], variant);
    break;
  case OP_PUSH:
    op_push(r, variant);
    break;
  case OP_REPLAY:
    op_replay(r, fs, variant);
    break;
  case OP_REPLAY_FROM:
    op_replay_from(r, fs, variant);
    break;
  case OP_FLUSH:
    op_flush(r, fs);
    break;
  case OP_TICK:
    op_tick(r, fs, variant);
    break;
  case OP_OPEN:
    op_open(r, fs, variant);
    break;
  case OP_CAP: {
    size_t v = variant == 0   ? fuzz_u16(&r->in)
               : variant == 1 ? fuzz_u8(&r->in)
               : variant == 2 ? 0
                              : SIZE_MAX;
    if (fs->s && sse_stream_set_max_pending(fs->s, v) != SSE_OK)
      failf(r, "set_max_pending failed");
    fs->cap = v ? v : SSE_DEFAULT_MAX_PENDING;
    break;
  }
  case OP_HEARTBEAT: {
    uint64_t v = variant == 0   ? fuzz_u16(&r->in)
                 : variant == 1 ? fuzz_u8(&r->in)
                 : variant == 2 ? 0
                                : SSE_DEFAULT_HEARTBEAT_MS;
    if (fs->s && sse_stream_set_heartbeat(fs->s, v) != SSE_OK)
      failf(r, "set_heartbeat failed");
    fs->interval = v;
    break;
  }
  case OP_CLOSE:
    if (fs->s && sse_stream_close(fs->s) != SSE_OK)
      failf(r, "close failed");
    if (fs->err == SSE_OK)
      fs->err = SSE_E_CLOSED;
    break;
  default:
    if (variant <= 1) {
      retire(fs);
      fs->plain ^= variant;
      make_stream(r, fs);
    } else if (variant == 2)
      release_slot(r, (b >> 4) & 3);
    else
      for (k = 0; k < r->nstreams; k++)
        op_flush(r, &r->st[k]);
    break;
  }
  check_all(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  run *r = xmalloc(sizeof *r);
  uint8_t h0, h1, h2, h3;
  uint16_t fail;
  size_t i, allocs;
  int k, rc;
  fuzz_set_input(data, size);
  memset(r, 0, sizeof *r);
  r->in.p = data;
  r->in.n = size;
  h0 = fuzz_u8(&r->in);
  h1 = fuzz_u8(&r->in);
  h2 = fuzz_u8(&r->in);
  h3 = fuzz_u8(&r->in);
  fail = fuzz_u16(&r->in);
  r->nstreams = 1 + (h0 & 3);
  r->init_cap = (size_t)h3 * 16;
  r->fail_at = fail & 0x7fff;
  r->fail_forever = fail >> 15;
  r->ta.fail_at = r->fail_at;
  r->ta.fail_forever = r->fail_forever;
  r->mem = test_alloc_hooks(&r->ta);
  r->hm.max_count = h1 ? h1 : SSE_DEFAULT_HISTORY_COUNT;
  r->hm.max_bytes = h2 ? (size_t)h2 * 32 : SSE_DEFAULT_HISTORY_BYTES;
  r->hm.numeric = 1;
  r->clock_ms = 1000;

  allocs = r->ta.calls;
  rc = sse_history_new(&r->h, h1, (size_t)h2 * 32, &r->mem);
  if (rc != (alloc_failed(r, allocs) ? SSE_E_NOMEM : SSE_OK) ||
      (rc != SSE_OK) != (r->h == NULL))
    failf(r, "sse_history_new gave %d", rc);
  for (k = 0; k < r->nstreams; k++) {
    fstream *fs = &r->st[k];
    fs->r = r;
    fs->index = k;
    fs->plain = (h0 >> (2 + k)) & 1;
    make_stream(r, fs);
  }
  if (r->h) /* without a history (it could not be made) nothing runs */
    for (r->op = 0; r->in.n && r->op < MAX_OPS; r->op++)
      run_op(r);

  /* The end: every stream drains into a transport that takes everything,
   * writes all it accepted, then everything is freed. */
  for (k = 0; k < r->nstreams; k++) {
    fstream *fs = &r->st[k];
    if (!fs->s)
      continue;
    fs->final = 1;
    op_flush(r, fs);
    if (!fs->dropped && fs->wire.len != fs->sent.len)
      failf(r, "stream %d wrote %zu of the %zu bytes it accepted", k,
            fs->wire.len, fs->sent.len);
    retire(fs);
    check_all(r);
  }
  for (k = 0; k < POOL; k++)
    release_slot(r, k);
  check_all(r);
  sse_history_free(r->h);
  if (r->ta.live || r->ta.live_bytes)
    failf(r, "%zu blocks (%zu bytes) live after everything was freed",
          r->ta.live, r->ta.live_bytes);

  for (k = 0; k < r->nstreams; k++) {
    fstream *fs = &r->st[k];
    test_log_free(&fs->sent);
    test_log_free(&fs->wire);
    test_log_free(&fs->expect);
    test_log_free(&fs->lastid);
    free(fs->cuts);
    free(fs->ends);
  }
  for (i = 0; i < r->nframes; i++) {
    free(r->frames[i]->bytes);
    free(r->frames[i]);
  }
  free(r->frames);
  free(r->hm.kept);
  free(r);
  return 0;
}
