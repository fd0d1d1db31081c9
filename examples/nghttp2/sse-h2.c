/*
 * sse-h2: Server-Sent Events over HTTP/2, on nghttp2 (and OpenSSL for TLS)
 * and libsse's pull streams.
 *
 *   sse-h2 [--port N] [--bind ADDR] [--cert FILE --key FILE]
 *
 *   GET /        the demo page (EventSource('/events'))
 *   GET /events  data: {"message":"Hello from the server!","timestamp":<ms>}
 *                every 3 s with increasing ids; Last-Event-ID replays what a
 *                client missed; a client too slow to keep up is cut
 *
 * With --cert and --key it speaks TLS and offers "h2" by ALPN (browsers);
 * without, cleartext h2c with prior knowledge (curl --http2-prior-knowledge).
 * Over HTTP/2 every EventSource is a stream of one connection, so a page can
 * open many (HTTP/1.1 browsers allow 6 connections per origin).
 *
 * How libsse meets nghttp2: nghttp2 asks for each stream's body through a
 * data source read callback, at its own pace (the peer's flow-control
 * window). Each /events stream is a pull stream (sse_stream_new_pull): sends
 * queue bytes in it, the read callback takes them with sse_stream_read().
 * Nothing queued: the callback returns NGHTTP2_ERR_DEFERRED and the stream
 * sleeps until a send queues bytes again (sse_stream_get_pending() > 0),
 * which calls nghttp2_session_resume_data(). A peer that stops reading stops
 * the callbacks (its window is 0): sends queue up to the stream's cap, then
 * SSE_E_OVERFLOW cuts that stream (RST_STREAM) and nothing else.
 *
 * I/O: one thread, poll(); nghttp2 does no I/O either (mem_recv/mem_send).
 * See README.md next to this file for the ten lines that matter.
 */
#define _GNU_SOURCE /* ppoll */
#include <sse.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256

static const char page[] =
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<title>libsse demo over HTTP/2</title>\n</head>\n<body>\n"
    "<h1>Server-Sent Events with libsse, over HTTP/2</h1>\n"
    "<p>Connection: <strong id=\"status\">connecting</strong>.</p>\n"
    "<ol id=\"events\"></ol>\n<script>\n"
    "const list = document.getElementById('events');\n"
    "const status = document.getElementById('status');\n"
    "const source = new EventSource('/events');\n"
    "source.onopen = () => { status.textContent = 'open'; };\n"
    "source.onerror = () => {\n"
    "  status.textContent = source.readyState === EventSource.CLOSED ?\n"
    "      'closed' : 'reconnecting';\n};\n"
    "source.onmessage = (event) => {\n"
    "  const item = document.createElement('li');\n"
    "  item.dataset.id = event.lastEventId;\n"
    "  item.textContent = '#' + event.lastEventId + ' ' + event.data;\n"
    "  list.append(item);\n};\n</script>\n</body>\n</html>\n";

typedef struct conn {
  int fd;
  SSL *ssl; /* NULL for h2c */
  nghttp2_session *session;
  uint8_t *out; /* bytes from nghttp2_session_mem_send not yet written */
  size_t out_len, out_off;
  int wait_out; /* the last read or write would block until writable */
} conn;

/* One HTTP/2 request: its headers, then its response body's source. */
typedef struct request {
  struct request *prev, *next; /* the list of all requests */
  conn *c;
  int32_t id;
  char method[8], path[64], last_id[SSE_DEFAULT_MAX_LAST_EVENT_ID + 1];
  size_t last_id_len;
  int bad;            /* a header too long for the fields above */
  sse_stream *stream; /* /events: the event stream (pull) */
  int deferred;       /* the read callback said NGHTTP2_ERR_DEFERRED */
  size_t page_off;    /* /: how much of the page was sent */
} request;

static conn *conns[MAX_CONNS];
static request *requests; /* every request of every connection */
static sse_history *history;
static size_t max_pending = SSE_DEFAULT_MAX_PENDING;
static volatile sig_atomic_t stopping;

static uint64_t clock_ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* Response bodies: nghttp2's data source read callbacks. */

/* An /events body: what the pull stream holds, as much as the flow-control
 * window (length) allows. */
