/*
 * sse-epoll: the smallest complete SSE server on libsse: non-blocking
 * sockets, epoll (Linux), one thread.
 *
 *   GET /events  data: {"message":"Hello from the server!","timestamp":<ms>}
 *                every 3 s with increasing ids; Last-Event-ID replays what a
 *                client missed; a client too slow to keep up is cut
 *
 * See README.md next to this file for the ten lines that matter.
 */
#define _GNU_SOURCE /* accept4, memmem */
#include <sse.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct client {
  struct client *next;
  int fd;             /* -1 once dropped; freed in the main loop */
  int want_out;       /* EPOLLOUT is armed */
  sse_stream *stream; /* set once the client asked for /events */
  size_t in_len;
  char in[4096]; /* the request head */
} client;

static int epfd;
static client *clients;
static sse_history *history; /* the last 100 events, for Last-Event-ID */
static size_t max_pending = SSE_DEFAULT_MAX_PENDING;

static uint64_t clock_ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The stream's write callback: write what the non-blocking socket takes.
 * sendmsg() is writev() with MSG_NOSIGNAL: a gone client gives EPIPE, not
 * a SIGPIPE that kills the server. */
static int client_writev(void *user, const sse_iovec *iov, size_t n,
                         size_t *written) {
  client *c = user;
  struct iovec v[SSE_STREAM_MAX_IOV];
  struct msghdr msg = {0};
  ssize_t r;
  size_t i;
  for (i = 0; i < n; i++) {
    v[i].iov_base = (void *)iov[i].base;
    v[i].iov_len = iov[i].len;
  }
  msg.msg_iov = v;
  msg.msg_iovlen = n;
  r = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
  if (r < 0)
    return errno == EAGAIN || errno == EINTR ? SSE_E_AGAIN : SSE_E_WRITE;
  *written = (size_t)r;
  return SSE_OK;
}

/* Arms EPOLLOUT exactly while the stream holds bytes the socket refused. */
static void watch(client *c) {
  int want = sse_stream_get_pending(c->stream) > 0;
  struct epoll_event ev = {EPOLLIN, {.ptr = c}};
  if (want != c->want_out) {
    ev.events |= want ? EPOLLOUT : 0u;
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
  }
}

static void drop(client *c, const char *why) {
  if (c->fd < 0)
    return;
  close(c->fd);
  c->fd = -1;
  if (c->stream)
    fprintf(stderr, "sse-epoll: client disconnected%s%s\n", why ? ": " : "", why ? why : "");
  sse_stream_free(c->stream); /* drops what it still queued */
  c->stream = NULL;
}

static void subscribe(client *c) {
  static const char not_found[] =
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  const char *v = strcasestr(c->in, "\r\nLast-Event-ID:"), *id = NULL;
  size_t id_len = 0, head_len;
  char head[256];
  int rc = SSE_OK;
  if (strncmp(c->in, "GET /events ", 12)) {
    (void)send(c->fd, not_found, sizeof not_found - 1, MSG_NOSIGNAL);
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
  if (send(c->fd, head, head_len, MSG_NOSIGNAL) != (ssize_t)head_len ||
      sse_stream_new(&c->stream, client_writev, c, NULL) != SSE_OK) {
    drop(c, NULL);
    return;
  }
  sse_stream_set_max_pending(c->stream, max_pending);
  sse_stream_tick(c->stream, clock_ms(CLOCK_MONOTONIC), NULL); /* heartbeats */
  sse_stream_open(c->stream, 1000, 2); /* ":\n" then "retry: 1000" */
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
  fprintf(stderr, "sse-epoll: client connected\n");
  watch(c);
}

static void on_readable(client *c) {
  char junk[512];
  char *buf = c->stream ? junk : c->in + c->in_len;
  size_t cap = c->stream ? sizeof junk : sizeof c->in - 1 - c->in_len;
  ssize_t r = read(c->fd, buf, cap);
  if (r == 0 || (r < 0 && errno != EAGAIN) || (r > 0 && (size_t)r == cap && !c->stream)) {
    drop(c, NULL); /* gone, or a request head too large */
  } else if (r > 0 && !c->stream) { /* a subscriber's reads find its close */
    c->in[c->in_len += (size_t)r] = '\0';
    if (memmem(c->in, c->in_len, "\r\n\r\n", 4))
      subscribe(c);
  }
}

/* One event: encoded once (a frame), kept in the history, queued on every
 * stream without a copy. */
static void publish(uint64_t id, const char *message) {
  char ids[24], data[65600];
  sse_message msg = {0};
  sse_frame *f;
  client *c;
  msg.id = ids;
  msg.id_len = (size_t)sprintf(ids, "%llu", (unsigned long long)id);
  msg.data = data;
  msg.data_len = (size_t)sprintf(data, "{\"message\":\"%s\",\"timestamp\":%llu}",
                                 message, (unsigned long long)clock_ms(CLOCK_REALTIME));
  if (sse_frame_new_message(&f, &msg, NULL) != SSE_OK)
    return;
  if (sse_history_push(history, f, NULL) == SSE_OK)
    for (c = clients; c; c = c->next)
      if (c->stream && c->fd >= 0) {
        int rc = sse_stream_send_frame(c->stream, f);
        if (rc != SSE_OK) /* SSE_E_OVERFLOW: over max_pending behind */
          drop(c, rc == SSE_E_OVERFLOW ? "too slow, cut" : NULL);
        else
          watch(c);
      }
  sse_frame_release(f); /* the history and the streams hold their own */
}

/* Keep-alives (":\n" after 15 s idle); returns the next deadline. */
static uint64_t tick_all(uint64_t now) {
  uint64_t next = SSE_NO_DEADLINE, deadline;
  client *c, **p = &clients;
  while ((c = *p)) {
    if (c->fd < 0) { /* free the dropped clients here, outside any walk */
      *p = c->next;
      free(c);
      continue;
    }
    if (c->stream && sse_stream_tick(c->stream, now, &deadline) != SSE_OK)
      drop(c, NULL);
    else if (c->stream) {
      watch(c);
      next = deadline < next ? deadline : next;
    }
    p = &c->next;
  }
  return next;
}

static int listen_on(const char *addr, unsigned port) {
  struct sockaddr_in sa = {0};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  socklen_t len = sizeof sa;
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
      bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 128) ||
      getsockname(fd, (struct sockaddr *)&sa, &len))
    return -1;
  printf("sse-epoll: listening on http://%s:%u/events\n", addr, ntohs(sa.sin_port));
  fflush(stdout);
  return fd;
}

