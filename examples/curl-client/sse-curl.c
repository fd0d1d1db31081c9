/*
 * sse-curl: a robust Server-Sent Events client on libcurl and libsse.
 *
 *   sse-curl [options] URL
 *
 * Connects with libcurl, checks that the response is 200 text/event-stream,
 * decodes the body with the libsse decoder and prints each event as one
 * JSON object per line, exactly as ssecat does:
 *   {"type":"...","data":"...","id":"..."}   per event (id: last event ID)
 *   {"retry":N}                              per valid retry field
 *   {"comment":"..."}                        per comment, with --comments
 * When the connection ends or fails it reconnects, sending Last-Event-ID,
 * after the delay that the libsse reconnection policy (sse/reconnect.h)
 * computes: the server's retry field, Retry-After on 408, 429 and 5xx,
 * capped exponential backoff with jitter after failures. It stops on 204
 * and on statuses that must not be retried, and treats a connection that
 * has received no byte at all (heartbeat comments count) for the idle
 * timeout as dead. Progress notes go to stderr.
 *
 * Exit status: 0 when the stream ended as asked (a 204, --max-events
 * reached, or --max-time or --max-reconnects reached while the last
 * connection was streaming or ended cleanly), 1 on errors (a status or
 * Content-Type that is not retried, a decoder limit, giving up after
 * failures), 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sse.h>

#include "ndjson.h"

static const char *prog = "sse-curl";

/* Bodies for --data are read into memory up to this size. */
#define MAX_BODY ((size_t)64 * 1024 * 1024)

/* Prints the usage: on stdout with status 0 for --help, else on stderr
 * with status 2. */
static void usage_exit(int status) {
  fprintf(status ? stderr : stdout,
"usage: %s [options] URL\n"
"  -H, --header 'Name: value'  send this request header (repeatable); a\n"
"                              Last-Event-ID header sets the id to resume from\n"
"  -d, --data DATA|@FILE       POST this body (@FILE reads a file, @- stdin)\n"
"      --comments              also print comments as {\"comment\":\"...\"}\n"
"      --max-events N          stop after N events\n"
"      --max-reconnects N      reconnect at most N times (default: no limit)\n"
"      --max-time SECONDS      stop after this long\n"
"      --idle-timeout SECONDS  reconnect after this long without a byte\n"
"                              (default 60; 0: never)\n"
"      --reconnect-time SECONDS  delay before the server sets one (3)\n"
"      --max-delay SECONDS     cap on retry fields and Retry-After (300)\n"
"      --backoff SECONDS       backoff after a first failure (1)\n"
"      --backoff-max SECONDS   backoff cap (60)\n"
"      --jitter PERCENT        random part taken off the backoff (50)\n"
"      --reset-after SECONDS   a stream that lived this long resets the\n"
"                              backoff (10)\n"
"      --max-line BYTES        decoder line limit (16 MiB)\n"
"      --max-event BYTES       decoder event data limit (16 MiB)\n"
"  -q, --quiet                 no progress notes on stderr\n",
          prog);
  exit(status);
}

static void usage(void) { usage_exit(2); }

static void die_usage(const char *what, const char *opt, const char *got) {
  fprintf(stderr, "%s: %s %s, got '%s'\n", prog, opt, what, got ? got : "");
  exit(2);
}

/* A count: digits only, at most max. */
static unsigned long long parse_count(const char *opt, const char *s,
                                      unsigned long long max) {
  char *end;
  unsigned long long v;
  errno = 0;
  if (!s || *s < '0' || *s > '9')
    die_usage("needs a whole number", opt, s);
  v = strtoull(s, &end, 10);
  if (errno || *end || v > max)
    die_usage("needs a whole number in range", opt, s);
  return v;
}

/* Seconds with an optional fraction, into milliseconds (at most ~30
 * years). */
