/*
 * libsse stream: Server-Sent Events over any transport, through a write
 * callback. Include <sse.h>, not this file.
 *
 * Three objects:
 *  - sse_stream: one client connection's output. The library never touches
 *    a socket: it hands bytes to your write callback, keeps in order what the
 *    callback did not accept, and sends it when you call sse_stream_flush()
 *    (when your socket is writable). Heartbeats need no timer: you pass the
 *    time to sse_stream_tick() and it tells you when to call it again.
 *  - sse_frame: an event (or comment) encoded once, immutable and
 *    reference-counted, that any number of streams queue without copying:
 *    the unit of broadcast.
 *  - sse_history: a bounded ring of recent frames with their ids, to replay
 *    what a reconnecting client missed (its Last-Event-ID) and hand it over
 *    to live frames without a loss or a duplicate.
 *
 * A typical event-loop server (one thread):
 *
 *     accept:   write the HTTP head (sse_http_headers), then
 *               sse_stream_new(&c->s, my_writev, c, NULL);
 *               sse_stream_open(c->s, 3000, 2);       // retry + first byte
 *               if Last-Event-ID: sse_history_replay(h, c->s, id, n, &pos);
 *               add c to the live set
 *     publish:  sse_frame_new_event(&f, &ev, NULL);
 *               sse_history_push(h, f, NULL);
 *               for each live c: if (sse_stream_send_frame(c->s, f)) drop c;
 *               sse_frame_release(f);
 *     after any send/flush: arm EPOLLOUT iff sse_stream_pending(c->s) > 0
 *     writable: sse_stream_flush(c->s)
 *     timeout:  sse_stream_tick(c->s, now_ms, &deadline) for each due stream
 *     close:    sse_stream_free(c->s)
 *
 * Thread model. A stream belongs to one thread at a time, and so does a
 * history; replaying a history onto a stream needs both on the calling
 * thread. A frame is immutable once made: its bytes may be read from any
 * number of threads at once, and its reference count is atomic when
 * sse_frame_atomic() returns nonzero (GCC or clang __atomic builtins, or C11
 * atomics; true on every mainstream compiler), so one frame may sit in the
 * queues of streams owned by different threads and be released from any of
 * them. Its allocator must then be thread-safe. When sse_frame_atomic()
 * returns 0, every holder of a frame must be on one thread.
 */
#ifndef SSE_STREAM_H
#define SSE_STREAM_H

#include "common.h"
#include "decoder.h" /* sse_event */

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* Frames                                                                   */
/* ======================================================================== */

/* An encoded frame (opaque): made by sse_frame_new_*, shared by reference
 * count, freed by the last sse_frame_release. */
typedef struct sse_frame sse_frame;

/*
 * Encodes ev once into a new frame, exactly as sse_encode_event() would (see
 * encoder.h for the format and the NULL/empty rules of each field). The
 * frame's memory is one block from allocator (NULL: libc), which the frame
 * keeps a copy of to free itself. *out gets the frame with one reference,
 * owned by the caller.
 * Returns SSE_OK, SSE_E_INVALID_FIELD (CR or LF in the type or id, NUL in the
 * id; nothing allocated), SSE_E_NOMEM, or SSE_E_INVALID_ARGUMENT (out or ev
 * NULL, or a NULL string with a non-zero length).
 */
SSE_API int sse_frame_new_event(sse_frame **out, const sse_event *ev,
                                const sse_allocator *allocator);

/*
 * A comment frame, as sse_encode_comment() formats it (": LINE\n" per line;
 * empty text gives ":\n"). Clients ignore it; it keeps connections alive.
 * text may be NULL when len is 0. Same results as sse_frame_new_event,
 * without SSE_E_INVALID_FIELD.
 */
SSE_API int sse_frame_new_comment(sse_frame **out, const char *text,
                                  size_t len, const sse_allocator *allocator);

/* Takes one more reference to frame and returns it (NULL gives NULL). */
SSE_API sse_frame *sse_frame_retain(sse_frame *frame);

