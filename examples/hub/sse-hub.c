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
 * One thread and one epoll loop (srv.c). Each event is encoded once into an
 * sse_frame, kept in the history and queued on every subscriber of one of
 * its topics by reference. Topics are compared by a 64-bit hash keyed with
 * a random key per run (srv matches keys, not names).
 *
 * Ids: one increasing sequence across topics, starting at --first-id
 * (default: the wall clock in microseconds at start, so ids of a later run
 * are larger than any of an earlier one: an id from another run is
 * unknown, never mistaken for one of this run).
 */
#define _POSIX_C_SOURCE 200809L
#include "srv.h"

#include <errno.h>
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

#define MAX_TYPE 256      /* bytes of an event type (?event=) */
#define MAX_TOPIC 256     /* bytes of a topic name */
#define MAX_TOKEN 8192    /* bytes of a JWT */
#define MAX_ORIGINS 16    /* --cors-origin */
#define MAX_KEY_FILE (64 << 10)
#define DEFAULT_RESYNC "sse-resync"

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
    "                         is neither allowed nor the hub's own gets 403\n"
    "\n"
    "Signals: SIGTERM, SIGINT, SIGQUIT stop gracefully; SIGHUP reloads the key\n"
    "files (the old keys stay on error); SIGUSR1 prints the counters to stderr.\n";

/* An event kept for replay. */
typedef struct entry {
  sse_frame *frame;
  uint64_t num; /* its id as a number, or 0 when not decimal */
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
} hub;

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
  if (!h->secret && !h->pubkey)
    return 0;
  rc = authorize(h, req, publish, names, lens, n, &why);
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

static void keep_event(hub *h, sse_frame *f, uint64_t num,
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

/* Replays the events after id that share a key, or sends the resync event
 * when id is evicted or unknown. */
static int replay(hub *h, sse_stream *st, const char *id, size_t len,
                  const uint64_t *keys, size_t nkeys) {
  uint64_t num = 0;
  long i;
  int rc = SSE_OK;
  numeric_id(id, len, &num);
  i = find(h, id, len, num);
  if (i < 0) {
    /* Ours but gone: a number this run gave out before the oldest kept. */
    uint64_t oldest = h->count && at(h, 0)->num ? at(h, 0)->num : h->next_id;
    int evicted = num >= h->first_id && num < oldest;
    return send_resync(h, st, evicted ? "evicted" : "unknown", id, len);
  }
  for (i++; (size_t)i < h->count && rc == SSE_OK; i++)
    if (shares(at(h, (size_t)i), keys, nkeys))
      rc = sse_stream_send_frame(st, at(h, (size_t)i)->frame);
  return rc;
}

/* ---- requests ----------------------------------------------------------- */

static void publish(hub *h, srv_conn *c, const srv_request *req) {
  char type[MAX_TYPE], idbuf[SSE_DEFAULT_MAX_LAST_EVENT_ID];
  char reply[SSE_DEFAULT_MAX_LAST_EVENT_ID + 1], extra[640];
  char names[SRV_MAX_KEYS][MAX_TOPIC];
  size_t lens[SRV_MAX_KEYS];
  uint64_t keys[SRV_MAX_KEYS], num = 0, next = h->next_id;
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
    refuse(h, c, req, 503, "out of memory");
    return;
  }
  sse_frame_get_bytes(f, &flen);
  if (flen > h->max_frame) { /* many short lines: one data: line each */
    sse_frame_release(f);
    refuse(h, c, req, 413, "the encoded event is larger than half of "
                           "--max-pending");
    return;
  }
  if (srv_broadcast_keys(h->srv, f, keys, (size_t)nkeys) != 0) {
    sse_frame_release(f);
    refuse(h, c, req, 503, "cannot broadcast");
    return;
  }
  keep_event(h, f, num, keys, (size_t)nkeys);
  sse_frame_release(f);
  h->next_id = next; /* only an event sent takes an id */
  h->events++;
  memcpy(h->last_id, idbuf, (size_t)id_len);
  h->last_id_len = (size_t)id_len;
  memcpy(reply, idbuf, (size_t)id_len); /* the id, which the client may need */
  reply[id_len] = '\n';
  cors_lines(h, req, extra, sizeof extra);
  srv_respond(c, 202, extra, "text/plain; charset=utf-8", reply,
              (size_t)id_len + 1);
}

static void subscribe(hub *h, srv_conn *c, const srv_request *req) {
  char buf[SSE_DEFAULT_MAX_LAST_EVENT_ID], extra[640];
  char names[SRV_MAX_KEYS][MAX_TOPIC];
  size_t lens[SRV_MAX_KEYS];
  uint64_t keys[SRV_MAX_KEYS];
  const char *id;
  size_t id_len;
  srv_sub_opts o;
  sse_stream *st;
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
  if (h->jitter_ms)
    o.retry_ms += next_rand(h) % (h->jitter_ms + 1);
  st = srv_subscribe_ex(c, &o);
  if (!st || !id_len)
    return;
  if (replay(h, st, id, id_len, keys, (size_t)nkeys) != SSE_OK)
    srv_drop(c);
}

