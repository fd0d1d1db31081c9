/*
 * libsse stream: one client connection's output, over any transport.
 * Include <sse.h>, not this file.
 *
 * A stream turns messages, comments and shared frames (frame.h) into an
 * ordered queue of bytes and hands them to your server in one of two ways,
 * chosen at creation:
 *  - push (sse_stream_new, sse_stream_new_write): the stream calls your
 *    write callback at once; whatever the callback does not accept stays
 *    queued and goes out at sse_stream_flush(), which you call when the
 *    socket is writable. For servers that own their sockets (epoll, libuv).
 *  - pull (sse_stream_new_pull): the stream only queues; your server takes
 *    the bytes when it can, copied into its buffer (sse_stream_read) or as
 *    pieces without a copy (sse_stream_peek, then sse_stream_consume). For
 *    servers that ask for the body: libmicrohttpd's content reader,
 *    nghttp2's data source, h2o generators.
 * Caps, heartbeats, ordering, overflow, close and replay behave the same in
 * both. The library never touches a socket or a clock: heartbeats run from
 * sse_stream_tick(), to which you pass the time.
 *
 * A typical event-loop server (one thread, push):
 *
 *     accept:   write the HTTP head (sse_http_headers), then
 *               sse_stream_new(&c->s, my_writev, c, NULL);
 *               sse_stream_open(c->s, 3000, 2);       // retry + first byte
 *               if Last-Event-ID: sse_history_replay(h, c->s, id, n, &pos);
 *               add c to the live set
 *     publish:  sse_frame_new_message(&f, &msg, NULL);
 *               sse_history_push(h, f, NULL);
 *               sse_stream_broadcast(live, n_live, f, results, &failed);
 *               drop every stream whose result is not SSE_OK;
 *               sse_frame_release(f);
 *     after any send/flush: arm EPOLLOUT iff sse_stream_get_pending(s) > 0
 *     writable: sse_stream_flush(c->s)
 *     timeout:  sse_stream_tick(c->s, now_ms, &deadline) for each due stream
 *     close:    sse_stream_free(c->s)
 *
 * With pull, "writable" becomes "the server asks for body bytes": call
 * sse_stream_read() there; when it says SSE_E_AGAIN, suspend the response
 * (MHD_suspend_connection, NGHTTP2_ERR_DEFERRED) and resume it after any
 * send or tick that leaves sse_stream_get_pending(s) > 0.
 *
 * Thread model: a stream belongs to one thread at a time; see frame.h for
 * frames shared across threads.
 */
#ifndef SSE_STREAM_H
#define SSE_STREAM_H

#include "common.h"
#include "encoder.h" /* sse_message */
#include "frame.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One client's output (opaque): made by sse_stream_new*, freed by
 * sse_stream_free. */
typedef struct sse_stream sse_stream;

/*
 * The vectored write callback of a push stream: offered iovcnt pieces
 * (1 <= iovcnt <= SSE_STREAM_MAX_IOV, each with len > 0), in order, write a
 * prefix of their concatenation to the transport (e.g. writev(2) on a
 * non-blocking socket). Return:
 *  - SSE_OK with *written = the bytes accepted, 1 .. the sum of the
 *    lengths. The stream keeps the rest and offers it again at the next
 *    flush.
 *  - SSE_E_AGAIN: the transport would block (EAGAIN); nothing was accepted.
 *    This is the only way to say so. The stream waits for the next
 *    sse_stream_flush().
 *  - any other value: the transport failed. The stream fails for good
 *    (SSE_E_WRITE, see sse_stream_get_error) and never calls the callback
 *    again. Record errno yourself (in user) if you need it.
 * SSE_OK with *written == 0, or *written larger than offered, is a callback
 * bug and also fails the stream. *written starts at 0.
 * The pieces are valid only during the call. The callback must not call the
 * stream's functions that change it (they return SSE_E_BUSY), must not free
 * the stream, must not release frames it did not retain, and must not free
 * a history that is being replayed onto the stream.
 */
typedef int (*sse_writev_fn)(void *user, const sse_iovec *iov, size_t iovcnt,
                             size_t *written);

/* The plain write callback of sse_stream_new_write(): the same contract
 * with one buffer, e.g. write(2) or SSL_write. len > 0. After a
 * would-block the next call may offer a different buffer and length (queued
 * frames are gathered anew), so with OpenSSL set
 * SSL_MODE_ENABLE_PARTIAL_WRITE and SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER. */
