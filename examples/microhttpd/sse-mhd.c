/*
 * sse-mhd: Server-Sent Events served by GNU libmicrohttpd (MHD), framed by
 * libsse's pull streams.
 *
 *   sse-mhd [--port P] [--bind ADDR] [--interval-ms N] [--heartbeat-ms N]
 *           [--message TEXT] [--max-pending BYTES] [--per-ip N]
 *
 * GET /events streams, every interval, an event with an increasing id and
 *   data: {"message":"Hello from the server!","timestamp":<ms>}
 * A client that reconnects with Last-Event-ID first gets the events it
 * missed, from a replay history. Progress notes go to stderr.
 *
 * How libsse meets MHD's pull model:
 *  - MHD asks for body bytes through a content reader callback (buf, max).
 *    Each client has a pull stream (sse_stream_new_pull): sends queue bytes
 *    in it, and the reader takes them with sse_stream_read(buf, max).
 *  - SSE_E_AGAIN from sse_stream_read (nothing queued): the reader suspends
 *    the connection and returns 0 (returning 0 without suspending would make
 *    MHD spin). After any send, a stream with sse_stream_get_pending() > 0
 *    is resumed. SSE_E_CLOSED (closed and drained) ends the body; an
 *    overflowed stream (a client too slow) ends it with an error.
 *  - One thread: MHD runs without a thread of its own, driven by this
 *    program's loop (MHD_run_wait), so MHD's callbacks, publishing and
 *    heartbeats all run on the main thread: no lock.
 *  - Hardening: MHD's connection timeout (10 s) cuts a request that does not
 *    arrive (slowloris) and a client that stops reading; suspended streams
 *    never time out. At most --per-ip connections per address (8) and 1000
 *    in all, so one host cannot take every connection.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <microhttpd.h>
#include <sse.h>

/* One client of GET /events. */
typedef struct client {
  struct client *prev, *next; /* the live list */
  struct server *srv;
  struct MHD_Connection *conn;
  sse_stream *s;
  int suspended;
  unsigned long no; /* for the log */
} client;

typedef struct server {
  sse_history *history;
  client *live;
  size_t nlive;
  unsigned long clients_seen;
  uint64_t next_id;      /* id of the next event */
  uint64_t heartbeat_ms; /* 0: no heartbeats */
  uint64_t next_tick;    /* earliest heartbeat deadline of all streams */
  size_t max_pending;    /* the streams' cap */
  const char *message;
} server;

static volatile sig_atomic_t stopping;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* The bridge between a stream and MHD's content reader. */

/* After anything that may have queued bytes (or ended the stream): hand a
 * parked connection back to MHD, which will call read_events. */
static void wake(client *c) {
  if (c->suspended &&
      (sse_stream_get_pending(c->s) > 0 || sse_stream_get_error(c->s) != SSE_OK)) {
    c->suspended = 0;
    MHD_resume_connection(c->conn);
  }
}

/* MHD's content reader: MHD wants up to max bytes of body in buf. */
static ssize_t read_events(void *cls, uint64_t pos, char *buf, size_t max) {
  client *c = cls;
  size_t n = 0;
  int rc = sse_stream_read(c->s, buf, max, &n);
  (void)pos;
  if (rc == SSE_OK)
    return (ssize_t)n;
  if (rc == SSE_E_AGAIN) { /* nothing queued: park until wake() */
    c->suspended = 1;
    MHD_suspend_connection(c->conn);
    return 0;
  }
  if (rc == SSE_E_CLOSED)
    return MHD_CONTENT_READER_END_OF_STREAM; /* shutting down, all sent */
  return MHD_CONTENT_READER_END_WITH_ERROR; /* overflowed: too slow, cut */
}

/* MHD is done with the response, so with the connection: the client is
 * gone (or the server stops). Runs on the main thread, inside MHD_run_*. */
static void free_client(void *cls) {
  client *c = cls;
  server *srv = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->live = c->next;
  if (c->next)
    c->next->prev = c->prev;
  srv->nlive--;
  fprintf(stderr, "sse-mhd: client %lu gone (live: %zu)\n", c->no,
          srv->nlive);
  sse_stream_free(c->s); /* drops its queued frames */
  free(c);
}

