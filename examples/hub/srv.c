/* srv: see srv.h. The loop: epoll_wait; handle the ready connections;
 * expire the waiting lists; tick the streams; fire the application timer;
 * walk the fan-out a step further; free the connections closed this turn.
 *
 * Connections are registered once, edge-triggered, for input and output,
 * so the loop never calls epoll_ctl after accept. Input is read until
 * EAGAIN; an output edge comes after a write fell short (the socket was
 * full), which is the only time a connection waits for one.
 *
 * A connection closed during a turn is unlinked and its fd closed at once,
 * but its memory is freed only when the turn ends: the turn's event array
 * may still point at it. */
#define _GNU_SOURCE
#include "srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define LINGER_MS 2000              /* lingering close: read and drop */
#define LINGER_BYTES (1024 * 1024)  /* ... at most this much */
#define SHUTDOWN_MS 2000            /* graceful end: flush streams */
#define ACCEPT_PAUSE_MS 100         /* out of fds: stop accepting a while */
#define ACCEPT_BURST 256            /* accepts per turn */
#define MAX_EVENTS 512
/* Fan-out. Broadcast frames go into a ring of the last RING; a walk over
 * the subscribers brings each one up to the newest frame, WALK_STEP
 * subscribers per loop turn (so publishers and new clients are served
 * during a long fan-out), and frames that arrive meanwhile join it: under
 * load, a subscriber gets several frames per writev. At most SEND_MAX per
 * writev: an idle stream queues 4 frames without allocating (stream.h), so
 * the fan-out allocates nothing. */
#define RING 64
#define WALK_STEP 512
#define SEND_MAX 4
#define MAX_HEAD_LIMIT ((size_t)1 << 20)
#define MAX_BODY_LIMIT ((size_t)64 << 20)
#define DEFAULT_SNDBUF ((size_t)128 << 10)
#define DEFAULT_STALL_MS 30000
#define DEFAULT_IN_FLIGHT ((size_t)16 << 20)

enum { ST_REQUEST, ST_RESPONSE, ST_STREAM, ST_LINGER, ST_DEFER };
/* Waiting lists, one per timeout: each is in deadline order. Q_DEFER:
 * requests whose answer was deferred (srv_defer), given request_timeout_ms
 * more to get it. */
enum { Q_REQUEST, Q_IDLE, Q_LINGER, Q_DEFER, Q_COUNT, Q_NONE = Q_COUNT };
enum {
  F_KEEP = 1u << 0,     /* keep the connection after this response */
  F_HEAD = 1u << 1,     /* the current request is a HEAD */
  F_CLOSED = 1u << 2,   /* closed; freed when the turn ends */
  F_CORKED = 1u << 3,   /* a new stream: writes wait for on_request's end */
  F_OUT_HEAP = 1u << 4, /* out is ours to free */
  F_ANSWERED = 1u << 5, /* the current request got its response */
  F_CLOSE = 1u << 6,    /* close (lingering) after the response */
  F_STARTED = 1u << 7,  /* a request has begun: its deadline runs */
  F_CONTINUE = 1u << 8, /* "100 Continue" sent for the current request */
  F_ADMIN = 1u << 9     /* accepted on the admin listener */
};

typedef struct list {
  srv_conn *head, *tail;
} list;

struct srv_conn {
  srv *srv;
  sse_stream *stream;
  char *in;        /* request bytes kept between reads; NULL when none */
  const char *out; /* response bytes not written yet */
  srv_conn *prev, *next; /* waiting list, or the list of closed ones */
  uint64_t deadline;
  uint32_t in_len, in_cap;
  uint32_t scan; /* where the search for the end of the head resumes */
  uint32_t need; /* head + body bytes of a request whose head is complete */
  uint32_t out_len, out_off;
  uint32_t sub;     /* index in srv->subs */
  uint32_t dropped; /* input dropped while lingering */
  int fd;
  uint16_t flags;
  uint8_t state, queue;
  uint64_t pos; /* a subscriber has been given the frames up to this one */
  uint64_t progress; /* a subscriber's socket last took bytes, or its
                        bytes became pending (the stall clock) */
  const uint64_t *keys; /* a subscriber's topic keys: &key0 or heap */
  uint64_t key0;
  uint32_t nkeys;
  srv_conn **defer; /* a deferred request's handle, NULLed at close */
  srv_conn *cork_next; /* a stream subscribed outside on_request */
};

/* A descriptor the application watches (srv_io_add). */
typedef struct watch {
  int fd;
  unsigned events; /* SRV_IO_READ | SRV_IO_WRITE */
  srv_io_fn fn;    /* NULL: a free slot */
  void *user;
} watch;

/* A broadcast frame in the fan-out ring, with its keys. */
typedef struct slot {
  sse_frame *frame;
  size_t nkeys;
  uint64_t keys[SRV_MAX_KEYS];
} slot;

struct srv {
  srv_config cfg;
  const char *prog;
  int ep, lfd, afd, sfd, efd;
  unsigned port, admin_port;
  size_t in_bytes; /* c->in_cap of every connection */
  srv_counters counters;
  uint64_t max_fds;
  char *scratch;
  size_t scratch_cap;
  char head[256]; /* the event-stream response head */
  size_t head_len;
  list q[Q_COUNT];
  uint64_t q_ms[Q_COUNT];
  srv_conn *closed;
  srv_conn **subs;
  size_t nsubs, subs_cap;
  slot ring[RING];       /* frame n is ring[n % RING] */
  uint64_t seq;          /* the newest frame's number (0: none yet) */
  uint64_t low;          /* no subscriber's pos is below this */
  uint64_t walk_start;   /* seq when the current walk began */
  size_t walk;           /* the next subscriber the walk visits */
  int walking;
  int stop, stopping;
  uint64_t now, timer, sweep_ms, sweep_at, accept_at, stop_at;
  uint64_t deliveries, writes;
  watch io[SRV_MAX_IO];
  srv_conn *corked; /* streams to uncork when the turn ends */
  /* Shared with other threads, under mu: frames posted (srv_post), a stop
   * asked (srv_stop), the counters as of the end of the last turn. */
  pthread_mutex_t mu;
  int mu_ok, xstop;
  pthread_t thread; /* the one running srv_run */
  int running;
  slot *inbox;
  size_t in_n;
  srv_totals snap;
};

uint64_t srv_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- waiting lists ------------------------------------------------------ */

static void q_del(srv_conn *c) {
  list *l;
  if (c->queue == Q_NONE)
    return;
  l = &c->srv->q[c->queue];
  if (c->prev)
    c->prev->next = c->next;
  else
    l->head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else
    l->tail = c->prev;
  c->prev = c->next = NULL;
  c->queue = Q_NONE;
}

/* Moves c to the tail of list q with a fresh deadline. */
static void q_add(srv_conn *c, unsigned q) {
  list *l = &c->srv->q[q];
  q_del(c);
  c->deadline = c->srv->now + c->srv->q_ms[q];
  c->queue = (uint8_t)q;
  c->prev = l->tail;
  if (l->tail)
    l->tail->next = c;
  else
    l->head = c;
  l->tail = c;
}

static int in_move(srv *s, size_t add, size_t sub, int check);

/* ---- closing ------------------------------------------------------------ */

/* Removes c from the subscribers, keeping the walk's order: those before
 * s->walk were visited, the others not. */
static void sub_del(srv_conn *c) {
  srv *s = c->srv;
  size_t i = c->sub, last = --s->nsubs;
  if (i < s->walk) { /* the last visited one fills the hole */
    s->walk--;
    s->subs[i] = s->subs[s->walk];
    s->subs[i]->sub = (uint32_t)i;
    i = s->walk;
  }
  if (i != last) { /* an unvisited one fills it */
    s->subs[i] = s->subs[last];
    s->subs[i]->sub = (uint32_t)i;
  }
}

/* Closes c now; frees it when the turn ends. abort: reset the connection
 * (drops what the kernel still holds for a client that stopped reading). */