static ssize_t read_events(nghttp2_session *session, int32_t id, uint8_t *buf,
                           size_t length, uint32_t *flags,
                           nghttp2_data_source *source, void *user) {
  request *r = source->ptr;
  size_t n = 0;
  int rc = sse_stream_read(r->stream, buf, length, &n);
  (void)session, (void)id, (void)user;
  if (rc == SSE_OK)
    return (ssize_t)n;
  if (rc == SSE_E_AGAIN) { /* nothing queued: sleep until the next send */
    r->deferred = 1;
    return NGHTTP2_ERR_DEFERRED;
  }
  if (rc == SSE_E_CLOSED) { /* closed and drained (shutdown): end the body */
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* overflowed: RST_STREAM */
}

static ssize_t read_page(nghttp2_session *session, int32_t id, uint8_t *buf,
                         size_t length, uint32_t *flags,
                         nghttp2_data_source *source, void *user) {
  request *r = source->ptr;
  size_t n = sizeof page - 1 - r->page_off;
  (void)session, (void)id, (void)user;
  if (n > length)
    n = length;
  memcpy(buf, page + r->page_off, n);
  r->page_off += n;
  if (r->page_off == sizeof page - 1)
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

/* After a send or a tick queued bytes: wake a sleeping data source. */
static void wake(request *r) {
  if (r->deferred && sse_stream_get_pending(r->stream) > 0) {
    r->deferred = 0;
    nghttp2_session_resume_data(r->c->session, r->id);
  }
}

static int respond(request *r, const char *status, nghttp2_data_source_read_callback body) {
  nghttp2_nv nv[8] = {{(uint8_t *)":status", (uint8_t *)status, 7, 3, 0}};
  nghttp2_data_provider prd;
  const sse_http_field *f;
  size_t i, n = 1, count;
  prd.source.ptr = r;
  prd.read_callback = body;
  if (body == read_events) { /* content-type, cache-control, ... (lower case) */
    f = sse_http_fields(SSE_HTTP_2, &count);
    for (i = 0; i < count && n < 8; i++, n++) {
      nv[n].name = (uint8_t *)f[i].name;
      nv[n].namelen = strlen(f[i].name);
      nv[n].value = (uint8_t *)f[i].value;
      nv[n].valuelen = strlen(f[i].value);
      nv[n].flags = NGHTTP2_NV_FLAG_NONE;
    }
  } else if (body == read_page) {
    nv[n].name = (uint8_t *)"content-type";
    nv[n].namelen = 12;
    nv[n].value = (uint8_t *)"text/html; charset=utf-8";
    nv[n].valuelen = 24;
    nv[n++].flags = NGHTTP2_NV_FLAG_NONE;
  }
  return nghttp2_submit_response(r->c->session, r->id, nv, n, body ? &prd : NULL);
}

/* A new /events stream: the pull stream, the preamble, the replay of what
 * it missed, then it joins the live list, all before the next publish. */
static int subscribe(request *r) {
  const char *id = NULL;
  size_t id_len = 0;
  int rc = SSE_OK;
  if (r->bad || sse_http_last_event_id(r->last_id, r->last_id_len, 0, &id, &id_len) ||
      (id_len && sse_http_check_id(id, id_len, 0)))
    return respond(r, "400", NULL);
  if (sse_stream_new_pull(&r->stream, NULL) != SSE_OK)
    return respond(r, "503", NULL);
  sse_stream_set_max_pending(r->stream, max_pending);
  sse_stream_tick(r->stream, clock_ms(CLOCK_MONOTONIC), NULL); /* heartbeats */
  sse_stream_open(r->stream, 1000, 2); /* ":\n" then "retry: 1000" */
  if (id_len) {
    rc = sse_history_replay(history, r->stream, id, id_len, NULL);
    if (rc == SSE_E_EVICTED) /* it missed more than we keep: all we have */
      rc = sse_history_replay_from(history, r->stream,
                                   sse_history_get_first_seq(history) - 1, NULL);
    else if (rc == SSE_E_UNKNOWN_ID) /* not ours: from now on */
      rc = SSE_OK;
  }
  if (rc != SSE_OK)
    return respond(r, "503", NULL);
  fprintf(stderr, "sse-h2: client connected (stream %d)\n", (int)r->id);
  return respond(r, "200", read_events);
}

/* ------------------------------------------------------------------------ */
/* nghttp2's session callbacks: the request side. */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame,
                            void *user) {
  request *r;
  (void)user;
  if (frame->hd.type != NGHTTP2_HEADERS ||
      frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  if (!(r = calloc(1, sizeof *r)))
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  r->c = user;
  r->id = frame->hd.stream_id;
  nghttp2_session_set_stream_user_data(s, r->id, r);
  r->next = requests;
  if (requests)
    requests->prev = r;
  requests = r;
  return 0;
}

static void copy(char *dst, size_t cap, const uint8_t *v, size_t n, int *bad) {
  if (n >= cap) {
    *bad = 1;
    n = 0;
  }
  memcpy(dst, v, n);
  dst[n] = '\0';
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame,
                     const uint8_t *name, size_t namelen, const uint8_t *value,
                     size_t valuelen, uint8_t flags, void *user) {
  request *r = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
  (void)flags, (void)user;
  if (!r || frame->hd.type != NGHTTP2_HEADERS)
    return 0;
  if (namelen == 7 && !memcmp(name, ":method", 7))
    copy(r->method, sizeof r->method, value, valuelen, &r->bad);
  else if (namelen == 5 && !memcmp(name, ":path", 5))
    copy(r->path, sizeof r->path, value, valuelen, &r->bad);
  else if (namelen == 13 && !memcmp(name, "last-event-id", 13)) {
    copy(r->last_id, sizeof r->last_id, value, valuelen, &r->bad);
    r->last_id_len = valuelen;
  }
  return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame,
                         void *user) {
  request *r = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
  (void)user;
  if (!r || frame->hd.type != NGHTTP2_HEADERS ||
      !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) || r->stream)
    return 0; /* answer once the request is complete */
  if (strcmp(r->method, "GET"))
    return respond(r, "405", NULL);
  if (!strcmp(r->path, "/events"))
    return subscribe(r);
  if (!strcmp(r->path, "/"))
    return respond(r, "200", read_page);
  return respond(r, "404", NULL);
}

static void free_request(request *r) {
  if (r->prev)
    r->prev->next = r->next;
  else
    requests = r->next;
  if (r->next)
    r->next->prev = r->prev;
  if (r->stream)
    fprintf(stderr, "sse-h2: client disconnected (stream %d)\n", (int)r->id);
  sse_stream_free(r->stream);
  free(r);
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t error,
                           void *user) {
  request *r = nghttp2_session_get_stream_user_data(s, id);
  (void)error, (void)user;
  if (r)
    free_request(r);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Connections: bytes between the socket (or TLS) and the session. */

/* Reads or writes through TLS or the plain socket. Returns the bytes moved,
 * 0 when it would block, -1 when the connection is over. c->wait_out says
 * whether to wait for writability next: TLS may need to read before it can
 * write (and the reverse), so a pending write alone does not mean POLLOUT. */
static ssize_t io(conn *c, int writing, void *buf, size_t len) {
  ssize_t n;
  int err;
  if (!c->ssl) {
    n = writing ? send(c->fd, buf, len, MSG_NOSIGNAL) : recv(c->fd, buf, len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      c->wait_out = writing;
      return 0;
    }
    if (writing)
      c->wait_out = 0;
    return n > 0 ? n : -1;
  }
  n = writing ? SSL_write(c->ssl, buf, (int)len) : SSL_read(c->ssl, buf, (int)len);
  if (n > 0) {
    if (writing)
      c->wait_out = 0;
    return n;
  }
  err = SSL_get_error(c->ssl, (int)n);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    c->wait_out = err == SSL_ERROR_WANT_WRITE;
    return 0;
  }
  return -1;
}

/* Writes what the session has to send until the socket is full. The out
 * buffer holds one mem_send chunk at most (bounded: nghttp2 hands out a
 * frame at a time). Returns -1 when the connection is over. */
static int flush_conn(conn *c) {
  const uint8_t *data;
  ssize_t n;
  for (;;) {
    if (c->out_off == c->out_len) {
      n = nghttp2_session_mem_send(c->session, &data);
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      free(c->out);
      if (!(c->out = malloc((size_t)n)))
        return -1;
      memcpy(c->out, data, (size_t)n);
      c->out_len = (size_t)n;
      c->out_off = 0;
    }
    n = io(c, 1, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0)
      return -1;
    if (n == 0)
      break;
    c->out_off += (size_t)n;
  }
  return nghttp2_session_want_read(c->session) ||
                 nghttp2_session_want_write(c->session) || c->out_off < c->out_len
             ? 0
             : -1;
}

static int read_conn(conn *c) {
  uint8_t buf[16384];
  ssize_t n;
  while ((n = io(c, 0, buf, sizeof buf)) > 0)
    if (nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0)
      return -1;
  return n < 0 ? -1 : 0;
}

static void close_conn(int i) {
  conn *c = conns[i];
  request *r, *next;
  for (r = requests; r; r = next) { /* nghttp2_session_del() does not call */
    next = r->next;                 /* on_stream_close */
    if (r->c == c)
      free_request(r);
  }
  nghttp2_session_del(c->session);
  SSL_free(c->ssl);
  close(c->fd);
  free(c->out);
  free(c);
  conns[i] = NULL;
}

static void accept_conns(int lfd, SSL_CTX *tls) {
  nghttp2_session_callbacks *cb;
  nghttp2_settings_entry settings = {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100};
  conn *c;
  int fd, i;
  while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
    for (i = 0; i < MAX_CONNS && conns[i]; i++)
      ;
    if (i == MAX_CONNS || !(c = calloc(1, sizeof *c))) {
      close(fd);
      continue;
    }
    c->fd = fd;
    if (tls && (!(c->ssl = SSL_new(tls)) || !SSL_set_fd(c->ssl, fd))) {
      SSL_free(c->ssl);
      free(c);
      close(fd);
      continue;
    }
    if (c->ssl)
      SSL_set_accept_state(c->ssl);
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_server_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, &settings, 1);
    conns[i] = c;
  }
}

