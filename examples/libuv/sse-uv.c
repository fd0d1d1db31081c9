/*
 * sse-uv: a Server-Sent Events server on libuv and libsse.
 *
 *   GET /events  data: {"message":"Hello from the server!","timestamp":<ms>}
 *                every 3 s with increasing ids; Last-Event-ID replays what a
 *                client missed; a client too slow to keep up is cut
 *
 * How libsse's write callback meets libuv: the callback tries
 * uv_try_write() first (no copy, no request); what the socket does not take
 * is copied into one uv_write() request, and until that request completes
 * the callback says "would block" (SSE_E_AGAIN), so the rest waits in the
 * stream, under its cap. The request's completion flushes the stream. A uv
 * timer publishes events, another drives the keep-alives (sse_stream_tick).
 * See README.md next to this file for the ten lines that matter.
 */
#define _POSIX_C_SOURCE 200809L /* uv.h needs POSIX threads' types */
#include <sse.h>
#include <uv.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct client {
  uv_tcp_t tcp;               /* first: the handle's address is the client's */
  struct client *prev, *next; /* the list of connections */
  sse_stream *stream;         /* set once the client asked for /events */
  int closing;
  uv_write_t req; /* the one write in flight, if any */
  char *out;      /* its bytes (a copy), NULL when none is in flight */
  size_t in_len;
  char in[4096]; /* the request head */
} client;

static uv_loop_t *loop;
static uv_tcp_t listener;
static uv_timer_t event_timer, tick_timer;
static uv_signal_t sigterm, sigint;
static client *clients;
static sse_history *history; /* the last 100 events, for Last-Event-ID */
static size_t max_pending = SSE_DEFAULT_MAX_PENDING;
static const char *message = "Hello from the server!";
static unsigned long long next_id; /* the id of the next event */

static void on_closed(uv_handle_t *h) {
  client *c = (client *)h;
  if (c->prev)
    c->prev->next = c->next;
  else
    clients = c->next;
  if (c->next)
    c->next->prev = c->prev;
  sse_stream_free(c->stream); /* drops what it still queued */
  free(c);
}

static void drop(client *c, const char *why) {
  if (c->closing)
    return;
  c->closing = 1;
  if (c->stream)
    fprintf(stderr, "sse-uv: client disconnected%s%s\n", why ? ": " : "",
            why ? why : "");
  uv_close((uv_handle_t *)&c->tcp, on_closed); /* cancels a write in flight */
}

static void on_written(uv_write_t *req, int status) {
  client *c = req->data;
  int rc;
  free(c->out);
  c->out = NULL;
  if (status < 0 || c->closing) {
    drop(c, NULL);
    return;
  }
  rc = sse_stream_flush(c->stream); /* the socket took it: send the rest */
  if (rc != SSE_OK && rc != SSE_E_AGAIN)
    drop(c, NULL);
}