static uint64_t parse_seconds(const char *opt, const char *s) {
  char *end;
  double v;
  errno = 0;
  if (!s || ((*s < '0' || *s > '9') && *s != '.'))
    die_usage("needs a number of seconds", opt, s);
  v = strtod(s, &end);
  if (errno || *end || !(v >= 0 && v <= 1e9))
    die_usage("needs a number of seconds", opt, s);
  return (uint64_t)(v * 1000 + 0.5);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms) {
  if (ms > 1000)
    ms = 1000; /* wake up now and then; the loop sleeps again */
  poll(NULL, 0, (int)ms);
}

/* ------------------------------------------------------------------------ */
/* Output: the ssecat format. */

/* ------------------------------------------------------------------------ */
/* The client. */

enum abort_why {
  ABORT_NONE,    /* curl ended the transfer by itself */
  ABORT_VERDICT, /* the response was not accepted */
  ABORT_DONE,    /* --max-events reached */
  ABORT_DECODER, /* the decoder failed (a limit) */
  ABORT_OUTPUT   /* writing to stdout failed */
};

typedef struct client {
  /* options */
  const char *url;
  struct curl_slist *user_headers;
  int has_accept, has_cache_control;
  char *body;
  size_t body_len;
  int has_body;
  int comments;
  int quiet;
  const char *initial_id; /* from -H 'Last-Event-ID: ...' */
  size_t initial_id_len;
  uint64_t idle_ms;
  unsigned long long max_events; /* 0: no limit */
  uint64_t max_time;             /* 0: no limit */
  /* objects */
  CURLM *multi;
  CURL *easy;
  struct curl_slist *headers; /* the current attempt's request headers */
  sse_decoder *dec;
  sse_reconnect *rc;
  char errbuf[CURL_ERROR_SIZE];
  /* the current attempt */
  int attached; /* easy is in multi */
  int judged;   /* sse_reconnect_response() was called */
  long status;
  char ctype[256];
  size_t ctype_len;
  int has_ctype;
  char retry_after[64];
  size_t ra_len;
  int has_ra; /* 1: stored; -1: too long to be valid */
  enum abort_why abort_why;
  int decoder_rc;
  /* the run */
  unsigned long long events;
  int last_ok; /* the last connection was accepted and had no error */
  int exit_code; /* decided, or -1 */
} client;

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

