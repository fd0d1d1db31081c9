/*
 * The reconnection policy: a state machine over caller-supplied times.
 *
 * All time arithmetic saturates at UINT64_MAX, so no input (a huge retry
 * field, a clock that starts near the top, a clock that goes backwards)
 * can wrap a deadline into the past.
 */
#include <stdint.h>

#include "internal.h"

struct sse_reconnect {
  sse_allocator mem;
  /* settings */
  uint64_t initial_ms;
  uint64_t max_ms;
  uint64_t backoff_base_ms;
  uint64_t backoff_max_ms;
  unsigned jitter_percent;
  uint64_t reset_after_ms;
  uint64_t idle_ms;
  uint32_t max_reconnects;
  /* state */
  sse_reconnect_state state;
  sse_reconnect_reason reason;
  uint64_t retry_ms;     /* the reconnection time T */
  uint64_t wait_until;   /* WAITING: when to attempt */
  uint64_t last_rx;      /* CONNECTING, STREAMING: last byte (or attempt) */
  uint64_t stream_start; /* STREAMING: when the response was accepted */
  uint32_t failures;     /* failures in a row */
  uint32_t reconnects;   /* attempts after the first */
  unsigned char attempted; /* an attempt was made since new or reset */
  uint64_t rng;          /* splitmix64 state */
};

