/* sse-hub: a broadcast server for Server-Sent Events (docs/hub.md).
 *
 *   GET  /events    subscribe (?topic=T, repeatable; none: the default
 *                   topic); replays what a client missed (Last-Event-ID, or
 *                   ?lastEventId= for polyfills) from the history, for its
 *                   topics only; an id it cannot resume from gets an
 *                   "sse-resync" event first
 *   POST /publish   the body becomes the data of one event (?topic=T,
 *                   repeatable; ?event=TYPE; ?id=ID); answers 202 with its id
 *   GET  /stats     counters as JSON;  GET /metrics: Prometheus text
 *   GET  /healthz   200 "ok"
 *
 * One epoll loop (srv.c) per worker thread (--workers; srv_post carries a
 * frame to the other loops). Each event is encoded once into an sse_frame,
 * kept in the history and queued on every subscriber of one of its topics
 * by reference. With --redis, events go through a Redis stream shared by
 * several nodes (the section "many nodes" below). Topics are compared by a 64-bit hash keyed with
 * a random key per run (srv matches keys, not names).
 *
 * Ids: one increasing sequence across topics, starting at --first-id
 * (default: the wall clock in microseconds at start, so ids of a later run
 * are larger than any of an earlier one: an id from another run is
 * unknown, never mistaken for one of this run). With --redis: the stream
 * entry ids, the same on every node.
 */
#define _POSIX_C_SOURCE 200809L
#include "srv.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#ifdef HUB_HAVE_JWT
#include <jansson.h>
#include <jwt.h>
#endif
#ifdef HUB_HAVE_REDIS
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#endif

#define MAX_TYPE 256      /* bytes of an event type (?event=) */
#define MAX_TOPIC 256     /* bytes of a topic name */
#define MAX_TOKEN 8192    /* bytes of a JWT */
#define MAX_ORIGINS 16    /* --cors-origin */
#define MAX_KEY_FILE (64 << 10)
#define DEFAULT_RESYNC "sse-resync"
#define MAX_WORKERS 256

static const char usage[] =
    "usage: sse-hub [OPTION]...\n"
    "\n"
    "  GET  /events    subscribe: ?topic=T (repeatable, at most 16; none: the\n"
    "                  default topic); Last-Event-ID or ?lastEventId=ID replays\n"
    "                  the missed events of those topics\n"
    "  POST /publish   the body is one event's data: ?topic=T (repeatable),\n"
    "                  ?event=TYPE, ?id=ID (default: the next number); 202 + id\n"
    "  GET  /stats     counters as JSON      GET /metrics  Prometheus text\n"
    "  GET  /healthz   200 ok                OPTIONS       CORS preflight\n"
    "\n"
    "Network\n"
    "  --port N               TCP port (default 8080; 0 picks a free one)\n"
    "  --bind ADDR            IPv4 or IPv6 address (default 127.0.0.1)\n"
    "  --admin-bind ADDR:PORT serve /stats and /metrics only on this second\n"
    "                         listener ([v6]:port for IPv6; port 0: any)\n"
    "Events and subscribers\n"
    "  --history N            events kept for replay (default 1024; 0: none)\n"
    "  --first-id N           the first automatic id (default: the wall clock\n"
    "                         in microseconds, so ids increase across restarts)\n"
    "  --resync-event NAME    event type sent when a Last-Event-ID cannot be\n"
    "                         resumed (default sse-resync)\n"
    "  --heartbeat-ms MS      keep-alive comment after MS idle (default 15000;\n"
    "                         0: none)\n"
    "  --retry-ms MS          reconnection delay sent to clients (default: none)\n"
    "  --retry-jitter-ms J    each subscriber gets a retry drawn from\n"
    "                         [retry-ms, retry-ms + J] (needs --retry-ms)\n"
    "Limits\n"
    "  --max-pending BYTES    unsent bytes a subscriber may have before it is\n"
    "                         cut (default 1048576); the history keeps at most\n"
    "                         half of this, and an event may not be larger\n"
    "  --sndbuf BYTES         kernel send buffer of a subscriber's socket\n"
    "                         (default 131072; min 4096)\n"
    "  --stall-timeout-ms MS  cut a subscriber whose socket took nothing for\n"
    "                         MS while bytes were pending (default 30000)\n"
    "  --max-body BYTES       largest POST body (default 65536)\n"
    "  --max-body-total BYTES request bytes held by all connections together\n"
    "                         (default max(16 MiB, 2 x (8 KiB + max-body)));\n"
    "                         503 beyond\n"
    "  --request-timeout-ms MS  time a request may take to arrive (default\n"
    "                         10000; then 408)\n"
    "Security\n"
    "  --jwt-secret-file FILE     HS256 key (the file's bytes, one trailing\n"
    "                             newline removed)\n"
    "  --jwt-public-key-file FILE RS256 or ES256 public key (PEM)\n"
    "                         with a key, /publish needs a token whose claim\n"
    "                         sse.publish lists every topic (or \"*\"), /events\n"
    "                         one whose sse.subscribe does; the default topic\n"
    "                         is \"\". Token: Authorization: Bearer, cookie\n"
    "                         sse_token, or ?access_token=. 401: missing or bad\n"
    "                         token; 403: topic not allowed\n"
    "  --anonymous-subscribers  /events needs no token (a token sent is still\n"
    "                         checked)\n"
    "  --cors-origin ORIGIN   allow this browser origin (repeatable, at most 16):\n"
    "                         preflights answered, Access-Control-Allow-Origin\n"
    "                         and -Credentials set; a POST /publish whose Origin\n"
    "                         is neither allowed nor the hub's own gets 403\n";
/* (two strings: C99 compilers need only take 4095 bytes in one) */
static const char usage2[] =
    "Threads\n"
    "  --workers N            event loops, one thread each, subscribers spread\n"
    "                         over them by the kernel (default: the number of\n"
    "                         CPUs; 1 with --redis)\n"
    "Many nodes (Redis Streams, docs/hub.md)\n"
    "  --redis redis://HOST[:PORT][/DB]  share events through one Redis\n"
    "                         stream: publishes are XADDed (202 once Redis\n"
    "                         answered; 503 + Retry-After when it cannot), every\n"
    "                         node reads the stream; ids are the entry ids\n"
    "  --redis-stream KEY     the stream's key (default sse-hub)\n"
    "  --redis-max-pending N  requests waiting for Redis at once (default 1024;\n"
    "                         503 beyond)\n"
    "  --redis-replay-max N   entries one resume reads from Redis (default\n"
    "                         history + 1024); a client further behind gets the\n"
    "                         resync event\n"
    "  --redis-timeout-ms MS  a command unanswered for MS: 503, and the\n"
    "                         connection is reopened (default 2000)\n"
    "  --redis-backoff-max-ms MS  reconnect delays double from 100 ms up to MS\n"
    "                         (default 2000)\n"
    "\n"
    "Signals: SIGTERM, SIGINT, SIGQUIT stop gracefully; SIGHUP reloads the key\n"
    "files (the old keys stay on error); SIGUSR1 prints the counters to stderr.\n";

/* An event kept for replay. */
typedef struct entry {
  sse_frame *frame;
  uint64_t num; /* its id as a number, or 0 when not decimal; with --redis
                   the entry id's milliseconds ... */
  uint64_t seq; /* ... and sequence number (0 without --redis) */
  size_t bytes, nkeys;
  uint64_t keys[SRV_MAX_KEYS];
} entry;

typedef struct hub {
  srv *srv;
  /* history: a ring of count_max entries; first..last are kept */
  entry *ring;
  size_t count_max, bytes_max, bytes, count, head; /* head: oldest */
  size_t nonnum;      /* kept entries whose id is not a number */
  uint64_t first_id;  /* the first automatic id of this run */
  uint64_t next_id;   /* the next automatic id */
  char last_id[SSE_DEFAULT_MAX_LAST_EVENT_ID]; /* the newest event's id */
  size_t last_id_len;
  size_t max_frame;
  uint64_t events, resyncs;
  uint64_t seed[2]; /* topic hash key */
  uint64_t rng;     /* retry jitter */
  uint64_t retry_ms, jitter_ms;
  const char *resync;
  const char *origins[MAX_ORIGINS];
  size_t norigins;
  int admin_split;
  int anonymous;
  const char *secret_file, *pubkey_file;
  unsigned char *secret, *pubkey;
  size_t secret_len, pubkey_len;
  struct redis *redis; /* --redis (NULL: one node, ids of our own) */
  /* --workers: one srv per thread (srv is workers[0]). Requests run on
   * every worker's thread: what they share above (history, ids, counters,
   * keys, rng) is used under lock. */
  srv **workers;
  size_t nworkers;
  pthread_mutex_t lock;
} hub;

static void lock(hub *h) { pthread_mutex_lock(&h->lock); }
static void unlock(hub *h) { pthread_mutex_unlock(&h->lock); }

/* Queues frame on every worker's subscribers (its own included): posted to
 * each loop, so that all see the same order. Under lock. 0, or -1 when a
 * worker's inbox is full (nothing was queued). */
static int fan_out(hub *h, sse_frame *f, const uint64_t *keys, size_t n) {
  size_t i;
  if (h->nworkers <= 1)
    return srv_broadcast_keys(h->srv, f, keys, n);
  for (i = 0; i < h->nworkers; i++)
    if (srv_post_room(h->workers[i]) == 0)
      return -1;
  for (i = 0; i < h->nworkers; i++)
    srv_post(h->workers[i], f, keys, n);
  return 0;
}

/* The counters of every worker, summed. */
static void totals(hub *h, srv_totals *t) {
  srv_totals w;
  size_t i, k;
  srv_get_totals(h->workers[0], t);
  for (i = 1; i < h->nworkers; i++) {
    srv_get_totals(h->workers[i], &w);
    t->subscribers += w.subscribers;
    t->deliveries += w.deliveries;
    t->writes += w.writes;
    t->counters.bytes_written += w.counters.bytes_written;
    for (k = 0; k < SRV_CUT_COUNT; k++)
      t->counters.cut[k] += w.counters.cut[k];
    for (k = 0; k < 600; k++)
      t->counters.status[k] += w.counters.status[k];
  }
}

/* ---- small helpers ------------------------------------------------------ */

static int is(const char *s, size_t n, const char *lit) {
  return strlen(lit) == n && !memcmp(s, lit, n);
}

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