static void vmessage(const char *fmt, va_list ap) {
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

/* A progress note, silenced by --quiet. */
static void note(const client *c, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void note(const client *c, const char *fmt, ...) {
  va_list ap;
  if (c->quiet)
    return;
  va_start(ap, fmt);
  vmessage(fmt, ap);
  va_end(ap);
}

/* An error, always shown. */
static void error(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmessage(fmt, ap);
  va_end(ap);
}

/* Makes server-sent text safe to show on a terminal: anything but
 * printable ASCII becomes '?'. Returns buf (cap > 0). */
static const char *printable(const char *s, size_t n, char *buf,
                             size_t cap) {
  size_t i;
  if (n > cap - 1)
    n = cap - 1;
  for (i = 0; i < n; i++)
    buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
  buf[n] = '\0';
  return buf;
}

static int on_event(void *user, const sse_event *ev) {
  client *c = user;
  ndjson_event(stdout, ev);
  if (c->max_events && ++c->events >= c->max_events) {
    c->abort_why = ABORT_DONE;
    return SSE_PAUSE; /* nothing more from this chunk */
  }
  return SSE_OK;
}

static int on_retry(void *user, uint64_t ms) {
  client *c = user;
  ndjson_retry(stdout, ms);
  return sse_reconnect_on_retry(c->rc, ms);
}

static int on_comment(void *user, const char *text, size_t len) {
  (void)user;
  ndjson_comment(stdout, text, len);
  return SSE_OK;
}

static int ieq_prefix(const char *s, size_t n, const char *prefix) {
  size_t i, k = strlen(prefix);
  if (n < k)
    return 0;
  for (i = 0; i < k; i++) {
    char a = s[i], b = prefix[i];
    if (a >= 'A' && a <= 'Z')
      a = (char)(a - 'A' + 'a');
    if (a != b)
      return 0;
  }
  return 1;
}

/* Trims a header value (after the colon); returns its start. */
static const char *trim(const char *v, size_t *n) {
  while (*n && (*v == ' ' || *v == '\t'))
    v++, (*n)--;
  while (*n && (v[*n - 1] == '\r' || v[*n - 1] == '\n' || v[*n - 1] == ' ' ||
                v[*n - 1] == '\t'))
    (*n)--;
  return v;
}

/* Copies a trimmed header value into buf, as much as fits; returns its
 * whole length. */
static size_t header_value(const char *v, size_t n, char *buf, size_t cap) {
  v = trim(v, &n);
  memcpy(buf, v, n < cap ? n : cap);
  return n;
}

/* Judges the final response once its headers are complete. */
static void judge(client *c, uint64_t now) {
  uint64_t ra = SSE_RECONNECT_NO_RETRY_AFTER;
  char shown[sizeof c->retry_after + 1];
  c->judged = 1;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
  if (c->has_ra == 1 &&
      sse_reconnect_parse_retry_after(c->retry_after, c->ra_len,
                                      (int64_t)time(NULL), &ra) != SSE_OK) {
    note(c, "ignoring a malformed Retry-After: %s",
         printable(c->retry_after, c->ra_len, shown, sizeof shown));
    ra = SSE_RECONNECT_NO_RETRY_AFTER;
  }
  sse_reconnect_response(c->rc, now,
                         c->status > 0 && c->status < 1000 ? (int)c->status
                                                           : 0,
                         c->has_ctype ? c->ctype : NULL,
                         c->has_ctype ? c->ctype_len : 0, ra);
  c->last_ok = sse_reconnect_get_state(c->rc) == SSE_RECONNECT_STREAMING;
  if (c->last_ok)
    note(c, "connected to %s", c->url);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *user) {
  client *c = user;
  size_t n = size * nmemb;
  sse_reconnect_on_bytes(c->rc, now_ms(), n);
  if (ieq_prefix(p, n, "http/")) {
    /* a new response (1xx, redirect or final): forget the last one's */
    c->has_ctype = 0;
    c->has_ra = 0;
  } else if (ieq_prefix(p, n, "content-type:")) {
    c->ctype_len = header_value(p + 13, n - 13, c->ctype, sizeof c->ctype);
    /* too long for the buffer: keep the start, where the type is */
    if (c->ctype_len > sizeof c->ctype)
      c->ctype_len = sizeof c->ctype;
    c->has_ctype = 1;
  } else if (ieq_prefix(p, n, "retry-after:")) {
    c->ra_len = header_value(p + 12, n - 12, c->retry_after,
                             sizeof c->retry_after);
    c->has_ra = c->ra_len <= sizeof c->retry_after ? 1 : -1;
  }
  return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *user) {
  client *c = user;
  size_t n = size * nmemb, off = 0;
  uint64_t now = now_ms();
  if (!c->judged)
    judge(c, now);
  if (sse_reconnect_get_state(c->rc) != SSE_RECONNECT_STREAMING) {
    c->abort_why = ABORT_VERDICT;
    return 0; /* aborts the transfer */
  }
  sse_reconnect_on_bytes(c->rc, now, n);
  while (off < n) {
    size_t used = 0;
    int rc = sse_decoder_feed(c->dec, p + off, n - off, &used);
    off += used;
    if (rc == SSE_OK)
      break;
    if (rc == SSE_PAUSE && c->abort_why == ABORT_NONE)
      continue; /* nothing here pauses for another reason, but resume */
    if (rc != SSE_PAUSE) {
      c->decoder_rc = rc;
      c->abort_why = ABORT_DECODER;
    }
    break;
  }
  if (fflush(stdout) != 0 || ferror(stdout))
    c->abort_why = ABORT_OUTPUT;
  return c->abort_why == ABORT_NONE ? n : 0;
}

/* Appends a header line to *h; 0 when out of memory. */
static int append(struct curl_slist **h, const char *line) {
  struct curl_slist *t = curl_slist_append(*h, line);
  if (t)
    *h = t;
  return t != NULL;
}

/* Builds the request headers of one attempt into c->headers. */
static int build_headers(client *c) {
  static const char name[] = "Last-Event-ID: ";
  struct curl_slist *h = NULL, *u;
  size_t idlen;
  const char *id = sse_decoder_get_last_event_id(c->dec, &idlen);
  char *line;
  int ok = 1;
  curl_slist_free_all(c->headers);
  c->headers = NULL;
  if (!c->has_accept)
    ok = append(&h, "Accept: text/event-stream");
  if (ok && !c->has_cache_control)
    ok = append(&h, "Cache-Control: no-cache");
  for (u = c->user_headers; ok && u; u = u->next)
    ok = append(&h, u->data);
  if (ok && idlen) {
    /* The decoder's id has no CR, LF or NUL: safe in a header. */
    ok = (line = malloc(sizeof name + idlen)) != NULL;
    if (ok) {
      memcpy(line, name, sizeof name - 1);
      memcpy(line + sizeof name - 1, id, idlen);
      line[sizeof name - 1 + idlen] = '\0';
      ok = append(&h, line);
      free(line);
    }
  }
  if (!ok) {
    curl_slist_free_all(h);
    return 0;
  }
  c->headers = h;
  return 1;
}

static int start_attempt(client *c, uint64_t now) {
  CURLMcode mc;
  if (!build_headers(c)) {
    error("out of memory");
    return 0;
  }
  sse_decoder_reset(c->dec);
  sse_reconnect_attempt(c->rc, now);
  c->judged = 0;
  c->status = 0;
  c->has_ctype = c->has_ra = 0;
  c->abort_why = ABORT_NONE;
  c->errbuf[0] = '\0';
  curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
  if ((mc = curl_multi_add_handle(c->multi, c->easy)) != CURLM_OK) {
    error("curl: %s", curl_multi_strerror(mc));
    return 0;
  }
  c->attached = 1;
  return 1;
}

static void detach(client *c) {
  if (c->attached)
    curl_multi_remove_handle(c->multi, c->easy);
  c->attached = 0;
}

static const char *curl_error(const client *c, CURLcode res) {
  return c->errbuf[0] ? c->errbuf : curl_easy_strerror(res);
}

/* Says what happens next after a connection ended. */
static void next_note(const client *c, uint64_t now) {
  if (sse_reconnect_get_state(c->rc) == SSE_RECONNECT_WAITING) {
    uint64_t d = sse_reconnect_get_deadline(c->rc);
    d = d > now ? d - now : 0;
    note(c, "reconnecting in %.1f s", (double)d / 1000);
  }
}

/* The transfer is over (curl ended it, or a callback aborted it). */
static void finished(client *c, CURLcode res) {
  uint64_t now = now_ms();
  sse_reconnect_state st;
  detach(c);
  if (!c->judged && res == CURLE_OK)
    judge(c, now); /* a response without a body */
  switch (c->abort_why) {
  case ABORT_DONE:
    c->exit_code = 0;
    sse_reconnect_stop(c->rc);
    return;
  case ABORT_DECODER:
    error("%s: %s", c->url, sse_strerror(c->decoder_rc));
    c->exit_code = 1;
    sse_reconnect_stop(c->rc);
    return;
  case ABORT_OUTPUT:
    error("write error on standard output");
    c->exit_code = 1;
    sse_reconnect_stop(c->rc);
    return;
  default:
    break;
  }
  st = sse_reconnect_get_state(c->rc);
  if (st == SSE_RECONNECT_STREAMING) {
    sse_decoder_finish(c->dec); /* an unfinished event is dropped */
    if (res == CURLE_OK) {
      note(c, "the server closed the stream");
    } else {
      note(c, "connection lost: %s", curl_error(c, res));
      c->last_ok = 0;
    }
    sse_reconnect_closed(c->rc, now);
  } else if (st == SSE_RECONNECT_CONNECTING) {
    note(c, "connection failed: %s", curl_error(c, res));
    c->last_ok = 0;
    sse_reconnect_closed(c->rc, now);
  } else if (st == SSE_RECONNECT_WAITING) {
    note(c, "the server answered HTTP %ld", c->status);
  }
  next_note(c, now);
}

/* Runs the transfer until it ends, the idle deadline passes, or the time
 * limit. Returns 0 when the time limit was reached. */
static int pump(client *c, uint64_t end) {
  for (;;) {
    int running = 0, left;
    CURLMsg *msg;
    uint64_t now, deadline;
    curl_multi_perform(c->multi, &running);
    while ((msg = curl_multi_info_read(c->multi, &left)))
      if (msg->msg == CURLMSG_DONE) {
        finished(c, msg->data.result);
        return 1;
      }
    now = now_ms();
    deadline = sse_reconnect_get_deadline(c->rc);
    if (now >= deadline) {
      detach(c);
      note(c, "nothing received for %.1f s: the connection is dead",
           (double)c->idle_ms / 1000);
      c->last_ok = 0;
      sse_reconnect_closed(c->rc, now);
      next_note(c, now);
      return 1;
    }
    if (end && now >= end)
      return 0;
    if (end && end < deadline)
      deadline = end;
    deadline -= now;
    curl_multi_poll(c->multi, NULL, 0, deadline > 1000 ? 1000 : (int)deadline,
                    NULL);
  }
}

static int run(client *c) {
  uint64_t start = now_ms();
  uint64_t end = c->max_time ? start + c->max_time : 0;
  for (;;) {
    uint64_t now = now_ms();
    sse_reconnect_state st = sse_reconnect_get_state(c->rc);
    if (st == SSE_RECONNECT_STOPPED)
      break;
    if (end && now >= end) {
      note(c, "--max-time reached");
      break;
    }
    if (st == SSE_RECONNECT_WAITING) {
      uint64_t d = sse_reconnect_get_deadline(c->rc);
      if (end && end < d)
        d = end;
      if (now < d) {
        sleep_ms(d - now);
        continue;
      }
      if (!start_attempt(c, now))
        return 1;
      continue;
    }
    if (!pump(c, end)) {
      detach(c);
      note(c, "--max-time reached");
      break;
    }
  }
  detach(c);
  if (c->exit_code >= 0)
    return c->exit_code;
  switch (sse_reconnect_get_reason(c->rc)) {
  case SSE_RECONNECT_NO_CONTENT:
    note(c, "HTTP 204: the server asks not to reconnect");
    return 0;
  case SSE_RECONNECT_BAD_STATUS:
    error("%s: HTTP %ld, not retrying", c->url, c->status);
    return 1;
  case SSE_RECONNECT_BAD_CONTENT_TYPE: {
    char shown[sizeof c->ctype + 1];
    error("%s: HTTP 200 with Content-Type '%s', not text/event-stream",
          c->url,
          c->has_ctype ? printable(c->ctype, c->ctype_len, shown, sizeof shown)
                       : "(none)");
    return 1;
  }
  case SSE_RECONNECT_ATTEMPTS_USED:
    if (c->last_ok) {
      note(c, "no reconnection left (--max-reconnects)");
      return 0;
    }
    error("%s: giving up, no reconnection left (--max-reconnects)", c->url);
    return 1;
  default: /* --max-time */
    if (c->last_ok)
      return 0;
    error("%s: giving up at --max-time without a working stream", c->url);
    return 1;
  }
}

/* ------------------------------------------------------------------------ */
/* Setup. */

static void read_body(client *c, const char *arg) {
  FILE *f;
  size_t cap = 0, n;
  if (c->has_body == 2)
    free(c->body); /* the last --data wins */
  if (arg[0] != '@') {
    c->body = (char *)arg;
    c->body_len = strlen(arg);
    c->has_body = 1;
    return;
  }
  f = strcmp(arg, "@-") ? fopen(arg + 1, "rb") : stdin;
  if (!f) {
    fprintf(stderr, "%s: %s: %s\n", prog, arg + 1, strerror(errno));
    exit(2);
  }
  c->body = NULL;
  c->body_len = 0;
  for (;;) {
    if (c->body_len == cap) {
      char *p;
      if (cap >= MAX_BODY) {
        fprintf(stderr, "%s: %s: larger than %zu bytes\n", prog, arg + 1,
                MAX_BODY);
        exit(2);
      }
      cap = cap ? cap * 2 : 4096;
      if (!(p = realloc(c->body, cap))) {
        fprintf(stderr, "%s: out of memory\n", prog);
        exit(1);
      }
      c->body = p;
    }
    n = fread(c->body + c->body_len, 1, cap - c->body_len, f);
    c->body_len += n;
    if (n == 0)
      break;
  }
  if (ferror(f)) {
    fprintf(stderr, "%s: %s: read error\n", prog, arg + 1);
    exit(2);
  }
  if (f != stdin)
    fclose(f);
  c->has_body = 2; /* owned */
}

/* Checks and records one -H value. */
static void add_header(client *c, const char *h) {
  const char *colon = strchr(h, ':');
  struct curl_slist *t;
  size_t n = strlen(h);
  if (!colon || colon == h || strpbrk(h, "\r\n"))
    die_usage("needs 'Name: value' on one line", "--header", h);
  if (ieq_prefix(h, n, "last-event-id:")) {
    /* the id to resume from: build_headers sends the decoder's */
    c->initial_id_len = n - 14;
    c->initial_id = trim(h + 14, &c->initial_id_len);
    return;
  }
  if (ieq_prefix(h, n, "accept:"))
    c->has_accept = 1;
  if (ieq_prefix(h, n, "cache-control:"))
    c->has_cache_control = 1;
  if (!(t = curl_slist_append(c->user_headers, h))) {
    fprintf(stderr, "%s: out of memory\n", prog);
    exit(1);
  }
  c->user_headers = t;
}

static void set_policy(int rc, const char *what) {
  if (rc != SSE_OK) {
    fprintf(stderr, "%s: %s\n", prog, what);
    exit(2);
  }
}

int main(int argc, char **argv) {
  client c;
  sse_decoder_callbacks cb = {0};
  static char outbuf[1 << 16];
  uint64_t initial = UINT64_MAX; /* default: 3 s, or --max-delay if less */
  uint64_t max_delay = SSE_RECONNECT_DEFAULT_MAX_MS;
  uint64_t backoff = SSE_RECONNECT_DEFAULT_BACKOFF_BASE_MS;
  uint64_t backoff_max = SSE_RECONNECT_DEFAULT_BACKOFF_MAX_MS;
  uint64_t jitter = SSE_RECONNECT_DEFAULT_JITTER_PERCENT;
  uint64_t reset_after = SSE_RECONNECT_DEFAULT_RESET_AFTER_MS;
  uint64_t idle = 60000;
  uint64_t max_reconnects = SSE_RECONNECT_UNLIMITED;
  size_t max_line = 0, max_event = 0;
  uint64_t seed;
  struct timespec ts;
  int i, code;

  memset(&c, 0, sizeof c);
  c.exit_code = -1;
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && (++i, 1))
    if (OPT("-H") || OPT("--header")) {
      if (!v)
        usage();
      add_header(&c, v);
    } else if (OPT("-d") || OPT("--data")) {
      if (!v)
        usage();
      read_body(&c, v);
    } else if (!strcmp(a, "--comments")) {
      c.comments = 1;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      c.quiet = 1;
    } else if (OPT("--max-events")) {
      c.max_events = parse_count(a, v, ULLONG_MAX);
    } else if (OPT("--max-reconnects")) {
      max_reconnects = parse_count(a, v, SSE_RECONNECT_UNLIMITED - 1);
    } else if (OPT("--max-time")) {
      c.max_time = parse_seconds(a, v);
    } else if (OPT("--idle-timeout")) {
      idle = parse_seconds(a, v);
    } else if (OPT("--reconnect-time")) {
      initial = parse_seconds(a, v);
    } else if (OPT("--max-delay")) {
      max_delay = parse_seconds(a, v);
    } else if (OPT("--backoff")) {
      backoff = parse_seconds(a, v);
    } else if (OPT("--backoff-max")) {
      backoff_max = parse_seconds(a, v);
    } else if (OPT("--jitter")) {
      jitter = parse_count(a, v, 100);
    } else if (OPT("--reset-after")) {
      reset_after = parse_seconds(a, v);
    } else if (OPT("--max-line")) {
      max_line = (size_t)parse_count(a, v, SIZE_MAX);
    } else if (OPT("--max-event")) {
      max_event = (size_t)parse_count(a, v, SIZE_MAX);
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage_exit(0);
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "%s: unknown option %s\n", prog, a);
      usage();
    } else if (!c.url) {
      c.url = a;
    } else {
      usage();
    }
#undef OPT
  }
  if (!c.url)
    usage();

  cb.on_event = on_event;
  cb.on_retry = on_retry;
  if (c.comments)
    cb.on_comment = on_comment;
  if (sse_decoder_new(&c.dec, &cb, &c, NULL) != SSE_OK) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return 1;
  }
  sse_decoder_set_options(c.dec, SSE_DECODER_UTF8);
  sse_decoder_set_limits(c.dec, max_line, max_event);
  if (c.initial_id &&
      sse_decoder_set_last_event_id(c.dec, c.initial_id, c.initial_id_len) !=
          SSE_OK)
    die_usage("needs an id the decoder accepts", "--header Last-Event-ID",
              c.initial_id);
  c.idle_ms = idle;

  clock_gettime(CLOCK_REALTIME, &ts);
  seed = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
         ((uint64_t)getpid() << 40);
  if (sse_reconnect_new(&c.rc, seed, NULL) != SSE_OK) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return 1;
  }
  if (initial == UINT64_MAX)
    initial = max_delay < SSE_RECONNECT_DEFAULT_INITIAL_MS
                  ? max_delay
                  : SSE_RECONNECT_DEFAULT_INITIAL_MS;
  set_policy(sse_reconnect_set_delays(c.rc, initial, max_delay),
             "--reconnect-time must not exceed --max-delay");
  set_policy(sse_reconnect_set_backoff(c.rc, backoff, backoff_max,
                                       (unsigned)jitter),
             "--backoff must not exceed --backoff-max");
  sse_reconnect_set_reset_after(c.rc, reset_after);
  sse_reconnect_set_idle_timeout(c.rc, idle);
  sse_reconnect_set_max_reconnects(c.rc, (uint32_t)max_reconnects);

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
      !(c.multi = curl_multi_init()) || !(c.easy = curl_easy_init())) {
    fprintf(stderr, "%s: cannot initialise libcurl\n", prog);
    return 1;
  }
  curl_easy_setopt(c.easy, CURLOPT_URL, c.url);
  curl_easy_setopt(c.easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c.easy, CURLOPT_HEADERDATA, &c);
  curl_easy_setopt(c.easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c.easy, CURLOPT_WRITEDATA, &c);
  curl_easy_setopt(c.easy, CURLOPT_ERRORBUFFER, c.errbuf);
  curl_easy_setopt(c.easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.easy, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c.easy, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c.easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c.easy, CURLOPT_USERAGENT, "sse-curl/" SSE_VERSION_STRING);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c.easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c.easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c.easy, CURLOPT_PROTOCOLS,
                   (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(c.easy, CURLOPT_REDIR_PROTOCOLS,
                   (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  if (c.has_body) {
    curl_easy_setopt(c.easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)c.body_len);
    curl_easy_setopt(c.easy, CURLOPT_POSTFIELDS, c.body);
  }

  code = run(&c);

  fflush(stdout);
  curl_easy_cleanup(c.easy);
  curl_multi_cleanup(c.multi);
  curl_slist_free_all(c.headers);
  curl_slist_free_all(c.user_headers);
  curl_global_cleanup();
  sse_reconnect_free(c.rc);
  sse_decoder_free(c.dec);
  if (c.has_body == 2)
    free(c.body);
  return code;
}
