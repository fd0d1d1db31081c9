/* The replay history: a ring of the newest frames with sequence numbers.
 *
 * Invariant: every frame ever pushed is either kept or evicted, oldest
 * first, so the kept frames have the consecutive numbers
 * last - count + 1 .. last, and ring[(head + i) % cap] holds number
 * last - count + 1 + i. */
#include "stream_int.h"

enum {
  H_NUMERIC = 1u << 0, /* every id pushed so far: increasing decimal */
  H_EVICTED = 1u << 1  /* some frame was evicted */
};

struct sse_history {
  sse_allocator alloc;
  const sse_frame **ring;
  size_t cap, head, count;
  size_t max_count, max_bytes, bytes;
  uint64_t last;        /* number of the newest frame pushed; 0: none */
  uint64_t last_num;    /* H_NUMERIC: the newest id's value */
  uint64_t evicted_num; /* H_NUMERIC and H_EVICTED: newest evicted id */
  unsigned flags;
  unsigned replaying; /* replays under way: the stream's callback is running
                         and borrows the kept frames, so pushes must wait */
};

/* A canonical decimal ("0", or 1-20 digits without a leading zero) that
 * fits in 64 bits. */
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

static const sse_frame *slot(const sse_history *h, size_t i) {
  size_t j = h->head + i; /* head < cap, i < count <= cap */
  return h->ring[j < h->cap ? j : j - h->cap];
}

static uint64_t id_num(const sse_frame *f) {
  uint64_t v = 0;
  decimal(f->data + f->id_off, f->id_len, &v);
  return v;
}

int sse_history_new(sse_history **out, size_t max_count, size_t max_bytes,
                    const sse_allocator *allocator) {
  sse_allocator a;
  sse_history *h;
  if (!out)
    return SSE_E_INVALID_ARGUMENT;
  *out = NULL;
  sse__allocator_init(&a, allocator);
  h = sse__malloc(&a, sizeof *h);
  if (!h)
    return SSE_E_NOMEM;
  memset(h, 0, sizeof *h);
  h->alloc = a;
  h->ring = NULL;
  h->max_count = max_count ? max_count : SSE_DEFAULT_HISTORY_COUNT;
  h->max_bytes = max_bytes ? max_bytes : SSE_DEFAULT_HISTORY_BYTES;
  h->flags = H_NUMERIC;
  *out = h;
  return SSE_OK;
}

void sse_history_free(sse_history *h) {
  sse_allocator a;
  size_t i;
  if (!h)
    return;
  for (i = 0; i < h->count; i++)
    sse__frame_unref(slot(h, i));
  a = h->alloc;
  sse__free(&a, (void *)h->ring);
  sse__free(&a, h);
}

/* Doubles the ring (up to max_count) when full. SSE_E_NOMEM: unchanged. */
static int grow(sse_history *h) {
  const sse_frame **r;
  size_t cap, i;
  if (h->count < h->cap || h->cap >= h->max_count)
    return SSE_OK;
  cap = h->cap ? h->cap * 2 : 8;
  if (cap > h->max_count || cap < h->cap)
    cap = h->max_count;
  if (cap > (size_t)-1 / sizeof *r)
    return SSE_E_NOMEM;
  r = sse__malloc(&h->alloc, cap * sizeof *r);
  if (!r)
    return SSE_E_NOMEM;
  for (i = 0; i < h->count; i++)
    r[i] = slot(h, i);
  sse__free(&h->alloc, (void *)h->ring);
  h->ring = r;
  h->cap = cap;
  h->head = 0;
  return SSE_OK;
}

/* Records f as evicted (f may be a frame that is never kept). */
static void note_evicted(sse_history *h, const sse_frame *f) {
  h->flags |= H_EVICTED;
  if (h->flags & H_NUMERIC)
    h->evicted_num = id_num(f);
}

static void evict_oldest(sse_history *h) {
  const sse_frame *f = h->ring[h->head];
  note_evicted(h, f);
  h->bytes -= f->len;
  h->head = (h->head + 1) % h->cap;
  h->count--;
  sse__frame_unref(f);
}

int sse_history_push(sse_history *h, sse_frame *f, uint64_t *seq) {
  uint64_t v;
  int rc;
  if (!h || !f || !(f->flags & SSE__FRAME_HAS_ID) || !f->id_len)
    return SSE_E_INVALID_ARGUMENT;
  if (h->replaying)
    return SSE_E_BUSY;
  if (f->len <= h->max_bytes && (rc = grow(h)) != SSE_OK)
    return rc;
  if (h->flags & H_NUMERIC) {
    if (decimal(f->data + f->id_off, f->id_len, &v) &&
        (h->last == 0 || v > h->last_num))
      h->last_num = v;
    else
      h->flags &= ~(unsigned)H_NUMERIC;
  }
  h->last++;
  if (seq)
    *seq = h->last;
  if (f->len > h->max_bytes) {
    /* Cannot be kept: everything before it goes too, so the kept numbers
     * stay consecutive, and it counts as evicted itself. */
    while (h->count)
      evict_oldest(h);
    note_evicted(h, f);
    return SSE_OK;
  }
  while (h->count && (h->count >= h->max_count ||
                      h->bytes > h->max_bytes - f->len))
    evict_oldest(h);
  h->ring[(h->head + h->count) % h->cap] = sse__frame_ref(f);
  h->count++;
  h->bytes += f->len;
  return SSE_OK;
}

