/*
 * libsse decoder: the WHATWG "parse an event stream" and "interpret an event
 * stream" algorithms (HTML Living Standard, 9.2.6), incremental and I/O-free.
 * Include <sse.h>, not this file.
 *
 * Push bytes in with sse_decoder_feed() in chunks of any size; the decoder
 * calls back with each dispatched event, each valid retry field and, on
 * request, each comment. Every chunking of the same bytes gives the same
 * callbacks in the same order; an event is delivered inside the feed that
 * supplies its final line end. Signal the end of the stream with
 * sse_decoder_finish(); an event not yet ended by a blank line is then
 * discarded, as the standard requires.
 *
 * Rules implemented exactly: LF, CR and CRLF line ends (a CR at the end of one
 * chunk ends its line at once; an LF starting the next chunk is then
 * swallowed); one UTF-8 byte order mark stripped at the start of the stream
 * only; ":" comment lines; a line without a colon is a field with an empty
 * value; exactly one U+0020 stripped after the colon; data lines joined with
 * LF; nothing dispatched while the data buffer is empty; the event type reset
 * after each dispatch and "message" when empty; the last event ID kept across
 * events, set to empty by an empty id field, unchanged by an id containing
 * NUL; retry honoured only when the value is one or more ASCII digits (exact
 * up to 2^64-1, saturating beyond); field names case-sensitive, unknown ones
 * ignored.
 *
 * The decoder is byte-transparent by default: values are passed on as the
 * bytes received. SSE_DECODER_UTF8 applies the standard's UTF-8 decode step,
 * replacing each invalid sequence with U+FFFD as browsers do.
 *
 * Memory: a fresh decoder allocates only itself. Lines that lie wholly inside
 * one chunk are handed out by pointers into that chunk; only what crosses a
 * chunk boundary is buffered, within the limits below. Buffers are kept and
 * reused, so steady-state decoding makes no allocation per event.
 *
 * Cost: linear in the input for every chunking; no byte is scanned twice.
 */
#ifndef SSE_DECODER_H
#define SSE_DECODER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A dispatched event: the decoded view, as on_event receives it, and
 * nothing else (what a server sends is an sse_message, encoder.h). The
 * library fills it; callers never allocate one for the library, so fields
 * may be appended at its end in later versions. The strings are not
 * NUL-terminated and stay valid only during the callback. */
typedef struct sse_event {
  const char *type; /* the event type, never NULL: "message" when the
                       stream gave none or an empty one */
  size_t type_len;
  const char *data; /* the data, lines joined with LF ("" when empty); NULL
                       only when it was delivered through on_data */
  size_t data_len;  /* the data's length, in either mode */
  const char *id;   /* the last event ID at dispatch, never NULL: "" when
                       none */
  size_t id_len;
} sse_event;

/*
 * The callbacks. The caller fills this struct and sse_decoder_new() copies
 * it; it never gains fields (an older caller's struct would be shorter):
 * new kinds of report come as new functions. Each callback receives the
 * user pointer given to sse_decoder_new(). Any may be NULL: that kind of
 * report is then not made (a NULL on_data keeps the default, assembled
 * delivery of data in on_event).
 *
 * Each returns SSE_OK to go on, SSE_PAUSE to make sse_decoder_feed() return
 * SSE_PAUSE at once (call feed again with the unconsumed bytes to resume), or
 * any other value to abort: feed then returns SSE_E_CALLBACK, which is sticky
 * until sse_decoder_reset(). A callback must not call feed, finish, reset or
 * set_last_event_id on its own decoder (they return SSE_E_BUSY) and must not
 * free it; it may call sse_decoder_set_limits (from the next line) and
 * sse_decoder_get_last_event_id.
 */
typedef struct sse_decoder_callbacks {
  /* An event was dispatched (a blank line ended a block with data). */
  int (*on_event)(void *user, const sse_event *event);
  /* A retry field with a valid value was processed: the reconnection time
   * in milliseconds, saturated at UINT64_MAX. Reported when its line ends,
   * even if its block is never dispatched. */
  int (*on_retry)(void *user, uint64_t milliseconds);
  /* A comment line: the text after the colon, one leading space stripped.
   * Valid only during the callback. */
  int (*on_comment)(void *user, const char *text, size_t len);
  /* Opt-in incremental data. When set, data is not buffered: each piece is
   * passed here as it arrives (the LF joining two data lines is a piece of
   * its own), and on_event then ends the event with data == NULL and
   * data_len the total. The type and id are known only at on_event. Pieces
   * since the last on_event belong to a pending event, which may still be
   * discarded: on_discard says so, also when the stream stops in an error
   * and is then finished or reset, so drop the pieces held there. */
  int (*on_data)(void *user, const char *piece, size_t len);
  /* A pending event was dropped: reason is SSE_E_LINE_TOO_LONG or
   * SSE_E_EVENT_TOO_LARGE under SSE_DECODER_SKIP_OVERSIZE, or
   * SSE_E_TRUNCATED when finish or reset ends the stream inside an event,
   * whatever error stopped it before. An event is pending, in every
   * chunking alike, once its block had a data line: a complete one, one
   * whose limit error stopped the decoder, or an unfinished last line that
   * already began with "data:" (pieces of it may have gone to on_data).
   * Each pending event is reported once. */
  int (*on_discard)(void *user, int reason);
} sse_decoder_callbacks;