static uint64_t mix(uint64_t x) { /* a 64-bit finalizer (murmur3's) */
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

/* The key of a topic name: FNV-1a over the bytes from a random start, then
 * mixed with the second half of the run's key. Not a MAC: collisions only
 * matter between names a publisher or a token issuer chose. */
static uint64_t topic_key(const hub *h, const char *t, size_t n) {
  uint64_t x = h->seed[0];
  size_t i;
  for (i = 0; i < n; i++)
    x = (x ^ (unsigned char)t[i]) * 0x100000001b3ULL;
  return mix(x ^ h->seed[1] ^ n);
}

static uint64_t next_rand(hub *h) { /* xorshift64* */
  h->rng ^= h->rng >> 12;
  h->rng ^= h->rng << 25;
  h->rng ^= h->rng >> 27;
  return h->rng * 2685821657736338717ULL;
}

/* Lines added to every answer for an allowed Origin (empty otherwise). */
static int origin_allowed(const hub *h, const srv_request *req) {
  size_t i;
  if (!req->origin)
    return 0;
  for (i = 0; i < h->norigins; i++)
    if (is(req->origin, req->origin_len, h->origins[i]))
      return 1;
  return 0;
}

static void cors_lines(const hub *h, const srv_request *req, char *buf,
                       size_t cap) {
  buf[0] = '\0';
  if (origin_allowed(h, req))
    snprintf(buf, cap,
             "Access-Control-Allow-Origin: %.*s\r\n"
             "Access-Control-Allow-Credentials: true\r\nVary: Origin\r\n",
             (int)req->origin_len, req->origin);
  else if (h->norigins)
    snprintf(buf, cap, "Vary: Origin\r\n");
}

/* Answers with status and a one-line reason, and closes the connection. */
static void refuse(hub *h, srv_conn *c, const srv_request *req, int status,
                   const char *why) {
  char body[320], extra[640];
  int n = snprintf(body, sizeof body, "%d %s\n", status, why);
  cors_lines(h, req, extra, sizeof extra - 64);
  if (status == 401)
    strcat(extra, "WWW-Authenticate: Bearer\r\n");
  srv_respond_close(c, status, extra, "text/plain; charset=utf-8", body,
                    n > 0 && (size_t)n < sizeof body ? (size_t)n : 0);
}

/* The topics of a request (?topic=, repeatable) as keys; none: the default
 * topic "". Names go to names[] (for authorization) when it is not NULL.
 * Returns the count, or -1 after answering 400. */
static int topics(hub *h, srv_conn *c, const srv_request *req,
                  uint64_t *keys, char (*names)[MAX_TOPIC], size_t *lens) {
  char buf[MAX_TOPIC];
  size_t from = 0, n = 0, i;
  for (;;) {
    long r = srv_query_next(req->query, req->query_len, "topic", &from, buf,
                            sizeof buf);
    if (r == -1)
      break;
    if (r <= 0) {
      refuse(h, c, req, 400, "topic: empty, longer than 256 bytes, or a bad "
                             "% escape");
      return -1;
    }
    for (i = 0; i < (size_t)r; i++)
      if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) {
        refuse(h, c, req, 400, "topic: a control byte");
        return -1;
      }
    if (n == SRV_MAX_KEYS) {
      refuse(h, c, req, 400, "more than 16 topics");
      return -1;
    }
    keys[n] = topic_key(h, buf, (size_t)r);
    if (names) {
      memcpy(names[n], buf, (size_t)r);
      lens[n] = (size_t)r;
    }
    n++;
  }
  if (!n) {
    keys[0] = topic_key(h, "", 0);
    if (lens)
      lens[0] = 0;
    n = 1;
  }
  return (int)n;
}

/* ---- authorization (JWT) ------------------------------------------------ */

enum { AUTH_OK, AUTH_NONE, AUTH_BAD, AUTH_DENIED };

#ifdef HUB_HAVE_JWT
/* The file's bytes (one trailing newline removed for a secret). */
static unsigned char *read_key(const char *path, int secret, size_t *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *p;
  size_t n;
  if (!f)
    return NULL;
  p = malloc(MAX_KEY_FILE + 1);
  n = p ? fread(p, 1, MAX_KEY_FILE + 1, f) : 0;
  fclose(f);
  if (!p || n == 0 || n > MAX_KEY_FILE) {
    free(p);
    return NULL;
  }
  if (secret && p[n - 1] == '\n')
    n -= 1 + (n > 1 && p[n - 2] == '\r');
  if (!n) {
    free(p);
    return NULL;
  }
  p[n] = '\0'; /* PEM is read as a string */
  *len = n;
  return p;
}

/* Loads both key files; on error keeps the old keys. Returns 0 or -1. */
static int load_keys(hub *h) {
  unsigned char *s = NULL, *k = NULL;
  size_t sl = 0, kl = 0;
  if (h->secret_file && !(s = read_key(h->secret_file, 1, &sl))) {
    fprintf(stderr, "sse-hub: cannot read the JWT secret file %s\n",
            h->secret_file);
    return -1;
  }
  if (h->pubkey_file && !(k = read_key(h->pubkey_file, 0, &kl))) {
    fprintf(stderr, "sse-hub: cannot read the JWT public key file %s\n",
            h->pubkey_file);
    free(s);
    return -1;
  }
  free(h->secret);
  free(h->pubkey);
  h->secret = s;
  h->secret_len = sl;
  h->pubkey = k;
  h->pubkey_len = kl;
  return 0;
}

/* The alg of a token's header (the first segment, base64url JSON). */
static jwt_alg_t header_alg(const char *tok, size_t len) {
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char out[1024];
  const char *dot = memchr(tok, '.', len);
  size_t i, n = 0, end = dot ? (size_t)(dot - tok) : 0;
  uint32_t acc = 0;
  int bits = 0;
  json_t *j, *a;
  jwt_alg_t alg = JWT_ALG_INVAL;
  if (!end || end > 1300)
    return JWT_ALG_INVAL;
  for (i = 0; i < end; i++) {
    const char *p = strchr(b64, tok[i]);
    if (!p || !tok[i])
      return JWT_ALG_INVAL;
    acc = acc << 6 | (uint32_t)(p - b64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (unsigned char)(acc >> bits);
    }
  }
  j = json_loadb((const char *)out, n, 0, NULL);
  a = j ? json_object_get(j, "alg") : NULL;
  if (json_is_string(a))
    alg = jwt_str_alg(json_string_value(a));
  json_decref(j);
  return alg;
}

/* Whether list (a claim: an array of strings) covers every topic. */
static int covers(json_t *list, char (*names)[MAX_TOPIC], const size_t *lens,
                  size_t n) {
  size_t i, k;
  json_t *v;
  if (!json_is_array(list))
    return 0;
  json_array_foreach(list, k, v) {
    if (json_is_string(v) && !strcmp(json_string_value(v), "*"))
      return 1;
  }
  for (i = 0; i < n; i++) {
    int found = 0;
    json_array_foreach(list, k, v) {
      if (json_is_string(v) && json_string_length(v) == lens[i] &&
          !memcmp(json_string_value(v), names[i], lens[i])) {
        found = 1;
        break;
      }
    }
    if (!found)
      return 0;
  }
  return 1;
}

/* Finds the token (Authorization: Bearer, cookie sse_token,
 * ?access_token=) into buf. Returns its length, 0 when none, -1 malformed. */
static long find_token(const srv_request *req, char *buf, size_t cap) {
  long r;
  if (req->authorization) {
    const char *v = req->authorization;
    size_t n = req->authorization_len;
    if (n < 7 || strncasecmp(v, "Bearer ", 7) != 0 || n - 7 >= cap)
      return -1;
    memcpy(buf, v + 7, n - 7);
    return (long)(n - 7);
  }
  if (req->cookie) {
    const char *p = req->cookie, *end = p + req->cookie_len;
    while (p < end) {
      const char *semi = memchr(p, ';', (size_t)(end - p)), *e;
      e = semi ? semi : end;
      while (p < e && *p == ' ')
        p++;
      if ((size_t)(e - p) > 10 && !memcmp(p, "sse_token=", 10)) {
        if ((size_t)(e - p) - 10 >= cap)
          return -1;
        memcpy(buf, p + 10, (size_t)(e - p) - 10);
        return (long)((e - p) - 10);
      }
      p = e + 1;
    }
  }
  r = srv_query_param(req->query, req->query_len, "access_token", buf,
                      cap - 1);
  if (r == -1)
    return 0;
  return r > 0 ? r : -1;
}

/* Checks the request's token for the topics. *why gets the reason. */
static int authorize(hub *h, const srv_request *req, int publish,
                     char (*names)[MAX_TOPIC], const size_t *lens, size_t n,
                     const char **why) {
  char tok[MAX_TOKEN + 1];
  long len = find_token(req, tok, sizeof tok);
  jwt_t *jwt = NULL;
  jwt_alg_t alg;
  const unsigned char *key;
  size_t key_len;
  char *claims;
  json_t *j, *sse;
  long t;
  time_t now = time(NULL);
  int rc;
  if (len == 0) {
    *why = "no token (Authorization: Bearer, cookie sse_token or "
           "?access_token=)";
    return AUTH_NONE;
  }
  *why = "malformed token";
  if (len < 0)
    return AUTH_BAD;
  tok[len] = '\0';
  alg = header_alg(tok, (size_t)len);
  if (alg == JWT_ALG_HS256 && h->secret) {
    key = h->secret;
    key_len = h->secret_len;
  } else if ((alg == JWT_ALG_RS256 || alg == JWT_ALG_ES256) && h->pubkey) {
    key = h->pubkey;
    key_len = h->pubkey_len;
  } else {
    *why = "token algorithm not accepted";
    return AUTH_BAD;
  }
  if (jwt_decode(&jwt, tok, key, (int)key_len) != 0 || !jwt) {
    *why = "token signature or format invalid";
    return AUTH_BAD;
  }
  if (jwt_get_alg(jwt) != alg) { /* never alg none, never a swap */
    jwt_free(jwt);
    *why = "token algorithm not accepted";
    return AUTH_BAD;
  }
  errno = 0;
  t = jwt_get_grant_int(jwt, "exp");
  if (errno != ENOENT && (errno || (long)now >= t)) {
    jwt_free(jwt);
    *why = "token expired";
    return AUTH_BAD;
  }
  errno = 0;
  t = jwt_get_grant_int(jwt, "nbf");
  if (errno != ENOENT && (errno || (long)now < t)) {
    jwt_free(jwt);
    *why = "token not valid yet";
    return AUTH_BAD;
  }
  claims = jwt_get_grants_json(jwt, "sse");
  jwt_free(jwt);
  j = claims ? json_loads(claims, 0, NULL) : NULL;
  free(claims);
  sse = json_is_object(j) ? json_object_get(j, publish ? "publish"
                                                       : "subscribe")
                          : NULL;
  rc = covers(sse, names, lens, n) ? AUTH_OK : AUTH_DENIED;
  json_decref(j);
  *why = publish ? "the token's sse.publish does not cover every topic"
                 : "the token's sse.subscribe does not cover every topic";
  return rc;
}
#else
static int load_keys(hub *h) {
  (void)h;
  return 0;
}
static int authorize(hub *h, const srv_request *req, int publish,
                     char (*names)[MAX_TOPIC], const size_t *lens, size_t n,
                     const char **why) {
  (void)h, (void)req, (void)publish, (void)names, (void)lens, (void)n;
  *why = "built without JWT support";
  return AUTH_BAD;
}
#endif

/* 0 when the request may go on; else it was answered (401 or 403). */
static int check_auth(hub *h, srv_conn *c, const srv_request *req,
                      int publish, char (*names)[MAX_TOPIC],
                      const size_t *lens, size_t n) {
  const char *why = "";
  int rc;
  lock(h); /* the keys may be swapped by SIGHUP on another worker */
  if (!h->secret && !h->pubkey) {
    unlock(h);
    return 0;
  }
  rc = authorize(h, req, publish, names, lens, n, &why);
  unlock(h);
  if (rc == AUTH_OK || (rc == AUTH_NONE && !publish && h->anonymous))
    return 0;
  refuse(h, c, req, rc == AUTH_DENIED ? 403 : 401, why);
  return -1;
}