/* ------------------------------------------------------------------------ */
/* Requests. */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
                             const char *text) {
  struct MHD_Response *r;
  enum MHD_Result ret;
  r = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                      MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO; /* MHD closes the connection */
  MHD_add_response_header(r, "Content-Type", "text/plain");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, "Allow", "GET");
  ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

/* A new subscriber: its stream, the preamble, the replay of what it missed
 * (its id is already checked), and its place in the live list, all in this
 * one turn of the loop, so no event is published in between. */
static enum MHD_Result subscribe(server *srv, struct MHD_Connection *conn,
                                 const char *last_id, size_t last_len) {
  const sse_http_field *f;
  struct MHD_Response *r;
  enum MHD_Result ret;
  uint64_t deadline;
  client *c;
  size_t i, n;
  int rc;

  c = calloc(1, sizeof *c);
  if (!c || sse_stream_new_pull(&c->s, NULL) != SSE_OK) {
    free(c);
    return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
  }
  c->srv = srv;
  c->conn = conn;
  c->no = ++srv->clients_seen;
  /* MHD_SIZE_UNKNOWN: no Content-Length; MHD uses the chunked coding for
   * HTTP/1.1 (and the connection's close for 1.0). From here on MHD owns c:
   * it calls free_client when it destroys the response. */
  r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_events,
                                        c, free_client);
  if (!r) {
    sse_stream_free(c->s);
    free(c);
    return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
  }
  c->next = srv->live;
  if (srv->live)
    srv->live->prev = c;
  srv->live = c;
  srv->nlive++;
  /* Content-Type, Cache-Control, ...; MHD manages Connection itself and
   * drops the keep-alive field. */
  f = sse_http_fields(0, &n);
  for (i = 0; i < n; i++)
    MHD_add_response_header(r, f[i].name, f[i].value);

  sse_stream_set_max_pending(c->s, srv->max_pending);
  sse_stream_set_heartbeat(c->s, srv->heartbeat_ms);
  sse_stream_tick(c->s, now_ms(), &deadline); /* starts its clock */
  if (deadline < srv->next_tick)
    srv->next_tick = deadline;
  /* ":\n" at once (MHD sends the head with the first body bytes) and the
   * reconnection delay. */
  sse_stream_open(c->s, 3000, 2);
  if (last_len > 0) {
    rc = sse_history_replay(srv->history, c->s, last_id, last_len, NULL);
    if (rc == SSE_E_UNKNOWN_ID || rc == SSE_E_EVICTED)
      /* A gap we cannot fill: this example starts from now. An application
       * might send a "resync" event here instead. */
      fprintf(stderr, "sse-mhd: client %lu: Last-Event-ID %s\n", c->no,
              rc == SSE_E_EVICTED ? "too old" : "unknown");
    else if (rc != SSE_OK)
      sse_stream_close(c->s); /* out of memory: end it; the client retries */
  }
  fprintf(stderr, "sse-mhd: client %lu connected (live: %zu)\n", c->no,
          srv->nlive);
  ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
  MHD_destroy_response(r); /* MHD keeps its own reference (or frees c) */
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **req_cls) {
  const char *value, *id = NULL;
  size_t id_len = 0;
  (void)version;
  (void)upload_data;
  /* MHD calls this several times per request. The first call has the
   * headers: refuse what we do not serve at once (MHD then closes the
   * connection instead of reading a body). */
  if (!*req_cls) {
    if (strcmp(url, "/events") != 0)
      return reply(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
      return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
    *req_cls = conn; /* anything non-NULL */
    return MHD_YES;
  }
  /* Then the body, if any (ignored), then a call with none left: answer
   * there, so MHD can keep the connection alive after the response. */
  if (*upload_data_size) {
    *upload_data_size = 0;
    return MHD_YES;
  }
  /* Untrusted: sse_http_last_event_id bounds and checks it. */
  value = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
  if (value && (sse_http_last_event_id(value, strlen(value), 0, &id,
                                       &id_len) != SSE_OK ||
                (id_len && sse_http_check_id(id, id_len, 0) != SSE_OK)))
    return reply(conn, MHD_HTTP_BAD_REQUEST, "bad Last-Event-ID\n");
  return subscribe(cls, conn, id, id_len);
}

/* ------------------------------------------------------------------------ */
/* Publishing and heartbeats (main loop, between MHD_run_wait calls). */

/* Encodes the next event once, keeps it for replay, queues it on every
 * live stream. */
static void publish(server *srv) {
  static char data[65600];
  char id[24];
  struct timespec ts;
  sse_message ev = {0};
  sse_frame *f;
  client *c;

  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(data, sizeof data, "{\"message\":\"%s\",\"timestamp\":%llu}",
           srv->message, (unsigned long long)ts.tv_sec * 1000 +
                             (unsigned long long)ts.tv_nsec / 1000000);
  snprintf(id, sizeof id, "%llu", (unsigned long long)srv->next_id);
  ev.id = id;
  ev.id_len = strlen(id);
  ev.data = data;
  ev.data_len = strlen(data);
  if (sse_frame_new_message(&f, &ev, NULL) != SSE_OK)
    return; /* out of memory: skip this one */
  /* History first, then the live streams, in the same turn: a client
   * subscribing later gets this frame from the replay, never twice. */
  if (sse_history_push(srv->history, f, NULL) != SSE_OK) {
    sse_frame_release(f);
    return;
  }
  srv->next_id++;
  for (c = srv->live; c; c = c->next) {
    if (sse_stream_get_error(c->s) != SSE_OK)
      continue; /* being cut */
    if (sse_stream_send_frame(c->s, f) == SSE_E_OVERFLOW) {
      /* max_pending behind: the stream now refuses every send. MHD cannot
       * write to this client, so it will not call read_events to end it:
       * have MHD drop the connection after a second without progress. */
      fprintf(stderr, "sse-mhd: client %lu too slow, cut\n", c->no);
      MHD_set_connection_option(c->conn, MHD_CONNECTION_OPTION_TIMEOUT, 1u);
    }
    wake(c); /* bytes pending: MHD must ask for them */
  }
  sse_frame_release(f); /* the history and the streams hold their own */
}

/* Heartbeats: every stream whose deadline has come sends ":\n". */
static void tick_all(server *srv, uint64_t now) {
  uint64_t deadline;
  client *c;
  srv->next_tick = SSE_NO_DEADLINE;
  for (c = srv->live; c; c = c->next) {
    sse_stream_tick(c->s, now, &deadline);
    if (deadline < srv->next_tick)
      srv->next_tick = deadline;
    wake(c);
  }
}

/* ------------------------------------------------------------------------ */

static void usage(FILE *out, int status) {
  fprintf(out,
          "usage: sse-mhd [--port P] [--bind ADDR] [--interval-ms N] "
          "[--heartbeat-ms N]\n"
          "  --port P          TCP port (default 3000; 0: any free port)\n"
          "  --bind ADDR       IPv4 address to listen on (default 127.0.0.1)\n"
          "  --interval-ms N   one event every N ms (default 3000)\n"
          "  --heartbeat-ms N  keep-alive comment after N idle ms (default "
          "15000; 0: off)\n"
          "  --message TEXT    the message of each event (no \" or \\)\n"
          "  --max-pending N   cut a client N bytes behind (default 1 MiB)\n"
          "  --per-ip N        connections per client address (default 8)\n");
  exit(status);
}

static uint64_t number(const char *opt, const char *s, uint64_t min,
                       uint64_t max) {
  char *end;
  unsigned long long v;
  errno = 0;
  if (!s || *s < '0' || *s > '9')
    v = 0, end = NULL;
  else
    v = strtoull(s, &end, 10);
  if (!end || *end || errno || v < min || v > max) {
    fprintf(stderr, "sse-mhd: %s needs a number from %llu to %llu\n", opt,
            (unsigned long long)min, (unsigned long long)max);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  server srv = {0};
  struct sockaddr_in addr = {0};
  struct sigaction sa;
  struct MHD_Daemon *d;
  struct timespec ts;
  const union MHD_DaemonInfo *info;
  uint64_t interval = 3000, now, next_event;
  const char *bind_addr = "127.0.0.1";
  unsigned port = 3000, per_ip = 8;
  client *c;
  int i;

  /* Ids start at the wall clock in microseconds: a restart never reuses one. */
  clock_gettime(CLOCK_REALTIME, &ts);
  srv.next_id = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
  srv.heartbeat_ms = SSE_DEFAULT_HEARTBEAT_MS;
  srv.message = "Hello from the server!";
  for (i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h"))
      usage(stdout, 0);
    else if (!strcmp(a, "--port"))
      port = (unsigned)number(a, v, 0, 65535), i++;
    else if (!strcmp(a, "--bind"))
      bind_addr = v ? v : "", i++;
    else if (!strcmp(a, "--interval-ms"))
      interval = number(a, v, 1, 86400000), i++;
    else if (!strcmp(a, "--heartbeat-ms"))
      srv.heartbeat_ms = number(a, v, 0, 86400000), i++;
    else if (!strcmp(a, "--max-pending"))
      srv.max_pending = (size_t)number(a, v, 0, SIZE_MAX), i++;
    else if (!strcmp(a, "--per-ip"))
      per_ip = (unsigned)number(a, v, 1, 1000), i++;
    else if (!strcmp(a, "--message") && v && !strpbrk(v, "\"\\\t\r\n") &&
             strlen(v) < 65536)
      srv.message = v, i++;
    else {
      fprintf(stderr, "sse-mhd: unknown argument '%s'\n", a);
      usage(stderr, 2);
    }
  }
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1) {
    fprintf(stderr, "sse-mhd: --bind needs an IPv4 address, got '%s'\n",
            bind_addr);
    return 2;
  }

  if (sse_history_new(&srv.history, 0, 0, NULL) != SSE_OK)
    return 1;
  /* No MHD_USE_INTERNAL_POLLING_THREAD: the loop below runs MHD (add
   * MHD_USE_ERROR_LOG to see MHD's own diagnostics). */
  d = MHD_start_daemon(MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
                       NULL, on_request, &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                       /* Slowloris guard: a request must arrive, and a
                        * client must read, within 10 s of silence.
                        * Suspended (idle) streams never time out. */
                       MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                       /* One address cannot take every connection. */
                       MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
                       /* In all (raise it with the descriptor limit). */
                       MHD_OPTION_CONNECTION_LIMIT, 1000u,
                       MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "sse-mhd: cannot listen on %s:%u\n", bind_addr, port);
    sse_history_free(srv.history);
    return 1;
  }
  info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  fprintf(stderr, "sse-mhd: serving http://%s:%u/events\n", bind_addr,
          info ? (unsigned)info->port : port);
  printf("sse-mhd: listening on http://%s:%u/events\n", bind_addr,
         info ? (unsigned)info->port : port);
  fflush(stdout);

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  srv.next_tick = SSE_NO_DEADLINE;
  next_event = now_ms() + interval;
  while (!stopping) {
    uint64_t wake_at;
    now = now_ms();
    if (now >= next_event || now >= srv.next_tick)
      tick_all(&srv, now); /* before publishing: keeps write times fresh */
    if (now >= next_event) {
      publish(&srv);
      next_event += interval;
      if (next_event <= now) /* fell behind: no burst of catch-up events */
        next_event = now + interval;
    }
    wake_at = next_event < srv.next_tick ? next_event : srv.next_tick;
    /* Runs MHD: waits for sockets (or a resume) up to the next timer.
     * A signal interrupts the wait. */
    MHD_run_wait(d, (int32_t)(wake_at - now < 1000 ? wake_at - now : 1000));
  }

  /* Graceful end: close every stream after what is queued, wake the parked
   * connections so their readers end the body, give them a second, then
   * stop (MHD refuses to stop with suspended connections). */
  fprintf(stderr, "sse-mhd: stopping\n");
  for (c = srv.live; c; c = c->next) {
    sse_stream_close(c->s);
    wake(c);
  }
  for (now = now_ms(), next_event = now + 1000;
       srv.nlive > 0 && now < next_event; now = now_ms())
    MHD_run_wait(d, (int32_t)(next_event - now));
  MHD_stop_daemon(d); /* frees the remaining clients (free_client) */
  sse_history_free(srv.history);
  return 0;
}
