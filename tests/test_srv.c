/* examples/hub/srv.c, the HTTP/epoll core of sse-demo and sse-hub: the
 * request parser and its limits, query parameters, and the fan-out walk
 * (frames arriving mid-walk, subscribers leaving and joining mid-walk, the
 * ring overflowing), driven directly over socketpairs. The programs
 * themselves are tested end to end in tests/e2e. */
#include "../examples/hub/srv.c" /* first: it defines _GNU_SOURCE */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

/* ---- parser -------------------------------------------------------------- */

/* Parses text as a complete head; returns parse_head's status. */
static int parse(const char *text, head *h) {
  uint32_t scan = 0;
  size_t len = strlen(text), hl = head_end(text, len, &scan);
  assert_int_equal(hl, len); /* every case is exactly one complete head */
  return parse_head(text, hl, h, 1000);
}

static void test_head_end(void **state) {
  const char *t = "GET / HTTP/1.1\r\nHost: x\r\n\r\nrest";
  uint32_t scan = 0;
  size_t i;
  (void)state;
  /* Fed a byte more each time, resuming: complete exactly at the blank
   * line, never before. */
  for (i = 0; i < strlen(t); i++) {
    size_t hl = head_end(t, i, &scan);
    assert_int_equal(hl, i >= 27 ? 27 : 0);
    if (hl)
      break;
  }
  scan = 0;
  assert_int_equal(head_end("GET / HTTP/1.0\n\nx", 17, &scan), 16);
  scan = 0;
  assert_int_equal(head_end("GET / HTTP/1.0\r\nA: b\r\n", 23, &scan), 0);
  assert_int_equal(scan, 22); /* resumes at the incomplete line */
}

static void test_parse_ok(void **state) {
  head h;
  (void)state;
  assert_int_equal(parse("GET /events?lastEventId=7&x=1 HTTP/1.1\r\n"
                         "Host: a\r\nLast-Event-ID:  42 \r\n"
                         "Connection: keep-alive, Upgrade\r\n\r\n", &h), 0);
  assert_int_equal(h.req.method_len, 3);
  assert_memory_equal(h.req.path, "/events", h.req.path_len);
  assert_int_equal(h.req.path_len, 7);
  assert_int_equal(h.req.query_len, 17);
  assert_memory_equal(h.req.query, "lastEventId=7&x=1", 17);
  assert_int_equal(h.req.last_event_id_len, 2); /* spaces trimmed */
  assert_memory_equal(h.req.last_event_id, "42", 2);
  assert_true(h.http11 && h.keep && !h.close);

  assert_int_equal(parse("POST /publish HTTP/1.0\nContent-Length: 1000\n"
                         "connection: CLOSE\n\n", &h), 0);
  assert_int_equal(h.clen, 1000);
  assert_true(!h.http11 && h.close);
  assert_null(h.req.query);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nX: a\tb \xff\r\n\r\n",
                         &h), 0); /* tab and obs-text are allowed */
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n"
                         "Expect: 100-Continue\r\n\r\n", &h), 0);
  assert_true(h.expect);
}