/* ---- history ------------------------------------------------------------ */

static entry *at(hub *h, size_t i) { /* i-th kept, 0: oldest */
  return &h->ring[(h->head + i) % h->count_max];
}

static void evict(hub *h) {
  entry *e = at(h, 0);
  h->bytes -= e->bytes;
  h->nonnum -= e->num == 0;
  sse_frame_release(e->frame);
  e->frame = NULL;
  h->head = (h->head + 1) % h->count_max;
  h->count--;
}

static void keep_event(hub *h, sse_frame *f, uint64_t num, uint64_t seq,
                       const uint64_t *keys, size_t nkeys) {
  size_t bytes;
  entry *e;
  sse_frame_get_bytes(f, &bytes);
  if (!h->count_max)
    return;
  while (h->count && (h->count == h->count_max ||
                      h->bytes + bytes > h->bytes_max))
    evict(h);
  e = at(h, h->count);
  e->frame = sse_frame_retain(f);
  e->num = num;
  e->seq = seq;
  e->bytes = bytes;
  e->nkeys = nkeys;
  memcpy(e->keys, keys, nkeys * sizeof *keys);
  h->bytes += bytes;
  h->nonnum += num == 0;
  h->count++;
}

/* The index of the kept event with this id, or -1. Bisects when every kept
 * id is a number (they increase), else scans from the newest. */
static long find(hub *h, const char *id, size_t len, uint64_t num) {
  size_t i;
  if (num && !h->nonnum) {
    size_t lo = 0, hi = h->count;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (at(h, mid)->num < num)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo < h->count && at(h, lo)->num == num ? (long)lo : -1;
  }
  for (i = h->count; i-- > 0;) {
    size_t n;
    const char *p = sse_frame_get_id(at(h, i)->frame, &n);
    if (n == len && !memcmp(p, id, n))
      return (long)i;
  }
  return -1;
}

static int shares(const entry *e, const uint64_t *keys, size_t n) {
  size_t i, j;
  for (i = 0; i < e->nkeys; i++)
    for (j = 0; j < n; j++)
      if (e->keys[i] == keys[j])
        return 1;
  return 0;
}

/* The resync event: its id is the newest event's, so that the client
 * resumes from now on its next reconnect. */
static int send_resync(hub *h, sse_stream *st, const char *reason,
                       const char *id, size_t len) {
  char data[64 + 6 * SSE_DEFAULT_MAX_LAST_EVENT_ID];
  size_t n, i;
  sse_message m;
  sse_frame *f;
  int rc;
  n = (size_t)snprintf(data, sizeof data,
                       "{\"reason\":\"%s\",\"last_event_id\":\"", reason);
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)id[i];
    if (ch == '"' || ch == '\\')
      n += (size_t)snprintf(data + n, sizeof data - n, "\\%c", ch);
    else if (ch < 0x20 || ch >= 0x7f)
      n += (size_t)snprintf(data + n, sizeof data - n, "\\u%04x", ch);
    else
      data[n++] = (char)ch;
  }
  memcpy(data + n, "\"}", 2);
  n += 2;
  memset(&m, 0, sizeof m);
  m.type = h->resync;
  m.type_len = strlen(h->resync);
  m.id = h->last_id_len ? h->last_id : NULL;
  m.id_len = h->last_id_len;
  m.data = data;
  m.data_len = n;
  if (sse_frame_new_message(&f, &m, NULL) != SSE_OK)
    return SSE_E_NOMEM;
  rc = sse_stream_send_frame(st, f);
  sse_frame_release(f);
  h->resyncs++;
  return rc;
}

/* Sends the kept events from the i-th on that share a key. */
static int replay_from(hub *h, sse_stream *st, size_t i, const uint64_t *keys,
                       size_t nkeys) {
  int rc = SSE_OK;
  for (; i < h->count && rc == SSE_OK; i++)
    if (shares(at(h, i), keys, nkeys))
      rc = sse_stream_send_frame(st, at(h, i)->frame);
  return rc;
}

/* Replays the events after id that share a key, or sends the resync event
 * when id is evicted or unknown. */
static int replay(hub *h, sse_stream *st, const char *id, size_t len,
                  const uint64_t *keys, size_t nkeys) {
  uint64_t num = 0;
  long i;
  numeric_id(id, len, &num);
  i = find(h, id, len, num);
  if (i < 0) {
    /* Ours but gone: a number this run gave out before the oldest kept. */
    uint64_t oldest = h->count && at(h, 0)->num ? at(h, 0)->num : h->next_id;
    int evicted = num >= h->first_id && num < oldest;
    return send_resync(h, st, evicted ? "evicted" : "unknown", id, len);
  }
  return replay_from(h, st, (size_t)i + 1, keys, nkeys);
}

/* ---- many nodes: Redis Streams (--redis) -------------------------------- */

/* Every event is one entry of one Redis stream (XADD by the node that
 * received the publish; 202 once Redis answered with the entry's id). Each
 * node reads the stream with XREAD BLOCK on a second connection and fans out
 * what it reads, its own publishes included, in stream order; the local
 * history is a cache of the newest entries read. The SSE id is the entry id.
 *
 * Both connections are hiredis async contexts driven by srv's loop (the
 * adapter below: hiredis asks for read/write interest through its ev hooks,
 * srv_io_set turns that into epoll interest). Entry fields: d (data), e (the
 * type, optional), t (topic names joined by LF, which no name contains;
 * absent: the default topic).
 *
 * Resume: an id kept in the cache replays locally, as on one node. Else the
 * request is deferred (srv_defer) and three commands go out in one write:
 * XRANGE key ID ID (does it exist?), XRANGE key - + COUNT 1 (the oldest kept)
 * and XRANGE key (ID + COUNT replay-max. When the last reply comes the
 * subscriber is registered first, then given the entries of the reply up to
 * the newest one this node has fanned out (L), then the cached ones after
 * those: everything after L reaches it through the fan-out, so nothing is
 * missed or doubled whatever the reader did meanwhile. An id that exists but
 * is newer than L (another node was faster) waits until the reader passes it
 * and is then replayed from the cache. */
#ifdef HUB_HAVE_REDIS

#define XREAD_COUNT 512      /* entries per XREAD */
#define XREAD_BLOCK_MS 1000  /* XREAD BLOCK; the reader's watchdog adds the
                                --redis-timeout-ms to it */
#define TICK_MS 100          /* timeouts and reconnects are checked so often */
#define BACKOFF_MIN_MS 100

typedef struct sid { /* a stream entry id, MS-SEQ */
  uint64_t ms, seq;
} sid;

static int sid_cmp(sid a, sid b) {
  if (a.ms != b.ms)
    return a.ms < b.ms ? -1 : 1;
  return a.seq < b.seq ? -1 : a.seq > b.seq;
}

static int dec(const char *p, size_t n, uint64_t *v) {
  size_t i;
  *v = 0;
  if (!n || n > 20 || (p[0] == '0' && n > 1))
    return 0;
  for (i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9' || *v > (UINT64_MAX - 9) / 10)
      return 0;
    *v = *v * 10 + (uint64_t)(p[i] - '0');
  }
  return 1;
}

/* "MS-SEQ" (both decimal) into *out: 1, else 0. */
static int sid_parse(const char *p, size_t n, sid *out) {
  const char *dash = memchr(p, '-', n);
  return dash && dec(p, (size_t)(dash - p), &out->ms) &&
         dec(dash + 1, n - (size_t)(dash - p) - 1, &out->seq);
}

static int sid_fmt(sid a, char *buf, size_t cap) {
  return snprintf(buf, cap, "%llu-%llu", (unsigned long long)a.ms,
                  (unsigned long long)a.seq);
}

typedef struct redis redis;

typedef struct rconn { /* one async connection */
  redis *r;
  redisAsyncContext *ac; /* NULL: not connected, retry_at says when */
  int io;                /* srv_io id, -1 */
  unsigned ev;           /* the interest hiredis asked for */
  int up;                /* the connect completed */
  const char *name;
  uint64_t retry_at, backoff, busy_since;
} rconn;

enum { W_FREE, W_PUBLISH, W_REPLAY, W_AHEAD };

/* A request waiting for Redis; one of a fixed pool (--redis-max-pending).
 * It stays in use until every reply it waits for came (a NULL reply when
 * the connection is torn down), even when its client left. */
typedef struct waiter {
  srv_conn *c; /* srv NULLs it when the client leaves */
  struct waiter *next;
  int kind, outstanding, failed, exists, empty;
  uint64_t deadline;
  sid id, first;
  char id_str[48];
  size_t id_len;
  uint64_t keys[SRV_MAX_KEYS];
  size_t nkeys;
  uint64_t retry_ms;
  char extra[640];
} waiter;

struct redis {
  hub *h;
  char host[256];
  int port;
  unsigned db;
  const char *key;
  rconn cmd, rd;
  waiter *pool, *free_list;
  size_t npool, busy;
  sse_frame **frames; /* replay scratch: replay_max */
  size_t replay_max;
  uint64_t timeout_ms, backoff_max_ms, maxlen;
  sid last;   /* the newest entry fanned out (L) */
  int primed; /* the cache was filled from the stream at start */
  uint64_t replays, published, failed, reconnects;
};

static const char retry_after[] = "Retry-After: 1\r\n";

/* ---- the adapter: a redisAsyncContext in srv's loop ---- */

static void rc_sync(rconn *k) {
  srv_io_set(k->r->h->srv, k->io, k->ev);
}
static void ev_add_read(void *p) {
  rconn *k = p;
  k->ev |= SRV_IO_READ;
  rc_sync(k);
}
static void ev_del_read(void *p) {
  rconn *k = p;
  k->ev &= ~(unsigned)SRV_IO_READ;
  rc_sync(k);
}
static void ev_add_write(void *p) {
  rconn *k = p;
  k->ev |= SRV_IO_WRITE;
  rc_sync(k);
}
static void ev_del_write(void *p) {
  rconn *k = p;
  k->ev &= ~(unsigned)SRV_IO_WRITE;
  rc_sync(k);
}

/* The context is being freed (an error, a hang-up, our timeout): forget it
 * and reconnect after the backoff. hiredis may call this twice. */
static void ev_cleanup(void *p) {
  rconn *k = p;
  redis *r = k->r;
  if (!k->ac)
    return;
  srv_io_del(r->h->srv, k->io);
  k->io = -1;
  k->ev = 0;
  k->ac = NULL;
  k->up = 0;
  k->busy_since = 0;
  k->retry_at = srv_now() + k->backoff;
  k->backoff = k->backoff * 2 > r->backoff_max_ms ? r->backoff_max_ms
                                                  : k->backoff * 2;
}

static void rc_io(void *user, unsigned events) {
  rconn *k = user;
  if ((events & SRV_IO_READ) && k->ac)
    redisAsyncHandleRead(k->ac);
  if ((events & SRV_IO_WRITE) && k->ac)
    redisAsyncHandleWrite(k->ac);
}

