/*
 * sse-demo: the Server-Sent Events tutorial, in one C file on libsse.
 *
 *   GET /        a page whose EventSource('/events') lists every event
 *   GET /events  data: {"message":"Hello from the server!","timestamp":<ms>}
 *                every 3 s, with increasing ids; a browser that reconnects
 *                with Last-Event-ID first gets what it missed
 *
 * Everything is here: a non-blocking HTTP/1.1 server on epoll (Linux) and
 * every libsse call a server makes. Read it from main() down:
 *   - sse_http_headers()     the response head of an event stream
 *   - sse_stream_new()       one client's output, written through our
 *                            sendmsg() callback; what the socket does not
 *                            take waits in the stream (capped:
 *                            sse_stream_set_max_pending)
 *   - sse_stream_open()      ":" and "retry: 1000" first
 *   - sse_frame_new_message() each event encoded once for every client
 *   - sse_history_push()     ... and kept for clients that come back
 *   - sse_history_replay()   what a client missed after its Last-Event-ID
 *   - sse_stream_send_frame() the live events
 *   - sse_stream_flush()     when a slow client's socket is writable again
 *   - sse_stream_tick()      keep-alive comments on idle streams
 */
#define _GNU_SOURCE /* accept4, memmem */
#include <sse.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: sse-demo [--port N] [--bind ADDR] [--interval-ms MS]\n"
    "                [--message TEXT] [--max-pending BYTES]\n"
    "Serves the Server-Sent Events demo: open http://ADDR:PORT/ in a browser.\n"
    "  --port N             TCP port (default 3000; 0 picks a free one)\n"
    "  --bind ADDR          address to listen on (default 127.0.0.1)\n"
    "  --interval-ms MS     time between events (default 3000)\n"
    "  --message TEXT       the message of each event (no \" or \\)\n"
    "  --max-pending BYTES  cut a client this far behind (default 1 MiB)\n";

static const char page[] =
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<title>libsse demo</title>\n<style>\n"
    "body{font:15px/1.5 system-ui,sans-serif;max-width:48em;margin:2em auto;"
    "padding:0 1em}\nli{font-family:ui-monospace,monospace;margin:.2em 0}\n"
    ".id{display:inline-block;min-width:4em;color:#666}\n</style>\n</head>\n"
    "<body>\n<h1>Server-Sent Events with libsse</h1>\n"
    "<p>Connection: <strong id=\"status\">connecting</strong>. Each event "
    "shows its id (<code>lastEventId</code>) and its data.</p>\n"
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
    "  const id = document.createElement('span');\n"
    "  item.dataset.id = event.lastEventId;\n  id.className = 'id';\n"
    "  id.textContent = '#' + event.lastEventId;\n"
    "  item.append(id, ' ', event.data);\n  list.append(item);\n};\n"
    "</script>\n</body>\n</html>\n";

typedef struct client {
  struct client *next;
  int fd;              /* -1 once dropped; freed by reap() */
  int want_out;        /* EPOLLOUT is armed */
  sse_stream *stream;  /* set once the client asked for /events */
  size_t in_len;
  char in[4096];       /* the request head */
} client;

typedef struct server {
  int epfd;
  client *clients;
  size_t streaming;      /* clients on /events */
  sse_history *history;  /* the last 100 events, for Last-Event-ID */
  uint64_t next_id;      /* the id of the next event */
  uint64_t interval_ms, next_event;
  const char *message;
  char *data;            /* room for one event's data */
  size_t max_pending;
} server;