/* Default limits (see sse_decoder_set_limits). */
#define SSE_DEFAULT_MAX_LINE ((size_t)16 * 1024 * 1024)
#define SSE_DEFAULT_MAX_EVENT ((size_t)16 * 1024 * 1024)

/* Option flags for sse_decoder_set_options(). */
enum sse_decoder_option {
  /* Apply the standard's UTF-8 decode: invalid sequences in types, data,
   * ids and comments become U+FFFD (EF BF BD). Off by default. Data passed
   * in pieces to on_data is repaired too: a sequence cut at the end of a
   * piece is held back (at most 3 bytes) until the next piece of its line
   * completes it or the line ends. */
  SSE_DECODER_UTF8 = 1u << 0,
  /* At a limit, discard the event being built instead of failing: it is
   * reported through on_discard, its id, type and retry are not applied,
   * and decoding resumes after the next blank line. Off by default: a limit
   * stops the decoder with a sticky error. */
  SSE_DECODER_SKIP_OVERSIZE = 1u << 1
};

/* A decoder, opaque: made by sse_decoder_new(), released by
 * sse_decoder_free(). One decoder follows one event stream; reset it to
 * reuse it for the next connection of the same stream. */
typedef struct sse_decoder sse_decoder;

/*
 * Creates a decoder. callbacks (may be NULL: no callbacks) and allocator
 * (NULL: libc) are copied; user is passed to every callback.
 * Returns SSE_OK and sets *out; SSE_E_INVALID_ARGUMENT when out is NULL;
 * SSE_E_NOMEM (*out is NULL).
 */
SSE_API int sse_decoder_new(sse_decoder **out,
                            const sse_decoder_callbacks *callbacks, void *user,
                            const sse_allocator *allocator);

/* Frees a decoder and everything it holds. NULL is allowed. Must not be
 * called from the decoder's own callback. */
SSE_API void sse_decoder_free(sse_decoder *decoder);

/*
 * Sets the limits; 0 selects the default, never "unlimited" (pass SIZE_MAX
 * for that, knowingly).
 *  - max_line: bytes in one line, terminator excluded (default 16 MiB). It
 *    applies to every kind of line, wherever the chunks split it, except
 *    data lines when on_data is set (they are not buffered then).
 *  - max_event: bytes in an event's data buffer as the standard builds it:
 *    each data line's value plus one LF (so empty data lines count too);
 *    default 16 MiB.
 * Buffered memory never exceeds about max_event + 5 * max_line (the data,
 * the data line being gathered, a partial line, the event type, a pending
 * and the committed id), plus three times an event's type, id and data with
 * SSE_DECODER_UTF8, whose replacements may grow them. A buffered data line
 * meets max_event when it ends (max_line bounds it meanwhile); data passed
 * to on_data meets it as it arrives.
 * Exceeding a limit gives SSE_E_LINE_TOO_LONG or SSE_E_EVENT_TOO_LARGE, or a
 * discarded event under SSE_DECODER_SKIP_OVERSIZE.
 * Takes effect from the next line: a line the decoder has begun (some of
 * its bytes were fed, its end was not) keeps the limits it started with, to
 * its end; so does the line whose callback calls this. Limits set between
 * two lines (or after a CR that ended one) apply to the next. The outcome
 * depends only on where in the stream the call falls, not on the chunking.
 * finish and reset put the latest limits in force at once. May be called
 * from a callback. Returns SSE_OK, or SSE_E_INVALID_ARGUMENT when decoder
 * is NULL.
 */
SSE_API int sse_decoder_set_limits(sse_decoder *decoder, size_t max_line,
                                   size_t max_event);

/* Sets the option flags (an OR of enum sse_decoder_option); replaces the
 * previous set. Best called before the first feed. Returns SSE_OK, or
 * SSE_E_INVALID_ARGUMENT for a NULL decoder or an unknown flag. */