static void conn_close(srv_conn *c, int abort) {
  srv *s = c->srv;
  if (c->flags & F_CLOSED)
    return;
  c->flags |= F_CLOSED;
  if (c->state == ST_STREAM) {
    if (s->cfg.on_close)
      s->cfg.on_close(s->cfg.user, c);
    sub_del(c);
  }
  q_del(c);
  if (c->defer) {
    *c->defer = NULL;
    c->defer = NULL;
  }
  if (abort) {
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close(c->fd);
  c->fd = -1;
  c->next = s->closed;
  s->closed = c;
}

static void conn_free(srv_conn *c) {
  sse_stream_free(c->stream);
  in_move(c->srv, 0, c->in_cap, 0);
  free(c->in);
  if (c->keys != &c->key0)
    free((void *)c->keys);
  if (c->flags & F_OUT_HEAP)
    free((void *)c->out);
  free(c);
}

void srv_drop(srv_conn *c) {
  if (c)
    conn_close(c, 0);
}

/* Request bytes held (c->in_cap of every connection): this server's, or
 * those of all the servers sharing cfg.in_flight. Moves the count by
 * +add -sub; with check, only when the total stays within max_in_flight
 * (else -1, nothing moved). */
static int in_move(srv *s, size_t add, size_t sub, int check) {
  srv_in_flight *f = s->cfg.in_flight;
  size_t *n = f ? &f->bytes : &s->in_bytes;
  int rc = 0;
  if (f)
    pthread_mutex_lock(&f->mu);
  if (check && *n - sub + add > s->cfg.max_in_flight)
    rc = -1;
  else
    *n = *n - sub + add;
  if (f)
    pthread_mutex_unlock(&f->mu);
  return rc;
}

/* ---- output ------------------------------------------------------------- */

static void out_clear(srv_conn *c) {
  if (c->flags & F_OUT_HEAP)
    free((void *)c->out);
  c->flags &= (uint16_t)~F_OUT_HEAP;
  c->out = NULL;
  c->out_len = c->out_off = 0;
}

/* The streams' write callback: writev(2), with the response head first
 * while it is not all written. */
static int conn_writev(void *user, const sse_iovec *iov, size_t n,
                       size_t *written) {
  srv_conn *c = user;
  struct iovec v[SSE_STREAM_MAX_IOV + 1];
  size_t k = 0, i, pre = c->out_len - c->out_off;
  ssize_t r;
  if (c->flags & F_CORKED)
    return SSE_E_AGAIN;
  if (pre) {
    v[k].iov_base = (void *)(c->out + c->out_off);
    v[k++].iov_len = pre;
  }
  for (i = 0; i < n; i++, k++) {
    v[k].iov_base = (void *)iov[i].base;
    v[k].iov_len = iov[i].len;
  }
  c->srv->writes++;
  do
    r = writev(c->fd, v, (int)k);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? SSE_E_AGAIN : SSE_E_WRITE;
  c->srv->counters.bytes_written += (uint64_t)r;
  if (r > 0)
    c->progress = c->srv->now;
  if (pre) {
    if ((size_t)r < pre) {
      c->out_off += (uint32_t)r;
      return SSE_E_AGAIN; /* nothing of the stream's was taken */
    }
    r -= (ssize_t)pre;
    out_clear(c);
  }
  *written = (size_t)r;
  return SSE_OK;
}

/* Writes what a stream has pending (the head first). Closes c on a
 * transport error. During shutdown, closes c once all is written. */
static void stream_push(srv_conn *c) {
  int rc = SSE_OK;
  if (sse_stream_get_pending(c->stream))
    rc = sse_stream_flush(c->stream);
  else if (c->out_len > c->out_off)
    rc = conn_writev(c, NULL, 0, &(size_t){0});
  if (rc == SSE_E_WRITE) {
    c->srv->counters.cut[SRV_CUT_ERROR]++;
    conn_close(c, 1);
  }
  else if (c->srv->stopping && !sse_stream_get_pending(c->stream) &&
           c->out_len == c->out_off)
    conn_close(c, 0);
}

static void process(srv_conn *c, char *buf, size_t len);
static void conn_input(srv_conn *c);
static int keep(srv_conn *c, const char *b, size_t n);
static void drop_input(srv_conn *c);

/* Lingering close: stop sending, read and drop what the client still
 * sends (so it sees our response rather than a reset), for a while. */
static void linger(srv_conn *c) {
  c->state = ST_LINGER;
  shutdown(c->fd, SHUT_WR);
  q_add(c, Q_LINGER);
}

/* The response is written: next request, or close. resume: called from
 * the output handler (not from inside process(), whose request may still
 * point into c->in), so go on with the input kept meanwhile. */
static void response_done(srv_conn *c, int resume) {
  out_clear(c);
  if (c->flags & F_CLOSE) {
    linger(c);
    if (resume) {
      keep(c, NULL, 0);
      drop_input(c); /* what came meanwhile: no input edge may follow */
    }
    return;
  }
  c->state = ST_REQUEST;
  if (resume) {
    process(c, c->in, c->in_len);
    if (c->state == ST_REQUEST && !(c->flags & F_CLOSED))
      conn_input(c);
  }
}

static void out_write(srv_conn *c) {
  ssize_t r;
  while (c->out_off < c->out_len) {
    r = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
             MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (r <= 0) {
      conn_close(c, 1);
      return;
    }
    c->srv->counters.bytes_written += (uint64_t)r;
    c->out_off += (uint32_t)r;
  }
  response_done(c, 1);
}

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 417: return "Expectation Failed";
  case 431: return "Request Header Fields Too Large";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Internal Server Error";
  }
}

/* A deferred request (srv_defer) is being answered: back to ST_REQUEST,
 * unanswered. Returns 1 when c was deferred. */
static int undefer(srv_conn *c) {
  if (c->state != ST_DEFER || (c->flags & F_CLOSED))
    return 0;
  q_del(c);
  if (c->defer)
    *c->defer = NULL;
  c->defer = NULL;
  c->state = ST_REQUEST;
  c->flags &= (uint16_t)~F_ANSWERED;
  return 1;
}

int srv_defer(srv_conn *c, srv_conn **handle) {
  if ((c->flags & (F_CLOSED | F_ANSWERED)) || c->state != ST_REQUEST ||
      !handle)
    return -1;
  c->flags |= F_ANSWERED;
  c->state = ST_DEFER;
  c->defer = handle;
  *handle = c;
  q_add(c, Q_DEFER);
  return 0;
}

static void respond(srv_conn *c, int status, const char *extra,
                    const char *ctype, const char *body, size_t len,
                    int close_after) {
  char head[1024];
  struct iovec v[2];
  size_t total;
  ssize_t r;
  int n, deferred = undefer(c);
  if ((c->flags & (F_CLOSED | F_ANSWERED)) || c->state != ST_REQUEST)
    return;
  c->flags |= F_ANSWERED;
  if (status >= 100 && status < 600)
    c->srv->counters.status[status]++;
  if (close_after || !(c->flags & F_KEEP) || c->srv->stopping)
    c->flags |= F_CLOSE;
  n = snprintf(head, sizeof head,
               "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n"
               "Cache-Control: no-store\r\n%s%s\r\n",
               status, reason(status), ctype ? "Content-Type: " : "",
               ctype ? ctype : "", ctype ? "\r\n" : "", len, extra ? extra : "",
               (c->flags & F_CLOSE) ? "Connection: close\r\n" : "");
  if (n < 0 || (size_t)n >= sizeof head) { /* an application bug */
    conn_close(c, 1);
    return;
  }
  if (c->flags & F_HEAD)
    len = 0;
  v[0].iov_base = head;
  v[0].iov_len = (size_t)n;
  v[1].iov_base = (void *)body;
  v[1].iov_len = body ? len : 0;
  total = v[0].iov_len + v[1].iov_len;
  do
    r = writev(c->fd, v, 2);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    conn_close(c, 1);
    return;
  }
  if (r < 0)
    r = 0;
  c->srv->counters.bytes_written += (uint64_t)r;
  if ((size_t)r == total) {
    response_done(c, deferred); /* deferred: no process() below resumes */
    return;
  }
  /* The socket is full (rare: a client that does not read its responses):
   * keep the rest and wait for it to drain, within the idle timeout. */
  {
    size_t rest = total - (size_t)r, hrest;
    char *p = malloc(rest);
    if (!p) {
      conn_close(c, 1);
      return;
    }
    hrest = (size_t)r < v[0].iov_len ? v[0].iov_len - (size_t)r : 0;
    memcpy(p, head + (v[0].iov_len - hrest), hrest);
    memcpy(p + hrest, (const char *)body + (v[1].iov_len - (rest - hrest)),
           rest - hrest);
    c->out = p;
    c->out_len = (uint32_t)rest;
    c->out_off = 0;
    c->flags |= F_OUT_HEAP;
    c->state = ST_RESPONSE;
    q_add(c, Q_IDLE);
  }
}

