/* sse-hub: a broadcast server for Server-Sent Events.
 *
 *   GET  /events   subscribe; replays what a client missed (Last-Event-ID,
 *                  or ?lastEventId= for polyfills) from the history
 *   POST /publish  the body becomes the data of one event for everyone
 *                  (?event=TYPE, ?id=ID; ids 1, 2, 3, ... when absent);
 *                  answers 202 with the event's id
 *   GET  /stats    counters, as JSON
 *
 * One thread and one epoll loop (examples/common/srv.c). Each event is
 * encoded once into an sse_frame, kept in an sse_history and queued on
 * every subscriber's stream by reference; a subscriber that is behind gets
 * several events in one writev. A subscriber whose unsent bytes would pass
 * --max-pending is cut; the others do not wait for it.
 */
#define _POSIX_C_SOURCE 200809L
#include "srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TYPE 256 /* bytes of an event type (?event=) */

static const char usage[] =
    "usage: sse-hub [--port N] [--bind ADDR] [--history N] [--heartbeat-ms MS]\n"
    "               [--max-pending BYTES] [--max-body BYTES] [--retry-ms MS]\n"
    "               [--request-timeout-ms MS]\n"
    "\n"
    "  GET  /events    subscribe (Last-Event-ID or ?lastEventId=ID: replay)\n"
    "  POST /publish   broadcast the body as one event's data; ?event=TYPE,\n"
    "                  ?id=ID (default: increasing numbers); answers 202\n"
    "  GET  /stats     counters as JSON\n"
    "\n"
    "  --port N               TCP port (default 8080; 0 picks a free one)\n"
    "  --bind ADDR            IPv4 or IPv6 address (default 127.0.0.1)\n"
    "  --history N            events kept for replay (default 1024; 0: none)\n"
    "  --heartbeat-ms MS      keep-alive comment after MS idle (default 15000;\n"
    "                         0: none)\n"
    "  --max-pending BYTES    unsent bytes a subscriber may have before it is\n"
    "                         cut (default 1048576); the history keeps at most\n"
    "                         half of this, and an event may not be larger\n"
    "  --max-body BYTES       largest POST body (default 65536)\n"
    "  --retry-ms MS          reconnection delay sent to clients (default: none)\n"
    "  --request-timeout-ms MS  time a request may take to arrive (default\n"
    "                         10000; then 408)\n";

typedef struct hub {
  srv *srv;
  sse_history *history; /* NULL with --history 0 */
  size_t max_frame;
  uint64_t next_id; /* the next id assigned */
  uint64_t events;
  uint64_t rejected;
} hub;

/* A decimal id without a leading zero (at most 19 digits): 1 and its value
 * in *v, else 0. */
static int numeric_id(const char *id, size_t len, uint64_t *v) {
  size_t i;
  *v = 0;
  if (!len || len > 19 || (id[0] == '0' && len > 1))
    return 0;
  for (i = 0; i < len; i++) {
    if (id[i] < '0' || id[i] > '9')
      return 0;
    *v = *v * 10 + (uint64_t)(id[i] - '0');
  }
  return 1;
}

