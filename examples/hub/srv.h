/*
 * srv: the small HTTP/1.1 server core of sse-hub (sse-demo links it too
 * until its self-contained rewrite lands).
 *
 * One thread, one epoll instance, non-blocking sockets (Linux); a program
 * may run several servers, one per thread, on one port (reuseport, srv_post).
 * The loop can also watch the application's own descriptors (srv_io_add),
 * and answers can wait for another server (srv_defer). It accepts
 * connections, reads each request (a head, then a Content-Length body)
 * within fixed bounds, hands complete requests to the application, and
 * either writes a plain response or turns the connection into an event
 * stream: an sse_stream whose write callback is writev(2) on the socket.
 *
 * Bounds, all fixed at srv_new() time:
 *  - a request head (request line and fields) of at most max_head bytes
 *    (414 when the request line alone is longer, else 431), at most
 *    SRV_MAX_FIELDS fields (431);
 *  - a body of at most max_body bytes, declared by Content-Length (413 when
 *    larger; a chunked upload gets 411, a Content-Length together with a
 *    Transfer-Encoding gets 400);
 *  - a request must arrive whole within request_timeout_ms of its first
 *    byte (or of the connection's accept) or it gets 408 and the connection
 *    closes; an idle keep-alive connection is closed after idle_timeout_ms;
 *  - a connection that is not streaming holds at most max_head + max_body
 *    bytes of request and one response, and all connections together hold
 *    at most max_in_flight bytes of requests being received (503 beyond);
 *  - a stream holds at most max_pending bytes (shared frames, counted per
 *    stream) and is cut when a send would exceed that; its socket's kernel
 *    send buffer is fixed at sndbuf bytes (no autotuning), and it is cut
 *    when its socket accepted nothing for stall_ms while bytes were pending.
 * Malformed requests get 400 (505 for another HTTP version) and the
 * connection is closed after the response (a lingering close, so the client
 * reads the status even when it was still sending).
 *
 * Streams. srv_subscribe() answers 200 with the text/event-stream head and
 * returns the connection's sse_stream. srv_broadcast() sends a frame to
 * every subscriber, in one writev per subscriber for all the frames it is
 * missing (see there).
 * Keep-alives: every stream is ticked periodically (sse_stream_tick), so an
 * idle stream gets ":\n" every heartbeat_ms.
 *
 * SIGINT, SIGTERM and SIGQUIT end srv_run(): the listeners close, every
 * stream is closed for sends and what is pending is flushed for up to 2
 * seconds. SIGHUP and SIGUSR1 are handed to on_signal (ignored without it).
 * An optional second listener (admin_bind) serves the same on_request, with
 * srv_request.admin set.
 *
 * Everything here runs on the thread that calls srv_run(), except
 * srv_stop, srv_post, srv_post_room and srv_get_totals (see there), which
 * let one server per thread share the work.
 */
#ifndef SRV_H
#define SRV_H

#include <pthread.h>
#include <sse.h>
#include <stddef.h>
#include <stdint.h>

/* Fields a request head may carry (431 beyond). */
#define SRV_MAX_FIELDS 64
/* Topic keys a subscriber or a broadcast frame may carry (see
 * srv_subscribe_ex and srv_broadcast_keys). */
#define SRV_MAX_KEYS 16

typedef struct srv srv;
typedef struct srv_conn srv_conn;

/* The request bytes held by several servers (one per thread) together,
 * bounded by their max_in_flight as one: initialize mu
 * (pthread_mutex_init) and bytes (0), point their in_flight at it, and
 * keep it until they are freed. */
typedef struct srv_in_flight {
  pthread_mutex_t mu;
  size_t bytes;
} srv_in_flight;

/* A complete request, as on_request receives it. The strings point into
 * the connection's input and are valid only during the callback; none is
 * NUL-terminated. */
typedef struct srv_request {
  const char *method; /* e.g. "GET" */
  size_t method_len;
  const char *path; /* the target up to '?', e.g. "/events" */
  size_t path_len;
  const char *query; /* after '?' (NULL when the target has none) */
  size_t query_len;
  const char *last_event_id; /* the Last-Event-ID field value, as sent
                                (NULL when absent) */
  size_t last_event_id_len;
  const char *body; /* the body (NULL when empty) */
  size_t body_len;
  /* These fields' values (NULL when absent; a second one is refused with
   * 400), without surrounding spaces: */
  const char *authorization;
  size_t authorization_len;
  const char *cookie;
  size_t cookie_len;
  const char *origin;
  size_t origin_len;
  const char *host;
  size_t host_len;
  int admin; /* arrived on the admin listener */
} srv_request;