static void on_connect(const redisAsyncContext *ac, int status) {
  rconn *k = ac->data;
  if (status == REDIS_OK) {
    k->up = 1;
    k->backoff = BACKOFF_MIN_MS;
    fprintf(stderr, "sse-hub: redis %s connection up\n", k->name);
  } else {
    fprintf(stderr, "sse-hub: redis %s connection: %s\n", k->name,
            ac->errstr);
  }
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  rconn *k = ac->data;
  (void)status;
  k->up = 0;
  fprintf(stderr, "sse-hub: redis %s connection lost%s%s\n", k->name,
          ac->err ? ": " : "", ac->err ? ac->errstr : "");
}

static void rd_start(redis *r);

/* Opens k's connection; on failure the next try is after the backoff. */
static void rc_connect(rconn *k) {
  redis *r = k->r;
  redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
  k->retry_at = 0;
  r->reconnects++;
  if (ac && !ac->err)
    k->io = srv_io_add(r->h->srv, ac->c.fd, rc_io, k);
  if (!ac || ac->err || k->io < 0) {
    if (ac)
      redisAsyncFree(ac); /* nothing attached yet: no cleanup call */
    k->io = -1;
    k->retry_at = srv_now() + k->backoff;
    k->backoff = k->backoff * 2 > r->backoff_max_ms ? r->backoff_max_ms
                                                    : k->backoff * 2;
    return;
  }
  k->ac = ac;
  ac->data = k;
  ac->ev.data = k;
  ac->ev.addRead = ev_add_read;
  ac->ev.delRead = ev_del_read;
  ac->ev.addWrite = ev_add_write;
  ac->ev.delWrite = ev_del_write;
  ac->ev.cleanup = ev_cleanup;
  k->ev = SRV_IO_READ | SRV_IO_WRITE; /* the connect completes on write */
  rc_sync(k);
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  if (r->db)
    redisAsyncCommand(ac, NULL, NULL, "SELECT %u", r->db);
  if (k == &r->rd)
    rd_start(r);
}

/* Tears k's connection down now: every reply it waits for comes as NULL. */
static void rc_reset(rconn *k) {
  if (k->ac)
    redisAsyncFree(k->ac);
}

/* ---- entries ---- */

static const redisReply *field(const redisReply *fields, const char *name) {
  size_t i;
  if (!fields || fields->type != REDIS_REPLY_ARRAY)
    return NULL;
  for (i = 0; i + 1 < fields->elements; i += 2)
    if (fields->element[i]->type == REDIS_REPLY_STRING &&
        is(fields->element[i]->str, fields->element[i]->len, name) &&
        fields->element[i + 1]->type == REDIS_REPLY_STRING)
      return fields->element[i + 1];
  return NULL;
}

/* An entry ([id, [field, value, ...]]) as a frame with its topic keys.
 * Returns 0, or -1 when it is malformed or too large (skipped). */
static int entry_frame(hub *h, const redisReply *e, sid *id, sse_frame **f,
                       uint64_t *keys, size_t *nkeys) {
  const redisReply *d, *t, *ty;
  sse_message m;
  size_t bytes;
  if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
      e->element[0]->type != REDIS_REPLY_STRING ||
      !sid_parse(e->element[0]->str, e->element[0]->len, id))
    return -1;
  d = field(e->element[1], "d");
  ty = field(e->element[1], "e");
  t = field(e->element[1], "t");
  *nkeys = 0;
  if (t) {
    const char *p = t->str, *end = t->str + t->len;
    while (p <= end && *nkeys < SRV_MAX_KEYS) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      const char *e2 = nl ? nl : end;
      keys[(*nkeys)++] = topic_key(h, p, (size_t)(e2 - p));
      p = e2 + 1;
    }
  } else {
    keys[(*nkeys)++] = topic_key(h, "", 0);
  }
  memset(&m, 0, sizeof m);
  m.id = e->element[0]->str;
  m.id_len = e->element[0]->len;
  if (ty && ty->len && ty->len <= MAX_TYPE && !memchr(ty->str, '\n', ty->len) &&
      !memchr(ty->str, '\r', ty->len)) {
    m.type = ty->str;
    m.type_len = ty->len;
  }
  m.data = d ? d->str : "";
  m.data_len = d ? d->len : 0;
  if (sse_frame_new_message(f, &m, NULL) != SSE_OK)
    return -1;
  sse_frame_get_bytes(*f, &bytes);
  if (bytes > h->max_frame) {
    sse_frame_release(*f);
    return -1;
  }
  return 0;
}

static int keys_meet(const uint64_t *a, size_t na, const uint64_t *b,
                     size_t nb) {
  size_t i, j;
  for (i = 0; i < na; i++)
    for (j = 0; j < nb; j++)
      if (a[i] == b[j])
        return 1;
  return 0;
}

/* The index of the cached entry with this id, or -1. */
static long rfind(hub *h, sid x) {
  size_t lo = 0, hi = h->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    entry *e = at(h, mid);
    sid y;
    y.ms = e->num;
    y.seq = e->seq;
    if (sid_cmp(y, x) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < h->count && at(h, lo)->num == x.ms && at(h, lo)->seq == x.seq)
    return (long)lo;
  return -1;
}

/* ---- waiters ---- */

static waiter *w_get(redis *r, int kind) {
  waiter *w = r->free_list;
  if (!w)
    return NULL;
  r->free_list = w->next;
  memset(w, 0, sizeof *w);
  w->kind = kind;
  w->deadline = srv_now() + r->timeout_ms;
  r->busy++;
  return w;
}

static void w_put(redis *r, waiter *w) {
  if (w->c) /* never left unanswered */
    srv_respond_close(w->c, 503, retry_after, "text/plain; charset=utf-8",
                      "503 Redis did not answer\n", 25);
  w->kind = W_FREE;
  w->next = r->free_list;
  r->free_list = w;
  r->busy--;
}

static void w_refuse(redis *r, waiter *w, const char *why) {
  char body[256];
  int n = snprintf(body, sizeof body, "503 %s\n", why);
  r->failed++;
  if (w->c)
    srv_respond_close(w->c, 503, retry_after, "text/plain; charset=utf-8",
                      body, (size_t)n);
}

/* Registers the deferred subscriber (its 200 leaves at the end of the
 * turn, after what is sent to it now). */
static sse_stream *w_subscribe(waiter *w) {
  srv_sub_opts o;
  memset(&o, 0, sizeof o);
  o.extra = w->extra;
  o.keys = w->keys;
  o.nkeys = w->nkeys;
  o.retry_ms = w->retry_ms;
  return srv_subscribe_ex(w->c, &o);
}

/* ---- publishing ---- */

static void on_xadd(redisAsyncContext *ac, void *reply, void *priv) {
  waiter *w = priv;
  redisReply *rp = reply;
  redis *r = ((rconn *)ac->data)->r;
  char body[64];
  w->outstanding--;
  if (rp && rp->type == REDIS_REPLY_STRING && rp->len < sizeof body) {
    r->published++;
    if (w->c) {
      memcpy(body, rp->str, rp->len);
      body[rp->len] = '\n';
      srv_respond(w->c, 202, w->extra, "text/plain; charset=utf-8", body,
                  rp->len + 1);
    }
  } else if (rp && rp->type == REDIS_REPLY_ERROR) {
    char why[200];
    snprintf(why, sizeof why, "Redis refused the event: %.150s", rp->str);
    w_refuse(r, w, why);
  } else {
    w_refuse(r, w, "Redis is unreachable");
  }
  w_put(r, w);
}

/* Appends the event to the stream; answers when Redis did. */
static void redis_publish(hub *h, srv_conn *c, const char *cors,
                          const char *data, size_t data_len, const char *type,
                          size_t type_len, char (*names)[MAX_TOPIC],
                          const size_t *lens, size_t n, int explicit_topics) {
  redis *r = h->redis;
  char maxlen[24], topics_buf[SRV_MAX_KEYS * (MAX_TOPIC + 1)];
  const char *argv[12];
  size_t argl[12], i, tl = 0;
  int argc = 0;
  waiter *w;
  if (!r->cmd.ac || !(w = w_get(r, W_PUBLISH))) {
    r->failed++;
    srv_respond_close(c, 503, retry_after, "text/plain; charset=utf-8",
                      r->cmd.ac ? "503 too many requests wait for Redis\n"
                                : "503 Redis is unreachable\n",
                      r->cmd.ac ? 37 : 25);
    return;
  }
  snprintf(w->extra, sizeof w->extra, "%s", cors);
  snprintf(maxlen, sizeof maxlen, "%llu", (unsigned long long)r->maxlen);
#define ARG(p, l) (argv[argc] = (p), argl[argc++] = (l))
  ARG("XADD", 4);
  ARG(r->key, strlen(r->key));
  ARG("MAXLEN", 6);
  ARG("~", 1);
  ARG(maxlen, strlen(maxlen));
  ARG("*", 1);
  ARG("d", 1);
  ARG(data, data_len);
  if (type_len) {
    ARG("e", 1);
    ARG(type, type_len);
  }
  if (explicit_topics) {
    for (i = 0; i < n; i++) {
      if (i)
        topics_buf[tl++] = '\n';
      memcpy(topics_buf + tl, names[i], lens[i]);
      tl += lens[i];
    }
    ARG("t", 1);
    ARG(topics_buf, tl);
  }
#undef ARG
  if (redisAsyncCommandArgv(r->cmd.ac, on_xadd, w, argc, argv, argl) !=
      REDIS_OK) {
    srv_respond_close(c, 503, retry_after, "text/plain; charset=utf-8",
                      "503 Redis is unreachable\n", 25);
    r->failed++;
    w_put(r, w);
    return;
  }
  w->outstanding = 1;
  srv_defer(c, &w->c);
}

/* ---- resuming ---- */

static void check_ahead(redis *r);

/* The replies of the three XRANGEs are in: see the comment at the top. */
static void finish_replay(redis *r, waiter *w, const redisReply *range) {
  hub *h = r->h;
  sse_stream *st;
  size_t i, n = 0, bytes = 0, b;
  sid lastr = w->id, y;
  long from = -1;
  int rc = SSE_OK;
  if (!w->exists) {
    int evicted = w->empty ? sid_cmp(w->id, r->last) <= 0
                           : sid_cmp(w->id, w->first) < 0;
    if ((st = w_subscribe(w)) != NULL &&
        send_resync(h, st, evicted ? "evicted" : "unknown", w->id_str,
                    w->id_len) != SSE_OK)
      srv_drop(w->c);
    return;
  }
  if (sid_cmp(w->id, r->last) > 0) { /* not read here yet: wait for it */
    w->kind = W_AHEAD;
    return;
  }
  /* The entries after the id up to L, then the cache after the last. */
  for (i = 0; range && i < range->elements && n < r->replay_max; i++) {
    uint64_t keys[SRV_MAX_KEYS];
    size_t nk;
    sse_frame *f;
    if (entry_frame(h, range->element[i], &y, &f, keys, &nk) != 0)
      continue;
    if (sid_cmp(y, r->last) > 0) {
      sse_frame_release(f);
      break;
    }
    lastr = y;
    if (!keys_meet(keys, nk, w->keys, w->nkeys)) {
      sse_frame_release(f);
      continue;
    }
    sse_frame_get_bytes(f, &b);
    bytes += b;
    r->frames[n++] = f;
  }
  if (sid_cmp(lastr, r->last) < 0) {
    y.ms = h->count ? at(h, 0)->num : 0;
    y.seq = h->count ? at(h, 0)->seq : 0;
    if (h->count && sid_cmp(y, lastr) <= 0) {
      from = rfind(h, lastr);
      from = from >= 0 ? from + 1 : 0;
      while (from < (long)h->count && sid_cmp((sid){at(h, (size_t)from)->num,
                                                    at(h, (size_t)from)->seq},
                                              lastr) <= 0)
        from++;
    } else {
      from = -2; /* a gap between the reply and the cache */
    }
  }
  if (from >= 0)
    for (i = (size_t)from; i < h->count; i++)
      if (shares(at(h, i), w->keys, w->nkeys))
        bytes += at(h, i)->bytes;
  st = w_subscribe(w);
  if (st && (from == -2 || bytes > h->bytes_max))
    rc = send_resync(h, st, "evicted", w->id_str, w->id_len);
  else if (st) {
    for (i = 0; i < n && rc == SSE_OK; i++)
      rc = sse_stream_send_frame(st, r->frames[i]);
    if (rc == SSE_OK && from >= 0)
      rc = replay_from(h, st, (size_t)from, w->keys, w->nkeys);
  }
  for (i = 0; i < n; i++)
    sse_frame_release(r->frames[i]);
  if (st && rc != SSE_OK)
    srv_drop(w->c);
}