static void publish(hub *h, srv_conn *c, const srv_request *req) {
  char type[MAX_TYPE], idbuf[SSE_DEFAULT_MAX_LAST_EVENT_ID];
  char reply[SSE_DEFAULT_MAX_LAST_EVENT_ID + 1];
  long type_len, id_len;
  sse_message ev = {0};
  sse_frame *f;
  size_t flen;
  uint64_t num, next = h->next_id;
  type_len = srv_query_param(req->query, req->query_len, "event", type,
                             sizeof type);
  id_len = srv_query_param(req->query, req->query_len, "id", idbuf,
                           sizeof idbuf);
  if (type_len == -2 || id_len == -2 || id_len == 0 ||
      (type_len > 0 && memchr(type, '\n', (size_t)type_len)) ||
      (type_len > 0 && memchr(type, '\r', (size_t)type_len)) ||
      (id_len > 0 && sse_http_check_id(idbuf, (size_t)id_len, 0))) {
    h->rejected++;
    srv_error(c, 400); /* bad escape, too long, empty id, an id that cannot
                          come back in Last-Event-ID, CR/LF in the type */
    return;
  }
  if (id_len > 0) {
    ev.id_len = (size_t)id_len;
    /* A larger numeric id moves the numbering on, so later ids increase. */
    if (numeric_id(idbuf, (size_t)id_len, &num) && num >= h->next_id &&
        num < UINT64_MAX / 2)
      next = num + 1;
  } else {
    snprintf(idbuf, sizeof idbuf, "%llu", (unsigned long long)next++);
    ev.id_len = strlen(idbuf);
  }
  ev.id = idbuf;
  if (type_len > 0) {
    ev.type = type;
    ev.type_len = (size_t)type_len;
  }
  ev.data = req->body ? req->body : "";
  ev.data_len = req->body_len;
  if (sse_frame_new_message(&f, &ev, NULL) != SSE_OK) {
    srv_error(c, 503);
    return;
  }
  sse_frame_get_bytes(f, &flen);
  if (flen > h->max_frame) { /* many short lines: one data: line each */
    sse_frame_release(f);
    h->rejected++;
    srv_error(c, 413);
    return;
  }
  if ((h->history && sse_history_push(h->history, f, NULL) != SSE_OK) ||
      srv_broadcast(h->srv, f) != 0) {
    sse_frame_release(f);
    srv_error(c, 503);
    return;
  }
  sse_frame_release(f);
  h->next_id = next; /* only an event sent takes an id */
  h->events++;
  memcpy(reply, ev.id, ev.id_len); /* the id, which the client may need */
  reply[ev.id_len] = '\n';
  srv_respond(c, 202, NULL, "text/plain; charset=utf-8", reply,
              ev.id_len + 1);
}

static void subscribe(hub *h, srv_conn *c, const srv_request *req) {
  char buf[SSE_DEFAULT_MAX_LAST_EVENT_ID];
  const char *id;
  size_t id_len;
  sse_stream *st;
  uint64_t first;
  int rc = SSE_OK;
  if (srv_last_event_id(req, buf, sizeof buf, &id, &id_len) != 0) {
    srv_error(c, 400);
    return;
  }
  st = srv_subscribe(c);
  if (!st || !id_len || !h->history)
    return;
  rc = sse_history_replay(h->history, st, id, id_len, NULL);
  if (rc == SSE_E_EVICTED) {
    /* It missed more than the history keeps: replay all that is left (the
     * oldest ones it missed are lost). */
    first = sse_history_get_first_seq(h->history);
    rc = sse_history_replay_from(h->history, st, first - 1, NULL);
  } else if (rc == SSE_E_UNKNOWN_ID) {
    rc = SSE_OK; /* not ours (another hub, before a restart): live only */
  }
  if (rc != SSE_OK)
    srv_drop(c);
}

static void stats(hub *h, srv_conn *c) {
  char body[320];
  uint64_t first = 1, last = 0;
  int n;
  if (h->history) {
    first = sse_history_get_first_seq(h->history);
    last = sse_history_get_last_seq(h->history);
  }
  n = snprintf(body, sizeof body,
               "{\"subscribers\":%zu,\"events\":%llu,\"deliveries\":%llu,"
               "\"writes\":%llu,\"cut\":%llu,\"rejected\":%llu,"
               "\"history\":%llu}\n",
               srv_subscribers(h->srv), (unsigned long long)h->events,
               (unsigned long long)srv_delivery_count(h->srv),
               (unsigned long long)srv_write_count(h->srv),
               (unsigned long long)srv_cut_count(h->srv),
               (unsigned long long)h->rejected,
               (unsigned long long)(last + 1 - first));
  srv_respond(c, 200, NULL, "application/json", body, (size_t)n);
}

static int is(const char *s, size_t n, const char *lit) {
  return strlen(lit) == n && !memcmp(s, lit, n);
}