/* Configuration, copied by srv_new(). Zero fields take the defaults given. */
typedef struct srv_config {
  const char *bind_addr;       /* IPv4 or IPv6 literal; NULL: 127.0.0.1 */
  unsigned port;               /* 0: an ephemeral port (see srv_port) */
  size_t max_head;             /* default 8192, at most 1 MiB */
  size_t max_body;             /* default 0: no request may carry a body */
  uint64_t request_timeout_ms; /* default 10000 */
  uint64_t idle_timeout_ms;    /* keep-alive connections; default 60000 */
  size_t max_pending;          /* per stream; default SSE_DEFAULT_MAX_PENDING */
  uint64_t heartbeat_ms;       /* default SSE_DEFAULT_HEARTBEAT_MS; set
                                  no_heartbeat to turn keep-alives off */
  int no_heartbeat;
  uint64_t retry_ms;           /* "retry:" sent when a stream opens; 0: none */
  size_t sndbuf;        /* a subscriber socket's kernel send buffer, as
                           SO_SNDBUF reads it back (Linux doubles what is
                           set, so half is set); default 131072, at least
                           4096 */
  uint64_t stall_ms;    /* cut a subscriber whose socket took nothing for
                           this long while bytes were pending; default
                           30000 */
  size_t max_in_flight; /* request bytes held by all connections together;
                           default max(16 MiB, 2 * (max_head + max_body)),
                           at least max_head + max_body */
  int reuseport; /* SO_REUSEPORT on the listener, so that several servers
                   (one per thread) share its port; also keeps the counters
                   readable from other threads (srv_get_totals) */
  srv_in_flight *in_flight; /* shared with other servers (NULL: own) */
  const char *admin_bind; /* a second listener (NULL: none) ... */
  unsigned admin_port;    /* ... on this port (0: ephemeral) */
  /* SIGHUP or SIGUSR1 arrived (between loop turns); or SIGINT, SIGTERM or
   * SIGQUIT, after this server began to stop (e.g. to stop the servers of
   * other threads: a signal reaches one). May be NULL. */
  void (*on_signal)(void *user, int signo);
  /* A complete request arrived: answer it with exactly one srv_respond()
   * or srv_subscribe() (if the callback does neither, the server answers
   * 500). */
  void (*on_request)(void *user, srv_conn *c, const srv_request *req);
  /* A subscriber's connection is closing (its stream is still valid during
   * the call, and freed right after). May be NULL. */
  void (*on_close)(void *user, srv_conn *c);
  /* The time set with srv_set_timer() came (now_ms: srv_now()). May be NULL.
   */
  void (*on_timer)(void *user, uint64_t now_ms);
  void *user;
} srv_config;

/* Creates the server: listens on the address (SO_REUSEADDR, backlog
 * SOMAXCONN) and raises the soft RLIMIT_NOFILE as far as allowed. Errors are
 * printed to stderr with the program name prog. Returns 0 and sets *out, or
 * -1. */
int srv_new(srv **out, const srv_config *cfg, const char *prog);

/* The port the server listens on (useful with port 0), and the admin
 * listener's (0 without one). */
unsigned srv_port(const srv *s);
unsigned srv_admin_port(const srv *s);

/* The soft file descriptor limit srv_new() set (about the most connections
 * the server can hold). */
uint64_t srv_max_fds(const srv *s);

/* Runs the event loop until SIGINT, SIGTERM or srv_stop(). Returns 0, or -1
 * when the loop itself failed (printed). */
int srv_run(srv *s);

/* Makes srv_run() shut down gracefully when the current turn ends. May be
 * called from any thread. */
void srv_stop(srv *s);

/*
 * Several servers, one per thread (e.g. on one port with reuseport): each
 * runs its own loop and subscribers. These calls may be made from any
 * thread; everything else only from the thread running srv_run (or before
 * it runs).
 *
 * srv_post() queues frame (a reference is taken) to be srv_broadcast_keys'd
 * by s's own thread, in the order posted, at its next loop turn (or at
 * srv_sync). At most SRV_INBOX frames wait: -1 when full (or frame NULL, n
 * over SRV_MAX_KEYS). srv_post_room() says how many more fit now; only
 * posts make it smaller. srv_get_totals() reads s's counters as of the end
 * of its last loop turn (live on s's own thread).
 */
