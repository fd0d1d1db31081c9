/*
 * libsse history: a bounded ring of recent frames with their ids, to replay
 * what a reconnecting client missed (its Last-Event-ID) onto its stream and
 * hand it over to live frames without a loss or a duplicate. Include
 * <sse.h>, not this file.
 *
 * Thread model: a history belongs to one thread at a time; replaying it
 * onto a stream needs both on the calling thread.
 */
#ifndef SSE_HISTORY_H
#define SSE_HISTORY_H

#include "common.h"
#include "frame.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A replay history (opaque): made by sse_history_new, freed by
 * sse_history_free. */
typedef struct sse_history sse_history;

/* Default bounds of a history (sse_history_new). The byte bound is well
 * below SSE_DEFAULT_MAX_PENDING so that a full replay fits an idle
 * stream. */
#define SSE_DEFAULT_HISTORY_COUNT ((size_t)1024)
#define SSE_DEFAULT_HISTORY_BYTES ((size_t)512 * 1024)

/*
 * Creates a history that keeps at most max_count frames and max_bytes bytes
 * of them (0 selects SSE_DEFAULT_HISTORY_COUNT / _BYTES, never
 * "unlimited"). Keep max_bytes well below your streams' max_pending, or a
 * long replay cannot fit (see sse_history_replay). allocator (NULL: libc)
 * is copied. Memory: the history holds a reference to each frame it keeps
 * and at most 16 * max_count + 256 bytes of its own.
 * Returns SSE_OK and sets *out, SSE_E_NOMEM, or SSE_E_INVALID_ARGUMENT (out
 * NULL).
 */
SSE_API int sse_history_new(sse_history **out, size_t max_count,
                            size_t max_bytes, const sse_allocator *allocator);

/* Frees the history and drops its frame references. NULL is allowed. Never
 * while it is being replayed (from a write callback). */
SSE_API void sse_history_free(sse_history *history);

/*
 * Positions. Every frame pushed gets the next sequence number: 1, 2, 3, ...
 * A position P means "every frame with sequence <= P": a stream is at P when
 * it has been given exactly those frames (of this history).
 *
 * Appends a frame (the history takes its own reference), evicting the
 * oldest frames as needed to respect both bounds. *seq (seq may be NULL)
 * gets the frame's sequence number. The frame must carry a non-empty id
 * (made by sse_frame_new_message with one); ids should be unique (on a
 * duplicate, the newest frame wins at replay). A frame larger than max_bytes
 * is not kept: it still gets its number and counts as evicted at once (so a
 * client that missed it hears SSE_E_EVICTED, never silence).
 * Returns SSE_OK, SSE_E_NOMEM (nothing changed), SSE_E_BUSY (called from the
 * write callback of a stream this history is being replayed onto: the
 * replay lends the kept frames to the callback; nothing changed), or
 * SSE_E_INVALID_ARGUMENT (NULL, or a frame without an id or with an empty
 * one).
 */
SSE_API int sse_history_push(sse_history *history, sse_frame *frame,
                             uint64_t *seq);

/*
 * Replays what a client missed: finds the frame with id last_id (the
 * client's Last-Event-ID, e.g. from sse_http_last_event_id) and sends every
 * newer frame onto stream, in order, all or nothing, without copying, as
 * one send (see stream.h: on an idle push stream they go to the callback
 * straight from the history; otherwise they queue). *pos (pos may be NULL)
 * gets the newest sequence number, the stream's position, on SSE_OK,
 * SSE_E_UNKNOWN_ID and SSE_E_EVICTED.
 * The stream's state is checked first, as for every send: a closed,
 * overflowed or failed stream gives SSE_E_CLOSED, SSE_E_OVERFLOW or
 * SSE_E_WRITE without a lookup (and *pos is not set).
 * Returns:
 *  - SSE_OK: found; the newer frames are sent (none if it is the newest);
 *  - SSE_E_UNKNOWN_ID: no frame has this id (an empty id, an id from another
 *    server or before a restart, a forged id); nothing sent, *pos set.
 *  - SSE_E_EVICTED: the id is older than the frames kept: frames it missed
 *    are gone; nothing sent, *pos set. The history can tell this when every
 *    id pushed so far was a decimal number ("0" or 1 to 20 digits without a
 *    leading zero, at most 2^64-1) greater than the one before, and last_id
 *    is one at or below the newest evicted one; with other ids, an evicted
 *    id reads as SSE_E_UNKNOWN_ID.
 *    Either way you decide: a full resync, a "cursor too old" event, or
 *    start from now (*pos is already the right position for that).
 *  - SSE_E_NOSPACE: the frames to replay do not fit under the stream's cap
 *    (what it holds + their bytes > its cap); nothing sent, and unlike a
 *    send this does not overflow the stream, so you can still answer with a
 *    resync, or raise the cap or drain the stream and try again;
 *  - the stream's state and send errors: SSE_E_CLOSED, SSE_E_OVERFLOW,
 *    SSE_E_WRITE, SSE_E_NOMEM (nothing sent), SSE_E_BUSY;
 *    SSE_E_INVALID_ARGUMENT (history or stream NULL, last_id NULL with
 *    len > 0).
 * Cost: at most about log2(max_count) id comparisons when every id pushed
 * so far was an increasing decimal number (as above), else at most
 * max_count.
 *
 * Hand-over to live frames, without a loss or a duplicate. The history does
 * not broadcast; your publish step does "push, then send to every live
 * stream". A stream must get every frame after its position exactly once:
 *  - if you replay and add the stream to your live set in the same turn of
 *    your event loop (no push in between), that is all: frames pushed before
 *    came from the replay, frames pushed after come from your broadcast;
 *  - if something runs in between (the stream joins later, e.g. after
 *    authentication), keep *pos and call sse_history_replay_from(history,
 *    stream, pos, &pos) right before adding the stream to the live set; it
 *    sends exactly the frames pushed since.
 */
SSE_API int sse_history_replay(sse_history *history, sse_stream *stream,
                               const char *last_id, size_t len,
                               uint64_t *pos);

/*
 * Sends every frame after position pos (all frames with a sequence number
 * > pos), in order, as sse_history_replay does; *next (may be NULL) gets
 * the newest sequence number. Pass 0 to replay everything ever pushed, or
 * sse_history_get_first_seq() - 1 for everything still kept.
 * Returns SSE_OK, SSE_E_EVICTED (a frame after pos is gone; nothing sent,
 * *next set), SSE_E_INVALID_ARGUMENT (pos is beyond the newest number), or
 * the stream's state and errors as sse_history_replay.
 */
SSE_API int sse_history_replay_from(sse_history *history, sse_stream *stream,
                                    uint64_t pos, uint64_t *next);

/* The sequence number of the oldest frame kept; sse_history_get_last_seq()
 * + 1 when none is kept (and 1 before the first push). 0 for NULL. */
SSE_API uint64_t sse_history_get_first_seq(const sse_history *history);

/* The sequence number of the newest frame pushed (kept or not); 0 before
 * the first push and for NULL. */
SSE_API uint64_t sse_history_get_last_seq(const sse_history *history);

/* The number of frames kept, and the bytes of their encoded frames; 0 for
 * NULL. */
SSE_API size_t sse_history_get_count(const sse_history *history);
SSE_API size_t sse_history_get_bytes(const sse_history *history);

#ifdef __cplusplus
}
#endif

#endif /* SSE_HISTORY_H */
