/* The scripted stream world of stream_script.h: runs a script's steps,
 * models what each stream's wire must hold, and sweeps allocation failure
 * over it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stream_script.h"
#include "unit.h"

#define MAXH 64 /* frames pushed to the history in one scenario */

/* A frame as the model knows it: its bytes and id. */
typedef struct mframe {
  test_log bytes;
  char id[32];
} mframe;

typedef struct world {
  test_alloc *ta;
  sse_allocator a;
  int mode;
  int forever;
  sink k[NS];
  sse_stream *s[NS];
  test_log want[NS]; /* the bytes of every send that succeeded */
  sse_frame *f[NF];
  mframe fm[NF];
  sse_history *h;
  size_t hmax;
  mframe pushed[MAXH]; /* the history model: successful pushes */
  size_t npushed;
  test_log log; /* one line per step: its result */
  size_t nomem;
} world;

static size_t n_scenarios, n_failure_points, n_runs;

/* ---- scenario building --------------------------------------------------- */

step *script_add(script *sc, int what, int st) {
  step *p;
  assert_true(sc->n < MAXSTEPS);
  p = &sc->s[sc->n++];
  memset(p, 0, sizeof *p);
  p->what = what;
  p->st = st;
  return p;
}

void script_n(script *sc, int what, int st, uint64_t n) {
  script_add(sc, what, st)->n = n;
}

void script_event(script *sc, int st, const char *type, const char *id,
                  const char *data) {
  step *p = script_add(sc, EVENT, st);
  p->type = type;
  p->id = id;
  p->data = data;
}

void script_frame(script *sc, int slot, const char *id, const char *data) {
  step *p = script_add(sc, FRAME, 0);
  p->slot = slot;
  p->id = id;
  p->data = data;
}

void script_slot(script *sc, int what, int st, int slot) {
  script_add(sc, what, st)->slot = slot;
}


const char *script_num(int i) {
  static const char *const nums[] = {
      "1",  "2",  "3",  "4",  "5",  "6",  "7",  "8",  "9",
      "10", "11", "12", "13", "14", "15", "16", "17", "18",
      "19", "20", "21", "22", "23", "24", "25"};
  assert_true(i >= 0 && i < (int)(sizeof nums / sizeof nums[0]));
  return nums[i];
}

/* ---- running ---------------------------------------------------------------- */

static int failed_since(const world *w, size_t before) {
  const test_alloc *t = w->ta;
  if (!t->fail_at || t->calls == before)
    return 0;
  return t->fail_forever ? t->calls >= t->fail_at
                         : before < t->fail_at && t->fail_at <= t->calls;
}

static void frame_bytes(mframe *m, const sse_frame *f) {
  size_t n, idn;
  const char *p = sse_frame_get_bytes(f, &n), *id = sse_frame_get_id(f, &idn);
  m->bytes.len = 0;
  test_log_add(&m->bytes, p, n);
  assert_true(idn < sizeof m->id);
  memcpy(m->id, id ? id : "", idn);
  m->id[idn] = 0;
}

static void open_bytes(test_log *l, uint64_t retry, size_t padding) {
  size_t i;
  if (padding) {
    test_log_add(l, ":", 1);
    for (i = 2; i < padding; i++)
      test_log_add(l, " ", 1);
    test_log_add(l, "\n", 1);
  }
  if (retry)
    enc_retry(l, retry);
}

/* Index of the first pushed frame kept (the history keeps the newest
 * hmax). */
static size_t kept_from(const world *w) {
  return w->npushed > w->hmax ? w->npushed - w->hmax : 0;
}

/* The bytes a replay after pushed frame `after` (exclusive) queues. */
static void replay_bytes(const world *w, size_t from, test_log *l) {
  size_t i;
  for (i = from; i < w->npushed; i++)
    test_log_add(l, w->pushed[i].bytes.p, w->pushed[i].bytes.len);
}

/* Runs one step; appends to want what a success sends. Returns the code,
 * or 1 when the step was skipped (its object does not exist). */