#define SRV_INBOX 1024
int srv_post(srv *s, sse_frame *frame, const uint64_t *keys, size_t n);
size_t srv_post_room(srv *s);
typedef struct srv_counters srv_counters;
/* On s's own thread: broadcasts what was posted to it now. */
void srv_sync(srv *s);
/* The server of a connection. */
srv *srv_of(const srv_conn *c);

/* Frees the server, closing every connection. NULL is allowed. */
void srv_free(srv *s);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t srv_now(void);

/* Calls on_timer once, at or after when_ms (srv_now() time); replaces the
 * previous timer. UINT64_MAX cancels it. */
void srv_set_timer(srv *s, uint64_t when_ms);

/* Answers the current request with status, an optional Content-Type
 * (ctype may be NULL), extra header lines (extra: NULL or "Name: value\r\n"
 * lines) and body (copied when it cannot be written at once; NULL when len
 * is 0). HEAD requests get no body. The connection stays open for the next
 * request unless the client asked otherwise. */
void srv_respond(srv_conn *c, int status, const char *extra,
                 const char *ctype, const char *body, size_t len);

/* srv_respond, then closes the connection (lingering close). */
void srv_respond_close(srv_conn *c, int status, const char *extra,
                       const char *ctype, const char *body, size_t len);

/* Answers the current request with an error status and a one-line text
 * body, then closes the connection (lingering close). */
void srv_error(srv_conn *c, int status);

/* Answers 200 with the event-stream head and makes the connection a
 * subscriber: its stream is returned, opened (a ":\n" preamble and the
 * configured retry), with the server's max_pending and heartbeat set. Until
 * on_request returns nothing is written, so the head, the preamble and
 * whatever you send now (e.g. a history replay) leave in one writev.
 * Frames broadcast before this call are not sent to it (see
 * srv_broadcast). Returns NULL when out of memory: the server has
 * then answered 503. The stream belongs to the server: never free it. */
sse_stream *srv_subscribe(srv_conn *c);

/* Options of srv_subscribe_ex (all may be zero). */
typedef struct srv_sub_opts {
  const char *extra; /* more response head lines ("Name: value\r\n"...) */
  uint64_t retry_ms; /* "retry:" at the start; 0: the server's retry_ms */
  const uint64_t *keys; /* the topic keys it receives (see srv_broadcast_keys) */
  size_t nkeys;         /* at most SRV_MAX_KEYS */
} srv_sub_opts;

/* srv_subscribe with options; NULL o is srv_subscribe. NULL also when nkeys
 * is over SRV_MAX_KEYS (500 answered). */
sse_stream *srv_subscribe_ex(srv_conn *c, const srv_sub_opts *o);

/* Defers the answer to the current request (called from on_request, e.g.
 * while another server is asked): sets *handle to c. Answer it later, from
 * any callback of this loop, with exactly one srv_respond(),
 * srv_respond_close(), srv_error(), srv_subscribe() or srv_subscribe_ex()
 * on *handle. Until then the connection reads no further request. When it
 * closes first (the client left, shutdown) the server sets *handle to NULL,
 * so *handle must stay at its address until answered or NULL; answering
 * also stops the server from writing it. Unanswered after
 * request_timeout_ms, the request gets 503 and the connection is closed.
 * A stream subscribed this way is sent its head, preamble and whatever you
 * queued at the end of the loop turn, in one writev. Returns 0, or -1 when
 * the request was already answered (or handle is NULL). */
int srv_defer(srv_conn *c, srv_conn **handle);

/* Descriptors the application watches in the server's loop (e.g. a client
 * connection to another server), at most SRV_MAX_IO at a time. Level
 * triggered: fn is called after each epoll_wait while the descriptor is
 * ready for what was asked with srv_io_set (SRV_IO_READ: readable, closed
 * or in error; SRV_IO_WRITE: writable or in error), with what is ready. */
#define SRV_MAX_IO 4
enum { SRV_IO_READ = 1, SRV_IO_WRITE = 2 };
typedef void (*srv_io_fn)(void *user, unsigned events);
/* Watches fd for nothing yet. Returns its id (>= 0), or -1 (all SRV_MAX_IO
 * in use, or epoll failed). */
int srv_io_add(srv *s, int fd, srv_io_fn fn, void *user);
/* What id waits for (SRV_IO_READ | SRV_IO_WRITE, or 0). Returns 0 or -1. */
int srv_io_set(srv *s, int id, unsigned events);
/* Stops watching id (call before closing its descriptor); fn is not called
 * for it again, even in the current turn. -1 is ignored. */