static uint64_t now_ms(void) { /* monotonic: for deadlines */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned long long wall_ms(void) { /* for the event's timestamp */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

/* The stream's write callback: the stream offers its queued bytes as
 * pieces; we write what the non-blocking socket takes. sendmsg() rather
 * than writev() for MSG_NOSIGNAL: a client that left gives EPIPE, not a
 * SIGPIPE that kills the server. */
static int client_writev(void *user, const sse_iovec *iov, size_t n,
                         size_t *written) {
  client *c = user;
  struct iovec v[SSE_STREAM_MAX_IOV];
  struct msghdr msg;
  ssize_t r;
  size_t i;
  for (i = 0; i < n; i++) {
    v[i].iov_base = (void *)iov[i].base;
    v[i].iov_len = iov[i].len;
  }
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = v;
  msg.msg_iovlen = n;
  r = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
  if (r < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
               ? SSE_E_AGAIN  /* full: the stream keeps the bytes */
               : SSE_E_WRITE; /* gone: the stream fails for good */
  *written = (size_t)r;
  return SSE_OK;
}

/* Arms EPOLLOUT exactly while the stream holds bytes the socket refused. */
static void watch(server *srv, client *c) {
  int want = c->stream && sse_stream_get_pending(c->stream) > 0;
  struct epoll_event ev;
  if (want == c->want_out)
    return;
  ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
  ev.data.ptr = c;
  epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = want;
}

static void drop(server *srv, client *c, const char *why) {
  if (c->fd < 0)
    return;
  close(c->fd); /* also removes it from epoll */
  c->fd = -1;
  if (c->stream) {
    sse_stream_free(c->stream); /* drops what it still queued */
    c->stream = NULL;
    srv->streaming--;
    fprintf(stderr, "sse-demo: client disconnected%s%s (%zu connected)\n",
            why ? ": " : "", why ? why : "", srv->streaming);
  }
}

/* Frees the dropped clients (not during a walk of the list). */
static void reap(server *srv) {
  client **p = &srv->clients, *c;
  while ((c = *p))
    if (c->fd < 0) {
      *p = c->next;
      free(c);
    } else {
      p = &c->next;
    }
}

/* A whole small response, then close. A fresh socket takes a few KiB at
 * once, so this one write does not come up short in practice. */
static void respond(server *srv, client *c, const char *status,
                    const char *extra, const char *body, size_t len) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n", status, extra, len);
  struct iovec v[2] = {{head, (size_t)n}, {(void *)body, len}};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = v;
  msg.msg_iovlen = body ? 2 : 1;
  (void)sendmsg(c->fd, &msg, MSG_NOSIGNAL);
  drop(srv, c, NULL);
}

/* The value of header name (lower case, with its colon) in a request head,
 * untrimmed; NULL when absent. */
static const char *header(const char *req, const char *name, size_t *len) {
  const char *line = strstr(req, "\r\n"), *end;
  size_t n = strlen(name);
  while (line && line[2] != '\r') {
    line += 2;
    end = strstr(line, "\r\n");
    if (!strncasecmp(line, name, n)) {
      *len = (size_t)(end - line) - n;
      return line + n;
    }
    line = end;
  }
  return NULL;
}

static void subscribe(server *srv, client *c) {
  const char *value, *id = NULL;
  size_t value_len, id_len = 0, head_len;
  char head[256];
  int rc = SSE_OK;
  /* Last-Event-ID is untrusted: trimmed and bounded, and it must be an id
   * a browser can send back unchanged (ours always are). */
  value = header(c->in, "last-event-id:", &value_len);
  if (value && (sse_http_last_event_id(value, value_len, 0, &id, &id_len) ||
                (id_len && sse_http_check_id(id, id_len, 0)))) {
    respond(srv, c, "400 Bad Request", "", NULL, 0);
    return;
  }
  /* "HTTP/1.1 200 OK", Content-Type: text/event-stream and the fields that
   * stop caches and proxies from holding events back. No Content-Length:
   * the body ends when the connection closes. */
  sse_http_headers(head, sizeof head, SSE_HTTP_RESPONSE, &head_len);
  if (send(c->fd, head, head_len, MSG_NOSIGNAL) != (ssize_t)head_len ||
      sse_stream_new(&c->stream, client_writev, c, NULL) != SSE_OK) {
    drop(srv, c, NULL);
    return;
  }
  srv->streaming++;
  sse_stream_set_max_pending(c->stream, srv->max_pending);
  sse_stream_tick(c->stream, now_ms(), NULL); /* starts its keep-alive clock */
  sse_stream_open(c->stream, 1000, 2);        /* ":\n" then "retry: 1000" */
  if (id_len) {
    rc = sse_history_replay(srv->history, c->stream, id, id_len, NULL);
    if (rc == SSE_E_EVICTED) { /* missed more than we keep: all we have */
      rc = sse_history_replay_from(
          srv->history, c->stream,
          sse_history_get_first_seq(srv->history) - 1, NULL);
    } else if (rc == SSE_E_UNKNOWN_ID) { /* e.g. from before a restart: */
      rc = SSE_OK;                       /* live events from now */
    }
  }
  if (rc != SSE_OK) { /* e.g. the replay does not fit under the cap */
    drop(srv, c, sse_strerror(rc));
    return;
  }
  fprintf(stderr, "sse-demo: client connected%s%.*s (%zu connected)\n",
          id_len ? ", Last-Event-ID " : "", (int)id_len, id_len ? id : "",
          srv->streaming);
  watch(srv, c);
}

static void on_request(server *srv, client *c) {
  int get = !strncmp(c->in, "GET ", 4), head = !strncmp(c->in, "HEAD ", 5);
  const char *path = strchr(c->in, ' ') + 1;
  size_t path_len = strcspn(path, " \r");
  if (path_len == 1 && path[0] == '/' && (get || head))
    respond(srv, c, "200 OK", "Content-Type: text/html; charset=utf-8\r\n",
            get ? page : NULL, sizeof page - 1);
  else if (path_len == 7 && !memcmp(path, "/events", 7) && get)
    subscribe(srv, c);
  else if ((path_len == 1 && path[0] == '/') || (path_len == 7 && !memcmp(path, "/events", 7)))
    respond(srv, c, "405 Method Not Allowed", "Allow: GET\r\n", NULL, 0);
  else
    respond(srv, c, "404 Not Found", "", NULL, 0);
}

static void on_readable(server *srv, client *c) {
  char junk[512];
  ssize_t r;
  if (c->stream) { /* a subscriber says nothing more: this finds its close */
    r = read(c->fd, junk, sizeof junk);
    if (r == 0 || (r < 0 && errno != EAGAIN))
      drop(srv, c, NULL);
    return;
  }
  r = read(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len);
  if (r == 0 || (r < 0 && errno != EAGAIN)) {
    drop(srv, c, NULL);
    return;
  }
  c->in_len += r > 0 ? (size_t)r : 0;
  c->in[c->in_len] = '\0';
  if (memmem(c->in, c->in_len, "\r\n\r\n", 4) && strchr(c->in, ' '))
    on_request(srv, c);
  else if (c->in_len == sizeof c->in - 1)
    respond(srv, c, "431 Request Header Fields Too Large", "", NULL, 0);
}

/* One event: encoded once (a frame), kept in the history, queued on every
 * stream without a copy. */
static void publish(server *srv) {
  char id[24];
  sse_message msg = {0};
  sse_frame *f;
  client *c;
  int rc;
  snprintf(id, sizeof id, "%llu", (unsigned long long)srv->next_id++);
  msg.id = id;
  msg.id_len = strlen(id);
  msg.data = srv->data;
  msg.data_len = (size_t)sprintf(srv->data, "{\"message\":\"%s\",\"timestamp\":%llu}",
                                 srv->message, wall_ms());
  if (sse_frame_new_message(&f, &msg, NULL) != SSE_OK)
    return;
  if (sse_history_push(srv->history, f, NULL) == SSE_OK)
    for (c = srv->clients; c; c = c->next) {
      if (!c->stream || c->fd < 0)
        continue;
      rc = sse_stream_send_frame(c->stream, f);
      if (rc == SSE_E_OVERFLOW) /* over max_pending behind: cut it */
        drop(srv, c, "too slow, cut");
      else if (rc != SSE_OK)
        drop(srv, c, NULL);
      else
        watch(srv, c);
    }
  sse_frame_release(f); /* the history and the streams hold their own */
}

/* Keep-alives: each stream sends ":\n" when idle for 15 s, and says when
 * to come back. Returns the earliest of those deadlines. */
static uint64_t tick_all(server *srv, uint64_t now) {
  uint64_t next = SSE_NO_DEADLINE, deadline;
  client *c;
  for (c = srv->clients; c; c = c->next) {
    if (!c->stream || c->fd < 0)
      continue;
    if (sse_stream_tick(c->stream, now, &deadline) != SSE_OK) {
      drop(srv, c, NULL);
      continue;
    }
    watch(srv, c);
    if (deadline < next)
      next = deadline;
  }
  return next;
}

static void on_accept(server *srv, int lfd) {
  struct epoll_event ev;
  client *c;
  int fd;
  while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
    if (!(c = calloc(1, sizeof *c))) {
      close(fd);
      continue;
    }
    c->fd = fd;
    c->next = srv->clients;
    srv->clients = c;
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev);
  }
}