/* TLS with ALPN "h2": browsers speak HTTP/2 only over TLS. */
static int select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                     const unsigned char *in, unsigned inlen, void *arg) {
  static const unsigned char h2[] = "\x02h2";
  (void)ssl, (void)arg;
  if (SSL_select_next_proto((unsigned char **)out, outlen, h2, sizeof h2 - 1, in,
                            inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL; /* no h2: we speak nothing else */
  return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *tls_context(const char *cert, const char *key) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
      SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    SSL_CTX_free(ctx);
    return NULL;
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_alpn_select_cb(ctx, select_h2, NULL);
  return ctx;
}

/* ------------------------------------------------------------------------ */

/* One event: encoded once (a frame), kept in the history, queued on every
 * /events stream of every connection without a copy. */
static void publish(uint64_t id, const char *message) {
  char ids[24], data[65600];
  sse_message msg = {0};
  request *r;
  sse_frame *f;
  msg.id = ids;
  msg.id_len = (size_t)sprintf(ids, "%llu", (unsigned long long)id);
  msg.data = data;
  msg.data_len = (size_t)sprintf(data, "{\"message\":\"%s\",\"timestamp\":%llu}",
                                 message, (unsigned long long)clock_ms(CLOCK_REALTIME));
  if (sse_frame_new_message(&f, &msg, NULL) != SSE_OK)
    return;
  if (sse_history_push(history, f, NULL) == SSE_OK)
    for (r = requests; r; r = r->next) {
      if (!r->stream || sse_stream_get_error(r->stream) != SSE_OK)
        continue; /* already cut; its RST_STREAM waits to be written */
      if (sse_stream_send_frame(r->stream, f) == SSE_E_OVERFLOW) {
        /* Its window is shut and max_pending is queued: cut this stream. */
        fprintf(stderr, "sse-h2: stream %d too slow, cut\n", (int)r->id);
        nghttp2_submit_rst_stream(r->c->session, NGHTTP2_FLAG_NONE, r->id,
                                  NGHTTP2_CANCEL);
      }
      wake(r);
    }
  sse_frame_release(f);
}

static uint64_t tick_all(uint64_t now) {
  uint64_t next = SSE_NO_DEADLINE, deadline;
  request *r;
  for (r = requests; r; r = r->next)
    if (r->stream && sse_stream_tick(r->stream, now, &deadline) == SSE_OK) {
      wake(r);
      next = deadline < next ? deadline : next;
    }
  return next;
}

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  const char *bind_addr = "127.0.0.1", *message = "Hello from the server!";
  const char *cert = NULL, *key = NULL;
  unsigned long long port = 3000, interval = 3000, v, id;
  struct sockaddr_in sa = {0};
  socklen_t sl = sizeof sa;
  struct pollfd pfd[MAX_CONNS + 1];
  struct sigaction act;
  struct timespec ts;
  sigset_t block, unblocked;
  uint64_t now, next, next_event, stop_at = 0;
  SSL_CTX *tls = NULL;
  int i, lfd, one = 1;

  /* Ids start at the wall clock in microseconds: a restart never reuses one. */
  clock_gettime(CLOCK_REALTIME, &ts);
  id = (unsigned long long)ts.tv_sec * 1000000 + (unsigned long long)ts.tv_nsec / 1000;
  for (i = 1; i + 1 < argc; i += 2) {
    v = strtoull(argv[i + 1], NULL, 10);
    if (!strcmp(argv[i], "--port") && v <= 65535)
      port = v;
    else if (!strcmp(argv[i], "--bind"))
      bind_addr = argv[i + 1];
    else if (!strcmp(argv[i], "--cert"))
      cert = argv[i + 1];
    else if (!strcmp(argv[i], "--key"))
      key = argv[i + 1];
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
  if (i < argc || !cert != !key) {
    fprintf(stderr, "usage: sse-h2 [--port N] [--bind IPV4] [--cert FILE --key FILE]\n"
                    "              [--interval-ms MS] [--message TEXT] [--max-pending BYTES]\n");
    return 2;
  }
  if (cert && !(tls = tls_context(cert, key)))
    return 1;

  /* SIGTERM and SIGINT stay blocked except inside ppoll(): no race between
   * checking the flag and waiting. */
  memset(&act, 0, sizeof act);
  act.sa_handler = on_signal;
  sigaction(SIGTERM, &act, NULL);
  sigaction(SIGINT, &act, NULL);
  /* OpenSSL writes with write(2): a client that left must give EPIPE, not a
   * SIGPIPE that kills the server (browsers close speculative connections). */
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &unblocked);

  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0 || inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1 ||
      setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
      bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 128) ||
      getsockname(lfd, (struct sockaddr *)&sa, &sl) ||
      sse_history_new(&history, 100, 0, NULL) != SSE_OK) {
    fprintf(stderr, "sse-h2: cannot listen on %s port %llu\n", bind_addr, port);
    return 1;
  }
  printf("sse-h2: listening on %s://%s:%u/ (%s)\n", tls ? "https" : "http",
         bind_addr, ntohs(sa.sin_port), tls ? "h2 over TLS" : "h2c, prior knowledge");
  fflush(stdout);

  next_event = clock_ms(CLOCK_MONOTONIC) + interval;
  for (;;) {
    now = clock_ms(CLOCK_MONOTONIC);
    if (stopping && !stop_at) {
      /* Close every stream after what it holds (its body then ends), say
       * GOAWAY, and give the peers a second to read it. */
      fprintf(stderr, "sse-h2: stopping\n");
      stop_at = now + 1000;
      for (request *r = requests; r; r = r->next) {
        if (!r->stream)
          continue;
        sse_stream_close(r->stream);
        r->deferred = 0;
        nghttp2_session_resume_data(r->c->session, r->id);
      }
      for (i = 0; i < MAX_CONNS; i++)
        if (conns[i])
          nghttp2_submit_goaway(conns[i]->session, NGHTTP2_FLAG_NONE,
                                nghttp2_session_get_last_proc_stream_id(conns[i]->session),
                                NGHTTP2_NO_ERROR, NULL, 0);
    }
    next = tick_all(now);
    if (now >= next_event && !stop_at) {
      publish(id++, message);
      next_event = next_event + interval > now ? next_event + interval : now + interval;
    }
    next = next_event < next ? next_event : next;
    if (stop_at && (now >= stop_at || !requests))
      break;
    if (stop_at) /* come back soon to see the streams end */
      next = now + 10;
    pfd[0].fd = stop_at ? -1 : lfd;
    pfd[0].events = POLLIN;
    for (i = 0; i < MAX_CONNS; i++) {
      conn *c = conns[i];
      pfd[i + 1].fd = -1;
      if (c && flush_conn(c) < 0)
        close_conn(i);
      else if (c) {
        pfd[i + 1].fd = c->fd;
        pfd[i + 1].events = POLLIN | (c->wait_out ? POLLOUT : 0);
      }
    }
    next = next - now < 1000 ? next - now : 1000;
    ts.tv_sec = (time_t)(next / 1000);
    ts.tv_nsec = (long)(next % 1000) * 1000000;
    if (ppoll(pfd, MAX_CONNS + 1, &ts, &unblocked) <= 0)
      continue;
    if (pfd[0].revents)
      accept_conns(lfd, tls);
    for (i = 0; i < MAX_CONNS; i++)
      if (conns[i] && pfd[i + 1].revents && (read_conn(conns[i]) < 0 || flush_conn(conns[i]) < 0))
        close_conn(i);
  }
  for (i = 0; i < MAX_CONNS; i++)
    if (conns[i]) {
      flush_conn(conns[i]);
      close_conn(i);
    }
  sse_history_free(history);
  SSL_CTX_free(tls);
  close(lfd);
  return 0;
}