static void on_exists(redisAsyncContext *ac, void *reply, void *priv) {
  waiter *w = priv;
  redisReply *rp = reply;
  (void)ac;
  w->outstanding--;
  if (!rp || rp->type != REDIS_REPLY_ARRAY)
    w->failed = 1;
  else
    w->exists = rp->elements > 0;
}

static void on_first(redisAsyncContext *ac, void *reply, void *priv) {
  waiter *w = priv;
  redisReply *rp = reply;
  (void)ac;
  w->outstanding--;
  if (!rp || rp->type != REDIS_REPLY_ARRAY)
    w->failed = 1;
  else if (!(w->empty = rp->elements == 0)) {
    const redisReply *e = rp->element[0];
    if (e->type != REDIS_REPLY_ARRAY || !e->elements ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        !sid_parse(e->element[0]->str, e->element[0]->len, &w->first))
      w->failed = 1;
  }
}

static void on_range(redisAsyncContext *ac, void *reply, void *priv) {
  waiter *w = priv;
  redisReply *rp = reply;
  redis *r = ((rconn *)ac->data)->r;
  w->outstanding--;
  if (!rp || rp->type != REDIS_REPLY_ARRAY)
    w->failed = 1;
  if (w->outstanding == 0 && w->c && !w->failed) {
    r->replays++;
    finish_replay(r, w, rp);
    if (w->kind == W_AHEAD) {
      check_ahead(r);
      return;
    }
  } else if (w->c) {
    w_refuse(r, w, "Redis is unreachable");
  }
  if (w->outstanding == 0)
    w_put(r, w);
}

/* Asks Redis about an id the cache does not have (see the top). */
static void redis_resume(hub *h, srv_conn *c, sid x, const char *id,
                         size_t id_len, const srv_sub_opts *o) {
  redis *r = h->redis;
  char cnt[24];
  waiter *w;
  if (!r->cmd.ac || !(w = w_get(r, W_REPLAY))) {
    r->failed++;
    srv_respond_close(c, 503, retry_after, "text/plain; charset=utf-8",
                      "503 Redis is unreachable or busy\n", 33);
    return;
  }
  w->id = x;
  memcpy(w->id_str, id, id_len);
  w->id_len = id_len;
  memcpy(w->keys, o->keys, o->nkeys * sizeof *o->keys);
  w->nkeys = o->nkeys;
  w->retry_ms = o->retry_ms;
  snprintf(w->extra, sizeof w->extra, "%s", o->extra);
  snprintf(cnt, sizeof cnt, "%zu", r->replay_max);
  if (redisAsyncCommand(r->cmd.ac, on_exists, w, "XRANGE %s %b %b", r->key,
                        id, id_len, id, id_len) != REDIS_OK) {
    r->failed++;
    srv_respond_close(c, 503, retry_after, "text/plain; charset=utf-8",
                      "503 Redis is unreachable or busy\n", 33);
    w_put(r, w);
    return;
  }
  w->outstanding = 1;
  if (redisAsyncCommand(r->cmd.ac, on_first, w, "XRANGE %s - + COUNT 1",
                        r->key) == REDIS_OK)
    w->outstanding++;
  else
    w->failed = 1;
  if (redisAsyncCommand(r->cmd.ac, on_range, w, "XRANGE %s (%b + COUNT %s",
                        r->key, id, id_len, cnt) == REDIS_OK)
    w->outstanding++;
  else
    w->failed = 1;
  srv_defer(c, &w->c);
}

/* Subscribers whose id the reader has now passed: replay from the cache. */
static void check_ahead(redis *r) {
  size_t i;
  for (i = 0; i < r->npool; i++) {
    waiter *w = &r->pool[i];
    sse_stream *st;
    long k;
    if (w->kind != W_AHEAD || w->outstanding)
      continue;
    if (!w->c) {
      w_put(r, w);
      continue;
    }
    if (sid_cmp(w->id, r->last) > 0)
      continue;
    k = rfind(r->h, w->id);
    st = w_subscribe(w);
    if (st && (k < 0 ? send_resync(r->h, st, "evicted", w->id_str, w->id_len)
                     : replay_from(r->h, st, (size_t)k + 1, w->keys,
                                   w->nkeys)) != SSE_OK)
      srv_drop(w->c);
    w_put(r, w);
  }
}

/* ---- the reader ---- */

static void on_xread(redisAsyncContext *ac, void *reply, void *priv);
static void on_prime(redisAsyncContext *ac, void *reply, void *priv);

static void rd_next(redis *r) {
  char last[48];
  sid_fmt(r->last, last, sizeof last);
  if (r->rd.ac &&
      redisAsyncCommand(r->rd.ac, on_xread, r,
                        "XREAD COUNT %d BLOCK %d STREAMS %s %s", XREAD_COUNT,
                        XREAD_BLOCK_MS, r->key, last) == REDIS_OK)
    r->rd.busy_since = srv_now();
}

/* First connection: fill the cache with the newest entries (without
 * sending them: nobody asked), then read on from the newest. Later ones
 * resume after the last entry fanned out. */
static void rd_start(redis *r) {
  char cnt[24];
  if (r->primed) {
    rd_next(r);
    return;
  }
  snprintf(cnt, sizeof cnt, "%zu", r->h->count_max);
  if (redisAsyncCommand(r->rd.ac, on_prime, r, "XREVRANGE %s + - COUNT %s",
                        r->key, cnt) == REDIS_OK)
    r->rd.busy_since = srv_now();
}

/* One entry read: fanned out, cached. */
static void deliver(redis *r, const redisReply *e) {
  hub *h = r->h;
  uint64_t keys[SRV_MAX_KEYS];
  size_t nk;
  sse_frame *f;
  sid y;
  if (entry_frame(h, e, &y, &f, keys, &nk) != 0) {
    fprintf(stderr, "sse-hub: redis: skipped a malformed or too large "
                    "entry\n");
    return;
  }
  if (sid_cmp(y, r->last) <= 0) { /* read before a reconnect */
    sse_frame_release(f);
    return;
  }
  if (r->primed)
    srv_broadcast_keys(h->srv, f, keys, nk);
  keep_event(h, f, y.ms, y.seq, keys, nk);
  sse_frame_release(f);
  r->last = y;
  h->events += r->primed; /* events fanned out, not those of the start */
  memcpy(h->last_id, e->element[0]->str, e->element[0]->len);
  h->last_id_len = e->element[0]->len;
}

static void on_prime(redisAsyncContext *ac, void *reply, void *priv) {
  redis *r = priv;
  redisReply *rp = reply;
  size_t i;
  (void)ac;
  r->rd.busy_since = 0;
  if (!rp)
    return; /* torn down: rd_start runs again on the next connection */
  if (rp->type != REDIS_REPLY_ARRAY) {
    fprintf(stderr, "sse-hub: redis: XREVRANGE %s: %s\n", r->key,
            rp->type == REDIS_REPLY_ERROR ? rp->str : "unexpected reply");
    rc_reset(&r->rd);
    return;
  }
  for (i = rp->elements; i-- > 0;)
    deliver(r, rp->element[i]);
  r->primed = 1;
  check_ahead(r);
  rd_next(r);
}

static void on_xread(redisAsyncContext *ac, void *reply, void *priv) {
  redis *r = priv;
  redisReply *rp = reply;
  size_t i;
  (void)ac;
  r->rd.busy_since = 0;
  if (!rp)
    return;
  if (rp->type == REDIS_REPLY_ARRAY && rp->elements == 1 &&
      rp->element[0]->type == REDIS_REPLY_ARRAY &&
      rp->element[0]->elements == 2 &&
      rp->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
    const redisReply *list = rp->element[0]->element[1];
    for (i = 0; i < list->elements; i++)
      deliver(r, list->element[i]);
    check_ahead(r);
  } else if (rp->type != REDIS_REPLY_NIL) {
    fprintf(stderr, "sse-hub: redis: XREAD %s: %s\n", r->key,
            rp->type == REDIS_REPLY_ERROR ? rp->str : "unexpected reply");
    rc_reset(&r->rd); /* reconnect after the backoff */
    return;
  }
  rd_next(r);
}

/* ---- time ---- */

static void redis_tick(redis *r, uint64_t now) {
  size_t i;
  int stuck = 0;
  if (!r->cmd.ac && r->cmd.retry_at && r->cmd.retry_at <= now)
    rc_connect(&r->cmd);
  if (!r->rd.ac && r->rd.retry_at && r->rd.retry_at <= now)
    rc_connect(&r->rd);
  for (i = 0; i < r->npool; i++) {
    waiter *w = &r->pool[i];
    if (w->kind == W_FREE || w->deadline > now)
      continue;
    if (w->outstanding) {
      stuck = 1; /* Redis took too long: start over */
    } else {
      w_refuse(r, w, "Redis did not answer in time");
      w_put(r, w);
    }
  }
  if (stuck)
    rc_reset(&r->cmd);
  if (r->rd.busy_since &&
      now - r->rd.busy_since > XREAD_BLOCK_MS + r->timeout_ms)
    rc_reset(&r->rd);
  srv_set_timer(r->h->srv, now + TICK_MS);
}

static void on_timer(void *user, uint64_t now_ms) {
  hub *h = user;
  if (h->redis)
    redis_tick(h->redis, now_ms);
}