static int exec(world *w, const step *p, test_log *add_bytes) {
  sse_stream *s = w->s[p->st];
  sse_message ev = mk_event(p->type, p->id, p->data);
  int rc;
  switch (p->what) {
  case NEW:
    assert_null(s);
    sink_init(&w->k[p->st], w->mode, (int)p->n);
    rc = sink_stream_new(&w->k[p->st], &w->a, &w->s[p->st]);
    assert_true((rc == SSE_OK) == (w->s[p->st] != NULL));
    if (rc != SSE_OK)
      sink_free(&w->k[p->st]);
    return rc;
  case FREE:
    if (!s)
      return 1;
    /* what it wrote is a prefix of what it accepted */
    assert_true(w->k[p->st].wire.len <= w->want[p->st].len);
    if (w->k[p->st].wire.len)
      assert_memory_equal(w->k[p->st].wire.p, w->want[p->st].p,
                          w->k[p->st].wire.len);
    sse_stream_free(s);
    w->s[p->st] = NULL;
    sink_free(&w->k[p->st]);
    w->want[p->st].len = 0;
    return SSE_OK;
  case FRAME: { /* the slot keeps its frame if this one cannot be made */
    sse_frame *f = (sse_frame *)&rc; /* must be set to NULL on failure */
    if (p->data)
      rc = sse_frame_new_message(&f, &ev, &w->a);
    else
      rc = sse_frame_new_comment(&f, p->id, strlen(p->id), &w->a);
    assert_true((rc == SSE_OK) == (f != NULL));
    if (rc == SSE_OK) {
      sse_frame_release(w->f[p->slot]);
      w->f[p->slot] = f;
      frame_bytes(&w->fm[p->slot], f);
    }
    return rc;
  }
  case RELEASE:
    sse_frame_release(w->f[p->slot]);
    w->f[p->slot] = NULL;
    return SSE_OK;
  case HNEW:
    w->h = (sse_history *)&rc;
    rc = sse_history_new(&w->h, (size_t)p->n, 0, &w->a);
    assert_true((rc == SSE_OK) == (w->h != NULL));
    w->hmax = (size_t)p->n;
    return rc;
  case PUSH: {
    uint64_t first, last, first2, last2;
    size_t bytes;
    if (!w->h || !w->f[p->slot])
      return 1;
    bytes = hist_range(w->h, &first, &last);
    rc = sse_history_push(w->h, w->f[p->slot], NULL);
    if (rc == SSE_OK) {
      assert_true(w->npushed < MAXH);
      frame_bytes(&w->pushed[w->npushed++], w->f[p->slot]);
    } else {
      assert_int_equal(hist_range(w->h, &first2, &last2), bytes);
      assert_true(first == first2 && last == last2);
    }
    return rc;
  }
  default:
    break;
  }
  if (!s)
    return 1;
  switch (p->what) {
  case EVENT:
    enc_event(add_bytes, p->type, p->id, p->data);
    return sse_stream_send_message(s, &ev);
  case COMMENT:
    enc_comment(add_bytes, p->data);
    return sse_stream_send_comment(s, p->data, strlen(p->data));
  case RETRY:
    enc_retry(add_bytes, p->n);
    return sse_stream_send_retry(s, p->n);
  case OPEN:
    open_bytes(add_bytes, p->n, (size_t)p->slot);
    return sse_stream_open(s, p->n, (size_t)p->slot);
  case SEND:
    if (!w->f[p->slot])
      return 1;
    test_log_add(add_bytes, w->fm[p->slot].bytes.p, w->fm[p->slot].bytes.len);
    return sse_stream_send_frame(s, w->f[p->slot]);
  case REPLAY:
  case REPLAY_FROM: {
    size_t i, from = kept_from(w);
    uint64_t pos = 0;
    int found = 0;
    if (!w->h)
      return 1;
    if (p->what == REPLAY) {
      for (i = w->npushed; i-- > from;)
        if (!strcmp(w->pushed[i].id, p->id)) {
          found = 1;
          replay_bytes(w, i + 1, add_bytes);
          break;
        }
      rc = sse_history_replay(w->h, s, p->id, strlen(p->id), &pos);
    } else {
      /* position n: the first n frames pushed were given */
      found = p->n >= from && p->n <= w->npushed;
      if (found)
        replay_bytes(w, (size_t)p->n, add_bytes);
      rc = sse_history_replay_from(w->h, s, p->n, &pos);
    }
    if (!found)
      assert_true(rc == SSE_E_UNKNOWN_ID || rc == SSE_E_EVICTED ||
                  rc == SSE_E_INVALID_ARGUMENT);
    else
      assert_true(rc == SSE_OK || rc == SSE_E_NOMEM);
    if (rc == SSE_OK || rc == SSE_E_UNKNOWN_ID || rc == SSE_E_EVICTED)
      assert_int_equal(pos, w->npushed);
    return rc;
  }
  case FLUSH:
    return sse_stream_flush(s);
  case TICK: {
    size_t before = w->k[p->st].wire.len + sse_stream_get_pending(s);
    rc = sse_stream_tick(s, p->n, NULL);
    if (w->k[p->st].wire.len + sse_stream_get_pending(s) - before == 2)
      test_log_add(add_bytes, ":\n", 2);
    else
      assert_int_equal(w->k[p->st].wire.len + sse_stream_get_pending(s), before);
    return rc;
  }
  case BUDGET:
    w->k[p->st].budget = (size_t)p->n;
    return SSE_OK;
  case CAP:
    return sse_stream_set_max_pending(s, (size_t)p->n);
  default:
    fail_msg("unknown step %d", p->what);
    return 0;
  }
}