SSE_API int sse_decoder_set_options(sse_decoder *decoder, unsigned options);

/*
 * Feeds the next len bytes of the stream. Callbacks run from inside this
 * call. *consumed (consumed may be NULL) is set to the bytes processed.
 * Returns:
 *  - SSE_OK: all len bytes were consumed.
 *  - SSE_PAUSE: a callback paused; feed the remaining len - *consumed bytes
 *    (the same memory or a copy) to resume.
 *  - SSE_E_NOMEM: an allocation failed. Recoverable, not sticky: the
 *    decoder is exactly as if fed only the first *consumed bytes (callbacks
 *    for them have run, none for the rest). Feed the remaining bytes again
 *    (the same memory or a copy) once memory is available: the callbacks
 *    then go on as in a run without the failure.
 *  - SSE_E_LINE_TOO_LONG, SSE_E_EVENT_TOO_LARGE: a limit was exceeded.
 *  - SSE_E_CALLBACK: a callback aborted.
 *  - SSE_E_STATE: after sse_decoder_finish(), until sse_decoder_reset().
 *  - SSE_E_BUSY: called from the decoder's own callback.
 *  - SSE_E_INVALID_ARGUMENT: decoder is NULL, or data is NULL with len > 0.
 * The limit and callback errors are sticky (the stream is finished): every
 * later feed and finish returns the same code, consuming nothing, until
 * sse_decoder_reset(); *consumed is then not meaningful.
 * The decoder keeps no pointer to data after the call returns.
 */
SSE_API int sse_decoder_feed(sse_decoder *decoder, const void *data,
                             size_t len, size_t *consumed);

/*
 * Signals the end of the stream. A partial last line is dropped (a CR that
 * was the very last byte has already ended its line), and a pending event
 * (see on_discard) is discarded and reported to on_discard as
 * SSE_E_TRUNCATED, also after a sticky error. Afterwards feed returns
 * SSE_E_STATE (or the sticky error) until reset; finishing again does
 * nothing and returns the same as the first time.
 * Returns SSE_OK; the sticky error (SSE_E_LINE_TOO_LONG,
 * SSE_E_EVENT_TOO_LARGE, SSE_E_CALLBACK) if there was one; SSE_E_CALLBACK
 * if on_discard aborted (then sticky); SSE_E_BUSY; SSE_E_INVALID_ARGUMENT
 * when decoder is NULL. Never SSE_E_NOMEM: it allocates nothing.
 */
SSE_API int sse_decoder_finish(sse_decoder *decoder);

/*
 * Prepares for a new stream on a new connection: clears the pending event,
 * any partial line, the sticky error and the finished state, and expects a
 * byte order mark again. Keeps the last event ID (to send as Last-Event-ID
 * when reconnecting), the limits (the latest set), options, callbacks and
 * buffers. A pending event (see on_discard) not yet reported is reported to
 * on_discard as SSE_E_TRUNCATED, whatever error stopped the stream (its
 * return value is ignored): an on_data client drops its pieces there.
 * Returns SSE_OK, SSE_E_BUSY, or SSE_E_INVALID_ARGUMENT when decoder is
 * NULL. Allocates nothing.
 */
SSE_API int sse_decoder_reset(sse_decoder *decoder);

/*
 * The last event ID string: the id committed by the most recent blank line
 * (an id in a block that was never ended is not committed). Raw bytes as
 * received, not NUL-terminated; *len (len may be NULL) gets the length.
 * Valid until the next call that feeds, finishes, resets, sets it or frees
 * the decoder. Never NULL: "" when none, or when decoder is NULL. Never
 * fails.
 */
SSE_API const char *sse_decoder_get_last_event_id(const sse_decoder *decoder,
                                                  size_t *len);

/*
 * Sets the last event ID, e.g. restored from storage before the first
 * connection; also the id events carry until the stream sets another. An
 * id line of the current, unfinished block is forgotten. id is copied;
 * NULL with len 0 clears the id.
 * Returns SSE_OK; SSE_E_INVALID_FIELD when id contains NUL, CR or LF;
 * SSE_E_INVALID_VALUE when it is longer than max_line (the latest set);
 * SSE_E_NOMEM; SSE_E_BUSY from the decoder's own callback;
 * SSE_E_INVALID_ARGUMENT when decoder is NULL, or id is NULL with len > 0.
 * On any error nothing changes: the previous id stays.
 */
SSE_API int sse_decoder_set_last_event_id(sse_decoder *decoder, const char *id,
                                          size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SSE_DECODER_H */