/* redis://HOST[:PORT][/DB] ([v6] for IPv6). Returns 0 or -1. */
static int redis_url(redis *r, const char *url) {
  const char *p = url, *end, *slash, *colon;
  uint64_t v;
  if (strncmp(p, "redis://", 8) != 0)
    return -1;
  p += 8;
  slash = strchr(p, '/');
  end = slash ? slash : p + strlen(p);
  r->port = 6379;
  if (*p == '[') {
    const char *rb = memchr(p, ']', (size_t)(end - p));
    if (!rb || rb == p + 1 || (size_t)(rb - p - 1) >= sizeof r->host)
      return -1;
    memcpy(r->host, p + 1, (size_t)(rb - p - 1));
    r->host[rb - p - 1] = '\0';
    colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    if (rb + 1 < end && !colon)
      return -1;
  } else {
    colon = memchr(p, ':', (size_t)(end - p));
    if ((colon ? colon : end) == p ||
        (size_t)((colon ? colon : end) - p) >= sizeof r->host)
      return -1;
    memcpy(r->host, p, (size_t)((colon ? colon : end) - p));
    r->host[(colon ? colon : end) - p] = '\0';
  }
  if (colon) {
    char port[8];
    if (end - colon - 1 < 1 || end - colon - 1 > 5)
      return -1;
    memcpy(port, colon + 1, (size_t)(end - colon - 1));
    port[end - colon - 1] = '\0';
    if (srv_parse_u64(port, 1, 65535, &v))
      return -1;
    r->port = (int)v;
  }
  if (slash && slash[1]) {
    if (srv_parse_u64(slash + 1, 0, 1u << 20, &v))
      return -1;
    r->db = (unsigned)v;
  }
  return 0;
}

static redis *redis_new(hub *h, const char *url, const char *key,
                        uint64_t max_pending, uint64_t replay_max,
                        uint64_t timeout_ms, uint64_t backoff_max_ms) {
  redis *r = calloc(1, sizeof *r);
  size_t i;
  if (!r)
    return NULL;
  if (redis_url(r, url) != 0) {
    fprintf(stderr, "sse-hub: --redis: expected redis://HOST[:PORT][/DB], "
                    "got %s\n", url);
    free(r);
    return NULL;
  }
  r->h = h;
  r->key = key;
  r->npool = (size_t)max_pending;
  r->replay_max = (size_t)replay_max;
  r->timeout_ms = timeout_ms;
  r->backoff_max_ms = backoff_max_ms;
  r->maxlen = h->count_max;
  r->pool = calloc(r->npool, sizeof *r->pool);
  r->frames = calloc(r->replay_max, sizeof *r->frames);
  if (!r->pool || !r->frames) {
    fprintf(stderr, "sse-hub: out of memory\n");
    free(r->pool);
    free(r->frames);
    free(r);
    return NULL;
  }
  for (i = r->npool; i-- > 0;) {
    r->pool[i].next = r->free_list;
    r->free_list = &r->pool[i];
  }
  r->cmd.r = r->rd.r = r;
  r->cmd.io = r->rd.io = -1;
  r->cmd.name = "command";
  r->rd.name = "reader";
  r->cmd.backoff = r->rd.backoff = BACKOFF_MIN_MS;
  return r;
}

/* Connects both (called once srv exists). */
static void redis_start(redis *r) {
  rc_connect(&r->cmd);
  rc_connect(&r->rd);
  srv_set_timer(r->h->srv, srv_now() + TICK_MS);
}

static void redis_free(redis *r) {
  if (!r)
    return;
  rc_reset(&r->cmd);
  rc_reset(&r->rd);
  free(r->pool);
  free(r->frames);
  free(r);
}

#endif /* HUB_HAVE_REDIS */

/* ---- requests ----------------------------------------------------------- */

static void publish(hub *h, srv_conn *c, const srv_request *req) {
  char type[MAX_TYPE], idbuf[SSE_DEFAULT_MAX_LAST_EVENT_ID];
  char reply[SSE_DEFAULT_MAX_LAST_EVENT_ID + 1], extra[640];
  char names[SRV_MAX_KEYS][MAX_TOPIC];
  size_t lens[SRV_MAX_KEYS];
  uint64_t keys[SRV_MAX_KEYS], num = 0, next;
  long type_len, id_len, i;
  int nkeys;
  sse_message m;
  sse_frame *f;
  size_t flen;
  /* A browser form or script from another origin must not publish. */
  if (req->origin && !origin_allowed(h, req)) {
    int own = 0;
    const char *o = req->origin;
    size_t n = req->origin_len;
    if (req->host && n > 7 && !memcmp(o, "http://", 7))
      own = n - 7 == req->host_len && !memcmp(o + 7, req->host, n - 7);
    else if (req->host && n > 8 && !memcmp(o, "https://", 8))
      own = n - 8 == req->host_len && !memcmp(o + 8, req->host, n - 8);
    if (!own) {
      refuse(h, c, req, 403, "Origin not allowed to publish");
      return;
    }
  }
  if ((nkeys = topics(h, c, req, keys, names, lens)) < 0)
    return;
  if (check_auth(h, c, req, 1, names, lens, (size_t)nkeys) != 0)
    return;
  type_len = srv_query_param(req->query, req->query_len, "event", type,
                             sizeof type);
  id_len = srv_query_param(req->query, req->query_len, "id", idbuf,
                           sizeof idbuf);
  if (type_len == -2 || id_len == -2) {
    refuse(h, c, req, 400, "a bad % escape, or a value too long");
    return;
  }
  for (i = 0; i < type_len; i++)
    if (type[i] == '\r' || type[i] == '\n' || type[i] == '\0') {
      refuse(h, c, req, 400, "event: CR, LF or NUL in the type");
      return;
    }
  /* An id a client could not send back in Last-Event-ID unchanged would
   * break every client's next reconnect: refuse it here. */
  if (id_len >= 0 &&
      sse_http_check_id(idbuf, (size_t)id_len, 0) != SSE_OK) {
    refuse(h, c, req, 400,
           "id: must be 1 to 1024 bytes of 0x20-0x7E without leading or "
           "trailing spaces (it must come back in Last-Event-ID)");
    return;
  }
#ifdef HUB_HAVE_REDIS
  if (h->redis) {
    if (id_len >= 0) {
      refuse(h, c, req, 400, "id: with --redis the id is the Redis stream "
                             "entry's (leave ?id= out)");
      return;
    }
    /* The size check with the longest entry id. */
    memset(&m, 0, sizeof m);
    m.id = "18446744073709551615-18446744073709551615";
    m.id_len = strlen(m.id);
    m.type = type_len > 0 ? type : NULL;
    m.type_len = type_len > 0 ? (size_t)type_len : 0;
    m.data = req->body ? req->body : "";
    m.data_len = req->body_len;
    if (sse_frame_new_message(&f, &m, NULL) != SSE_OK) {
      refuse(h, c, req, 503, "out of memory");
      return;
    }
    sse_frame_get_bytes(f, &flen);
    sse_frame_release(f);
    if (flen > h->max_frame) {
      refuse(h, c, req, 413, "the encoded event is larger than half of "
                             "--max-pending");
      return;
    }
    cors_lines(h, req, extra, sizeof extra);
    redis_publish(h, c, extra, m.data, m.data_len, type,
                  type_len > 0 ? (size_t)type_len : 0, names, lens,
                  (size_t)nkeys, !(nkeys == 1 && lens[0] == 0));
    return;
  }
#endif
  lock(h);
  next = h->next_id;
  if (id_len > 0) {
    /* A larger numeric id moves the numbering on, so later ids increase. */
    if (numeric_id(idbuf, (size_t)id_len, &num) && num >= h->next_id &&
        num < UINT64_MAX / 2)
      next = num + 1;
  } else {
    num = next++;
    id_len = snprintf(idbuf, sizeof idbuf, "%llu", (unsigned long long)num);
  }
  memset(&m, 0, sizeof m);
  m.id = idbuf;
  m.id_len = (size_t)id_len;
  if (type_len > 0) {
    m.type = type;
    m.type_len = (size_t)type_len;
  }
  m.data = req->body ? req->body : "";
  m.data_len = req->body_len;
  if (sse_frame_new_message(&f, &m, NULL) != SSE_OK) {
    unlock(h);
    refuse(h, c, req, 503, "out of memory");
    return;
  }
  sse_frame_get_bytes(f, &flen);
  if (flen > h->max_frame) { /* many short lines: one data: line each */
    unlock(h);
    sse_frame_release(f);
    refuse(h, c, req, 413, "the encoded event is larger than half of "
                           "--max-pending");
    return;
  }
  if (fan_out(h, f, keys, (size_t)nkeys) != 0) {
    unlock(h);
    sse_frame_release(f);
    refuse(h, c, req, 503, "cannot broadcast (the workers' queues are "
                           "full)");
    return;
  }
  keep_event(h, f, num, 0, keys, (size_t)nkeys);
  sse_frame_release(f);
  h->next_id = next; /* only an event sent takes an id */
  h->events++;
  memcpy(h->last_id, idbuf, (size_t)id_len);
  h->last_id_len = (size_t)id_len;
  unlock(h);
  memcpy(reply, idbuf, (size_t)id_len); /* the id, which the client may need */
  reply[id_len] = '\n';
  cors_lines(h, req, extra, sizeof extra);
  srv_respond(c, 202, extra, "text/plain; charset=utf-8", reply,
              (size_t)id_len + 1);
}

static void subscribe_locked(hub *h, srv_conn *c, const srv_sub_opts *so,
                             const char *id, size_t id_len,
                             const uint64_t *keys, int nkeys);

static void subscribe(hub *h, srv_conn *c, const srv_request *req) {
  char buf[SSE_DEFAULT_MAX_LAST_EVENT_ID], extra[640];
  char names[SRV_MAX_KEYS][MAX_TOPIC];
  size_t lens[SRV_MAX_KEYS];
  uint64_t keys[SRV_MAX_KEYS];
  const char *id;
  size_t id_len;
  srv_sub_opts o;
  int nkeys;
  if (srv_last_event_id(req, buf, sizeof buf, &id, &id_len) != 0) {
    refuse(h, c, req, 400, "Last-Event-ID: malformed or too long");
    return;
  }
  if ((nkeys = topics(h, c, req, keys, names, lens)) < 0)
    return;
  if (check_auth(h, c, req, 0, names, lens, (size_t)nkeys) != 0)
    return;
  cors_lines(h, req, extra, sizeof extra);
  memset(&o, 0, sizeof o);
  o.extra = extra;
  o.keys = keys;
  o.nkeys = (size_t)nkeys;
  o.retry_ms = h->retry_ms;
  lock(h);
  if (h->jitter_ms)
    o.retry_ms += next_rand(h) % (h->jitter_ms + 1);
  if (h->nworkers > 1) /* frames posted before now: in the history */
    srv_sync(srv_of(c));
  subscribe_locked(h, c, &o, id, id_len, keys, nkeys);
  unlock(h);
}

/* Registers the subscriber, then replays: under lock, so that every event
 * is either in the history before it joins or fanned out to it after. */
static void subscribe_locked(hub *h, srv_conn *c, const srv_sub_opts *so,
                             const char *id, size_t id_len,
                             const uint64_t *keys, int nkeys) {
  srv_sub_opts o = *so;
  sse_stream *st;
#ifdef HUB_HAVE_REDIS
  if (h->redis && id_len) {
    sid x;
    long k = -1;
    if (sid_parse(id, id_len, &x) && (k = rfind(h, x)) < 0) {
      redis_resume(h, c, x, id, id_len, &o); /* not cached: ask Redis */
      return;
    }
    if ((st = srv_subscribe_ex(c, &o)) != NULL &&
        (k < 0 ? send_resync(h, st, "unknown", id, id_len)
               : replay_from(h, st, (size_t)k + 1, keys, (size_t)nkeys)) !=
            SSE_OK)
      srv_drop(c);
    return;
  }
#endif
  st = srv_subscribe_ex(c, &o);
  if (!st || !id_len)
    return;
  if (replay(h, st, id, id_len, keys, (size_t)nkeys) != SSE_OK)
    srv_drop(c);
}