/* Drops one reference; the last one frees the frame. NULL is allowed. Every
 * stream and history that holds the frame has its own reference, so the
 * creator may release it as soon as it has handed the frame out. */
SSE_API void sse_frame_release(sse_frame *frame);

/* The frame's encoded bytes (never NULL for a valid frame; NULL for a NULL
 * frame); *len gets their count (len may be NULL). Valid as long as you
 * hold a reference. */
SSE_API const char *sse_frame_bytes(const sse_frame *frame, size_t *len);

/* The event's id as given to sse_frame_new_event (not NUL-terminated), or
 * NULL when the frame has none (a comment, an event without an id, or a NULL
 * frame); *len gets its length (len may be NULL). Valid as long as you hold
 * a reference. */
SSE_API const char *sse_frame_id(const sse_frame *frame, size_t *len);

/* Nonzero when frame reference counts are atomic in this build (see the
 * thread model above). */
SSE_API int sse_frame_atomic(void);

/* ======================================================================== */
/* Streams                                                                  */
/* ======================================================================== */

/* One client's output (opaque): made by sse_stream_new*, freed by
 * sse_stream_free. */
typedef struct sse_stream sse_stream;

/*
 * The vectored write callback: offered iovcnt pieces (1 <= iovcnt <=
 * SSE_STREAM_MAX_IOV, each with len > 0), in order, write a prefix of their
 * concatenation to the transport (e.g. with writev(2) on a non-blocking
 * socket). Return:
 *  - SSE_OK with *written = the bytes accepted, 0 .. the sum of the lengths.
 *    The stream keeps the rest and offers it again at the next flush.
 *    *written = 0 means the same as SSE_E_AGAIN. *written starts at 0.
 *  - SSE_E_AGAIN: the transport would block; nothing was accepted (*written
 *    is ignored). The stream waits for the next sse_stream_flush().
 *  - any other value: the transport failed. The stream fails for good
 *    (SSE_E_WRITE, see sse_stream_error) and never calls the callback again.
 *    Record errno yourself (in user) if you need it. (Note: return
 *    SSE_E_AGAIN for EAGAIN, not -EAGAIN.)
 * A *written larger than offered is a callback bug and also fails the stream.
 * The pieces are valid only during the call. The callback must not call the
 * stream's functions that change it (they return SSE_E_BUSY, see below),
 * must not free the stream, must not release frames it did not retain, and
 * must not free a history that is being replayed onto the stream (pushes
 * to it return SSE_E_BUSY until the replay returns).
 */
typedef int (*sse_writev_fn)(void *user, const sse_iovec *iov, size_t iovcnt,
                             size_t *written);

/* The plain write callback of sse_stream_new_write(): same contract with one
 * buffer, e.g. write(2) or SSL_write. len > 0. After a would-block the next
 * call may offer a different buffer and length (queued frames are gathered
 * anew), so with OpenSSL set SSL_MODE_ENABLE_PARTIAL_WRITE and
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER on the SSL object. */
typedef int (*sse_write_fn)(void *user, const void *buf, size_t len,
                            size_t *written);

/* The most pieces the stream offers to one sse_writev_fn call (well under
 * POSIX IOV_MAX); a longer queue is written by successive calls. */
#define SSE_STREAM_MAX_IOV 64

/* Default cap on a stream's pending bytes (sse_stream_set_max_pending). */
#define SSE_DEFAULT_MAX_PENDING ((size_t)1024 * 1024)

/* Default keep-alive interval in milliseconds (sse_stream_set_heartbeat). */
#define SSE_DEFAULT_HEARTBEAT_MS 15000u

/* The deadline sse_stream_tick() reports when no tick is needed. */
#define SSE_NO_DEADLINE UINT64_MAX

/* The largest preamble padding sse_stream_open() accepts. */
#define SSE_MAX_PADDING ((size_t)64 * 1024)