void srv_respond(srv_conn *c, int status, const char *extra,
                 const char *ctype, const char *body, size_t len) {
  respond(c, status, extra, ctype, body, len, 0);
}

void srv_respond_close(srv_conn *c, int status, const char *extra,
                       const char *ctype, const char *body, size_t len) {
  respond(c, status, extra, ctype, body, len, 1);
}

void srv_error(srv_conn *c, int status) {
  char body[64];
  int n = snprintf(body, sizeof body, "%d %s\n", status, reason(status));
  respond(c, status, NULL, "text/plain; charset=utf-8", body, (size_t)n, 1);
}

/* ---- streams and broadcast ---------------------------------------------- */

sse_stream *srv_subscribe(srv_conn *c) { return srv_subscribe_ex(c, NULL); }

/* The response head with extra lines before its blank line, on the heap. */
static int head_with(srv_conn *c, const char *extra) {
  srv *s = c->srv;
  size_t n = strlen(extra), base = s->head_len - 2;
  char *p = malloc(s->head_len + n);
  if (!p)
    return -1;
  memcpy(p, s->head, base);
  memcpy(p + base, extra, n);
  memcpy(p + base + n, "\r\n", 2);
  c->out = p;
  c->out_len = (uint32_t)(s->head_len + n);
  c->out_off = 0;
  c->flags |= F_OUT_HEAP;
  return 0;
}

sse_stream *srv_subscribe_ex(srv_conn *c, const srv_sub_opts *o) {
  srv *s = c->srv;
  sse_stream *st = NULL;
  int half, deferred = undefer(c);
  if ((c->flags & (F_CLOSED | F_ANSWERED)) || c->state != ST_REQUEST)
    return NULL;
  if (o && o->nkeys > SRV_MAX_KEYS) {
    srv_error(c, 500);
    return NULL;
  }
  if (s->nsubs == s->subs_cap) {
    size_t cap = s->subs_cap ? s->subs_cap * 2 : 1024;
    srv_conn **p = realloc(s->subs, cap * sizeof *p);
    if (!p)
      goto fail;
    s->subs = p;
    s->subs_cap = cap;
  }
  if (sse_stream_new(&st, conn_writev, c, NULL) != SSE_OK)
    goto fail;
  sse_stream_set_max_pending(st, s->cfg.max_pending);
  sse_stream_set_heartbeat(st, s->cfg.no_heartbeat ? 0 : s->cfg.heartbeat_ms);
  sse_stream_tick(st, s->now, NULL); /* idle time counts from now */
  if (o && o->nkeys > 1) {
    uint64_t *k = malloc(o->nkeys * sizeof *k);
    if (!k)
      goto fail;
    memcpy(k, o->keys, o->nkeys * sizeof *k);
    c->keys = k;
  } else if (o && o->nkeys == 1) {
    c->key0 = o->keys[0];
    c->keys = &c->key0;
  }
  c->nkeys = o ? (uint32_t)o->nkeys : 0;
  c->flags |= F_ANSWERED | F_CORKED;
  c->stream = st;
  if (o && o->extra && *o->extra) {
    if (head_with(c, o->extra) != 0)
      goto fail;
  } else {
    c->out = s->head;
    c->out_len = (uint32_t)s->head_len;
    c->out_off = 0;
  }
  /* ":\n" makes proxies pass the head on at once; then the retry field.
   * Corked: queued, cannot fail on a new stream but out of memory. */
  if (sse_stream_open(st, o && o->retry_ms ? o->retry_ms : s->cfg.retry_ms,
                      2) != SSE_OK)
    goto fail;
  /* The kernel's share: a fixed send buffer instead of autotuning (which
   * lets a client that does not read pin megabytes per socket). */
  half = (int)(s->cfg.sndbuf / 2);
  setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &half, sizeof half);
  c->progress = s->now;
  c->state = ST_STREAM;
  q_del(c);
  c->sub = (uint32_t)s->nsubs;
  c->pos = s->seq; /* frames broadcast from now on */
  s->subs[s->nsubs++] = c;
  if (deferred) { /* no dispatch() follows: uncork when the turn ends */
    c->cork_next = s->corked;
    s->corked = c;
  }
  return st;
fail:
  sse_stream_free(st);
  c->stream = NULL;
  if (c->keys != &c->key0)
    free((void *)c->keys);
  c->keys = NULL;
  c->nkeys = 0;
  out_clear(c);
  c->flags &= (uint16_t)~(F_ANSWERED | F_CORKED);
  srv_error(c, 503);
  return NULL;
}

/* Whether subscriber c takes the frame in slot sl: a frame without keys
 * goes to everyone, else to those sharing a key with it. */
static int wants(const srv_conn *c, const slot *sl) {
  size_t i, j;
  if (!sl->nkeys)
    return 1;
  for (i = 0; i < sl->nkeys; i++)
    for (j = 0; j < c->nkeys; j++)
      if (sl->keys[i] == c->keys[j])
        return 1;
  return 0;
}

/* Gives c the frames after its position: up to SEND_MAX at a time in one
 * sse_stream_send_frames, so that an idle stream writes them in one writev
 * and a stream with bytes pending (known full) only queues them. Returns 0,
 * or -1 when c was cut (overflow) or failed, and closed. */
static int catch_up(srv *s, srv_conn *c) {
  while (c->pos < s->seq) {
    sse_frame *batch[SEND_MAX];
    uint64_t p = c->pos;
    size_t n = 0;
    int idle = sse_stream_get_pending(c->stream) == 0, rc = SSE_OK;
    while (p < s->seq && n < SEND_MAX) {
      const slot *sl = &s->ring[++p % RING];
      if (wants(c, sl))
        batch[n++] = sl->frame;
    }
    if (idle && n)
      c->progress = s->now; /* bytes may become pending: the clock starts */
    rc = sse_stream_send_frames(c->stream, batch, n);
    if (rc != SSE_OK) {
      s->counters.cut[rc == SSE_E_OVERFLOW ? SRV_CUT_OVERFLOW
                                           : SRV_CUT_ERROR]++;
      conn_close(c, 1);
      return -1;
    }
    c->pos = p;
    s->deliveries += n;
  }
  return 0;
}

/* Visits up to budget subscribers. A pass that ends while frames came
 * after it began starts again from the first subscriber. */
static void walk(srv *s, size_t budget) {
  while (s->walking && budget) {
    if (s->walk == 0) /* a pass begins */
      s->walk_start = s->seq;
    if (s->walk >= s->nsubs) {
      /* Each subscriber was visited in this pass or joined during it: it
       * is at walk_start or later. */
      s->low = s->walk_start;
      s->walk = 0;
      if (s->seq == s->walk_start) {
        s->walking = 0;
        return;
      }
      continue;
    }
    if (catch_up(s, s->subs[s->walk]) == 0)
      s->walk++; /* else the slot holds an unvisited subscriber now */
    budget--;
  }
}

int srv_broadcast(srv *s, sse_frame *frame) {
  return srv_broadcast_keys(s, frame, NULL, 0);
}