/* Sends kept frames [from, count) onto s, all or nothing. */
static int queue_from(sse_history *h, sse_stream *s, size_t from) {
  size_t i, bytes = 0, start;
  int rc;
  for (i = from; i < h->count; i++)
    bytes += slot(h, i)->len; /* <= max_bytes: cannot overflow */
  rc = sse__stream_begin(s, h->count - from, bytes);
  if (rc != SSE_OK)
    return rc;
  start = h->head + from;
  if (h->cap && start >= h->cap)
    start -= h->cap;
  h->replaying++;
  rc = sse__stream_put_ring(s, h->ring, h->cap, start, h->count - from, bytes);
  h->replaying--;
  return rc;
}

/* Frames the lookup compares one by one from the newest before it
 * searches by number: clients are mostly a few frames behind. */
#define NEWEST_SCAN 8

static int same_id(const sse_frame *f, const char *id, size_t len) {
  return f->id_len == len && !memcmp(f->data + f->id_off, id, len);
}

/* The index of the kept frame with this id (the newest of equals), or
 * count when none. When every id is an increasing canonical decimal, ids
 * are unique and sorted and equal as numbers only when equal as text: the
 * older frames are searched by bisection, and an id that is no canonical
 * decimal matches none. */
static size_t find(const sse_history *h, const char *id, size_t len) {
  size_t i, lo, hi, end;
  uint64_t v;
  for (i = h->count; i-- > 0 && i + NEWEST_SCAN >= h->count;)
    if (same_id(slot(h, i), id, len))
      return i;
  if (h->count <= NEWEST_SCAN)
    return h->count;
  if (!(h->flags & H_NUMERIC)) {
    for (i = h->count - NEWEST_SCAN; i-- > 0;)
      if (same_id(slot(h, i), id, len))
        return i;
    return h->count;
  }
  if (!decimal(id, len, &v))
    return h->count;
  lo = 0;
  hi = end = h->count - NEWEST_SCAN;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (id_num(slot(h, mid)) < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < end && id_num(slot(h, lo)) == v ? lo : h->count;
}

int sse_history_replay(sse_history *h, sse_stream *s, const char *last_id,
                       size_t len, uint64_t *pos) {
  size_t i;
  uint64_t v;
  int rc;
  if (!h || !s || (!last_id && len))
    return SSE_E_INVALID_ARGUMENT;
  rc = sse__stream_state(s); /* the stream's state first, as every send */
  if (rc != SSE_OK)
    return rc;
  i = find(h, last_id, len);
  if (i < h->count) {
    rc = queue_from(h, s, i + 1);
    if (rc == SSE_OK && pos)
      *pos = h->last;
    return rc;
  }
  if (pos)
    *pos = h->last;
  if ((h->flags & (H_NUMERIC | H_EVICTED)) == (H_NUMERIC | H_EVICTED) &&
      decimal(last_id, len, &v) && v <= h->evicted_num)
    return SSE_E_EVICTED;
  return SSE_E_UNKNOWN_ID;
}

int sse_history_replay_from(sse_history *h, sse_stream *s, uint64_t pos,
                            uint64_t *next) {
  uint64_t first;
  int rc;
  if (!h || !s)
    return SSE_E_INVALID_ARGUMENT;
  rc = sse__stream_state(s);
  if (rc != SSE_OK)
    return rc;
  if (pos > h->last)
    return SSE_E_INVALID_ARGUMENT;
  first = h->last - h->count + 1;
  if (pos + 1 < first) {
    if (next)
      *next = h->last;
    return SSE_E_EVICTED;
  }
  rc = queue_from(h, s, (size_t)(pos + 1 - first));
  if (rc == SSE_OK && next)
    *next = h->last;
  return rc;
}

uint64_t sse_history_get_first_seq(const sse_history *h) {
  return h ? h->last - h->count + 1 : 0;
}

uint64_t sse_history_get_last_seq(const sse_history *h) {
  return h ? h->last : 0;
}

size_t sse_history_get_count(const sse_history *h) { return h ? h->count : 0; }

size_t sse_history_get_bytes(const sse_history *h) { return h ? h->bytes : 0; }