void srv_io_del(srv *s, int id);

/* Closes a subscriber's connection (e.g. after a failed send); on_close is
 * called. The stream must not be used afterwards. */
void srv_drop(srv_conn *c);

/*
 * Sends frame to every current subscriber. The server takes a reference and
 * numbers the frame; at the end of the loop turn a walk over the
 * subscribers starts, visiting at most 512 per turn so that requests keep
 * being served during a large fan-out, and gives each one every frame it
 * has not had yet, up to 4 in one writev: when events come faster than a
 * walk, each writev carries several. A subscriber whose send fails
 * (SSE_E_OVERFLOW: it stopped reading and its pending bytes reached
 * max_pending; or a transport error) is cut, without affecting the others.
 * A subscriber added after this call does not get the frame: push the
 * frame to your history when you broadcast it and replay from the history
 * when you subscribe, and every client gets every frame exactly once.
 * Returns 0 (also during shutdown, when the frame is dropped), or -1 when
 * frame is NULL.
 */
int srv_broadcast(srv *s, sse_frame *frame);

/* srv_broadcast to the subscribers that have at least one of keys[0..n)
 * (n at most SRV_MAX_KEYS; with n 0 it is srv_broadcast: everyone). Keys
 * are the application's (sse-hub: a keyed hash of each topic name). Returns
 * 0, or -1 when frame is NULL or n too large. */
int srv_broadcast_keys(srv *s, sse_frame *frame, const uint64_t *keys,
                       size_t n);

/* The number of subscribers. */
size_t srv_subscribers(const srv *s);

/* Counters since start: subscribers cut (all reasons), broadcast frames
 * delivered to (queued on) subscribers, and writev calls made for streams. */
uint64_t srv_cut_count(const srv *s);
uint64_t srv_delivery_count(const srv *s);
uint64_t srv_write_count(const srv *s);

/* Why subscribers were cut. */
enum { SRV_CUT_OVERFLOW, SRV_CUT_STALL, SRV_CUT_ERROR, SRV_CUT_COUNT };
struct srv_counters {
  uint64_t cut[SRV_CUT_COUNT]; /* overflow: max_pending; stall: stall_ms;
                                  error: a transport error or reset */
  uint64_t bytes_written;      /* to every socket */
  uint64_t status[600];        /* responses sent, by status (100-599) */
};
/* Everything counted, for srv_get_totals. */
typedef struct srv_totals {
  size_t subscribers;
  uint64_t deliveries, writes;
  srv_counters counters;
} srv_totals;
void srv_get_totals(srv *s, srv_totals *t);
/* The counters (valid until srv_free). */
const srv_counters *srv_get_counters(const srv *s);

/*
 * Finds the query parameter name (compared exactly, undecoded) in query
 * (a=b&c=d form), percent-decodes its value ('+' is a space) into buf (cap
 * bytes, not NUL-terminated). Returns the decoded length, -1 when the
 * parameter is absent, -2 when its value is malformed (a bad % escape) or
 * longer than cap.
 */
long srv_query_param(const char *query, size_t query_len, const char *name,
                     char *buf, size_t cap);

/* As srv_query_param, for a repeated parameter: searches from *from (start
 * at 0) and moves *from past the occurrence found (to query_len when there
 * is none: -1). */
long srv_query_next(const char *query, size_t query_len, const char *name,
                    size_t *from, char *buf, size_t cap);

/* The Last-Event-ID of a subscribe request: the field when present, else
 * the lastEventId query parameter (EventSource polyfills that cannot set
 * headers send it there), decoded into buf (cap bytes), checked with
 * sse_http_last_event_id() (at most SSE_DEFAULT_MAX_LAST_EVENT_ID bytes).
 * Returns 0 with *id and *len set (*len 0: none; *id points into the
 * request or buf), or -1 when malformed or too long (answer 400). */
int srv_last_event_id(const srv_request *req, char *buf, size_t cap,
                      const char **id, size_t *len);

/* Parses a decimal number in [min, max] from a command-line argument.
 * Returns 0 and sets *out, or -1. */
int srv_parse_u64(const char *arg, uint64_t min, uint64_t max, uint64_t *out);

/* Command-line options: when argv[*i] is "NAME=VALUE", or "NAME" followed
 * by VALUE, sets *value, moves *i to the last argument used and returns 1;
 * returns 0 when argv[*i] is not NAME, and -1 when NAME lacks its value. */
int srv_option(int argc, char **argv, int *i, const char *name,
               const char **value);

#endif /* SRV_H */