/* One step with the failure checks; logs its result. */
static void run_step(world *w, size_t i, const step *p) {
  sse_stream *s = w->s[p->st];
  size_t pending = s ? sse_stream_get_pending(s) : 0;
  size_t wire = w->k[p->st].wire.len, calls = w->k[p->st].calls;
  size_t live = w->ta->live, allocs = w->ta->calls;
  int err = s ? sse_stream_get_error(s) : 0;
  test_log bytes = {0};
  int rc = exec(w, p, &bytes);
  if (failed_since(w, allocs)) {
    if (rc != SSE_E_NOMEM)
      fail_msg("step %zu (%d): an allocation failed, the result is %d", i,
               p->what, rc);
    w->nomem++;
    /* nothing changed */
    assert_int_equal(w->ta->live, live);
    if (s && w->s[p->st]) {
      assert_int_equal(sse_stream_get_pending(s), pending);
      assert_int_equal(sse_stream_get_error(s), err);
      assert_int_equal(w->k[p->st].wire.len, wire);
      assert_int_equal(w->k[p->st].calls, calls);
    }
    if (!w->forever) { /* a retry succeeds */
      bytes.len = 0;
      allocs = w->ta->calls;
      rc = exec(w, p, &bytes);
      assert_false(failed_since(w, allocs));
    }
  } else if (rc == SSE_E_NOMEM)
    fail_msg("step %zu (%d): SSE_E_NOMEM without a failed allocation", i,
             p->what);
  if (rc == SSE_OK && s && p->what != FREE)
    test_log_add(&w->want[p->st], bytes.p, bytes.len);
  test_log_printf(&w->log, "%zu %d\n", i, rc);
  test_log_free(&bytes);
}

/* After the failures stop: every open stream drains, takes one more event
 * and flushes it; its wire is exactly what it accepted and decodes
 * cleanly. Then everything is freed. */
static void finish(world *w) {
  int j;
  w->ta->fail_at = 0;
  for (j = 0; j < NS; j++) {
    sse_stream *s = w->s[j];
    test_run run = {0};
    test_log got;
    sse_message ev = mk_event("after", "z", "still usable");
    if (!s)
      continue;
    w->k[j].budget = SIZE_MAX;
    sink_drain(s, &w->k[j]);
    if (sse_stream_get_error(s) == SSE_OK) {
      assert_int_equal(sse_stream_send_message(s, &ev), SSE_OK);
      enc_event(&w->want[j], "after", "z", "still usable");
      sink_drain(s, &w->k[j]);
    }
    sink_expect(&w->k[j], w->want[j].p, w->want[j].len);
    run.finish = 1;
    got = test_decode(&run, w->k[j].wire.p ? w->k[j].wire.p : "",
                      w->k[j].wire.len, 0);
    assert_non_null(strstr(got.p, "result SSE_OK\n"));
    test_log_free(&got);
    sse_stream_free(s);
    sink_free(&w->k[j]);
  }
  for (j = 0; j < NF; j++)
    sse_frame_release(w->f[j]);
  sse_history_free(w->h);
  assert_int_equal(w->ta->live, 0);
  assert_int_equal(w->ta->live_bytes, 0);
}

