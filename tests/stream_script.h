/* A scripted world for the allocation-failure tests of streams, shared
 * frames and the replay history: a scenario is a list of steps over up to
 * NS streams, NF frame slots and one history, written as data by the test
 * files (test_stream.c, test_frame.c, test_history.c). script_sweep runs it
 * once with a counting allocator, then failing allocation k = 1, 2, ... in
 * two modes:
 *  - fail once: the step that met the failure returns SSE_E_NOMEM and
 *    changed nothing (no byte written or queued, pending, state and history
 *    as before, a failed constructor leaves NULL); retried, it succeeds, and
 *    the whole run (every step's result, every stream's wire) is identical
 *    to the run without failure;
 *  - fail forever: every step that allocates fails with SSE_E_NOMEM, and
 *    only those steps; steps on objects that could not be made are skipped.
 * Always: only documented codes; each stream's wire is exactly the frames
 * whose sends succeeded, in order (expected bytes from the encoder and a
 * model of the history); after the failures stop, every stream that is
 * still open drains and takes one more event, and its whole output decodes
 * cleanly; nothing is live after everything is freed.
 *
 * Each scenario runs under every sink pacing (stream_sink.h). */
#ifndef SSE_TEST_STREAM_SCRIPT_H
#define SSE_TEST_STREAM_SCRIPT_H

#include <stdint.h>

#include "stream_sink.h"

#define NS 3     /* streams */
#define NF 4     /* frame slots */
#define MAXSTEPS 160

enum what {
  NEW,        /* stream st, vectored callback (n: 1 for the plain one) */
  FREE,       /* stream st, dropping what it still queues */
  EVENT,      /* send type/id/data on st */
  COMMENT,    /* send data as a comment on st */
  RETRY,      /* send retry n on st */
  OPEN,       /* preamble: retry n, padding slot */
  FRAME,      /* shared event frame into slot (data NULL: a comment of id) */
  SEND,       /* send_frame(slot) on st */
  RELEASE,    /* drop the slot's frame */
  HNEW,       /* history of max_count n */
  PUSH,       /* push slot */
  REPLAY,     /* replay after id onto st */
  REPLAY_FROM,/* replay after position n onto st */
  FLUSH,
  TICK,       /* tick st at time n */
  BUDGET,     /* st's sink accepts n more bytes (SIZE_MAX: all) */
  CAP         /* set_max_pending(st, n) */
};

typedef struct step {
  int what, st, slot;
  const char *type, *id, *data;
  uint64_t n;
} step;

typedef struct script {
  step s[MAXSTEPS];
  size_t n;
} script;

/* Appends a step (what on stream st) and returns it for the other fields. */
step *script_add(script *sc, int what, int st);
/* The same with its n. */
void script_n(script *sc, int what, int st, uint64_t n);
void script_event(script *sc, int st, const char *type, const char *id,
                  const char *data);
void script_frame(script *sc, int slot, const char *id, const char *data);
void script_slot(script *sc, int what, int st, int slot);
/* "1", "2", ... "25" for i = 0..24. */
const char *script_num(int i);

/* Runs sc under every sink pacing and allocation failure as above. */
void script_sweep(const char *name, const script *sc);

/* A cmocka group teardown that prints the totals of the sweeps. */
int script_report(void **state);

#endif