static void test_parse_errors(void **state) {
  static const struct {
    const char *text;
    int status;
  } cases[] = {
      {"GET\r\n\r\n", 400},
      {"GET /\r\n\r\n", 400},
      {"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400},
      {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET / HTTP/1.2x\r\nHost: x\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: \x01\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: b\x7f\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
       "Content-Length: 1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nHost: x\r\n"
       "Content-Length: 99999999999999999999999999999\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 411},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
       "Content-Length: 3\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", 417},
      {"GET / HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n"
       "last-event-id: 1\r\n\r\n", 400},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof *cases; i++) {
    head h;
    int rc = parse(cases[i].text, &h);
    if (rc != cases[i].status)
      fail_msg("case %zu (%s): %d, expected %d", i, cases[i].text, rc,
               cases[i].status);
  }
}

static void test_parse_field_limit(void **state) {
  char text[4096];
  size_t n = 0;
  int i;
  head h;
  (void)state;
  n += (size_t)sprintf(text, "GET / HTTP/1.1\r\nHost: x\r\n");
  for (i = 1; i < SRV_MAX_FIELDS; i++)
    n += (size_t)sprintf(text + n, "X-%d: %d\r\n", i, i);
  strcpy(text + n, "\r\n");
  assert_int_equal(parse(text, &h), 0); /* exactly SRV_MAX_FIELDS */
  strcpy(text + n, "One-More: 1\r\n\r\n");
  assert_int_equal(parse(text, &h), 431);
}

static void test_query_param(void **state) {
  char buf[8];
  const char *q = "a=1&lastEventId=x%2By+z&empty=&bare&bad=%g1&a=2&long=123456789";
  size_t n = strlen(q);
  (void)state;
  assert_int_equal(srv_query_param(q, n, "a", buf, sizeof buf), 1);
  assert_memory_equal(buf, "1", 1); /* the first one */
  assert_int_equal(srv_query_param(q, n, "lastEventId", buf, sizeof buf), 5);
  assert_memory_equal(buf, "x+y z", 5);
  assert_int_equal(srv_query_param(q, n, "empty", buf, sizeof buf), 0);
  assert_int_equal(srv_query_param(q, n, "bare", buf, sizeof buf), 0);
  assert_int_equal(srv_query_param(q, n, "bad", buf, sizeof buf), -2);
  assert_int_equal(srv_query_param(q, n, "long", buf, sizeof buf), -2);
  assert_int_equal(srv_query_param(q, n, "missing", buf, sizeof buf), -1);
  assert_int_equal(srv_query_param(q, n, "lastEvent", buf, sizeof buf), -1);
  assert_int_equal(srv_query_param(NULL, 0, "a", buf, sizeof buf), -1);
  assert_int_equal(srv_query_param("a=%4", 4, "a", buf, sizeof buf), -2);
}

static void test_last_event_id(void **state) {
  char buf[SSE_DEFAULT_MAX_LAST_EVENT_ID], big[2100];
  srv_request r;
  const char *id;
  size_t len;
  (void)state;
  memset(&r, 0, sizeof r);
  r.query = "lastEventId=%37";
  r.query_len = strlen(r.query);
  assert_int_equal(srv_last_event_id(&r, buf, sizeof buf, &id, &len), 0);
  assert_int_equal(len, 1);
  assert_memory_equal(id, "7", 1);
  r.last_event_id = "8"; /* the field wins */
  r.last_event_id_len = 1;
  assert_int_equal(srv_last_event_id(&r, buf, sizeof buf, &id, &len), 0);
  assert_memory_equal(id, "8", 1);
  memset(big, '9', sizeof big);
  r.last_event_id = big;
  r.last_event_id_len = sizeof big;
  assert_int_equal(srv_last_event_id(&r, buf, sizeof buf, &id, &len), -1);
  memset(&r, 0, sizeof r);
  assert_int_equal(srv_last_event_id(&r, buf, sizeof buf, &id, &len), 0);
  assert_int_equal(len, 0);
  r.query = "lastEventId=a%0Db"; /* a CR cannot be an id */
  r.query_len = strlen(r.query);
  assert_int_equal(srv_last_event_id(&r, buf, sizeof buf, &id, &len), -1);
}

static void test_options(void **state) {
  char *argv[] = {"prog", "--port=80", "--bind", "::1", "--port", NULL};
  const char *v = NULL;
  uint64_t u;
  int i = 1;
  (void)state;
  assert_int_equal(srv_option(5, argv, &i, "--port", &v), 1);
  assert_string_equal(v, "80");
  i = 2;
  assert_int_equal(srv_option(5, argv, &i, "--port", &v), 0);
  assert_int_equal(srv_option(5, argv, &i, "--bind", &v), 1);
  assert_string_equal(v, "::1");
  assert_int_equal(i, 3);
  i = 4;
  assert_int_equal(srv_option(5, argv, &i, "--port", &v), -1);
  assert_int_equal(srv_parse_u64("65535", 0, 65535, &u), 0);
  assert_int_equal(u, 65535);
  assert_int_equal(srv_parse_u64("65536", 0, 65535, &u), -1);
  assert_int_equal(srv_parse_u64("", 0, 9, &u), -1);
  assert_int_equal(srv_parse_u64("-1", 0, 9, &u), -1);
  assert_int_equal(srv_parse_u64("99999999999999999999999", 0, UINT64_MAX, &u),
                   -1);
}

/* ---- fan-out ------------------------------------------------------------- */

typedef struct sub {
  srv_conn *c; /* NULL once it left */
  int peer;    /* the client's end of the socketpair */
  char *got;   /* what the client read */
  size_t len, cap;
  uint64_t first; /* the first frame it must get */
} sub;

static void no_request(void *user, srv_conn *c, const srv_request *req) {
  (void)user;
  (void)c;
  (void)req;
}

static srv *new_srv(void) {
  srv_config cfg;
  srv *s;
  memset(&cfg, 0, sizeof cfg);
  cfg.on_request = no_request;
  cfg.no_heartbeat = 1;
  assert_int_equal(srv_new(&s, &cfg, "test_srv"), 0);
  return s;
}

/* A subscriber on a socketpair, as srv_subscribe makes it in a request. */
static void join(srv *s, sub *u) {
  int sv[2];
  srv_conn *c = calloc(1, sizeof *c);
  assert_non_null(c);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  c->srv = s;
  c->fd = sv[0];
  c->state = ST_REQUEST;
  c->queue = Q_NONE;
  assert_non_null(srv_subscribe(c));
  c->flags &= (uint16_t)~F_CORKED; /* what dispatch() does after on_request */
  stream_push(c);
  u->c = c;
  u->peer = sv[1];
  u->first = s->seq + 1;
}

static void leave(sub *u) {
  conn_close(u->c, 0);
  u->c = NULL;
  close(u->peer);
  u->peer = -1;
}

static void drain(sub *u) {
  for (;;) {
    ssize_t r;
    if (u->cap - u->len < 4096) {
      u->cap = u->cap * 2 + 65536;
      u->got = realloc(u->got, u->cap);
      assert_non_null(u->got);
    }
    r = read(u->peer, u->got + u->len, u->cap - u->len);
    if (r <= 0)
      return;
    u->len += (size_t)r;
  }
}

static void broadcast(srv *s, uint64_t id) {
  char num[24], data[32];
  sse_message ev;
  sse_frame *f;
  memset(&ev, 0, sizeof ev);
  snprintf(num, sizeof num, "%llu", (unsigned long long)id);
  snprintf(data, sizeof data, "f%llu", (unsigned long long)id);
  ev.id = num;
  ev.id_len = strlen(num);
  ev.data = data;
  ev.data_len = strlen(data);
  assert_int_equal(sse_frame_new_message(&f, &ev, NULL), SSE_OK);
  assert_int_equal(srv_broadcast(s, f), 0);
  sse_frame_release(f);
}

/* The subscriber read the head and preamble, then exactly frames first ..
 * last, in order. */
static void expect_frames(sub *u, uint64_t last) {
  char want[64];
  const char *p;
  uint64_t k;
  drain(u);
  assert_true(u->len > 0);
  p = strstr(u->got, "\r\n\r\n:\n");
  assert_non_null(p);
  p += 6;
  for (k = u->first; k <= last; k++) {
    int n = snprintf(want, sizeof want, "id: %llu\ndata: f%llu\n\n",
                     (unsigned long long)k, (unsigned long long)k);
    if ((size_t)(u->got + u->len - p) < (size_t)n ||
        memcmp(p, want, (size_t)n) != 0)
      fail_msg("frame %llu missing (subscriber from %llu)",
               (unsigned long long)k, (unsigned long long)u->first);
    p += n;
  }
  assert_ptr_equal(p, u->got + u->len); /* nothing more */
}

static void finish(srv *s, sub *subs, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (subs[i].peer >= 0)
      close(subs[i].peer);
    free(subs[i].got);
  }
  srv_free(s);
}