typedef int (*sse_write_fn)(void *user, const void *buf, size_t len,
                            size_t *written);

/* The most pieces the stream offers to one sse_writev_fn call or gives
 * out in one sse_stream_peek (well under POSIX IOV_MAX). */
#define SSE_STREAM_MAX_IOV 64

/* Default cap on what a stream holds (sse_stream_set_max_pending). */
#define SSE_DEFAULT_MAX_PENDING ((size_t)1024 * 1024)

/* Default keep-alive interval in milliseconds (sse_stream_set_heartbeat). */
#define SSE_DEFAULT_HEARTBEAT_MS 15000u

/* The largest preamble padding sse_stream_open() accepts. */
#define SSE_MAX_PADDING ((size_t)64 * 1024)

/* An upper bound on an idle stream's one allocation, in bytes (sizes of
 * pointers and size_t up to 8 bytes). */
#define SSE_STREAM_IDLE_MAX_BYTES 256

/*
 * Creates a push stream that writes through writev, passing user to each
 * call. allocator (NULL: libc) is copied; every allocation of the stream
 * and of the frames it makes for its own sends goes through it.
 *
 * Memory: an idle stream (nothing queued) is one allocation of at most
 * SSE_STREAM_IDLE_MAX_BYTES. Beyond it a stream holds at most its cap
 * (sse_stream_set_max_pending): the bytes of the frames it queues, each
 * counted once per stream even when frames are shared, plus the memory it
 * allocates to keep them in order.
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

/*
 * Creates a pull stream: it has no callback; sends only queue, and the
 * server takes the bytes with sse_stream_read() or sse_stream_peek() and
 * sse_stream_consume(). Same memory rules as sse_stream_new.
 * Returns SSE_OK and sets *out, SSE_E_NOMEM, or SSE_E_INVALID_ARGUMENT (out
 * NULL).
 */
SSE_API int sse_stream_new_pull(sse_stream **out,
                                const sse_allocator *allocator);

/* Frees a stream and drops its references to queued frames (their bytes are
 * not sent). NULL is allowed. Never from the stream's own callback. */
SSE_API void sse_stream_free(sse_stream *stream);

/*
 * Sets the cap on what the stream holds beyond its idle allocation (see
 * sse_stream_new): 0 selects SSE_DEFAULT_MAX_PENDING, never "unlimited"
 * (pass SIZE_MAX for that, knowingly). A send that would take the stream
 * over the cap fails with SSE_E_OVERFLOW. Lowering the cap below what is
 * held does not overflow the stream; the next send is checked. The cap
 * bounds one frame too: it must exceed your largest frame plus a few
 * hundred bytes.
 * Returns SSE_OK, SSE_E_BUSY or SSE_E_INVALID_ARGUMENT.
 */
SSE_API int sse_stream_set_max_pending(sse_stream *stream, size_t max_bytes);

/* Sets the keep-alive interval in milliseconds (default
 * SSE_DEFAULT_HEARTBEAT_MS); 0 turns keep-alives off. See sse_stream_tick.
 * Returns SSE_OK, SSE_E_BUSY or SSE_E_INVALID_ARGUMENT. */
SSE_API int sse_stream_set_heartbeat(sse_stream *stream, uint64_t interval_ms);

/*
 * How every send works (sse_stream_send_*, sse_stream_broadcast,
 * sse_stream_open, keep-alives, and sse_history_replay*): the frame's bytes
 * are appended to the stream's queue. On a push stream with nothing
 * pending, the stream then calls the write callback at once, and whatever
 * it does not accept stays queued; if bytes were already pending, the send
 * only queues (the transport is known to be full) and the bytes go out at
 * the next sse_stream_flush(). So after any send or flush, wait for
 * writability exactly when sse_stream_get_pending() > 0. A pull stream
 * only queues.
 *
 * Guarantees: the bytes of all accepted sends are delivered in order, each
 * exactly once, never interleaved; a send that fails queues nothing and
 * writes nothing (strong guarantee). Send results, the stream's state
 * checked first, before the arguments:
 *  - SSE_E_CLOSED, SSE_E_OVERFLOW, SSE_E_WRITE: the stream was closed,
 *    overflowed or failed before; nothing sent;
 *  - SSE_E_BUSY: called from the stream's own write callback;
 *  - SSE_E_INVALID_ARGUMENT: a NULL object, or a NULL string with a
 *    non-zero length;
 *  - SSE_E_INVALID_FIELD (messages only): nothing sent, the stream is
 *    unchanged;
 *  - SSE_E_OVERFLOW: the stream would hold more than its cap. The stream is
 *    now overflowed, for good: it refuses every send, but what was queued
 *    before can still be flushed or read. Close the connection (after a
 *    last flush if you like); other streams are not affected;
 *  - SSE_E_NOMEM: an allocation failed; nothing changed, the stream is
 *    still usable;
 *  - SSE_E_WRITE: the write callback failed during this send (the stream is
 *    failed);
 *  - SSE_OK: accepted (written, or queued in whole or part).
 */