static void on_request(void *user, srv_conn *c, const srv_request *req) {
  hub *h = user;
  int get = is(req->method, req->method_len, "GET");
  if (is(req->path, req->path_len, "/events")) {
    if (get)
      subscribe(h, c, req);
    else
      srv_respond(c, 405, "Allow: GET\r\n", NULL, NULL, 0);
  } else if (is(req->path, req->path_len, "/publish")) {
    if (is(req->method, req->method_len, "POST"))
      publish(h, c, req);
    else
      srv_respond(c, 405, "Allow: POST\r\n", NULL, NULL, 0);
  } else if (is(req->path, req->path_len, "/stats") && get) {
    stats(h, c);
  } else if (is(req->path, req->path_len, "/") && get) {
    static const char text[] = "sse-hub: GET /events, POST /publish, "
                               "GET /stats\n";
    srv_respond(c, 200, NULL, "text/plain; charset=utf-8", text,
                sizeof text - 1);
  } else {
    srv_error(c, 404);
  }
}

int main(int argc, char **argv) {
  srv_config cfg = {0};
  hub h = {0};
  uint64_t port = 8080, history = 1024, heartbeat = 15000;
  uint64_t max_pending = SSE_DEFAULT_MAX_PENDING, max_body = 65536;
  uint64_t retry = 0, timeout = 10000;
  int i, rc;
  cfg.bind_addr = "127.0.0.1";
  for (i = 1; i < argc; i++) {
    const char *v = NULL;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(usage, stdout);
      return 0;
    }
    if ((rc = srv_option(argc, argv, &i, "--port", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 0, 65535, &port))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--bind", &v)) != 0) {
      if (rc < 0)
        goto bad;
      cfg.bind_addr = v;
    } else if ((rc = srv_option(argc, argv, &i, "--history", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 0, 1u << 24, &history))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--heartbeat-ms", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 0, 86400000, &heartbeat))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--max-pending", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 4096, (uint64_t)1 << 30, &max_pending))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--max-body", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 0, (uint64_t)16 << 20, &max_body))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--retry-ms", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 0, 86400000, &retry))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--request-timeout-ms", &v)) !=
               0) {
      if (rc < 0 || srv_parse_u64(v, 1, 3600000, &timeout))
        goto bad;
    } else {
      goto bad;
    }
  }
  cfg.port = (unsigned)port;
  cfg.max_body = (size_t)max_body;
  cfg.max_pending = (size_t)max_pending;
  cfg.heartbeat_ms = heartbeat;
  cfg.no_heartbeat = heartbeat == 0;
  cfg.retry_ms = retry;
  cfg.request_timeout_ms = timeout;
  cfg.on_request = on_request;
  cfg.user = &h;
  /* A full replay (half of max-pending) always fits a new stream, and no
   * event is larger than that, so one event can never cut everyone. */
  h.max_frame = (size_t)max_pending / 2;
  h.next_id = 1;
  if (history &&
      sse_history_new(&h.history, (size_t)history, h.max_frame, NULL) !=
          SSE_OK) {
    fprintf(stderr, "sse-hub: out of memory\n");
    return 1;
  }
  if (srv_new(&h.srv, &cfg, "sse-hub") != 0) {
    sse_history_free(h.history);
    return 1;
  }
  printf("sse-hub: listening on http://%s%s%s:%u/ (fd limit %llu)\n",
         strchr(cfg.bind_addr, ':') ? "[" : "", cfg.bind_addr,
         strchr(cfg.bind_addr, ':') ? "]" : "", srv_port(h.srv),
         (unsigned long long)srv_max_fds(h.srv));
  fflush(stdout);
  rc = srv_run(h.srv);
  fprintf(stderr,
          "sse-hub: stopped after %llu events, %llu deliveries in %llu "
          "writes, %llu cut\n",
          (unsigned long long)h.events,
          (unsigned long long)srv_delivery_count(h.srv),
          (unsigned long long)srv_write_count(h.srv),
          (unsigned long long)srv_cut_count(h.srv));
  srv_free(h.srv);
  sse_history_free(h.history);
  return rc ? 1 : 0;
bad:
  fprintf(stderr, "sse-hub: bad or incomplete option: %s\n%s", argv[i], usage);
  return 2;
}