/* Frames arrive mid-walk; subscribers leave on both sides of the walk's
 * cursor, and join, mid-walk: each one present gets every frame broadcast
 * while it was there, exactly once, in order. */
static void test_walk_churn(void **state) {
  enum { N = 1500, JOIN = 100 };
  static sub subs[N + JOIN];
  srv *s = new_srv();
  uint64_t id = 0;
  size_t i, joined = N, left = 0;
  int round;
  (void)state;
  memset(subs, 0, sizeof subs);
  for (i = 0; i < N; i++)
    join(s, &subs[i]);
  for (round = 0; round < 10; round++) {
    size_t cut[4];
    int k;
    broadcast(s, ++id);
    broadcast(s, ++id);
    walk(s, 300);
    assert_true(s->walking && s->walk > 0 && s->walk < s->nsubs);
    /* Leavers: one just visited, one long visited, the next one to
     * visit, and the last. */
    cut[0] = s->walk - 1;
    cut[1] = s->walk / 2;
    cut[2] = s->walk;
    cut[3] = s->nsubs - 1;
    for (k = 0; k < 4; k++) {
      srv_conn *c = s->subs[cut[k] < s->nsubs ? cut[k] : s->nsubs - 1];
      for (i = 0; i < joined; i++)
        if (subs[i].c == c) {
          leave(&subs[i]);
          left++;
        }
    }
    if (round % 2)
      broadcast(s, ++id); /* joins the walk under way */
    for (k = 0; k < 10; k++)
      join(s, &subs[joined++]);
    walk(s, round % 3 ? 700 : SIZE_MAX);
    if (!s->walking) /* a walk that ended left no one behind */
      for (i = 0; i < joined; i++)
        if (subs[i].c)
          assert_int_equal(subs[i].c->pos, s->seq);
    reap(s);
  }
  walk(s, SIZE_MAX);
  assert_false(s->walking);
  for (i = 0; i < joined; i++)
    if (subs[i].c) {
      assert_int_equal(subs[i].c->pos, id);
      expect_frames(&subs[i], id);
    }
  assert_true(left >= 30);
  assert_int_equal(s->nsubs, joined - left);
  finish(s, subs, joined);
}