static void stats(hub *h, srv_conn *c) {
  char body[512];
  const srv_counters *k = srv_get_counters(h->srv);
  int n = snprintf(
      body, sizeof body,
      "{\"subscribers\":%zu,\"events\":%llu,\"deliveries\":%llu,"
      "\"writes\":%llu,\"cut\":%llu,\"cut_overflow\":%llu,"
      "\"cut_stall\":%llu,\"cut_error\":%llu,\"resyncs\":%llu,"
      "\"history\":%zu,\"history_bytes\":%zu,\"bytes_written\":%llu}\n",
      srv_subscribers(h->srv), (unsigned long long)h->events,
      (unsigned long long)srv_delivery_count(h->srv),
      (unsigned long long)srv_write_count(h->srv),
      (unsigned long long)srv_cut_count(h->srv),
      (unsigned long long)k->cut[SRV_CUT_OVERFLOW],
      (unsigned long long)k->cut[SRV_CUT_STALL],
      (unsigned long long)k->cut[SRV_CUT_ERROR],
      (unsigned long long)h->resyncs, h->count, h->bytes,
      (unsigned long long)k->bytes_written);
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
  const srv_counters *k = srv_get_counters(h->srv);
  char b[8192], lab[64];
  size_t n = 0, cap = sizeof b;
  int i, first = 1;
  n = metric(b, cap, n, "sse_hub_subscribers", "gauge",
             "Subscribers connected.", "", srv_subscribers(h->srv));
  n = metric(b, cap, n, "sse_hub_events_total", "counter",
             "Events published.", "", h->events);
  n = metric(b, cap, n, "sse_hub_deliveries_total", "counter",
             "Events queued on subscribers (live fan-out).", "",
             srv_delivery_count(h->srv));
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
             "writev calls for streams.", "", srv_write_count(h->srv));
  n = metric(b, cap, n, "sse_hub_history_events", "gauge",
             "Events kept for replay.", "", h->count);
  n = metric(b, cap, n, "sse_hub_history_bytes", "gauge",
             "Bytes of the events kept for replay.", "", h->bytes);
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
  const srv_counters *k = srv_get_counters(h->srv);
  fprintf(stderr,
          "sse-hub: %zu subscribers, %llu events, %llu deliveries in %llu "
          "writes, cut %llu (overflow) %llu (stall) %llu (error), %zu kept\n",
          srv_subscribers(h->srv), (unsigned long long)h->events,
          (unsigned long long)srv_delivery_count(h->srv),
          (unsigned long long)srv_write_count(h->srv),
          (unsigned long long)k->cut[SRV_CUT_OVERFLOW],
          (unsigned long long)k->cut[SRV_CUT_STALL],
          (unsigned long long)k->cut[SRV_CUT_ERROR], h->count);
}

static void on_signal(void *user, int signo) {
  hub *h = user;
  if (signo == SIGUSR1) {
    print_counters(h);
  } else if (signo == SIGHUP && (h->secret_file || h->pubkey_file)) {
    if (load_keys(h) == 0)
      fprintf(stderr, "sse-hub: SIGHUP: key files reloaded\n");
    else
      fprintf(stderr, "sse-hub: SIGHUP: reload failed; old keys kept\n");
  }
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
  int i, rc;
  cfg.bind_addr = "127.0.0.1";
  h.resync = DEFAULT_RESYNC;
  for (i = 1; i < argc; i++) {
    const char *v = NULL;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(usage, stdout);
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
  if (srv_new(&h.srv, &cfg, "sse-hub") != 0) {
    free(h.ring);
    return 1;
  }
  printf("sse-hub: listening on http://%s%s%s:%u/ (fd limit %llu)\n",
         strchr(cfg.bind_addr, ':') ? "[" : "", cfg.bind_addr,
         strchr(cfg.bind_addr, ':') ? "]" : "", srv_port(h.srv),
         (unsigned long long)srv_max_fds(h.srv));
  if (cfg.admin_bind)
    printf("sse-hub: admin on http://%s%s%s:%u/\n",
           strchr(admin_addr, ':') ? "[" : "", admin_addr,
           strchr(admin_addr, ':') ? "]" : "", srv_admin_port(h.srv));
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
  while (h.count)
    evict(&h);
  free(h.ring);
  free(h.secret);
  free(h.pubkey);
  return rc ? 1 : 0;
bad:
  fprintf(stderr, "sse-hub: bad or incomplete option: %s\n%s", argv[i], usage);
  return 2;
}
