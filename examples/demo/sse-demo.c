/* sse-demo: the classic Server-Sent Events tutorial, in C on libsse.
 *
 *   GET /        a page whose EventSource('/events') lists every event
 *   GET /events  data: {"message":"Hello from the server!","timestamp":...}
 *                every interval, with increasing ids
 *
 * One clock for all clients: while at least one client is connected, every
 * interval makes one event (encoded once, an sse_frame), keeps it in a
 * history of the last HISTORY events and sends it to every client. A
 * client that reconnects with Last-Event-ID gets what it missed from the
 * history, then the live events; a numeric id above the newest one (the
 * demo restarted) makes the numbering go on after it. When the last client
 * leaves, the clock stops.
 */
#define _POSIX_C_SOURCE 200809L
#include "srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HISTORY 100

static const char usage[] =
    "usage: sse-demo [--port N] [--bind ADDR] [--interval-ms MS]\n"
    "\n"
    "Serves the Server-Sent Events demo: open http://ADDR:PORT/ in a browser.\n"
    "  --port N          TCP port (default 3000; 0 picks a free one)\n"
    "  --bind ADDR       IPv4 or IPv6 address to listen on (default 127.0.0.1:\n"
    "                    this machine only; 0.0.0.0 for every interface)\n"
    "  --interval-ms MS  time between events (default 3000)\n";