/* More frames than the ring holds, with no walk step between them: the
 * fan-out completes before a slot is reused, and nothing is lost. */
static void test_ring_overflow(void **state) {
  enum { N = 600 };
  static sub subs[N];
  srv *s = new_srv();
  uint64_t id;
  size_t i;
  (void)state;
  memset(subs, 0, sizeof subs);
  for (i = 0; i < N; i++)
    join(s, &subs[i]);
  for (id = 1; id <= 3 * RING + 5; id++) {
    broadcast(s, id);
    if (id % 50 == 0)
      walk(s, 100); /* a walk under way when the ring fills */
    if (id % 20 == 0)
      for (i = 0; i < N; i++)
        drain(&subs[i]); /* keep the socketpairs from filling */
  }
  walk(s, SIZE_MAX);
  for (i = 0; i < N; i++)
    expect_frames(&subs[i], 3 * RING + 5);
  finish(s, subs, N);
}

/* A walk pass that ends while frames arrived during it starts over; until
 * the new pass visits them, the subscribers it passed early are behind,
 * and the ring must not reuse the slots of the frames they lack. */
static void test_pass_boundary(void **state) {
  enum { N = 600 };
  static sub subs[N];
  srv *s = new_srv();
  uint64_t id;
  size_t i;
  (void)state;
  memset(subs, 0, sizeof subs);
  for (i = 0; i < N; i++)
    join(s, &subs[i]);
  broadcast(s, 1);
  walk(s, 400); /* 0..399 have frame 1 */
  broadcast(s, 2);
  walk(s, 201); /* 400..599 have 1 and 2; the pass ends; 0 gets 2 */
  assert_true(s->walking);
  assert_int_equal(s->walk, 1);
  assert_int_equal(s->subs[1]->pos, 1);
  for (id = 3; id <= RING + 3; id++) /* slot of frame 2 reused at RING + 2 */
    broadcast(s, id);
  walk(s, SIZE_MAX);
  for (i = 0; i < N; i++)
    expect_frames(&subs[i], RING + 3);
  finish(s, subs, N);
}

/* A subscriber whose client stopped reading is cut at max_pending; the
 * others get everything. */