int srv_broadcast_keys(srv *s, sse_frame *frame, const uint64_t *keys,
                       size_t n) {
  slot *sl;
  if (!frame || n > SRV_MAX_KEYS || (n && !keys))
    return -1;
  if (s->stopping)
    return 0;
  /* The ring slot of the new frame holds frame seq + 1 - RING: if someone
   * may still need that one, finish the fan-out first. */
  if (s->seq + 1 - s->low > RING)
    walk(s, SIZE_MAX);
  if (!s->walking) {
    s->walking = 1;
    s->walk = 0;
  }
  s->seq++;
  sl = &s->ring[s->seq % RING];
  sse_frame_release(sl->frame);
  sl->frame = sse_frame_retain(frame);
  sl->nkeys = n;
  if (n)
    memcpy(sl->keys, keys, n * sizeof *keys);
  return 0;
}

/* Keep-alives: every stream is ticked each sweep_ms. Stalls: a stream with
 * bytes pending (its socket is full) whose socket took nothing for
 * stall_ms is cut. */
static void sweep(srv *s) {
  size_t i = 0;
  while (i < s->nsubs) {
    srv_conn *c = s->subs[i];
    int stalled = (sse_stream_get_pending(c->stream) || c->out_off < c->out_len) &&
                  s->now - c->progress >= s->cfg.stall_ms;
    if (stalled || (!s->cfg.no_heartbeat &&
                    sse_stream_tick(c->stream, s->now, NULL) != SSE_OK)) {
      s->counters.cut[stalled ? SRV_CUT_STALL : SRV_CUT_ERROR]++;
      conn_close(c, 1);
      continue;
    }
    i++;
  }
}

size_t srv_subscribers(const srv *s) { return s->nsubs; }
uint64_t srv_cut_count(const srv *s) {
  return s->counters.cut[SRV_CUT_OVERFLOW] + s->counters.cut[SRV_CUT_STALL];
}
const srv_counters *srv_get_counters(const srv *s) { return &s->counters; }
uint64_t srv_delivery_count(const srv *s) { return s->deliveries; }
uint64_t srv_write_count(const srv *s) { return s->writes; }

/* ---- requests ----------------------------------------------------------- */

typedef struct head {
  srv_request req;
  uint64_t clen;
  unsigned hosts, clens, ids, te, expect, http11, close, keep;
} head;

static int tchar(unsigned char ch) {
  if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
      (ch >= '0' && ch <= '9'))
    return 1;
  return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int lower_eq(const char *a, size_t n, const char *lower) {
  size_t i;
  if (strlen(lower) != n)
    return 0;
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)a[i];
    if ((ch >= 'A' && ch <= 'Z' ? ch + 32 : ch) != (unsigned char)lower[i])
      return 0;
  }
  return 1;
}

/* The end of the head (the byte after its empty line) in b[0..len), or 0
 * while incomplete; *scan remembers where to resume. */
static size_t head_end(const char *b, size_t len, uint32_t *scan) {
  size_t i = *scan;
  for (;;) {
    const char *nl = i < len ? memchr(b + i, '\n', len - i) : NULL;
    size_t e;
    if (!nl) {
      *scan = (uint32_t)i;
      return 0;
    }
    e = (size_t)(nl - b);
    if (e == i || (e == i + 1 && b[i] == '\r'))
      return e + 1;
    i = e + 1;
  }
}