/* --redis counters: connections up (0-2), resumes read from Redis,
 * publishes Redis acknowledged, requests refused for Redis (503). */
static void redis_counters(const hub *h, uint64_t v[4]) {
  v[0] = v[1] = v[2] = v[3] = 0;
#ifdef HUB_HAVE_REDIS
  if (h->redis) {
    v[0] = (uint64_t)h->redis->cmd.up + (uint64_t)h->redis->rd.up;
    v[1] = h->redis->replays;
    v[2] = h->redis->published;
    v[3] = h->redis->failed;
  }
#else
  (void)h;
#endif
}

static void stats(hub *h, srv_conn *c) {
  char body[640];
  uint64_t rv[4];
  srv_totals t;
  const srv_counters *k = &t.counters;
  int n;
  totals(h, &t);
  lock(h);
  redis_counters(h, rv);
  n = snprintf(
      body, sizeof body,
      "{\"subscribers\":%zu,\"events\":%llu,\"deliveries\":%llu,"
      "\"writes\":%llu,\"cut\":%llu,\"cut_overflow\":%llu,"
      "\"cut_stall\":%llu,\"cut_error\":%llu,\"resyncs\":%llu,"
      "\"history\":%zu,\"history_bytes\":%zu,\"bytes_written\":%llu,"
      "\"redis_up\":%llu,\"redis_replays\":%llu,\"redis_published\":%llu,"
      "\"redis_refused\":%llu}\n",
      t.subscribers, (unsigned long long)h->events,
      (unsigned long long)t.deliveries, (unsigned long long)t.writes,
      (unsigned long long)(k->cut[0] + k->cut[1] + k->cut[2]),
      (unsigned long long)k->cut[SRV_CUT_OVERFLOW],
      (unsigned long long)k->cut[SRV_CUT_STALL],
      (unsigned long long)k->cut[SRV_CUT_ERROR],
      (unsigned long long)h->resyncs, h->count, h->bytes,
      (unsigned long long)k->bytes_written, (unsigned long long)rv[0],
      (unsigned long long)rv[1], (unsigned long long)rv[2],
      (unsigned long long)rv[3]);
  unlock(h);
  srv_respond(c, 200, NULL, "application/json", body, (size_t)n);
}

static size_t metric(char *b, size_t cap, size_t n, const char *name,
                     const char *type, const char *help, const char *labels,
                     unsigned long long v) {
  int r;
  if (n >= cap)
    return n;
  if (help)
    r = snprintf(b + n, cap - n, "# HELP %s %s\n# TYPE %s %s\n%s%s %llu\n",
                 name, help, name, type, name, labels, v);
  else
    r = snprintf(b + n, cap - n, "%s%s %llu\n", name, labels, v);
  return r < 0 ? cap : n + (size_t)r;
}

static void metrics(hub *h, srv_conn *c) {
  static const char *why[SRV_CUT_COUNT] = {"overflow", "stall", "error"};
  srv_totals t;
  const srv_counters *k = &t.counters;
  char b[8192], lab[64];
  size_t n = 0, cap = sizeof b;
  int i, first = 1;
  totals(h, &t);
  lock(h);
  n = metric(b, cap, n, "sse_hub_subscribers", "gauge",
             "Subscribers connected.", "", t.subscribers);
  n = metric(b, cap, n, "sse_hub_events_total", "counter",
             "Events published.", "", h->events);
  n = metric(b, cap, n, "sse_hub_deliveries_total", "counter",
             "Events queued on subscribers (live fan-out).", "",
             t.deliveries);
  for (i = 0; i < SRV_CUT_COUNT; i++) {
    snprintf(lab, sizeof lab, "{reason=\"%s\"}", why[i]);
    n = metric(b, cap, n, "sse_hub_subscribers_cut_total", "counter",
               i ? NULL : "Subscribers cut, by reason.", lab, k->cut[i]);
  }
  for (i = 400; i < 600; i++) {
    if (!k->status[i] && i != 400)
      continue;
    snprintf(lab, sizeof lab, "{status=\"%d\"}", i);
    n = metric(b, cap, n, "sse_hub_requests_refused_total", "counter",
               first ? "Requests answered with an error status." : NULL, lab,
               k->status[i]);
    first = 0;
  }
  n = metric(b, cap, n, "sse_hub_resyncs_total", "counter",
             "Resync events sent.", "", h->resyncs);
  n = metric(b, cap, n, "sse_hub_bytes_written_total", "counter",
             "Bytes written to sockets.", "", k->bytes_written);
  n = metric(b, cap, n, "sse_hub_writes_total", "counter",
             "writev calls for streams.", "", t.writes);
  n = metric(b, cap, n, "sse_hub_history_events", "gauge",
             "Events kept for replay.", "", h->count);
  n = metric(b, cap, n, "sse_hub_history_bytes", "gauge",
             "Bytes of the events kept for replay.", "", h->bytes);
  if (h->redis) {
    uint64_t rv[4];
    redis_counters(h, rv);
    n = metric(b, cap, n, "sse_hub_redis_connections_up", "gauge",
               "Redis connections up (of 2).", "", rv[0]);
    n = metric(b, cap, n, "sse_hub_redis_replays_total", "counter",
               "Resumes read from Redis (older than the local history).",
               "", rv[1]);
    n = metric(b, cap, n, "sse_hub_redis_published_total", "counter",
               "Events this node appended to the stream.", "", rv[2]);
    n = metric(b, cap, n, "sse_hub_redis_refused_total", "counter",
               "Requests answered 503 because Redis could not answer.", "",
               rv[3]);
  }
  unlock(h);
  if (n >= cap) {
    srv_error(c, 500);
    return;
  }
  srv_respond(c, 200, NULL, "text/plain; version=0.0.4; charset=utf-8", b, n);
}

static void preflight(hub *h, srv_conn *c, const srv_request *req) {
  char extra[768];
  if (!origin_allowed(h, req)) {
    refuse(h, c, req, 403, "Origin not allowed");
    return;
  }
  snprintf(extra, sizeof extra,
           "Access-Control-Allow-Origin: %.*s\r\n"
           "Access-Control-Allow-Credentials: true\r\n"
           "Access-Control-Allow-Methods: GET, POST\r\n"
           "Access-Control-Allow-Headers: Authorization, Content-Type, "
           "Last-Event-ID\r\nAccess-Control-Max-Age: 600\r\nVary: Origin\r\n",
           (int)req->origin_len, req->origin);
  srv_respond(c, 204, extra, NULL, NULL, 0);
}

static void on_request(void *user, srv_conn *c, const srv_request *req) {
  hub *h = user;
  int get = is(req->method, req->method_len, "GET") ||
            is(req->method, req->method_len, "HEAD");
  int admin_ok = !h->admin_split || req->admin;
  if (is(req->path, req->path_len, "/healthz") && get) {
    srv_respond(c, 200, NULL, "text/plain; charset=utf-8", "ok\n", 3);
  } else if (is(req->path, req->path_len, "/stats") && get && admin_ok) {
    stats(h, c);
  } else if (is(req->path, req->path_len, "/metrics") && get && admin_ok) {
    metrics(h, c);
  } else if (req->admin) {
    srv_error(c, 404); /* the admin listener serves only the above */
  } else if (is(req->path, req->path_len, "/events")) {
    if (is(req->method, req->method_len, "GET"))
      subscribe(h, c, req);
    else if (is(req->method, req->method_len, "OPTIONS"))
      preflight(h, c, req);
    else
      srv_respond(c, 405, "Allow: GET, OPTIONS\r\n", NULL, NULL, 0);
  } else if (is(req->path, req->path_len, "/publish")) {
    if (is(req->method, req->method_len, "POST"))
      publish(h, c, req);
    else if (is(req->method, req->method_len, "OPTIONS"))
      preflight(h, c, req);
    else
      srv_respond(c, 405, "Allow: POST, OPTIONS\r\n", NULL, NULL, 0);
  } else if (is(req->path, req->path_len, "/") && get) {
    static const char text[] = "sse-hub: GET /events, POST /publish, "
                               "GET /stats, GET /metrics, GET /healthz\n";
    srv_respond(c, 200, NULL, "text/plain; charset=utf-8", text,
                sizeof text - 1);
  } else {
    srv_error(c, 404);
  }
}

static void print_counters(hub *h) {
  srv_totals t;
  const srv_counters *k = &t.counters;
  totals(h, &t);
  lock(h);
  fprintf(stderr,
          "sse-hub: %zu subscribers, %llu events, %llu deliveries in %llu "
          "writes, cut %llu (overflow) %llu (stall) %llu (error), %zu kept\n",
          t.subscribers, (unsigned long long)h->events,
          (unsigned long long)t.deliveries, (unsigned long long)t.writes,
          (unsigned long long)k->cut[SRV_CUT_OVERFLOW],
          (unsigned long long)k->cut[SRV_CUT_STALL],
          (unsigned long long)k->cut[SRV_CUT_ERROR], h->count);
  unlock(h);
}

static void on_signal(void *user, int signo) {
  hub *h = user;
  if (signo == SIGUSR1) {
    print_counters(h);
  } else if (signo == SIGHUP && (h->secret_file || h->pubkey_file)) {
    int rc;
    lock(h);
    rc = load_keys(h);
    unlock(h);
    if (rc == 0)
      fprintf(stderr, "sse-hub: SIGHUP: key files reloaded\n");
    else
      fprintf(stderr, "sse-hub: SIGHUP: reload failed; old keys kept\n");
  } else if (signo != SIGHUP) { /* a stop signal reaches one worker */
    size_t i;
    for (i = 0; i < h->nworkers; i++)
      srv_stop(h->workers[i]);
  }
}

static void *run_worker(void *arg) {
  srv_run(arg);
  return NULL;
}

/* ADDR:PORT or [ADDR]:PORT into addr (cap bytes) and *port. */
static int split_hostport(const char *v, char *addr, size_t cap,
                          uint64_t *port) {
  const char *colon = strrchr(v, ':'), *a = v, *e;
  if (!colon || colon == v)
    return -1;
  e = colon;
  if (*v == '[') {
    if (colon[-1] != ']')
      return -1;
    a = v + 1;
    e = colon - 1;
  }
  if ((size_t)(e - a) >= cap || e == a)
    return -1;
  memcpy(addr, a, (size_t)(e - a));
  addr[e - a] = '\0';
  return srv_parse_u64(colon + 1, 0, 65535, port);
}

static uint64_t seed_word(void) {
  uint64_t v = 0;
  FILE *f = fopen("/dev/urandom", "rb");
  if (!f || fread(&v, sizeof v, 1, f) != 1) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    v = mix((uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
            (uint64_t)ts.tv_sec);
  }
  if (f)
    fclose(f);
  return v ? v : 0x9e3779b97f4a7c15ULL;
}