/*
 * Sends one message (see sse_message). It is encoded into a frame the
 * stream allocates (one allocation, freed once written).
 */
SSE_API int sse_stream_send_message(sse_stream *stream,
                                    const sse_message *msg);

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
 * Sends n frames, in order, as one send: all of them or none (strong
 * guarantee; an SSE_E_OVERFLOW overflows the stream as any send does).
 * frames may be NULL when n is 0 (SSE_OK, nothing sent); a NULL frame in
 * the array gives SSE_E_INVALID_ARGUMENT. Returns the send results above.
 */
SSE_API int sse_stream_send_frames(sse_stream *stream,
                                   sse_frame *const *frames, size_t n);

/*
 * Broadcast: sends frame to each of the n streams, as sse_stream_send_frame
 * would, in one call (the hot path of a hub: the frame's bytes are shared,
 * each delivery onto an idle push stream is one callback call and no
 * allocation). results[i] (results may be NULL) gets stream i's send
 * result; *failed (may be NULL) gets how many sends did not return SSE_OK.
 * A stream may appear once only. Every stream must belong to the calling
 * thread.
 * Returns SSE_OK when every stream was tried (some may have failed: see
 * results), or SSE_E_INVALID_ARGUMENT (frame NULL, streams NULL with n > 0,
 * or a NULL stream in the array; nothing sent).
 */
SSE_API int sse_stream_broadcast(sse_stream *const *streams, size_t n,
                                 sse_frame *frame, int *results,
                                 size_t *failed);

/*
 * Sends the stream's preamble, as the first output of the stream, in one
 * frame:
 *  - padding > 0: a comment line of max(padding, 2) bytes (":", spaces,
 *    LF). Pass 2 for a bare ":\n" that makes the response headers flush
 *    through buffering proxies at once; about 2048 for old polyfills that
 *    needed 2 KiB before they parse anything. At most SSE_MAX_PADDING.
 *  - retry_ms > 0: then "retry: retry_ms\n\n". 0 writes no retry field
 *    (use sse_stream_send_retry for a literal 0).
 * Both 0: nothing is sent (and SSE_OK is returned). Also returns SSE_E_STATE
 * when anything was sent on the stream before (a keep-alive included), and
 * SSE_E_INVALID_ARGUMENT for padding > SSE_MAX_PADDING.
 */
SSE_API int sse_stream_open(sse_stream *stream, uint64_t retry_ms,
                            size_t padding);

/*
 * Push streams: writes queued bytes. One callback call carries every queued
 * frame (up to SSE_STREAM_MAX_IOV pieces; a longer queue takes more calls),
 * and calls go on while the callback accepts all it is offered. Call it
 * when the transport is writable. Works on closed and overflowed streams
 * too, so you can drain them before closing the connection.
 * Returns:
 *  - SSE_OK: nothing is pending any more;
 *  - SSE_E_AGAIN: bytes remain (the callback took part or would block);
 *  - SSE_E_WRITE: the callback failed now or before (nothing is pending: a
 *    failed stream drops its queue);
 *  - SSE_E_STATE: a pull stream (read it instead);
 *  - SSE_E_BUSY, SSE_E_INVALID_ARGUMENT.
 */
SSE_API int sse_stream_flush(sse_stream *stream);

