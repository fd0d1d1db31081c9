/* The decoder's private header: its state, shared by decoder.c (the line
 * machine and feed) and decoder_api.c (life cycle, settings, finish and
 * reset, the last event ID, UTF-8 repair). See the map in decoder.c. */
#ifndef SSE_DECODER_INT_H
#define SSE_DECODER_INT_H

#include "internal.h"

enum {
  LINE_NONE, /* at the start of a line */
  LINE_BUF,  /* gathering a partial line in lb */
  LINE_DATA, /* inside a data line's value: appended to dbuf or streamed */
  LINE_SKIP  /* ignoring the rest of the line (block being discarded) */
};

#define SSE__BOM_DONE 3

/* What a chunk-backed value replaced: restored when the decoder gives the
 * bytes from `mark` back after an allocation failure (see decoder.c). */
typedef struct sse__snapshot {
  const char *data;
  size_t data_len;
  size_t dbuf_len;
  const char *type;
  size_t type_len;
  unsigned char have_data;
  unsigned char id_dirty;
  unsigned char data_in_dbuf; /* data was dbuf's (which may move since) */
  unsigned char type_in_tbuf; /* likewise the type and tbuf */
} sse__snapshot;

struct sse_decoder {
  sse_decoder_callbacks cb;
  void *user;
  sse_allocator mem;
  size_t max_line;         /* limits in force for the current line */
  size_t max_event;
  size_t set_line;         /* the limits last set, in force from the next */
  size_t set_event;        /* line (limits_pending until then) */
  unsigned options;
  int error;               /* sticky error (finished group), SSE_OK if none */
  unsigned char line;      /* LINE_* */
  unsigned char cr;        /* a chunk ended with CR: swallow one LF next */
  unsigned char bom;       /* BOM bytes matched at stream start, or BOM_DONE */
  unsigned char busy;      /* inside feed/finish/reset: callbacks running */
  unsigned char finished;  /* finish() was called */
  unsigned char have_data; /* the block has a data line */
  unsigned char skipping;  /* discarding the block up to the next blank line */
  unsigned char id_dirty;  /* idbuf holds an id not yet committed */
  unsigned char limits_pending; /* set_line/set_event wait for a line start */
  unsigned char after_line; /* run() must look after this line: resume set,
                               or limits set from a callback */
  unsigned char carry_len;
  unsigned char carry[4];  /* on_data with UTF-8: a sequence cut by a piece */
  size_t line_len;         /* bytes of the current partial line so far */
  const char *resume;      /* a whole line stopped inside: resume here */
  const char *mark;        /* start of the first line whose value the block
                              points at in the chunk being fed, or NULL */
  sse__snapshot snap;      /* the block as it was before `mark` */
  const char *data;        /* the data: into the chunk, lb or dbuf */
  size_t data_len;         /* its length (streamed bytes with on_data) */
  size_t out_len;          /* bytes passed to on_data for this event */
  const char *type;        /* the event type: into the chunk, lb or tbuf */
  size_t type_len;
  sse__buf dbuf;  /* data that had to be copied */
  sse__buf tbuf;  /* event type that had to be copied */
  sse__buf lb;    /* a partial line */
  sse__buf idbuf; /* the last event ID buffer, while id_dirty */
  sse__buf last;  /* the last event ID string */
  sse__buf fix;   /* UTF-8 repairs */
};

/* A callback's result: SSE_OK and SSE_PAUSE pass, anything else aborts. */
static inline int sse__dec_cb(sse_decoder *d, int r) {
  if (r == SSE_OK || r == SSE_PAUSE)
    return r;
  d->error = SSE_E_CALLBACK;
  return SSE_E_CALLBACK;
}

static inline void sse__dec_clear_block(sse_decoder *d) {
  d->have_data = 0;
  d->data = NULL;
  d->data_len = 0;
  d->out_len = 0;
  d->carry_len = 0;
  d->dbuf.len = 0;
  d->type_len = 0;
  d->mark = NULL; /* nothing of the block points into the chunk now */
}

static inline void sse__dec_apply_limits(sse_decoder *d) {
  d->max_line = d->set_line;
  d->max_event = d->set_event;
  d->limits_pending = 0;
}

/* decoder_api.c: UTF-8 repair for SSE_DECODER_UTF8. Each fails with
 * SSE_E_NOMEM having changed nothing. */
/* Passes a data piece to on_data (see decoder.c, "Data lines"). */
int sse__dec_emit(sse_decoder *d, const char *s, size_t n, int last);
/* Repairs an event's type, id and data into d->fix. */
int sse__dec_fix_event(sse_decoder *d, sse_event *ev);
/* Repairs a comment's text into d->fix. */
int sse__dec_fix_text(sse_decoder *d, const char **s, size_t *n);

#endif