/*
 * Creates a stream that writes through writev, passing user to each call.
 * allocator (NULL: libc) is copied; every allocation of the stream and of
 * the frames it makes for its own sends goes through it.
 *
 * Memory: an idle stream is one allocation of 160 bytes on 64-bit
 * targets (the struct, with room for 4 queued frames inside it) and holds
 * nothing else. A stream with more than 4 frames waiting allocates a queue
 * array (8 bytes per frame, 16 frames at first, grown by doubling) that it
 * frees when the queue drains. Frames it holds are counted once, however
 * many streams hold them.
 *
 * Returns SSE_OK and sets *out, SSE_E_NOMEM, or SSE_E_INVALID_ARGUMENT (out
 * or writev NULL).
 */
SSE_API int sse_stream_new(sse_stream **out, sse_writev_fn writev, void *user,
                           const sse_allocator *allocator);

/*
 * The same with a plain write callback. The stream calls it once per frame,
 * except that successive queued frames that fit together in 1 KiB are
 * copied into one buffer (on the stack) and written in one call, so small
 * frames do not cost a system call each.
 */
SSE_API int sse_stream_new_write(sse_stream **out, sse_write_fn write,
                                 void *user, const sse_allocator *allocator);

/* Frees a stream and drops its references to queued frames (their bytes are
 * not sent). NULL is allowed. Never from the stream's own callback. */
SSE_API void sse_stream_free(sse_stream *stream);

/*
 * Sets the cap on pending bytes (queued, not yet accepted by the callback);
 * 0 selects SSE_DEFAULT_MAX_PENDING, never "unlimited" (pass SIZE_MAX for
 * that, knowingly). A send that would take pending bytes over the cap fails
 * with SSE_E_OVERFLOW. Lowering the cap below what is pending does not
 * overflow the stream; the next send is checked. The cap bounds one frame
 * too: it must exceed your largest frame.
 * Returns SSE_OK, SSE_E_BUSY or SSE_E_INVALID_ARGUMENT.
 */
SSE_API int sse_stream_set_max_pending(sse_stream *stream, size_t max_bytes);

/* Sets the keep-alive interval in milliseconds (default
 * SSE_DEFAULT_HEARTBEAT_MS); 0 turns keep-alives off. See sse_stream_tick.
 * Returns SSE_OK, SSE_E_BUSY or SSE_E_INVALID_ARGUMENT. */
SSE_API int sse_stream_set_heartbeat(sse_stream *stream, uint64_t interval_ms);

/*
 * How every send works (sse_stream_send_*, sse_stream_open, keep-alives and
 * sse_history_replay*): the frame's bytes are appended to the stream's
 * queue. If nothing was pending, the stream calls the write callback at once;
 * whatever it does not accept stays queued. If bytes were already pending,
 * the send only queues (the transport is known to be full) and the bytes go
 * out at the next sse_stream_flush(). So after any send or flush, wait for
 * writability exactly when sse_stream_pending() > 0.
 *
 * Guarantees: the bytes of all accepted sends reach the callback in order,
 * each exactly once, never interleaved; a send that fails queues nothing and
 * writes nothing (strong guarantee). Send results:
 *  - SSE_OK: accepted (written, or queued in whole or part);
 *  - SSE_E_OVERFLOW: pending bytes plus this frame would exceed the cap.
 *    The stream is now overflowed, for good: it refuses every send, but what
 *    was queued before can still be flushed. Close the connection (after a
 *    last flush if you like); other streams are not affected;
 *  - SSE_E_NOMEM: an allocation failed; nothing changed, the stream is
 *    still usable;
 *  - SSE_E_WRITE: the callback failed, now or before (the stream is failed);
 *  - SSE_E_CLOSED: sse_stream_close() was called;
 *  - SSE_E_BUSY: called from the stream's own write callback;
 *  - SSE_E_INVALID_ARGUMENT: a NULL object, or a NULL string with a
 *    non-zero length.
 * Once the stream is closed, overflowed or failed, sends return that state
 * (SSE_E_CLOSED, SSE_E_OVERFLOW, SSE_E_WRITE) before looking at their
 * arguments.
 */