static const char *line_end(const char *p, const char *end,
                            const char **next) {
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  *next = nl + 1;
  return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

/* Comma-separated tokens of a Connection value. */
static void connection_tokens(head *h, const char *v, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t j = i, a, b;
    while (j < n && v[j] != ',')
      j++;
    for (a = i; a < j && (v[a] == ' ' || v[a] == '\t'); a++)
      ;
    for (b = j; b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'); b--)
      ;
    if (lower_eq(v + a, b - a, "close"))
      h->close = 1;
    else if (lower_eq(v + a, b - a, "keep-alive"))
      h->keep = 1;
    i = j + 1;
  }
}

static int field(head *h, const char *name, size_t nlen, const char *v,
                 size_t vlen, size_t max_body) {
  size_t i;
  if (lower_eq(name, nlen, "host")) {
    h->hosts++;
  } else if (lower_eq(name, nlen, "content-length")) {
    if (h->clens++ || !vlen)
      return 400;
    for (i = 0; i < vlen; i++) {
      if (v[i] < '0' || v[i] > '9')
        return 400;
      if (h->clen > max_body) /* no overflow: stops growing past this */
        return 413;
      h->clen = h->clen * 10 + (uint64_t)(v[i] - '0');
    }
    if (h->clen > max_body)
      return 413;
  } else if (lower_eq(name, nlen, "transfer-encoding")) {
    h->te = 1;
  } else if (lower_eq(name, nlen, "connection")) {
    connection_tokens(h, v, vlen);
  } else if (lower_eq(name, nlen, "expect")) {
    if (!lower_eq(v, vlen, "100-continue"))
      return 417;
    h->expect = 1;
  } else if (lower_eq(name, nlen, "last-event-id")) {
    if (h->ids++)
      return 400;
    h->req.last_event_id = v;
    h->req.last_event_id_len = vlen;
  } else if (lower_eq(name, nlen, "authorization")) {
    if (h->req.authorization)
      return 400;
    h->req.authorization = v;
    h->req.authorization_len = vlen;
  } else if (lower_eq(name, nlen, "cookie")) {
    if (h->req.cookie)
      return 400;
    h->req.cookie = v;
    h->req.cookie_len = vlen;
  } else if (lower_eq(name, nlen, "origin")) {
    if (h->req.origin)
      return 400;
    h->req.origin = v;
    h->req.origin_len = vlen;
  }
  if (lower_eq(name, nlen, "host")) {
    h->req.host = v;
    h->req.host_len = vlen;
  }
  return 0;
}

/* Parses a complete head b[0..hl). Returns 0, or the HTTP status to answer
 * with (400, 411, 413, 417, 431, 505). */
static int parse_head(const char *b, size_t hl, head *h, size_t max_body) {
  const char *end = b + hl, *p = b, *e, *next, *q, *t, *v;
  unsigned fields = 0;
  memset(h, 0, sizeof *h);
  /* Request line: method SP origin-form SP HTTP/1.x */
  e = line_end(p, end, &next);
  for (q = p; q < e && tchar((unsigned char)*q); q++)
    ;
  if (q == p || q == e || *q != ' ')
    return 400;
  h->req.method = p;
  h->req.method_len = (size_t)(q - p);
  for (t = ++q; q < e && *q > ' ' && *q < 0x7f; q++)
    ;
  if (q == t || q == e || *q != ' ' || *t != '/')
    return 400;
  v = q + 1;
  if (e - v == 8 && !memcmp(v, "HTTP/1.1", 8))
    h->http11 = 1;
  else if (e - v != 8 || memcmp(v, "HTTP/1.0", 8)) {
    if (e - v == 8 && !memcmp(v, "HTTP/", 5) && v[5] >= '0' && v[5] <= '9' &&
        v[6] == '.' && v[7] >= '0' && v[7] <= '9')
      return 505;
    return 400;
  }
  h->req.path = t;
  h->req.path_len = (size_t)(q - t);
  if ((v = memchr(t, '?', (size_t)(q - t))) != NULL) {
    h->req.path_len = (size_t)(v - t);
    h->req.query = v + 1;
    h->req.query_len = (size_t)(q - v - 1);
  }
  /* Fields: token ":" OWS value OWS; no folding, no control bytes. */
  for (p = next; p < end; p = next) {
    const char *vs, *ve;
    int rc;
    e = line_end(p, end, &next);
    if (e == p)
      break; /* the empty line */
    if (++fields > SRV_MAX_FIELDS)
      return 431;
    for (q = p; q < e && tchar((unsigned char)*q); q++)
      ;
    if (q == p || q == e || *q != ':')
      return 400;
    for (vs = q + 1; vs < e && (*vs == ' ' || *vs == '\t'); vs++)
      ;
    for (ve = e; ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
      ;
    for (v = vs; v < ve; v++) {
      unsigned char ch = (unsigned char)*v;
      if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
        return 400;
    }
    rc = field(h, p, (size_t)(q - p), vs, (size_t)(ve - vs), max_body);
    if (rc)
      return rc;
  }
  if (h->te) /* chunked uploads are not supported; both framings: smuggling */
    return h->clens ? 400 : 411;
  if (h->http11 ? h->hosts != 1 : h->hosts > 1)
    return 400;
  return 0;
}

/* The status for a head that has not ended within max_head bytes. */
static int too_long(const char *b, size_t max_head) {
  return memchr(b, '\n', max_head) ? 431 : 414;
}

/* Keeps b[0..n) (the start of the next request) in c->in, with room for
 * the current request's bounded size. Returns 0, or -1 (closed). */
static int keep(srv_conn *c, const char *b, size_t n) {
  srv *s = c->srv;
  size_t want = c->need ? c->need : s->cfg.max_head;
  if (n == 0) {
    in_move(s, 0, c->in_cap, 0);
    free(c->in);
    c->in = NULL;
    c->in_len = c->in_cap = 0;
    return 0;
  }
  if (want < n)
    want = n; /* pipelined requests behind a pending response */
  if (c->in_cap < want) {
    char *p;
    /* All requests being received share max_in_flight: a request that
     * would pass it is refused, not queued. */
    if (in_move(s, want, c->in_cap, 1) != 0) {
      if (c->state == ST_REQUEST) {
        c->flags &= (uint16_t)~F_ANSWERED;
        srv_error(c, 503);
      } else {
        conn_close(c, 1);
      }
      in_move(s, 0, c->in_cap, 0); /* callers return at once: b unused */
      free(c->in);
      c->in = NULL;
      c->in_len = c->in_cap = 0;
      return -1;
    }
    p = malloc(want);
    if (!p) {
      in_move(s, c->in_cap, want, 0); /* conn_free takes in_cap back */
      conn_close(c, 1);
      return -1;
    }
    memcpy(p, b, n);
    free(c->in);
    c->in = p;
    c->in_cap = (uint32_t)want;
  } else if (b != c->in) {
    memmove(c->in, b, n);
  }
  c->in_len = (uint32_t)n;
  return 0;
}

static void dispatch(srv_conn *c, head *h, const char *base, size_t hl) {
  srv *s = c->srv;
  h->req.body = h->clen ? base + hl : NULL;
  h->req.body_len = (size_t)h->clen;
  c->flags &= (uint16_t)~(F_ANSWERED | F_HEAD | F_KEEP | F_CONTINUE);
  if (h->http11 ? !h->close : (h->keep && !h->close))
    c->flags |= F_KEEP;
  if (h->req.method_len == 4 && !memcmp(h->req.method, "HEAD", 4))
    c->flags |= F_HEAD;
  h->req.admin = (c->flags & F_ADMIN) != 0;
  s->cfg.on_request(s->cfg.user, c, &h->req);
  if (c->flags & F_CLOSED)
    return;
  if (!(c->flags & F_ANSWERED))
    srv_error(c, 500);
  if (c->state == ST_STREAM && (c->flags & F_CORKED)) {
    c->flags &= (uint16_t)~F_CORKED;
    stream_push(c);
  }
}

/* Answers every complete request in buf[0..len) (the scratch buffer or
 * c->in) and keeps the rest in c->in. */
static void process(srv_conn *c, char *buf, size_t len) {
  const size_t max_head = c->srv->cfg.max_head;
  size_t off = 0, hl;
  head h;
  int rc;
  while (c->state == ST_REQUEST && !(c->flags & F_CLOSED)) {
    if (!c->need && !c->scan) /* empty lines may precede a request */
      while (off < len && (buf[off] == '\r' || buf[off] == '\n'))
        off++;
    if (off == len)
      break;
    c->flags &= (uint16_t)~F_ANSWERED; /* a new request: errors answer it */
    if (!(c->flags & F_STARTED)) {
      c->flags |= F_STARTED;
      q_add(c, Q_REQUEST);
    }
    if (!c->need) {
      hl = head_end(buf + off, len - off, &c->scan);
      if (!hl || hl > max_head) {
        if (len - off >= max_head) {
          srv_error(c, too_long(buf + off, max_head));
          break;
        }
        keep(c, buf + off, len - off);
        return;
      }
      c->scan = 0;
      rc = parse_head(buf + off, hl, &h, c->srv->cfg.max_body);
      if (rc) {
        srv_error(c, rc);
        break;
      }
      if (len - off < hl + h.clen) {
        c->need = (uint32_t)(hl + h.clen);
        if (h.expect && h.http11 && !(c->flags & F_CONTINUE)) {
          static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
          c->flags |= F_CONTINUE;
          if (send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL) !=
              (ssize_t)(sizeof cont - 1)) {
            conn_close(c, 1);
            return;
          }
        }
        keep(c, buf + off, len - off);
        return;
      }
    } else {
      if (len - off < c->need) {
        keep(c, buf + off, len - off);
        return;
      }
      hl = head_end(buf + off, len - off, &c->scan);
      c->scan = 0;
      parse_head(buf + off, hl, &h, c->srv->cfg.max_body); /* passed before */
    }
    c->need = 0;
    c->flags &= (uint16_t)~F_STARTED;
    dispatch(c, &h, buf + off, hl);
    off += hl + (size_t)h.clen;
  }
  if (c->flags & F_CLOSED)
    return;
  if (c->state == ST_REQUEST || c->state == ST_RESPONSE ||
      c->state == ST_DEFER) { /* pipelined requests wait their turn */
    keep(c, off < len ? buf + off : NULL, len - off); /* buf may be NULL */
    if (c->state == ST_REQUEST && !c->in_len && c->queue != Q_IDLE) {
      c->flags &= (uint16_t)~F_STARTED;
      q_add(c, Q_IDLE);
    }
  } else {
    keep(c, NULL, 0); /* a stream or a closing connection ignores input */
  }
}

/* Reads and drops input until EAGAIN: a stream's (clients send nothing
 * after the request) or a lingering connection's. Closes on end of input. */
static void drop_input(srv_conn *c) {
  srv *s = c->srv;
  for (;;) {
    ssize_t r = recv(c->fd, s->scratch, s->scratch_cap, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (r <= 0) {
      conn_close(c, 0);
      return;
    }
    if (c->state == ST_LINGER) {
      c->dropped += (uint32_t)r;
      if (c->dropped > LINGER_BYTES) {
        conn_close(c, 1);
        return;
      }
    }
  }
}

/* Reads requests until EAGAIN, or until the connection stops taking
 * requests (a response waits, it became a stream, it closed). */
static void conn_input(srv_conn *c) {
  srv *s = c->srv;
  while (c->state == ST_REQUEST && !(c->flags & F_CLOSED)) {
    char *dst = s->scratch;
    size_t room = s->scratch_cap;
    ssize_t r;
    if (c->in_len) {
      dst = c->in + c->in_len;
      room = c->in_cap - c->in_len;
      if (!room) { /* cannot happen: keep() sized it for the request */
        srv_error(c, 431);
        return;
      }
    }
    r = recv(c->fd, dst, room, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (r <= 0) {
      conn_close(c, r < 0);
      return;
    }
    if (c->in_len) {
      c->in_len += (uint32_t)r;
      process(c, c->in, c->in_len);
    } else {
      process(c, s->scratch, (size_t)r);
    }
  }
  if (c->state == ST_STREAM || c->state == ST_LINGER)
    drop_input(c);
}

/* ---- the loop ----------------------------------------------------------- */

static void on_conn_event(srv_conn *c, uint32_t ev) {
  if (c->flags & F_CLOSED)
    return;
  if (ev & EPOLLERR) {
    conn_close(c, 1);
    return;
  }
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
    if (c->state == ST_REQUEST)
      conn_input(c);
    else if (c->state == ST_STREAM || c->state == ST_LINGER)
      drop_input(c); /* a stream's client left: closes it */
  }
  if ((ev & EPOLLOUT) && !(c->flags & F_CLOSED)) {
    if (c->state == ST_STREAM)
      stream_push(c);
    else if (c->state == ST_RESPONSE)
      out_write(c);
  }
}

static void accept_some(srv *s, int *lfd) {
  int k;
  for (k = 0; k < ACCEPT_BURST; k++) {
    struct epoll_event ev;
    srv_conn *c;
    int one = 1;
    int fd = accept4(*lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
        continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        /* Out of descriptors: stop accepting for a while rather than spin;
         * waiting clients stay in the backlog. */
        ev.events = 0;
        ev.data.ptr = &s->lfd;
        epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &ev);
        if (s->afd >= 0) {
          ev.data.ptr = &s->afd;
          epoll_ctl(s->ep, EPOLL_CTL_MOD, s->afd, &ev);
        }
        s->accept_at = s->now + ACCEPT_PAUSE_MS;
      }
      return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    c->srv = s;
    c->fd = fd;
    c->state = ST_REQUEST;
    c->queue = Q_NONE;
    /* the first request's deadline runs from now */
    c->flags = (uint16_t)(F_STARTED | (lfd == &s->afd ? F_ADMIN : 0));
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
      close(fd);
      free(c);
      continue;
    }
    q_add(c, Q_REQUEST);
  }
}