static uint64_t sat_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* splitmix64: small, fast, and every seed (0 included) is a good one. */
static uint64_t next_random(sse_reconnect *r) {
  uint64_t z = (r->rng += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* The backoff for the n-th failure in a row (n >= 1), jitter applied. */
static uint64_t backoff(sse_reconnect *r, uint32_t n) {
  uint64_t b, j, cut;
  unsigned shift = n - 1 < 63 ? (unsigned)(n - 1) : 63;
  if (r->backoff_base_ms == 0)
    return 0;
  if (r->backoff_base_ms > (r->backoff_max_ms >> shift))
    b = r->backoff_max_ms;
  else
    b = r->backoff_base_ms << shift;
  /* j = b * jitter / 100 without overflow */
  j = (b / 100) * r->jitter_percent + (b % 100) * r->jitter_percent / 100;
  if (j == 0)
    return b;
  cut = j == UINT64_MAX ? next_random(r) : next_random(r) % (j + 1);
  return b - cut;
}

/* Leaves the connection: to WAITING with the next deadline, or STOPPED
 * when the reconnections are used up. */
static void schedule(sse_reconnect *r, uint64_t now, uint64_t retry_after) {
  uint64_t delay = r->retry_ms;
  if (r->reconnects >= r->max_reconnects) {
    r->state = SSE_RECONNECT_STOPPED;
    r->reason = SSE_RECONNECT_ATTEMPTS_USED;
    return;
  }
  if (r->failures)
    delay = sat_add(delay, backoff(r, r->failures));
  if (retry_after != SSE_RECONNECT_NO_RETRY_AFTER) {
    if (retry_after > r->max_ms)
      retry_after = r->max_ms;
    if (retry_after > delay)
      delay = retry_after;
  }
  r->state = SSE_RECONNECT_WAITING;
  r->wait_until = sat_add(now, delay);
}

static void fail(sse_reconnect *r, uint64_t now, uint64_t retry_after) {
  if (r->failures < UINT32_MAX)
    r->failures++;
  schedule(r, now, retry_after);
}

static void stop(sse_reconnect *r, sse_reconnect_reason why) {
  r->state = SSE_RECONNECT_STOPPED;
  r->reason = why;
}

static void clear_state(sse_reconnect *r) {
  r->state = SSE_RECONNECT_WAITING;
  r->reason = SSE_RECONNECT_NOT_STOPPED;
  r->retry_ms = r->initial_ms;
  r->wait_until = 0;
  r->last_rx = r->stream_start = 0;
  r->failures = r->reconnects = 0;
  r->attempted = 0;
}

int sse_reconnect_new(sse_reconnect **out, uint64_t seed,
                      const sse_allocator *allocator) {
  sse_allocator mem;
  sse_reconnect *r;
  if (!out)
    return SSE_E_INVALID_ARGUMENT;
  *out = NULL;
  sse__allocator_init(&mem, allocator);
  r = sse__malloc(&mem, sizeof *r);
  if (!r)
    return SSE_E_NOMEM;
  memset(r, 0, sizeof *r);
  r->mem = mem;
  r->initial_ms = SSE_RECONNECT_DEFAULT_INITIAL_MS;
  r->max_ms = SSE_RECONNECT_DEFAULT_MAX_MS;
  r->backoff_base_ms = SSE_RECONNECT_DEFAULT_BACKOFF_BASE_MS;
  r->backoff_max_ms = SSE_RECONNECT_DEFAULT_BACKOFF_MAX_MS;
  r->jitter_percent = SSE_RECONNECT_DEFAULT_JITTER_PERCENT;
  r->reset_after_ms = SSE_RECONNECT_DEFAULT_RESET_AFTER_MS;
  r->idle_ms = 0;
  r->max_reconnects = SSE_RECONNECT_UNLIMITED;
  r->rng = seed;
  clear_state(r);
  *out = r;
  return SSE_OK;
}

void sse_reconnect_free(sse_reconnect *r) {
  if (r) {
    sse_allocator mem = r->mem;
    sse__free(&mem, r);
  }
}

int sse_reconnect_set_delays(sse_reconnect *r, uint64_t initial_ms,
                             uint64_t max_ms) {
  if (!r || initial_ms > max_ms)
    return SSE_E_INVALID_ARGUMENT;
  r->initial_ms = r->retry_ms = initial_ms;
  r->max_ms = max_ms;
  return SSE_OK;
}

int sse_reconnect_set_backoff(sse_reconnect *r, uint64_t base_ms,
                              uint64_t max_ms, unsigned jitter_percent) {
  if (!r || base_ms > max_ms || jitter_percent > 100)
    return SSE_E_INVALID_ARGUMENT;
  r->backoff_base_ms = base_ms;
  r->backoff_max_ms = max_ms;
  r->jitter_percent = jitter_percent;
  return SSE_OK;
}

int sse_reconnect_set_reset_after(sse_reconnect *r, uint64_t ms) {
  if (!r)
    return SSE_E_INVALID_ARGUMENT;
  r->reset_after_ms = ms;
  return SSE_OK;
}

int sse_reconnect_set_idle_timeout(sse_reconnect *r, uint64_t ms) {
  if (!r)
    return SSE_E_INVALID_ARGUMENT;
  r->idle_ms = ms;
  return SSE_OK;
}

int sse_reconnect_set_max_reconnects(sse_reconnect *r, uint32_t n) {
  if (!r)
    return SSE_E_INVALID_ARGUMENT;
  r->max_reconnects = n;
  return SSE_OK;
}

int sse_reconnect_attempt(sse_reconnect *r, uint64_t now_ms) {
  if (!r)
    return SSE_E_INVALID_ARGUMENT;
  if (r->state != SSE_RECONNECT_WAITING)
    return SSE_E_STATE;
  if (r->attempted && r->reconnects < UINT32_MAX)
    r->reconnects++;
  r->attempted = 1;
  r->state = SSE_RECONNECT_CONNECTING;
  r->last_rx = now_ms;
  return SSE_OK;
}

/* HTTP whitespace, as Fetch defines it for trimming header values. */
static int is_ows(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int sse_reconnect_response(sse_reconnect *r, uint64_t now_ms, int status,
                           const char *content_type, size_t content_type_len,
                           uint64_t retry_after_ms) {
  if (!r || (!content_type && content_type_len))
    return SSE_E_INVALID_ARGUMENT;
  if (r->state != SSE_RECONNECT_CONNECTING)
    return SSE_E_STATE;
  r->last_rx = now_ms;
  if (status == 200) {
    if (sse_http_check_content_type(content_type, content_type_len) !=
        SSE_OK) {
      stop(r, SSE_RECONNECT_BAD_CONTENT_TYPE);
      return SSE_OK;
    }
    r->state = SSE_RECONNECT_STREAMING;
    r->stream_start = now_ms;
  } else if (status == 204) {
    stop(r, SSE_RECONNECT_NO_CONTENT);
  } else if (status == 408 || status == 429 ||
             (status >= 500 && status <= 599)) {
    fail(r, now_ms, retry_after_ms);
  } else {
    stop(r, SSE_RECONNECT_BAD_STATUS);
  }
  return SSE_OK;
}

int sse_reconnect_on_bytes(sse_reconnect *r, uint64_t now_ms, size_t len) {
  if (!r)
    return SSE_E_INVALID_ARGUMENT;
  if (r->state != SSE_RECONNECT_CONNECTING &&
      r->state != SSE_RECONNECT_STREAMING)
    return SSE_E_STATE;
  if (len)
    r->last_rx = now_ms;
  return SSE_OK;
}

int sse_reconnect_on_retry(sse_reconnect *r, uint64_t ms) {
  if (!r)
    return SSE_E_INVALID_ARGUMENT;
  r->retry_ms = ms > r->max_ms ? r->max_ms : ms;
  return SSE_OK;
}

int sse_reconnect_closed(sse_reconnect *r, uint64_t now_ms) {
  if (!r)
    return SSE_E_INVALID_ARGUMENT;
  if (r->state == SSE_RECONNECT_CONNECTING) {
    fail(r, now_ms, SSE_RECONNECT_NO_RETRY_AFTER);
  } else if (r->state == SSE_RECONNECT_STREAMING) {
    /* A clock that went backwards gives a lifetime of 0. */
    uint64_t lived = now_ms > r->stream_start ? now_ms - r->stream_start : 0;
    if (lived >= r->reset_after_ms) {
      r->failures = 0;
      schedule(r, now_ms, SSE_RECONNECT_NO_RETRY_AFTER);
    } else {
      fail(r, now_ms, SSE_RECONNECT_NO_RETRY_AFTER);
    }
  }
  return SSE_OK;
}

int sse_reconnect_stop(sse_reconnect *r) {
  if (!r)
    return SSE_E_INVALID_ARGUMENT;
  if (r->state != SSE_RECONNECT_STOPPED)
    stop(r, SSE_RECONNECT_STOPPED_BY_CALLER);
  return SSE_OK;
}

int sse_reconnect_reset(sse_reconnect *r) {
  if (!r)
    return SSE_E_INVALID_ARGUMENT;
  clear_state(r);
  return SSE_OK;
}

sse_reconnect_state sse_reconnect_get_state(const sse_reconnect *r) {
  return r ? r->state : SSE_RECONNECT_STOPPED;
}

sse_reconnect_reason sse_reconnect_get_reason(const sse_reconnect *r) {
  return r ? r->reason : SSE_RECONNECT_NOT_STOPPED;
}

uint64_t sse_reconnect_get_deadline(const sse_reconnect *r) {
  if (!r)
    return UINT64_MAX;
  switch (r->state) {
  case SSE_RECONNECT_WAITING:
    return r->wait_until;
  case SSE_RECONNECT_CONNECTING:
  case SSE_RECONNECT_STREAMING:
    return r->idle_ms ? sat_add(r->last_rx, r->idle_ms) : SSE_NO_DEADLINE;
  default:
    return UINT64_MAX;
  }
}

uint64_t sse_reconnect_get_retry_ms(const sse_reconnect *r) {
  return r ? r->retry_ms : 0;
}

uint32_t sse_reconnect_get_failures(const sse_reconnect *r) {
  return r ? r->failures : 0;
}

uint32_t sse_reconnect_get_reconnects(const sse_reconnect *r) {
  return r ? r->reconnects : 0;
}

/* ------------------------------------------------------------------------ */
/* Retry-After */

/* Two digits at s, or -1. */
static int two_digits(const char *s) {
  if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
    return -1;
  return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Index of the 3-letter name at s in names (case-sensitive, as RFC 9110
 * spells them), or -1. */
static int name_index(const char *s, const char *names, int count) {
  int i;
  for (i = 0; i < count; i++)
    if (!memcmp(s, names + 3 * i, 3))
      return i;
  return -1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* IMF-fixdate, exactly 29 bytes: "Sun, 06 Nov 1994 08:49:37 GMT". */
static int parse_imf_fixdate(const char *s, size_t n, int64_t *out) {
  static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
  int day, mon, y1, y2, hh, mm, ss;
  int64_t year;
  if (n != 29 || name_index(s, "MonTueWedThuFriSatSun", 7) < 0 ||
      memcmp(s + 3, ", ", 2) || s[7] != ' ' || s[11] != ' ' ||
      s[16] != ' ' || s[19] != ':' || s[22] != ':' || memcmp(s + 25, " GMT", 4))
    return 0;
  day = two_digits(s + 5);
  mon = name_index(s + 8, "JanFebMarAprMayJunJulAugSepOctNovDec", 12);
  y1 = two_digits(s + 12);
  y2 = two_digits(s + 14);
  hh = two_digits(s + 17);
  mm = two_digits(s + 20);
  ss = two_digits(s + 23);
  if (day < 1 || mon < 0 || y1 < 0 || y2 < 0 || hh < 0 || hh > 23 ||
      mm < 0 || mm > 59 || ss < 0 || ss > 60 || day > mdays[mon])
    return 0;
  year = y1 * 100 + y2;
  if (mon == 1 && day == 29 &&
      !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
    return 0;
  *out = days_from_civil(year, mon + 1, day) * 86400 + hh * 3600 + mm * 60 +
         ss;
  return 1;
}

int sse_reconnect_parse_retry_after(const char *value, size_t len,
                                    int64_t now_unix_s, uint64_t *ms) {
  const char *s = value;
  size_t n = len, i;
  int64_t when;
  if (!ms || (!value && len))
    return SSE_E_INVALID_ARGUMENT;
  while (n && is_ows(*s))
    s++, n--;
  while (n && is_ows(s[n - 1]))
    n--;
  if (n == 0)
    return SSE_E_INVALID_VALUE;
  if (s[0] >= '0' && s[0] <= '9') {
    /* delta-seconds; the result stays below SSE_RECONNECT_NO_RETRY_AFTER */
    const uint64_t top = (UINT64_MAX - 1) / 1000;
    uint64_t v = 0;
    int over = 0;
    for (i = 0; i < n; i++) {
      unsigned d = (unsigned)(s[i] - '0');
      if (d > 9)
        return SSE_E_INVALID_VALUE;
      if (over || v > (top - d) / 10)
        over = 1; /* past top seconds: saturates */
      else
        v = v * 10 + d;
    }
    *ms = over ? UINT64_MAX - 1 : v * 1000;
    return SSE_OK;
  }
  if (now_unix_s < 0 || !parse_imf_fixdate(s, n, &when))
    return SSE_E_INVALID_VALUE;
  *ms = when > now_unix_s ? (uint64_t)(when - now_unix_s) * 1000 : 0;
  return SSE_OK;
}