/*
 * Sends one event (see sse_encode_event for the format and for what NULL
 * and empty fields mean). The event is encoded into a frame the stream
 * allocates (one allocation, freed once written). Also returns
 * SSE_E_INVALID_FIELD (CR or LF in the type or id, NUL in the id: nothing
 * sent).
 */
SSE_API int sse_stream_send_event(sse_stream *stream, const sse_event *event);

/* Sends a comment (see sse_encode_comment). text may be NULL when len is 0
 * (":\n"). */
SSE_API int sse_stream_send_comment(sse_stream *stream, const char *text,
                                    size_t len);

/* Sends "retry: MS\n\n": the client's reconnection delay. */
SSE_API int sse_stream_send_retry(sse_stream *stream, uint64_t milliseconds);

/*
 * Queues a shared frame: no copy; the stream takes its own reference while
 * the frame waits and drops it once the frame is written (or the stream
 * fails or is freed). The caller keeps its reference and must hold it until
 * the call returns. frame NULL gives SSE_E_INVALID_ARGUMENT.
 */
SSE_API int sse_stream_send_frame(sse_stream *stream, sse_frame *frame);

/*
 * Sends the stream's preamble, as the first output of the stream, in one
 * frame:
 *  - padding > 0: a comment line of max(padding, 2) bytes (":", spaces,
 *    LF). Pass 2 for a bare ":\n" that makes the response headers flush
 *    through buffering proxies at once; about 2048 for old polyfills (IE)
 *    that needed 2 KiB before they parse anything. At most SSE_MAX_PADDING.
 *  - retry_ms > 0: then "retry: retry_ms\n\n". 0 writes no retry field
 *    (use sse_stream_send_retry for a literal 0).
 * Both 0: nothing is sent (and SSE_OK is returned). Also returns SSE_E_STATE
 * when anything was sent on the stream before (a keep-alive included), and
 * SSE_E_INVALID_ARGUMENT for padding > SSE_MAX_PADDING.
 */
SSE_API int sse_stream_open(sse_stream *stream, uint64_t retry_ms,
                            size_t padding);

/*
 * Writes queued bytes: one callback call carries every queued frame (up to
 * SSE_STREAM_MAX_IOV pieces; a longer queue takes more calls), and calls go
 * on while the callback accepts all it is offered. Call it when the
 * transport is writable. Works on closed and overflowed streams too, so you
 * can drain them before closing the connection.
 * Returns:
 *  - SSE_OK: nothing is pending any more;
 *  - SSE_E_AGAIN: bytes remain (the callback took part or would block);
 *  - SSE_E_WRITE: the callback failed now or before (nothing is pending: a
 *    failed stream drops its queue);
 *  - SSE_E_BUSY, SSE_E_INVALID_ARGUMENT.
 */
SSE_API int sse_stream_flush(sse_stream *stream);

/*
 * Drives keep-alives. Pass the current time of a monotonic clock in
 * milliseconds (any origin; e.g. CLOCK_MONOTONIC). The stream has no clock of
 * its own: its "now" is the now_ms of the latest tick (a smaller value than
 * before is taken as the previous one), and every time the callback accepts
 * bytes the stream stamps "last write = its now". The first tick starts the
 * clock: idle time counts from it.
 *
 * When keep-alives are on, nothing is pending, and now_ms - last write >=
 * the interval, the tick sends the keep-alive comment ":\n" (through the
 * ordinary send path, so it may be partly queued, and never lands inside a
 * frame). While bytes are pending no keep-alive is sent: the client is not
 * reading, and a keep-alive would only wait behind them.
 *
 * *deadline (deadline may be NULL) gets the time at which to tick again:
 * last write + interval, or now_ms + interval if that has passed (so the
 * deadline is always later than now_ms); SSE_NO_DEADLINE when keep-alives are
 * off or the stream is closed, overflowed or failed. Sends and flushes only
 * move the real deadline later, so a deadline you hold is never too late;
 * ticking early is harmless. Because writes are stamped with the time of the
 * latest tick, a keep-alive can come up to one tick period sooner than
 * needed, never later; tick before sending to keep the stamp fresh.
 *
 * The keep-alive lives in constant storage and needs no memory.
 * Returns SSE_OK, the keep-alive's send result (SSE_E_WRITE; SSE_E_OVERFLOW
 * if the cap is below its 2 bytes), the sticky state (SSE_E_CLOSED,
 * SSE_E_OVERFLOW, SSE_E_WRITE), SSE_E_BUSY or SSE_E_INVALID_ARGUMENT.
 */