/*
 * Pull streams: copies up to cap queued bytes into buf, in order, and
 * consumes them. *len (not NULL) gets the bytes copied.
 * Returns:
 *  - SSE_OK: *len > 0 bytes copied (fewer than cap when fewer were queued;
 *    call again for more);
 *  - SSE_E_AGAIN: nothing is queued and the stream is open: suspend the
 *    response until a send leaves sse_stream_get_pending() > 0;
 *  - SSE_E_CLOSED: the stream was closed and everything was read: end the
 *    response;
 *  - SSE_E_OVERFLOW: the stream overflowed and everything queued before was
 *    read: abort the response (the client missed data);
 *  - SSE_E_STATE: a push stream; SSE_E_BUSY; SSE_E_INVALID_ARGUMENT
 *    (stream or len NULL, buf NULL or cap 0).
 * *len is 0 on every code but SSE_OK.
 */
SSE_API int sse_stream_read(sse_stream *stream, void *buf, size_t cap,
                            size_t *len);

/*
 * Pull streams, without copying: gives the queued bytes as up to iov_cap
 * pieces (at most SSE_STREAM_MAX_IOV), in order, each with len > 0. *count
 * (not NULL) gets the pieces given. The pieces point into frames the stream
 * holds and stay valid until the next call that changes the stream
 * (consume, read, a send, tick, close, free). Nothing is consumed: call
 * sse_stream_consume() with the bytes your transport took.
 * Returns SSE_OK (*count > 0), or as sse_stream_read: SSE_E_AGAIN,
 * SSE_E_CLOSED, SSE_E_OVERFLOW (*count 0 then), SSE_E_STATE, SSE_E_BUSY,
 * SSE_E_INVALID_ARGUMENT (stream or count NULL, iov NULL or iov_cap 0).
 */
SSE_API int sse_stream_peek(sse_stream *stream, sse_iovec *iov,
                            size_t iov_cap, size_t *count);

/*
 * Pull streams: marks the first n queued bytes as delivered (after
 * sse_stream_peek), releasing frames wholly consumed. n 0 does nothing.
 * Returns SSE_OK, SSE_E_INVALID_ARGUMENT (n > sse_stream_get_pending(),
 * nothing consumed; or stream NULL), SSE_E_STATE (a push stream) or
 * SSE_E_BUSY.
 */
SSE_API int sse_stream_consume(sse_stream *stream, size_t n);

/*
 * Drives keep-alives. Pass the current time of a monotonic clock in
 * milliseconds (any origin; e.g. CLOCK_MONOTONIC). The stream has no clock of
 * its own: its "now" is the now_ms of the latest tick (a smaller value than
 * before is taken as the previous one), and every time bytes leave the
 * stream (the callback accepts them, or the server reads or consumes them)
 * the stream stamps "last write = its now". The first tick starts the
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
 * off or the stream is closed, overflowed or failed. Sends and writes only
 * move the real deadline later, so a deadline you hold is never too late;
 * ticking early is harmless. Because writes are stamped with the time of the
 * latest tick, a keep-alive can come up to one tick period sooner than
 * needed, never later; tick before sending to keep the stamp fresh.
 *
 * The keep-alive lives in constant storage and needs no memory for its
 * bytes. Returns SSE_OK, the keep-alive's send result (SSE_E_WRITE;
 * SSE_E_OVERFLOW if the cap is below what it needs; SSE_E_NOMEM), the
 * stream's state (SSE_E_CLOSED, SSE_E_OVERFLOW, SSE_E_WRITE), SSE_E_BUSY or
 * SSE_E_INVALID_ARGUMENT.
 */
SSE_API int sse_stream_tick(sse_stream *stream, uint64_t now_ms,
                            uint64_t *deadline);

/*
 * Closes the stream for sends: every later send returns SSE_E_CLOSED. What
 * is queued stays and can be flushed or read (a graceful end: flush until
 * sse_stream_get_pending() is 0, or read until SSE_E_CLOSED, then end the
 * response). Does not change an overflowed or failed stream. Returns SSE_OK,
 * SSE_E_BUSY or SSE_E_INVALID_ARGUMENT.
 */
SSE_API int sse_stream_close(sse_stream *stream);

/* Bytes queued and not yet delivered; 0 for NULL and for a failed stream
 * (its queue is dropped). May be called from the callback. */
SSE_API size_t sse_stream_get_pending(const sse_stream *stream);

/* The stream's state: SSE_OK while open, else SSE_E_CLOSED,
 * SSE_E_OVERFLOW or SSE_E_WRITE (sticky; a failure overrides the other
 * two); SSE_E_INVALID_ARGUMENT for NULL. May be called from the callback. */
SSE_API int sse_stream_get_error(const sse_stream *stream);

#ifdef __cplusplus
}
#endif

#endif /* SSE_STREAM_H */