static const char page[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<title>libsse demo</title>\n"
    "<style>\n"
    "body{font:15px/1.5 system-ui,sans-serif;max-width:48em;margin:2em auto;"
    "padding:0 1em}\n"
    "li{font-family:ui-monospace,monospace;margin:.2em 0}\n"
    ".id{display:inline-block;min-width:4em;color:#666}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<h1>Server-Sent Events with libsse</h1>\n"
    "<p>Connection: <strong id=\"status\">connecting</strong>. Each event "
    "shows its id (<code>lastEventId</code>) and its data.</p>\n"
    "<ol id=\"events\"></ol>\n"
    "<script>\n"
    "const list = document.getElementById('events');\n"
    "const status = document.getElementById('status');\n"
    "const source = new EventSource('/events');\n"
    "source.onopen = () => { status.textContent = 'open'; };\n"
    "source.onerror = () => {\n"
    "  status.textContent = source.readyState === EventSource.CLOSED ?\n"
    "      'closed' : 'reconnecting';\n"
    "};\n"
    "source.onmessage = (event) => {\n"
    "  const item = document.createElement('li');\n"
    "  const id = document.createElement('span');\n"
    "  item.dataset.id = event.lastEventId;\n"
    "  id.className = 'id';\n"
    "  id.textContent = '#' + event.lastEventId;\n"
    "  item.append(id, ' ', event.data);\n"
    "  list.append(item);\n"
    "};\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

typedef struct demo {
  srv *srv;
  sse_history *history;
  uint64_t interval_ms;
  uint64_t next_id; /* the id of the next event */
  uint64_t next_at; /* when it is due; 0 while no client is connected */
} demo;

/* The current UTC time as ISO 8601 with milliseconds, like JavaScript's
 * Date.toISOString(): 2024-05-01T12:34:56.789Z. */
static void iso_now(char buf[40]) {
  struct timespec ts;
  struct tm tm;
  size_t n;
  int ms;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  ms = (int)(ts.tv_nsec / 1000000L);
  buf[n++] = '.';
  buf[n++] = (char)('0' + ms / 100);
  buf[n++] = (char)('0' + ms / 10 % 10);
  buf[n++] = (char)('0' + ms % 10);
  buf[n++] = 'Z';
  buf[n] = '\0';
}

static void on_timer(void *user, uint64_t now) {
  demo *d = user;
  char id[24], ts[40], data[128];
  sse_message ev = {0};
  sse_frame *f;
  int n;
  iso_now(ts);
  n = snprintf(data, sizeof data,
               "{\"message\":\"Hello from the server!\",\"timestamp\":\"%s\"}",
               ts);
  snprintf(id, sizeof id, "%llu", (unsigned long long)d->next_id++);
  ev.id = id;
  ev.id_len = strlen(id);
  ev.data = data;
  ev.data_len = (size_t)n;
  if (sse_frame_new_message(&f, &ev, NULL) == SSE_OK) {
    if (sse_history_push(d->history, f, NULL) != SSE_OK ||
        srv_broadcast(d->srv, f) != 0)
      fprintf(stderr, "sse-demo: out of memory, event %s dropped\n", id);
    sse_frame_release(f);
  }
  /* On schedule; after a stall, the next one interval from now. */
  d->next_at += d->interval_ms;
  if (d->next_at <= now)
    d->next_at = now + d->interval_ms;
  srv_set_timer(d->srv, d->next_at);
}

/* A decimal id (no sign, at most 19 digits): its value, else 0. */
static uint64_t numeric_id(const char *id, size_t len) {
  uint64_t v = 0;
  size_t i;
  if (!len || len > 19)
    return 0;
  for (i = 0; i < len; i++) {
    if (id[i] < '0' || id[i] > '9')
      return 0;
    v = v * 10 + (uint64_t)(id[i] - '0');
  }
  return v;
}

static void subscribe(demo *d, srv_conn *c, const srv_request *req) {
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
  if (!st)
    return;
  if (id_len) {
    rc = sse_history_replay(d->history, st, id, id_len, NULL);
    if (rc == SSE_E_EVICTED) { /* it missed more than we keep: all we have */
      first = sse_history_get_first_seq(d->history);
      rc = sse_history_replay_from(d->history, st, first - 1, NULL);
    } else if (rc == SSE_E_UNKNOWN_ID) { /* e.g. from before a restart */
      uint64_t v = numeric_id(id, id_len);
      if (v >= d->next_id && v < UINT64_MAX / 2)
        d->next_id = v + 1;
      rc = SSE_OK;
    }
  }
  if (rc != SSE_OK) {
    srv_drop(c);
    return;
  }
  fprintf(stderr, "sse-demo: client connected%s%.*s (%zu connected)\n",
          id_len ? ", Last-Event-ID " : "", (int)id_len, id_len ? id : "",
          srv_subscribers(d->srv));
  if (!d->next_at) { /* the first client starts the clock */
    d->next_at = srv_now() + d->interval_ms;
    srv_set_timer(d->srv, d->next_at);
  }
}

static void on_request(void *user, srv_conn *c, const srv_request *req) {
  demo *d = user;
  int get = req->method_len == 3 && !memcmp(req->method, "GET", 3);
  int head = req->method_len == 4 && !memcmp(req->method, "HEAD", 4);
  if (req->path_len == 1 && req->path[0] == '/') {
    if (!get && !head)
      srv_respond(c, 405, "Allow: GET, HEAD\r\n", NULL, NULL, 0);
    else
      srv_respond(c, 200, NULL, "text/html; charset=utf-8", page,
                  sizeof page - 1);
  } else if (req->path_len == 7 && !memcmp(req->path, "/events", 7)) {
    if (!get)
      srv_respond(c, 405, "Allow: GET\r\n", NULL, NULL, 0);
    else
      subscribe(d, c, req);
  } else {
    srv_error(c, 404);
  }
}

static void on_close(void *user, srv_conn *c) {
  demo *d = user;
  size_t left = srv_subscribers(d->srv) - 1;
  (void)c;
  fprintf(stderr, "sse-demo: client disconnected (%zu connected)\n", left);
  if (!left) { /* no one listens: stop the clock */
    d->next_at = 0;
    srv_set_timer(d->srv, UINT64_MAX);
  }
}

int main(int argc, char **argv) {
  srv_config cfg = {0};
  demo d = {0};
  uint64_t port = 3000;
  int i, rc;
  cfg.bind_addr = "127.0.0.1";
  d.interval_ms = 3000;
  d.next_id = 1;
  for (i = 1; i < argc; i++) {
    const char *v = NULL;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(usage, stdout);
      return 0;
    }
    if ((rc = srv_option(argc, argv, &i, "--port", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 0, 65535, &port) != 0)
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--bind", &v)) != 0) {
      if (rc < 0)
        goto bad;
      cfg.bind_addr = v;
    } else if ((rc = srv_option(argc, argv, &i, "--interval-ms", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 1, 86400000, &d.interval_ms) != 0)
        goto bad;
    } else {
      goto bad;
    }
  }
  cfg.port = (unsigned)port;
  cfg.retry_ms = 1000;
  cfg.on_request = on_request;
  cfg.on_close = on_close;
  cfg.on_timer = on_timer;
  cfg.user = &d;
  if (sse_history_new(&d.history, HISTORY, 0, NULL) != SSE_OK) {
    fprintf(stderr, "sse-demo: out of memory\n");
    return 1;
  }
  if (srv_new(&d.srv, &cfg, "sse-demo") != 0) {
    sse_history_free(d.history);
    return 1;
  }
  printf("sse-demo: listening on http://%s%s%s:%u/ (an event every %llu ms)\n",
         strchr(cfg.bind_addr, ':') ? "[" : "", cfg.bind_addr,
         strchr(cfg.bind_addr, ':') ? "]" : "", srv_port(d.srv),
         (unsigned long long)d.interval_ms);
  fflush(stdout);
  rc = srv_run(d.srv);
  fprintf(stderr, "sse-demo: stopped\n");
  srv_free(d.srv);
  sse_history_free(d.history);
  return rc ? 1 : 0;
bad:
  fprintf(stderr, "sse-demo: bad or incomplete option: %s\n%s", argv[i], usage);
  return 2;
}