static int listen_on(const char *addr, const char *port, unsigned *bound) {
  struct addrinfo hints, *ai;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int fd, one = 1;
  memset(&hints, 0, sizeof hints);
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(addr, port, &hints, &ai))
    return -1;
  fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
      bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128) ||
      getsockname(fd, (struct sockaddr *)&ss, &sl)) {
    freeaddrinfo(ai);
    return -1;
  }
  freeaddrinfo(ai);
  *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

static int number(const char *s, unsigned long long max, unsigned long long *v) {
  char *end;
  errno = 0;
  *v = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
  return s && *s >= '0' && *s <= '9' && !*end && !errno && *v <= max;
}

int main(int argc, char **argv) {
  server srv;
  const char *bind_addr = "127.0.0.1", *port = "3000";
  unsigned long long v;
  struct epoll_event ev, evs[64];
  struct timespec ts;
  sigset_t sigs;
  unsigned bound = 0;
  int i, n, lfd, sfd, stop = 0;

  memset(&srv, 0, sizeof srv);
  /* Ids start at the wall clock in microseconds: a restart never reuses one. */
  clock_gettime(CLOCK_REALTIME, &ts);
  srv.next_id = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
  srv.interval_ms = 3000;
  srv.message = "Hello from the server!";
  srv.max_pending = SSE_DEFAULT_MAX_PENDING;
  for (i = 1; i < argc; i += 2) { /* options come as pairs: --name value */
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--port") && number(val, 65535, &v)) {
      port = val;
    } else if (!strcmp(a, "--bind") && val) {
      bind_addr = val;
    } else if (!strcmp(a, "--interval-ms") && number(val, 86400000, &v) && v) {
      srv.interval_ms = v;
    } else if (!strcmp(a, "--message") && val && !strpbrk(val, "\"\\") &&
               strlen(val) < 65536) {
      srv.message = val;
    } else if (!strcmp(a, "--max-pending") && number(val, SIZE_MAX, &v)) {
      srv.max_pending = (size_t)v;
    } else {
      fprintf(stderr, "sse-demo: bad or incomplete option: %s\n%s", a, usage);
      return 2;
    }
  }
  for (i = 0; srv.message[i]; i++) /* JSON-safe: no control characters */
    if ((unsigned char)srv.message[i] < 0x20) {
      fprintf(stderr, "sse-demo: --message: control character\n");
      return 2;
    }

  /* SIGINT and SIGTERM arrive as a readable descriptor: a clean exit. */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigprocmask(SIG_BLOCK, &sigs, NULL);
  sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
  lfd = listen_on(bind_addr, port, &bound);
  srv.epfd = epoll_create1(EPOLL_CLOEXEC);
  srv.data = malloc(strlen(srv.message) + 64);
  if (lfd < 0 || sfd < 0 || srv.epfd < 0 || !srv.data ||
      sse_history_new(&srv.history, 100, 0, NULL) != SSE_OK) {
    fprintf(stderr, "sse-demo: cannot listen on %s port %s\n", bind_addr, port);
    return 1;
  }
  ev.events = EPOLLIN;
  ev.data.ptr = &lfd;
  epoll_ctl(srv.epfd, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.ptr = &sfd;
  epoll_ctl(srv.epfd, EPOLL_CTL_ADD, sfd, &ev);
  printf("sse-demo: listening on http://%s%s%s:%u/ (an event every %llu ms)\n",
         strchr(bind_addr, ':') ? "[" : "", bind_addr,
         strchr(bind_addr, ':') ? "]" : "", bound,
         (unsigned long long)srv.interval_ms);
  fflush(stdout);

  srv.next_event = now_ms() + srv.interval_ms;
  while (!stop) {
    uint64_t now = now_ms(), next = tick_all(&srv, now);
    if (now >= srv.next_event) {
      publish(&srv);
      srv.next_event += srv.interval_ms;
      if (srv.next_event <= now) /* after a stall: no burst of events */
        srv.next_event = now + srv.interval_ms;
    }
    if (srv.next_event < next)
      next = srv.next_event;
    reap(&srv);
    n = epoll_wait(srv.epfd, evs, 64, next > now + 60000 ? 60000 : (int)(next - now));
    for (i = 0; i < n; i++) {
      client *c = evs[i].data.ptr;
      if (evs[i].data.ptr == &sfd) {
        stop = 1;
      } else if (evs[i].data.ptr == &lfd) {
        on_accept(&srv, lfd);
      } else if (c->fd >= 0 && (evs[i].events & EPOLLOUT)) {
        int rc = sse_stream_flush(c->stream); /* the socket drained */
        if (rc != SSE_OK && rc != SSE_E_AGAIN)
          drop(&srv, c, NULL);
        else
          watch(&srv, c);
      }
      if (evs[i].data.ptr != &sfd && evs[i].data.ptr != &lfd && c->fd >= 0 &&
          (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        on_readable(&srv, c);
    }
  }

  /* SIGTERM: a last flush of what each stream still holds, then close. */
  fprintf(stderr, "sse-demo: stopping\n");
  while (srv.clients) {
    client *c = srv.clients;
    if (c->stream && c->fd >= 0)
      sse_stream_flush(c->stream);
    drop(&srv, c, NULL);
    srv.clients = c->next;
    free(c);
  }
  sse_history_free(srv.history);
  free(srv.data);
  close(lfd);
  close(sfd);
  close(srv.epfd);
  fprintf(stderr, "sse-demo: stopped\n");
  return 0;
}