/* The stream's write callback (one buffer; sse_stream_new_write). */
static int client_write(void *user, const void *buf, size_t len,
                        size_t *written) {
  client *c = user;
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  int r;
  if (c->out)
    return SSE_E_AGAIN; /* a write is in flight: the stream keeps the bytes */
  r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (r == UV_EAGAIN)
    r = 0;
  else if (r < 0)
    return SSE_E_WRITE; /* the stream fails for good; we drop the client */
  if ((size_t)r < len) { /* the socket is full: uv_write the rest */
    if (!(c->out = malloc(len - (size_t)r)))
      return SSE_E_WRITE;
    memcpy(c->out, (const char *)buf + r, len - (size_t)r);
    b = uv_buf_init(c->out, (unsigned)(len - (size_t)r));
    c->req.data = c;
    if (uv_write(&c->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
      free(c->out);
      c->out = NULL;
      return SSE_E_WRITE;
    }
  }
  *written = len; /* all of it: the socket or libuv holds it now */
  return SSE_OK;
}

/* Keep-alives: each stream sends ":\n" when idle for 15 s and tells when to
 * come back; the timer is armed for the earliest. */
static void on_tick(uv_timer_t *t) {
  uint64_t now = uv_now(loop), next = SSE_NO_DEADLINE, deadline;
  client *c;
  (void)t;
  for (c = clients; c; c = c->next)
    if (c->stream && !c->closing) {
      if (sse_stream_tick(c->stream, now, &deadline) != SSE_OK)
        drop(c, NULL);
      else if (deadline < next)
        next = deadline;
    }
  if (next != SSE_NO_DEADLINE)
    uv_timer_start(&tick_timer, on_tick, next - now, 0);
}

static void subscribe(client *c) {
  static const char not_found[] =
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  const char *v = strstr(c->in, "\r\nLast-Event-ID:"), *id = NULL;
  size_t id_len = 0, head_len;
  char head[256];
  uv_buf_t b;
  int rc = SSE_OK;
  if (strncmp(c->in, "GET /events ", 12)) {
    b = uv_buf_init((char *)not_found, sizeof not_found - 1);
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    drop(c, NULL);
    return;
  }
  /* Last-Event-ID is untrusted: trimmed, bounded, and sendable. */
  if (v && (v += 16, sse_http_last_event_id(v, strcspn(v, "\r"), 0, &id,
                                            &id_len) != SSE_OK ||
            (id_len && sse_http_check_id(id, id_len, 0) != SSE_OK))) {
    drop(c, NULL);
    return;
  }
  /* The response head: 200, text/event-stream, no caching or buffering.
   * Its few bytes always fit a fresh socket. The body ends at close. */
  sse_http_headers(head, sizeof head, SSE_HTTP_RESPONSE, &head_len);
  b = uv_buf_init(head, (unsigned)head_len);
  if (uv_try_write((uv_stream_t *)&c->tcp, &b, 1) != (int)head_len ||
      sse_stream_new_write(&c->stream, client_write, c, NULL) != SSE_OK) {
    drop(c, NULL);
    return;
  }
  sse_stream_set_max_pending(c->stream, max_pending);
  sse_stream_tick(c->stream, uv_now(loop), NULL); /* starts its heartbeats */
  sse_stream_open(c->stream, 1000, 2);            /* ":\n", "retry: 1000" */
  if (id_len) {
    rc = sse_history_replay(history, c->stream, id, id_len, NULL);
    if (rc == SSE_E_EVICTED) /* it missed more than we keep: all we have */
      rc = sse_history_replay_from(
          history, c->stream, sse_history_get_first_seq(history) - 1, NULL);
    else if (rc == SSE_E_UNKNOWN_ID) /* not ours: from now on */
      rc = SSE_OK;
  }
  if (rc != SSE_OK) { /* e.g. the replay does not fit under the cap */
    drop(c, sse_strerror(rc));
    return;
  }
  fprintf(stderr, "sse-uv: client connected\n");
  if (!uv_is_active((uv_handle_t *)&tick_timer))
    on_tick(&tick_timer);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char junk[512];
  client *c = (client *)h;
  (void)size;
  if (c->stream) /* a subscriber says nothing more: reads find its close */
    *buf = uv_buf_init(junk, sizeof junk);
  else
    *buf = uv_buf_init(c->in + c->in_len,
                       (unsigned)(sizeof c->in - 1 - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  client *c = (client *)s;
  (void)buf;
  if (n < 0 || (n > 0 && !c->stream && c->in_len + (size_t)n == sizeof c->in - 1)) {
    drop(c, NULL); /* gone (UV_EOF), or a request head too large */
  } else if (n > 0 && !c->stream) {
    c->in[c->in_len += (size_t)n] = '\0';
    if (strstr(c->in, "\r\n\r\n"))
      subscribe(c);
  }
}

static void on_connection(uv_stream_t *server, int status) {
  client *c;
  if (status < 0 || !(c = calloc(1, sizeof *c)))
    return;
  uv_tcp_init(loop, &c->tcp);
  c->next = clients;
  if (clients)
    clients->prev = c;
  clients = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
    drop(c, NULL);
}

/* One event: encoded once (a frame), kept in the history, queued on every
 * stream without a copy. */
static void on_event_timer(uv_timer_t *t) {
  static char data[65600];
  char id[24];
  sse_message msg = {0};
  uv_timeval64_t now;
  sse_frame *f;
  client *c;
  int rc;
  (void)t;
  msg.id = id;
  msg.id_len = (size_t)sprintf(id, "%llu", next_id++);
  msg.data = data;
  uv_gettimeofday(&now);
  msg.data_len = (size_t)sprintf(
      data, "{\"message\":\"%s\",\"timestamp\":%llu}", message,
      (unsigned long long)now.tv_sec * 1000 + (unsigned long long)now.tv_usec / 1000);
  if (sse_frame_new_message(&f, &msg, NULL) != SSE_OK)
    return;
  if (sse_history_push(history, f, NULL) == SSE_OK)
    for (c = clients; c; c = c->next)
      if (c->stream && !c->closing) {
        rc = sse_stream_send_frame(c->stream, f);
        if (rc != SSE_OK) /* SSE_E_OVERFLOW: over max_pending behind */
          drop(c, rc == SSE_E_OVERFLOW ? "too slow, cut" : NULL);
      }
  sse_frame_release(f); /* the history and the streams hold their own */
}

static void close_one(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) {
    if (h->type == UV_TCP && h != (uv_handle_t *)&listener)
      drop((client *)h, NULL);
    else
      uv_close(h, NULL);
  }
}

/* SIGTERM, SIGINT: close every handle; uv_run() then returns. */
static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  fprintf(stderr, "sse-uv: stopping\n");
  uv_walk(loop, close_one, NULL);
}

int main(int argc, char **argv) {
  const char *bind_addr = "127.0.0.1";
  unsigned long long port = 3000, interval = 3000, v;
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  uv_timeval64_t now;
  int i, len = sizeof bound;

  /* Ids start at the wall clock in microseconds: a restart never reuses one. */
  uv_gettimeofday(&now);
  next_id = (unsigned long long)now.tv_sec * 1000000 + (unsigned long long)now.tv_usec;
  for (i = 1; i + 1 < argc; i += 2) {
    v = strtoull(argv[i + 1], NULL, 10);
    if (!strcmp(argv[i], "--port") && v <= 65535)
      port = v;
    else if (!strcmp(argv[i], "--bind"))
      bind_addr = argv[i + 1];
    else if (!strcmp(argv[i], "--interval-ms") && v > 0)
      interval = v;
    else if (!strcmp(argv[i], "--max-pending"))
      max_pending = (size_t)v;
    else if (!strcmp(argv[i], "--message") && strlen(argv[i + 1]) < 65536 &&
             !strpbrk(argv[i + 1], "\"\\\t\r\n"))
      message = argv[i + 1];
    else
      break;
  }
  if (i < argc) {
    fprintf(stderr, "usage: sse-uv [--port N] [--bind IPV4] [--interval-ms MS]"
                    " [--message TEXT] [--max-pending BYTES]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN); /* a gone client: EPIPE, not death */
  loop = uv_default_loop();
  if (uv_ip4_addr(bind_addr, (int)port, &addr) || uv_tcp_init(loop, &listener) ||
      uv_tcp_bind(&listener, (const struct sockaddr *)&addr, 0) ||
      uv_listen((uv_stream_t *)&listener, 128, on_connection) ||
      uv_tcp_getsockname(&listener, (struct sockaddr *)&bound, &len) ||
      sse_history_new(&history, 100, 0, NULL) != SSE_OK) {
    fprintf(stderr, "sse-uv: cannot listen on %s port %llu\n", bind_addr, port);
    return 1;
  }
  printf("sse-uv: listening on http://%s:%u/events\n", bind_addr,
         ntohs(((struct sockaddr_in *)&bound)->sin_port));
  fflush(stdout);
  uv_timer_init(loop, &event_timer);
  uv_timer_start(&event_timer, on_event_timer, interval, interval);
  uv_timer_init(loop, &tick_timer);
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_init(loop, &sigint);
  uv_signal_start(&sigint, on_signal, SIGINT);

  uv_run(loop, UV_RUN_DEFAULT); /* until on_signal closed every handle */
  sse_history_free(history);
  return uv_loop_close(loop) ? 1 : 0;
}