static void test_cut_slow(void **state) {
  enum { N = 3 };
  static sub subs[N];
  srv_config cfg;
  srv *s;
  char big[8192];
  sse_message ev;
  sse_frame *f;
  uint64_t k;
  size_t i;
  (void)state;
  memset(&cfg, 0, sizeof cfg);
  memset(subs, 0, sizeof subs);
  cfg.on_request = no_request;
  cfg.no_heartbeat = 1;
  cfg.max_pending = 65536;
  assert_int_equal(srv_new(&s, &cfg, "test_srv"), 0);
  for (i = 0; i < N; i++)
    join(s, &subs[i]);
  memset(big, 'x', sizeof big);
  memset(&ev, 0, sizeof ev);
  ev.data = big;
  ev.data_len = sizeof big;
  for (k = 0; k < 200 && srv_cut_count(s) == 0; k++) {
    assert_int_equal(sse_frame_new_message(&f, &ev, NULL), SSE_OK);
    srv_broadcast(s, f);
    sse_frame_release(f);
    walk(s, SIZE_MAX);
    drain(&subs[0]); /* 0 and 2 read, 1 never does */
    drain(&subs[2]);
    for (i = 0; i < N; i++) /* what an output edge would do */
      if (i != 1 && sse_stream_get_pending(subs[i].c->stream))
        stream_push(subs[i].c);
  }
  assert_int_equal(s->counters.cut[SRV_CUT_OVERFLOW], 1);
  assert_int_equal(s->nsubs, 2);
  assert_true(subs[1].c->flags & F_CLOSED);
  subs[1].c = NULL;
  for (i = 0; i < N; i += 2)
    assert_int_equal(subs[i].c->pos, k);
  finish(s, subs, N);
}

/* Topic keys: a frame with keys reaches exactly the subscribers sharing
 * one of them; a frame without keys reaches everyone. */
static void test_keys(void **state) {
  static const uint64_t k1[] = {1}, k2[] = {2}, k12[] = {2, 1};
  static const struct {
    const uint64_t *keys;
    size_t n;
    const char *want; /* the data of the frames it gets */
  } who[] = {{k1, 1, "f1f3f4"}, {k2, 1, "f2f3f4"}, {k12, 2, "f1f2f3f4"},
             {NULL, 0, "f4"}};
  srv *s = new_srv();
  sub subs[4];
  size_t i;
  (void)state;
  memset(subs, 0, sizeof subs);
  for (i = 0; i < 4; i++) {
    int sv[2];
    srv_sub_opts o;
    srv_conn *c = calloc(1, sizeof *c);
    assert_non_null(c);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    c->srv = s;
    c->fd = sv[0];
    c->state = ST_REQUEST;
    c->queue = Q_NONE;
    memset(&o, 0, sizeof o);
    o.keys = who[i].keys;
    o.nkeys = who[i].n;
    o.extra = "X-Test: 1\r\n";
    assert_non_null(srv_subscribe_ex(c, &o));
    c->flags &= (uint16_t)~F_CORKED;
    stream_push(c);
    subs[i].c = c;
    subs[i].peer = sv[1];
  }
  {
    static const uint64_t f3[] = {7, 1, 2};
    const uint64_t *keys[] = {k1, k2, f3, NULL};
    size_t nk[] = {1, 1, 3, 0}, f;
    for (f = 0; f < 4; f++) {
      char data[8];
      sse_message ev;
      sse_frame *fr;
      memset(&ev, 0, sizeof ev);
      snprintf(data, sizeof data, "f%zu", f + 1);
      ev.data = data;
      ev.data_len = strlen(data);
      assert_int_equal(sse_frame_new_message(&fr, &ev, NULL), SSE_OK);
      assert_int_equal(srv_broadcast_keys(s, fr, keys[f], nk[f]), 0);
      sse_frame_release(fr);
    }
  }
  walk(s, SIZE_MAX);
  for (i = 0; i < 4; i++) {
    char got[64] = "";
    const char *p;
    drain(&subs[i]);
    subs[i].got[subs[i].len] = '\0'; /* drain leaves room */
    assert_non_null(strstr(subs[i].got, "X-Test: 1\r\n\r\n:\n"));
    for (p = subs[i].got; (p = strstr(p, "data: ")) != NULL; p += 6)
      strncat(got, p + 6, (size_t)(strchr(p, '\n') - p - 6));
    assert_string_equal(got, who[i].want);
  }
  finish(s, subs, 4);
}