/* Streams subscribed from a deferred request: their head, preamble and
 * replay leave now, in one writev. */
static void uncork(srv *s) {
  while (s->corked) {
    srv_conn *c = s->corked;
    s->corked = c->cork_next;
    c->cork_next = NULL;
    c->flags &= (uint16_t)~F_CORKED;
    if (!(c->flags & F_CLOSED))
      stream_push(c);
  }
}

/* An event on a watched descriptor: 1 when p is one (handled). */
static int io_event(srv *s, void *p, uint32_t ev) {
  unsigned k, what = 0;
  for (k = 0; k < SRV_MAX_IO; k++)
    if (p == &s->io[k])
      break;
  if (k == SRV_MAX_IO)
    return 0;
  if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
    what |= SRV_IO_READ;
  if (ev & (EPOLLOUT | EPOLLERR))
    what |= SRV_IO_WRITE;
  what &= s->io[k].events;
  if (s->io[k].fn && what)
    s->io[k].fn(s->io[k].user, what);
  return 1;
}

int srv_io_add(srv *s, int fd, srv_io_fn fn, void *user) {
  struct epoll_event ev;
  int k;
  if (fd < 0 || !fn)
    return -1;
  for (k = 0; k < SRV_MAX_IO && s->io[k].fn; k++)
    ;
  if (k == SRV_MAX_IO)
    return -1;
  memset(&ev, 0, sizeof ev);
  ev.data.ptr = &s->io[k];
  if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
    return -1;
  s->io[k].fd = fd;
  s->io[k].events = 0;
  s->io[k].fn = fn;
  s->io[k].user = user;
  return k;
}

int srv_io_set(srv *s, int id, unsigned events) {
  struct epoll_event ev;
  if (id < 0 || id >= SRV_MAX_IO || !s->io[id].fn)
    return -1;
  if (s->io[id].events == events)
    return 0;
  memset(&ev, 0, sizeof ev);
  ev.events = ((events & SRV_IO_READ) ? EPOLLIN | EPOLLRDHUP : 0u) |
              ((events & SRV_IO_WRITE) ? EPOLLOUT : 0u);
  ev.data.ptr = &s->io[id];
  if (epoll_ctl(s->ep, EPOLL_CTL_MOD, s->io[id].fd, &ev) < 0)
    return -1;
  s->io[id].events = events;
  return 0;
}

void srv_io_del(srv *s, int id) {
  if (id < 0 || id >= SRV_MAX_IO || !s->io[id].fn)
    return;
  epoll_ctl(s->ep, EPOLL_CTL_DEL, s->io[id].fd, NULL);
  s->io[id].fn = NULL;
  s->io[id].events = 0;
  s->io[id].fd = -1;
}

static void expire(srv *s) {
  unsigned q;
  for (q = 0; q < Q_COUNT; q++) {
    srv_conn *c;
    while ((c = s->q[q].head) != NULL && c->deadline <= s->now) {
      if (q == Q_DEFER) { /* the application did not answer in time */
        srv_error(c, 503);
        if (c->queue == Q_DEFER)
          conn_close(c, 1);
        continue;
      }
      if (q == Q_REQUEST && c->state == ST_REQUEST) {
        static const char t[] = "HTTP/1.1 408 Request Timeout\r\n"
                                "Content-Length: 0\r\nConnection: close\r\n\r\n";
        if (send(c->fd, t, sizeof t - 1, MSG_NOSIGNAL) < 0) {
          /* best effort */
        }
      }
      /* Reset a request that timed out, or a response nobody reads. */
      conn_close(c, q == Q_REQUEST || c->state == ST_RESPONSE);
    }
  }
}

static void begin_shutdown(srv *s) {
  unsigned q;
  size_t i = 0;
  walk(s, SIZE_MAX); /* what was broadcast goes out first */
  s->stopping = 1;
  s->stop_at = s->now + SHUTDOWN_MS;
  if (s->lfd >= 0) {
    close(s->lfd);
    s->lfd = -1;
  }
  if (s->afd >= 0) {
    close(s->afd);
    s->afd = -1;
  }
  for (q = 0; q < Q_COUNT; q++)
    while (s->q[q].head)
      conn_close(s->q[q].head, 0);
  while (i < s->nsubs) {
    srv_conn *c = s->subs[i];
    sse_stream_close(c->stream);
    stream_push(c); /* closes c when nothing is pending */
    if (!(c->flags & F_CLOSED))
      i++;
  }
}

static void reap(srv *s) {
  while (s->closed) {
    srv_conn *c = s->closed;
    s->closed = c->next;
    conn_free(c);
  }
}

static int next_timeout(const srv *s) {
  uint64_t t = s->timer;
  unsigned q;
  if (s->walking)
    return 0; /* a fan-out goes on: only look for new events */
  for (q = 0; q < Q_COUNT; q++)
    if (s->q[q].head && s->q[q].head->deadline < t)
      t = s->q[q].head->deadline;
  if (s->nsubs && s->sweep_at < t)
    t = s->sweep_at;
  if (s->accept_at && s->accept_at < t)
    t = s->accept_at;
  if (s->stopping && s->stop_at < t)
    t = s->stop_at;
  if (t == UINT64_MAX)
    return -1;
  t = t > s->now ? t - s->now : 0;
  return t > INT_MAX ? INT_MAX : (int)t;
}

static void totals_live(const srv *s, srv_totals *t);