int main(int argc, char **argv) {
  static hub h;
  srv_config cfg = {0};
  char admin_addr[64];
  uint64_t port = 8080, history = 1024, heartbeat = 15000, admin_port = 0;
  uint64_t max_pending = SSE_DEFAULT_MAX_PENDING, max_body = 65536;
  uint64_t timeout = 10000, sndbuf = 131072, stall = 30000, total = 0;
  uint64_t first_id = 0;
  uint64_t redis_pending = 1024, redis_replay = 0, redis_timeout = 2000;
  uint64_t redis_backoff = 2000, workers = 0;
  pthread_t threads[MAX_WORKERS];
  size_t started = 0, w;
  const char *redis_url_arg = NULL, *redis_key = "sse-hub";
  int i, rc;
  cfg.bind_addr = "127.0.0.1";
  h.resync = DEFAULT_RESYNC;
  for (i = 1; i < argc; i++) {
    const char *v = NULL;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(usage, stdout);
      fputs(usage2, stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--anonymous-subscribers")) {
      h.anonymous = 1;
    } else if ((rc = srv_option(argc, argv, &i, "--port", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 0, 65535, &port))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--bind", &v)) != 0) {
      if (rc < 0)
        goto bad;
      cfg.bind_addr = v;
    } else if ((rc = srv_option(argc, argv, &i, "--admin-bind", &v)) != 0) {
      if (rc < 0 || split_hostport(v, admin_addr, sizeof admin_addr,
                                   &admin_port))
        goto bad;
      cfg.admin_bind = admin_addr;
      h.admin_split = 1;
    } else if ((rc = srv_option(argc, argv, &i, "--history", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 0, 1u << 24, &history))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--first-id", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 1, UINT64_MAX / 4, &first_id))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--resync-event", &v)) != 0) {
      if (rc < 0 || !*v || strlen(v) > MAX_TYPE || strpbrk(v, "\r\n"))
        goto bad;
      h.resync = v;
    } else if ((rc = srv_option(argc, argv, &i, "--heartbeat-ms", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 0, 86400000, &heartbeat))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--max-pending", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 4096, (uint64_t)1 << 30, &max_pending))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--sndbuf", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 4096, (uint64_t)1 << 30, &sndbuf))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--stall-timeout-ms", &v)) !=
               0) {
      if (rc < 0 || srv_parse_u64(v, 100, 86400000, &stall))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--max-body", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 0, (uint64_t)16 << 20, &max_body))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--max-body-total", &v)) !=
               0) {
      if (rc < 0 || srv_parse_u64(v, 1, (uint64_t)1 << 34, &total))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--retry-ms", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 0, 86400000, &h.retry_ms))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--retry-jitter-ms", &v)) !=
               0) {
      if (rc < 0 || srv_parse_u64(v, 0, 86400000, &h.jitter_ms))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--request-timeout-ms", &v)) !=
               0) {
      if (rc < 0 || srv_parse_u64(v, 1, 3600000, &timeout))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--jwt-secret-file", &v)) !=
               0) {
      if (rc < 0)
        goto bad;
      h.secret_file = v;
    } else if ((rc = srv_option(argc, argv, &i, "--jwt-public-key-file",
                                &v)) != 0) {
      if (rc < 0)
        goto bad;
      h.pubkey_file = v;
    } else if ((rc = srv_option(argc, argv, &i, "--workers", &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 1, MAX_WORKERS, &workers))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--redis", &v)) != 0) {
      if (rc < 0)
        goto bad;
      redis_url_arg = v;
    } else if ((rc = srv_option(argc, argv, &i, "--redis-stream", &v)) != 0) {
      if (rc < 0 || !*v || strlen(v) > 256)
        goto bad;
      redis_key = v;
    } else if ((rc = srv_option(argc, argv, &i, "--redis-max-pending", &v)) !=
               0) {
      if (rc < 0 || srv_parse_u64(v, 1, 1u << 20, &redis_pending))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--redis-replay-max", &v)) !=
               0) {
      if (rc < 0 || srv_parse_u64(v, 1, 1u << 24, &redis_replay))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--redis-timeout-ms", &v)) !=
               0) {
      if (rc < 0 || srv_parse_u64(v, 100, 600000, &redis_timeout))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--redis-backoff-max-ms",
                                &v)) != 0) {
      if (rc < 0 || srv_parse_u64(v, 100, 600000, &redis_backoff))
        goto bad;
    } else if ((rc = srv_option(argc, argv, &i, "--cors-origin", &v)) != 0) {
      if (rc < 0 || h.norigins == MAX_ORIGINS || !*v || strlen(v) > 256 ||
          strpbrk(v, "\r\n"))
        goto bad;
      h.origins[h.norigins++] = v;
    } else {
      goto bad;
    }
  }
  if (h.jitter_ms && !h.retry_ms) {
    fprintf(stderr, "sse-hub: --retry-jitter-ms needs --retry-ms\n");
    return 2;
  }
#ifndef HUB_HAVE_JWT
  if (h.secret_file || h.pubkey_file) {
    fprintf(stderr, "sse-hub: built without JWT support (libjwt)\n");
    return 2;
  }
#endif
#ifndef HUB_HAVE_REDIS
  if (redis_url_arg) {
    fprintf(stderr, "sse-hub: built without Redis support (hiredis; Debian: "
                    "libhiredis-dev)\n");
    return 2;
  }
#endif
  if (redis_url_arg && workers > 1) {
    fprintf(stderr, "sse-hub: --redis runs one worker per node (run more "
                    "nodes instead of --workers)\n");
    return 2;
  }
  if (!workers) { /* the number of CPUs (one with --redis) */
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    workers = redis_url_arg || n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS
                                                           : (uint64_t)n;
  }
  if (redis_url_arg && !history) {
    fprintf(stderr, "sse-hub: --redis needs --history of at least 1\n");
    return 2;
  }
  if (load_keys(&h) != 0)
    return 1;
  if (!first_id) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    first_id = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  }
  h.first_id = h.next_id = first_id;
  h.seed[0] = seed_word();
  h.seed[1] = seed_word();
  h.rng = seed_word();
  cfg.port = (unsigned)port;
  cfg.admin_port = (unsigned)admin_port;
  cfg.max_body = (size_t)max_body;
  cfg.max_in_flight = (size_t)total;
  cfg.max_pending = (size_t)max_pending;
  cfg.sndbuf = (size_t)sndbuf;
  cfg.stall_ms = stall;
  cfg.heartbeat_ms = heartbeat;
  cfg.no_heartbeat = heartbeat == 0;
  cfg.retry_ms = h.retry_ms;
  cfg.request_timeout_ms = timeout;
  cfg.on_request = on_request;
  cfg.on_signal = on_signal;
  cfg.user = &h;
  /* A full replay (half of max-pending) always fits a new stream, and no
   * event is larger than that, so one event can never cut everyone. */
  h.max_frame = (size_t)max_pending / 2;
  h.bytes_max = h.max_frame;
  h.count_max = (size_t)history;
  if (history && !(h.ring = calloc((size_t)history, sizeof *h.ring))) {
    fprintf(stderr, "sse-hub: out of memory\n");
    return 1;
  }
#ifdef HUB_HAVE_REDIS
  if (redis_url_arg) {
    /* the XREAD connection's 1 s block must not be cut as a late answer */
    cfg.on_timer = on_timer;
    if (!(h.redis = redis_new(&h, redis_url_arg, redis_key, redis_pending,
                              redis_replay ? redis_replay : history + 1024,
                              redis_timeout, redis_backoff))) {
      free(h.ring);
      return redis_url(&(redis){0}, redis_url_arg) ? 2 : 1;
    }
  }
#else
  (void)redis_pending, (void)redis_replay, (void)redis_timeout;
  (void)redis_backoff, (void)redis_key;
#endif
  h.workers = calloc((size_t)workers, sizeof *h.workers);
  if (!h.workers || pthread_mutex_init(&h.lock, NULL) != 0) {
    fprintf(stderr, "sse-hub: out of memory\n");
    return 1;
  }
  /* Worker 0 binds the port (maybe 0: any), the others the same one; the
   * kernel spreads connections over them (SO_REUSEPORT). Only worker 0
   * has the admin listener and the Redis connections. */
  cfg.reuseport = workers > 1;
  if (workers > 1) { /* --max-body-total bounds all workers together */
    static srv_in_flight in_flight;
    if (pthread_mutex_init(&in_flight.mu, NULL) != 0)
      return 1;
    cfg.in_flight = &in_flight;
  }
  for (w = 0; w < workers; w++) {
    if (srv_new(&h.workers[w], &cfg, "sse-hub") != 0) {
      while (w-- > 0)
        srv_free(h.workers[w]);
      free(h.ring);
      return 1;
    }
    cfg.port = srv_port(h.workers[0]);
    cfg.admin_bind = NULL;
    cfg.on_timer = NULL;
  }
  h.nworkers = (size_t)workers;
  h.srv = h.workers[0];
#ifdef HUB_HAVE_REDIS
  if (h.redis)
    redis_start(h.redis);
#endif
  printf("sse-hub: listening on http://%s%s%s:%u/ (fd limit %llu, %zu "
         "worker%s)\n",
         strchr(cfg.bind_addr, ':') ? "[" : "", cfg.bind_addr,
         strchr(cfg.bind_addr, ':') ? "]" : "", srv_port(h.srv),
         (unsigned long long)srv_max_fds(h.srv), h.nworkers,
         h.nworkers == 1 ? "" : "s");
  if (h.admin_split)
    printf("sse-hub: admin on http://%s%s%s:%u/\n",
           strchr(admin_addr, ':') ? "[" : "", admin_addr,
           strchr(admin_addr, ':') ? "]" : "", srv_admin_port(h.srv));
  fflush(stdout);
  for (w = 1; w < h.nworkers; w++) {
    if (pthread_create(&threads[w], NULL, run_worker, h.workers[w]) != 0) {
      fprintf(stderr, "sse-hub: cannot start worker %zu\n", w);
      break;
    }
    started = w;
  }
  if (started + 1 < h.nworkers) {
    for (w = 0; w < h.nworkers; w++)
      srv_stop(h.workers[w]);
  }
  rc = srv_run(h.srv);
  for (w = 0; w < h.nworkers; w++) /* (a no-op when a signal did it) */
    srv_stop(h.workers[w]);
  for (w = 1; w <= started; w++)
    pthread_join(threads[w], NULL);
  {
    srv_totals t;
    totals(&h, &t);
    fprintf(stderr,
            "sse-hub: stopped after %llu events, %llu deliveries in %llu "
            "writes, %llu cut\n",
            (unsigned long long)h.events, (unsigned long long)t.deliveries,
            (unsigned long long)t.writes,
            (unsigned long long)(t.counters.cut[0] + t.counters.cut[1] +
                                 t.counters.cut[2]));
  }
#ifdef HUB_HAVE_REDIS
  redis_free(h.redis); /* before srv: its descriptors are watched there */
#endif
  for (w = 0; w < h.nworkers; w++)
    srv_free(h.workers[w]);
  free(h.workers);
  pthread_mutex_destroy(&h.lock);
  while (h.count)
    evict(&h);
  free(h.ring);
  free(h.secret);
  free(h.pubkey);
  return rc ? 1 : 0;
bad:
  fprintf(stderr, "sse-hub: bad or incomplete option: %s\n%s%s", argv[i],
          usage, usage2);
  return 2;
}