SSE_API int sse_stream_tick(sse_stream *stream, uint64_t now_ms,
                            uint64_t *deadline);

/*
 * Closes the stream for sends: every later send returns SSE_E_CLOSED. What
 * is queued stays and can be flushed (a graceful end: flush until
 * sse_stream_pending() is 0, then close the connection). Does not change an
 * overflowed or failed stream. Returns SSE_OK, SSE_E_BUSY or
 * SSE_E_INVALID_ARGUMENT.
 */
SSE_API int sse_stream_close(sse_stream *stream);

/* Bytes queued and not yet accepted by the callback; 0 for NULL and for a
 * failed stream (its queue is dropped). May be called from the callback. */
SSE_API size_t sse_stream_pending(const sse_stream *stream);

/* The stream's state: SSE_OK while open, else SSE_E_CLOSED,
 * SSE_E_OVERFLOW or SSE_E_WRITE (sticky; a failure overrides the other
 * two); SSE_E_INVALID_ARGUMENT for NULL. May be called from the callback. */
SSE_API int sse_stream_error(const sse_stream *stream);

/* ======================================================================== */
/* Replay history                                                           */
/* ======================================================================== */

/* A replay history (opaque): made by sse_history_new, freed by
 * sse_history_free. */
typedef struct sse_history sse_history;

/* Default bounds of a history (sse_history_new). The byte bound is below
 * SSE_DEFAULT_MAX_PENDING so that a full replay fits an idle stream. */
#define SSE_DEFAULT_HISTORY_COUNT ((size_t)1024)
#define SSE_DEFAULT_HISTORY_BYTES ((size_t)512 * 1024)

/*
 * Creates a history that keeps at most max_count frames and max_bytes bytes
 * of them (0 selects SSE_DEFAULT_HISTORY_COUNT / _BYTES, never
 * "unlimited"). Keep max_bytes below your streams' max_pending, or a long
 * replay cannot fit (see sse_history_replay). allocator (NULL: libc) is
 * copied; the history allocates itself and its ring of frame pointers (8
 * bytes per frame, grown by doubling up to max_count).
 * Returns SSE_OK and sets *out, SSE_E_NOMEM, or SSE_E_INVALID_ARGUMENT.
 */
SSE_API int sse_history_new(sse_history **out, size_t max_count,
                            size_t max_bytes, const sse_allocator *allocator);

/* Frees the history and drops its frame references. NULL is allowed. */
SSE_API void sse_history_free(sse_history *history);

/*
 * Positions. Every frame pushed gets the next sequence number: 1, 2, 3, ...
 * A position P means "every frame with sequence <= P": a stream is at P when
 * it has been given exactly those frames (of this history).
 *
 * Appends a frame (the history takes its own reference), evicting the
 * oldest frames as needed to respect both bounds. *seq (seq may be NULL)
 * gets the frame's sequence number. The frame must carry a non-empty id
 * (made by sse_frame_new_event with one); ids should be unique (on a
 * duplicate, the newest frame wins at replay). A frame larger than max_bytes
 * is not kept: it still gets its number and counts as evicted at once (so a
 * client that missed it hears SSE_E_EVICTED, never silence).
 * Returns SSE_OK, SSE_E_NOMEM (nothing changed), SSE_E_BUSY (called from the
 * write callback of a stream this history is being replayed onto: the
 * replay lends the kept frames to the callback; nothing changed), or
 * SSE_E_INVALID_ARGUMENT (NULL, or a frame without an id).
 */