int main(int argc, char **argv) {
  const char *bind_addr = "127.0.0.1", *message = "Hello from the server!";
  unsigned long long port = 3000, interval = 3000, v, id;
  struct epoll_event ev, evs[64];
  struct timespec ts;
  uint64_t now, next, next_event;
  sigset_t sigs;
  int i, n, lfd, sfd, stop = 0;
  client *c;

  /* Ids start at the wall clock in microseconds: a restart never reuses one. */
  clock_gettime(CLOCK_REALTIME, &ts);
  id = (unsigned long long)ts.tv_sec * 1000000 + (unsigned long long)ts.tv_nsec / 1000;
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
  if (i < argc)
    return fprintf(stderr, "usage: sse-epoll [--port N] [--bind IPV4] "
                   "[--interval-ms MS] [--message TEXT] [--max-pending BYTES]\n"), 2;
  /* SIGINT and SIGTERM arrive as a readable descriptor: a clean exit. */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigprocmask(SIG_BLOCK, &sigs, NULL);
  sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (sfd < 0 || epfd < 0 || (lfd = listen_on(bind_addr, (unsigned)port)) < 0 ||
      sse_history_new(&history, 100, 0, NULL) != SSE_OK) {
    fprintf(stderr, "sse-epoll: cannot listen on %s port %llu\n", bind_addr, port);
    return 1;
  }
  ev.events = EPOLLIN;
  ev.data.ptr = &lfd; /* the listening socket and the signals are told */
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev); /* apart by their address */
  ev.data.ptr = &sfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);

  next_event = clock_ms(CLOCK_MONOTONIC) + interval;
  while (!stop) {
    now = clock_ms(CLOCK_MONOTONIC);
    next = tick_all(now);
    if (now >= next_event) {
      publish(id++, message);
      next_event = next_event + interval > now ? next_event + interval : now + interval;
    }
    next = next_event < next ? next_event : next;
    n = epoll_wait(epfd, evs, 64, (int)(next - now < 60000 ? next - now : 60000));
    for (i = 0; i < n; i++) {
      c = evs[i].data.ptr;
      if (evs[i].data.ptr == &sfd) {
        stop = 1;
      } else if (evs[i].data.ptr == &lfd) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          if (!(c = calloc(1, sizeof *c))) {
            close(fd);
            continue;
          }
          c->fd = fd;
          c->next = clients;
          clients = c;
          ev.events = EPOLLIN;
          ev.data.ptr = c;
          epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
        }
      } else {
        if (c->fd >= 0 && c->stream && (evs[i].events & EPOLLOUT)) {
          int rc = sse_stream_flush(c->stream); /* the socket drained */
          if (rc == SSE_OK || rc == SSE_E_AGAIN)
            watch(c);
          else
            drop(c, NULL);
        }
        if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
          on_readable(c);
      }
    }
  }
  fprintf(stderr, "sse-epoll: stopping\n");
  for (; (c = clients); free(c)) {
    clients = c->next;
    drop(c, NULL);
  }
  sse_history_free(history);
  return 0;
}