/* A subscriber that stops reading while bytes are pending is cut by the
 * sweep once stall_ms passed without its socket taking anything; one that
 * reads is not. */
static void test_stall(void **state) {
  srv_config cfg;
  srv *s;
  sub subs[2];
  char big[16384];
  sse_message ev;
  sse_frame *f;
  int k;
  (void)state;
  memset(&cfg, 0, sizeof cfg);
  memset(subs, 0, sizeof subs);
  cfg.on_request = no_request;
  cfg.no_heartbeat = 1;
  cfg.stall_ms = 5000;
  assert_int_equal(srv_new(&s, &cfg, "test_srv"), 0);
  join(s, &subs[0]);
  join(s, &subs[1]);
  memset(big, 'x', sizeof big);
  memset(&ev, 0, sizeof ev);
  ev.data = big;
  ev.data_len = sizeof big;
  for (k = 0; k < 100 && !sse_stream_get_pending(subs[1].c->stream); k++) {
    assert_int_equal(sse_frame_new_message(&f, &ev, NULL), SSE_OK);
    srv_broadcast(s, f);
    sse_frame_release(f);
    walk(s, SIZE_MAX);
    drain(&subs[0]);
    if (sse_stream_get_pending(subs[0].c->stream))
      stream_push(subs[0].c);
  }
  assert_true(sse_stream_get_pending(subs[1].c->stream) > 0);
  s->now += 4000;
  sweep(s); /* not yet */
  assert_int_equal(s->nsubs, 2);
  drain(&subs[0]);
  s->now += 1500;
  sweep(s);
  assert_int_equal(s->nsubs, 1);
  assert_int_equal(s->counters.cut[SRV_CUT_STALL], 1);
  assert_ptr_equal(s->subs[0], subs[0].c);
  subs[1].c = NULL;
  finish(s, subs, 2);
}

/* Requests being received share max_in_flight: the one that would pass it
 * gets 503, and the bytes held return to the pool when a request ends. */
static void test_in_flight(void **state) {
  static const char part[] = "POST /publish HTTP/1.1\r\nHost: x\r\n"
                             "Content-Length: 1000\r\n\r\nhalf";
  srv_config cfg;
  srv *s;
  srv_conn *c[3];
  int peer[3], i;
  char buf[256];
  (void)state;
  memset(&cfg, 0, sizeof cfg);
  cfg.on_request = no_request;
  cfg.no_heartbeat = 1;
  cfg.max_head = 1000;
  cfg.max_body = 1000;
  cfg.max_in_flight = 2200;
  assert_int_equal(srv_new(&s, &cfg, "test_srv"), 0);
  for (i = 0; i < 3; i++) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    c[i] = calloc(1, sizeof *c[i]);
    assert_non_null(c[i]);
    c[i]->srv = s;
    c[i]->fd = sv[0];
    c[i]->state = ST_REQUEST;
    c[i]->queue = Q_NONE;
    peer[i] = sv[1];
    process(c[i], (char *)part, sizeof part - 1);
  }
  assert_int_equal(s->in_bytes, 2 * (sizeof part - 5 + 1000));
  assert_true(read(peer[0], buf, sizeof buf) < 0); /* waiting, no answer */
  assert_true(read(peer[2], buf, sizeof buf) > 12);
  assert_memory_equal(buf, "HTTP/1.1 503", 12);
  assert_int_equal(s->counters.status[503], 1);
  conn_close(c[0], 0);
  reap(s);
  assert_int_equal(s->in_bytes, sizeof part - 5 + 1000);
  for (i = 0; i < 3; i++)
    close(peer[i]);
  srv_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_head_end),
      cmocka_unit_test(test_parse_ok),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_parse_field_limit),
      cmocka_unit_test(test_query_param),
      cmocka_unit_test(test_last_event_id),
      cmocka_unit_test(test_options),
      cmocka_unit_test(test_walk_churn),
      cmocka_unit_test(test_ring_overflow),
      cmocka_unit_test(test_pass_boundary),
      cmocka_unit_test(test_cut_slow),
      cmocka_unit_test(test_keys),
      cmocka_unit_test(test_stall),
      cmocka_unit_test(test_in_flight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