SSE_API int sse_history_push(sse_history *history, sse_frame *frame,
                             uint64_t *seq);

/*
 * Replays what a client missed: finds the frame with id last_id (the
 * client's Last-Event-ID, e.g. from sse_http_last_event_id) and queues every
 * newer frame onto stream, in order, all or nothing, without copying. They
 * go out as one send: if the stream was idle, in as few callback calls as a
 * flush makes, straight from the history (the stream takes references only
 * to what the callback leaves); if it had bytes pending, they only queue
 * behind them. *pos (pos may be NULL) gets the newest sequence number, the
 * stream's position, on SSE_OK, SSE_E_UNKNOWN_ID and SSE_E_EVICTED.
 * Returns:
 *  - SSE_OK: found; the newer frames are queued (none if it is the newest);
 *  - SSE_E_UNKNOWN_ID: no frame has this id (an empty id, an id from another
 *    server or before a restart, a forged id); nothing queued, *pos set.
 *  - SSE_E_EVICTED: the id is older than the frames kept: frames it missed
 *    are gone; nothing queued, *pos set. The history can tell this when every
 *    id pushed so far was a decimal number ("0" or 1 to 20 digits without a
 *    leading zero, at most 2^64-1) greater than the one before, and last_id
 *    is one at or below the newest evicted one; with other ids, an evicted
 *    id reads as SSE_E_UNKNOWN_ID.
 *    Either way you decide: a full resync, a "cursor too old" event, or
 *    start from now (*pos is already the right position for that).
 *  - SSE_E_OVERFLOW: the frames to replay do not fit under the stream's cap
 *    (pending + their bytes > max); nothing queued, and unlike a send this
 *    does not overflow the stream, so you can still answer with a resync;
 *  - the stream's send errors: SSE_E_NOMEM (nothing queued), SSE_E_CLOSED,
 *    SSE_E_WRITE, SSE_E_BUSY; SSE_E_INVALID_ARGUMENT (history or stream
 *    NULL, last_id NULL with len > 0).
 * The lookup compares the 8 newest ids, then, when every id pushed so far
 * was an increasing decimal number (as above), searches the older frames by
 * bisection (about log2(max_count) steps); with other ids it scans them from
 * the newest back (at most max_count comparisons).
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
 *    queues exactly the frames pushed since.
 * Pushing to the history and broadcasting the same frame in one step, and
 * catching up by position, make the usual race impossible.
 */
SSE_API int sse_history_replay(const sse_history *history, sse_stream *stream,
                               const char *last_id, size_t len, uint64_t *pos);

/*
 * Queues every frame after position pos (all frames with a sequence number
 * > pos), in order, as sse_history_replay does; *next (may be NULL) gets the
 * newest sequence number. Pass 0 to replay everything ever pushed, or first
 * - 1 from sse_history_range() for everything still kept.
 * Returns SSE_OK, SSE_E_EVICTED (a frame after pos is gone; nothing queued,
 * *next set), SSE_E_INVALID_ARGUMENT (pos is beyond the newest number), or
 * the stream's errors as sse_history_replay.
 */
SSE_API int sse_history_replay_from(const sse_history *history,
                                    sse_stream *stream, uint64_t pos,
                                    uint64_t *next);

/*
 * The sequence numbers of the oldest frame kept (*first) and of the newest
 * frame pushed (*last; 0 before the first push). The history keeps last -
 * first + 1 frames (first is last + 1 when it keeps none). Either pointer
 * may be NULL. Returns the bytes of the frames kept (0 for NULL).
 */
SSE_API size_t sse_history_range(const sse_history *history, uint64_t *first,
                                 uint64_t *last);

#ifdef __cplusplus
}
#endif

#endif /* SSE_STREAM_H */