static void world_free(world *w) {
  int j;
  for (j = 0; j < NS; j++)
    test_log_free(&w->want[j]);
  for (j = 0; j < NF; j++)
    test_log_free(&w->fm[j].bytes);
  for (j = 0; j < MAXH; j++)
    test_log_free(&w->pushed[j].bytes);
  test_log_free(&w->log);
}

/* Runs the script allocating through ta; returns the allocations made. */
static size_t run(const script *sc, int mode, test_alloc *ta, test_log *log,
                  test_log *wires, size_t *nomem) {
  world *w = calloc(1, sizeof *w);
  size_t i, made;
  int j;
  assert_non_null(w);
  w->ta = ta;
  w->a = test_alloc_hooks(ta);
  w->mode = mode;
  w->forever = ta->fail_forever;
  for (j = 0; j < NS; j++)
    sink_init(&w->k[j], mode, 0);
  for (i = 0; i < sc->n; i++)
    run_step(w, i, &sc->s[i]);
  made = ta->calls; /* the steps' allocations, not the final checks' */
  for (j = 0; j < NS; j++)
    if (wires && w->s[j])
      test_log_add(&wires[j], w->want[j].p, w->want[j].len);
  finish(w);
  if (log)
    test_log_add(log, w->log.p, w->log.len);
  *nomem = w->nomem;
  world_free(w);
  free(w);
  return made;
}

typedef struct sweep_ctx {
  const script *sc;
  int mode;
  size_t calls;                   /* allocations without failure */
  test_log want, want_wire[NS];   /* the run without failure */
} sweep_ctx;

/* A test_oom_run: the run without failure is recorded; a run failing once
 * must retry the failed step and end exactly as it (every step's result,
 * every wire). */
static size_t sweep_run(void *ctx, test_alloc *ta, size_t *nomem) {
  sweep_ctx *c = ctx;
  test_log got = {0}, wire[NS] = {{0}};
  size_t made, fail_at = ta->fail_at; /* the run resets ta->fail_at */
  int j;
  if (!ta->fail_at)
    return c->calls = run(c->sc, c->mode, ta, &c->want, c->want_wire, nomem);
  if (ta->fail_forever)
    return run(c->sc, c->mode, ta, NULL, NULL, nomem);
  made = run(c->sc, c->mode, ta, &got, wire, nomem);
  if (fail_at <= c->calls)
    assert_true(made > c->calls); /* the step retried */
  assert_string_equal(got.p, c->want.p);
  for (j = 0; j < NS; j++) {
    assert_int_equal(wire[j].len, c->want_wire[j].len);
    if (wire[j].len)
      assert_memory_equal(wire[j].p, c->want_wire[j].p, wire[j].len);
    test_log_free(&wire[j]);
  }
  test_log_free(&got);
  return made;
}

void script_sweep(const char *name, const script *sc) {
  int mode, j;
  for (mode = 0; mode < SINK_MODES; mode++) {
    sweep_ctx c;
    char what[160];
    size_t calls;
    memset(&c, 0, sizeof c);
    c.sc = sc;
    c.mode = mode;
    snprintf(what, sizeof what, "%s, mode %d", name, mode);
    calls = test_oom_sweep(what, sweep_run, &c, 4, 1);
    n_scenarios++;
    n_runs += 2 * (calls + 1);
    n_failure_points += calls;
    for (j = 0; j < NS; j++)
      test_log_free(&c.want_wire[j]);
    test_log_free(&c.want);
  }
}

int script_report(void **state) {
  (void)state;
  printf("stream oom: %zu scenario runs, %zu failure points, %zu runs (once "
         "+ forever), 0 leaks\n",
         n_scenarios, n_failure_points, n_runs);
  return 0;
}