int srv_run(srv *s) {
  struct epoll_event ev[MAX_EVENTS];
  pthread_mutex_lock(&s->mu);
  s->thread = pthread_self();
  s->running = 1;
  pthread_mutex_unlock(&s->mu);
  for (;;) {
    int n, i;
    s->now = srv_now();
    n = epoll_wait(s->ep, ev, MAX_EVENTS, next_timeout(s));
    if (n < 0 && errno != EINTR) {
      fprintf(stderr, "%s: epoll_wait: %s\n", s->prog, strerror(errno));
      return -1;
    }
    s->now = srv_now();
    for (i = 0; i < n; i++) {
      void *p = ev[i].data.ptr;
      if (p == &s->lfd || p == &s->afd) {
        if (!s->stopping)
          accept_some(s, p);
      } else if (p == &s->efd) {
        uint64_t v;
        if (read(s->efd, &v, sizeof v) < 0) {
          /* EAGAIN: another turn read it */
        }
        srv_sync(s);
      } else if (p == &s->sfd) {
        struct signalfd_siginfo si;
        int k;
        for (k = 0; k < 16 && read(s->sfd, &si, sizeof si) ==
                                  (ssize_t)sizeof si; k++) {
          if (si.ssi_signo == SIGHUP || si.ssi_signo == SIGUSR1) {
            if (s->cfg.on_signal && !s->stopping)
              s->cfg.on_signal(s->cfg.user, (int)si.ssi_signo);
          } else {
            s->stop = 1; /* SIGINT, SIGTERM, SIGQUIT */
            if (s->cfg.on_signal)
              s->cfg.on_signal(s->cfg.user, (int)si.ssi_signo);
          }
        }
      } else if (!io_event(s, p, ev[i].events)) {
        on_conn_event(p, ev[i].events);
      }
    }
    expire(s);
    if (s->accept_at && s->accept_at <= s->now && !s->stopping) {
      struct epoll_event le;
      le.events = EPOLLIN;
      le.data.ptr = &s->lfd;
      epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &le);
      if (s->afd >= 0) {
        le.data.ptr = &s->afd;
        epoll_ctl(s->ep, EPOLL_CTL_MOD, s->afd, &le);
      }
      s->accept_at = 0;
    }
    if (!s->stopping) {
      if (s->sweep_at <= s->now) {
        sweep(s);
        s->sweep_at = s->now + s->sweep_ms;
      }
      if (s->timer <= s->now) {
        s->timer = UINT64_MAX;
        if (s->cfg.on_timer)
          s->cfg.on_timer(s->cfg.user, s->now);
      }
    }
    uncork(s);
    walk(s, WALK_STEP);
    if (s->stop && !s->stopping)
      begin_shutdown(s);
    if (s->stopping && (!s->nsubs || s->now >= s->stop_at)) {
      while (s->nsubs)
        conn_close(s->subs[0], 1);
      reap(s);
      pthread_mutex_lock(&s->mu);
      totals_live(s, &s->snap);
      pthread_mutex_unlock(&s->mu);
      return 0;
    }
    reap(s);
    if (s->cfg.reuseport) { /* other threads may read the counters */
      pthread_mutex_lock(&s->mu);
      totals_live(s, &s->snap);
      pthread_mutex_unlock(&s->mu);
    }
  }
}

void srv_stop(srv *s) {
  uint64_t one = 1;
  pthread_mutex_lock(&s->mu);
  s->xstop = 1;
  pthread_mutex_unlock(&s->mu);
  if (write(s->efd, &one, sizeof one) < 0) {
    /* the counter is full: a wake-up is pending anyway */
  }
}

int srv_post(srv *s, sse_frame *frame, const uint64_t *keys, size_t n) {
  uint64_t one = 1;
  slot *sl;
  int wake;
  if (!frame || n > SRV_MAX_KEYS || (n && !keys))
    return -1;
  pthread_mutex_lock(&s->mu);
  if (s->in_n == SRV_INBOX) {
    pthread_mutex_unlock(&s->mu);
    return -1;
  }
  sl = &s->inbox[s->in_n++];
  sl->frame = sse_frame_retain(frame);
  sl->nkeys = n;
  if (n)
    memcpy(sl->keys, keys, n * sizeof *keys);
  wake = s->in_n == 1; /* the first of a batch wakes the loop */
  pthread_mutex_unlock(&s->mu);
  if (wake && write(s->efd, &one, sizeof one) < 0) {
    /* the counter is full: a wake-up is pending anyway */
  }
  return 0;
}

size_t srv_post_room(srv *s) {
  size_t room;
  pthread_mutex_lock(&s->mu);
  room = SRV_INBOX - s->in_n;
  pthread_mutex_unlock(&s->mu);
  return room;
}

void srv_sync(srv *s) {
  size_t i, n;
  pthread_mutex_lock(&s->mu);
  n = s->in_n;
  for (i = 0; i < n; i++) {
    slot *sl = &s->inbox[i];
    srv_broadcast_keys(s, sl->frame, sl->keys, sl->nkeys);
    sse_frame_release(sl->frame);
    sl->frame = NULL;
  }
  s->in_n = 0;
  if (s->xstop)
    s->stop = 1;
  pthread_mutex_unlock(&s->mu);
}

srv *srv_of(const srv_conn *c) { return c->srv; }

static void totals_live(const srv *s, srv_totals *t) {
  t->subscribers = s->nsubs;
  t->deliveries = s->deliveries;
  t->writes = s->writes;
  t->counters = s->counters;
}

void srv_get_totals(srv *s, srv_totals *t) {
  int own;
  pthread_mutex_lock(&s->mu);
  own = !s->running || pthread_equal(s->thread, pthread_self());
  if (!own)
    *t = s->snap;
  pthread_mutex_unlock(&s->mu);
  if (own)
    totals_live(s, t);
}

void srv_set_timer(srv *s, uint64_t when_ms) { s->timer = when_ms; }

unsigned srv_port(const srv *s) { return s->port; }

unsigned srv_admin_port(const srv *s) { return s->admin_port; }

uint64_t srv_max_fds(const srv *s) { return s->max_fds; }

/* ---- setup -------------------------------------------------------------- */

/* Raises the soft limit on descriptors: to 2^20 (or fs.nr_open) where the
 * hard limit allows or can be raised (root), else to the hard limit. */
static uint64_t raise_nofile(void) {
  struct rlimit rl;
  rlim_t want = (rlim_t)1 << 20;
  FILE *f = fopen("/proc/sys/fs/nr_open", "r");
  unsigned long long nr;
  if (f) {
    if (fscanf(f, "%llu", &nr) == 1 && nr < want)
      want = (rlim_t)nr;
    fclose(f);
  }
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 0;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
    struct rlimit up = {want, want};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0)
      return (uint64_t)want;
  }
  if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want)
    rl.rlim_cur = want;
  else
    rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return (uint64_t)rl.rlim_cur;
}

static int listen_on(srv *s, const char *addr, unsigned port, int *out,
                     unsigned *bound) {
  struct sockaddr_storage ss;
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  socklen_t len;
  int one = 1, fd;
  memset(&ss, 0, sizeof ss);
  if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    len = sizeof *a6;
  } else {
    fprintf(stderr, "%s: --bind: not an IPv4 or IPv6 address: %s\n", s->prog,
            addr);
    return -1;
  }
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      (s->cfg.reuseport && out == &s->lfd &&
       setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
      bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, SOMAXCONN) < 0) {
    fprintf(stderr, "%s: cannot listen on %s port %u: %s\n", s->prog, addr,
            port, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  len = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &len);
  *bound = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
  *out = fd;
  return 0;
}

int srv_new(srv **out, const srv_config *cfg, const char *prog) {
  srv *s;
  sigset_t sig;
  struct epoll_event ev;
  *out = NULL;
  if (!cfg->on_request)
    return -1;
  s = calloc(1, sizeof *s);
  if (!s) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return -1;
  }
  s->cfg = *cfg;
  s->prog = prog;
  s->ep = s->lfd = s->afd = s->sfd = s->efd = -1;
  if (pthread_mutex_init(&s->mu, NULL) != 0) {
    free(s);
    return -1;
  }
  s->mu_ok = 1;
  s->timer = UINT64_MAX;
  if (!s->cfg.bind_addr)
    s->cfg.bind_addr = "127.0.0.1";
  if (!s->cfg.max_head)
    s->cfg.max_head = 8192;
  if (!s->cfg.request_timeout_ms)
    s->cfg.request_timeout_ms = 10000;
  if (!s->cfg.idle_timeout_ms)
    s->cfg.idle_timeout_ms = 60000;
  if (!s->cfg.max_pending)
    s->cfg.max_pending = SSE_DEFAULT_MAX_PENDING;
  if (!s->cfg.heartbeat_ms)
    s->cfg.heartbeat_ms = SSE_DEFAULT_HEARTBEAT_MS;
  if (!s->cfg.sndbuf)
    s->cfg.sndbuf = DEFAULT_SNDBUF;
  if (!s->cfg.stall_ms)
    s->cfg.stall_ms = DEFAULT_STALL_MS;
  if (!s->cfg.max_in_flight) {
    s->cfg.max_in_flight = 2 * (s->cfg.max_head + s->cfg.max_body);
    if (s->cfg.max_in_flight < DEFAULT_IN_FLIGHT)
      s->cfg.max_in_flight = DEFAULT_IN_FLIGHT;
  }
  if (s->cfg.max_head > MAX_HEAD_LIMIT || s->cfg.max_body > MAX_BODY_LIMIT ||
      s->cfg.port > 65535 || s->cfg.admin_port > 65535 ||
      s->cfg.sndbuf < 4096 || s->cfg.sndbuf > ((size_t)1 << 30) ||
      s->cfg.max_in_flight < s->cfg.max_head + s->cfg.max_body) {
    fprintf(stderr, "%s: limits out of range\n", prog);
    free(s);
    return -1;
  }
  /* Sweeps tick each stream 4 times per heartbeat interval and per stall
   * timeout (at most once a second), so a keep-alive leaves, and a stalled
   * stream is cut, within a quarter interval of due. */
  s->sweep_ms = s->cfg.stall_ms / 4;
  if (!s->cfg.no_heartbeat && s->cfg.heartbeat_ms / 4 < s->sweep_ms)
    s->sweep_ms = s->cfg.heartbeat_ms / 4;
  if (s->sweep_ms > 1000)
    s->sweep_ms = 1000;
  if (s->sweep_ms < 10)
    s->sweep_ms = 10;
  s->q_ms[Q_REQUEST] = s->cfg.request_timeout_ms;
  s->q_ms[Q_IDLE] = s->cfg.idle_timeout_ms;
  s->q_ms[Q_LINGER] = LINGER_MS;
  s->q_ms[Q_DEFER] = s->cfg.request_timeout_ms;
  s->scratch_cap = s->cfg.max_head + s->cfg.max_body;
  if (s->scratch_cap < 16384)
    s->scratch_cap = 16384;
  s->scratch = malloc(s->scratch_cap);
  s->inbox = calloc(SRV_INBOX, sizeof *s->inbox);
  if (!s->scratch || !s->inbox ||
      sse_http_headers(s->head, sizeof s->head, SSE_HTTP_RESPONSE,
                       &s->head_len) != SSE_OK) {
    fprintf(stderr, "%s: out of memory\n", prog);
    srv_free(s);
    return -1;
  }
  s->max_fds = raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&sig);
  sigaddset(&sig, SIGINT);
  sigaddset(&sig, SIGTERM);
  sigaddset(&sig, SIGQUIT);
  sigaddset(&sig, SIGHUP);
  sigaddset(&sig, SIGUSR1);
  sigprocmask(SIG_BLOCK, &sig, NULL);
  s->sfd = signalfd(-1, &sig, SFD_NONBLOCK | SFD_CLOEXEC);
  s->ep = epoll_create1(EPOLL_CLOEXEC);
  s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->sfd < 0 || s->ep < 0 || s->efd < 0) {
    fprintf(stderr, "%s: %s\n", prog, strerror(errno));
    srv_free(s);
    return -1;
  }
  if (listen_on(s, s->cfg.bind_addr, s->cfg.port, &s->lfd, &s->port) < 0 ||
      (s->cfg.admin_bind &&
       listen_on(s, s->cfg.admin_bind, s->cfg.admin_port, &s->afd,
                 &s->admin_port) < 0)) {
    srv_free(s);
    return -1;
  }
  ev.events = EPOLLIN;
  ev.data.ptr = &s->lfd;
  if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev) < 0) {
    fprintf(stderr, "%s: epoll_ctl: %s\n", prog, strerror(errno));
    srv_free(s);
    return -1;
  }
  if (s->afd >= 0) {
    ev.data.ptr = &s->afd;
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->afd, &ev) < 0) {
      fprintf(stderr, "%s: epoll_ctl: %s\n", prog, strerror(errno));
      srv_free(s);
      return -1;
    }
  }
  ev.data.ptr = &s->sfd;
  epoll_ctl(s->ep, EPOLL_CTL_ADD, s->sfd, &ev);
  ev.data.ptr = &s->efd;
  epoll_ctl(s->ep, EPOLL_CTL_ADD, s->efd, &ev);
  s->now = srv_now();
  s->sweep_at = s->now + s->sweep_ms;
  *out = s;
  return 0;
}

void srv_free(srv *s) {
  unsigned q, k;
  if (!s)
    return;
  for (q = 0; q < Q_COUNT; q++)
    while (s->q[q].head)
      conn_close(s->q[q].head, 1);
  while (s->nsubs)
    conn_close(s->subs[0], 1);
  reap(s);
  for (k = 0; k < RING; k++)
    sse_frame_release(s->ring[k].frame);
  if (s->lfd >= 0)
    close(s->lfd);
  if (s->afd >= 0)
    close(s->afd);
  if (s->sfd >= 0)
    close(s->sfd);
  if (s->efd >= 0)
    close(s->efd);
  if (s->inbox)
    for (k = 0; k < s->in_n; k++)
      sse_frame_release(s->inbox[k].frame);
  free(s->inbox);
  if (s->mu_ok)
    pthread_mutex_destroy(&s->mu);
  if (s->ep >= 0)
    close(s->ep);
  free(s->subs);
  free(s->scratch);
  free(s);
}

/* ---- helpers for the programs ------------------------------------------- */

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

long srv_query_param(const char *query, size_t query_len, const char *name,
                     char *buf, size_t cap) {
  size_t from = 0;
  return srv_query_next(query, query_len, name, &from, buf, cap);
}

long srv_query_next(const char *query, size_t query_len, const char *name,
                    size_t *from, char *buf, size_t cap) {
  size_t nlen = strlen(name), i = *from;
  while (query && i < query_len) {
    const char *seg = query + i, *amp, *eq, *v, *ve;
    size_t seg_len, n = 0;
    amp = memchr(seg, '&', query_len - i);
    seg_len = amp ? (size_t)(amp - seg) : query_len - i;
    i += seg_len + 1;
    eq = memchr(seg, '=', seg_len);
    if ((size_t)((eq ? eq : seg + seg_len) - seg) != nlen ||
        memcmp(seg, name, nlen) != 0)
      continue;
    ve = seg + seg_len;
    *from = i;
    for (v = eq ? eq + 1 : ve; v < ve; v++) {
      int ch = (unsigned char)*v;
      if (ch == '+') {
        ch = ' ';
      } else if (ch == '%') {
        int hi, lo;
        if (ve - v < 3 || (hi = hexval(v[1])) < 0 || (lo = hexval(v[2])) < 0)
          return -2;
        ch = hi * 16 + lo;
        v += 2;
      }
      if (n == cap)
        return -2;
      buf[n++] = (char)ch;
    }
    return (long)n;
  }
  *from = query_len;
  return -1;
}

int srv_parse_u64(const char *arg, uint64_t min, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  const char *p = arg;
  if (!arg || !*arg)
    return -1;
  for (; *p; p++) {
    if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
      return -1;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

int srv_last_event_id(const srv_request *req, char *buf, size_t cap,
                      const char **id, size_t *len) {
  const char *v = req->last_event_id;
  size_t n = req->last_event_id_len;
  *id = NULL;
  *len = 0;
  if (!v) {
    long r = srv_query_param(req->query, req->query_len, "lastEventId", buf,
                             cap);
    if (r == -1)
      return 0;
    if (r < 0)
      return -1;
    v = buf;
    n = (size_t)r;
  }
  return sse_http_last_event_id(v, n, 0, id, len) == SSE_OK ? 0 : -1;
}

int srv_option(int argc, char **argv, int *i, const char *name,
               const char **value) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0)
    return 0;
  if (a[n] == '=') {
    *value = a + n + 1;
    return 1;
  }
  if (a[n] != '\0')
    return 0;
  if (*i + 1 >= argc)
    return -1;
  *value = argv[++*i];
  return 1;
}
