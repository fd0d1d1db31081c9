/*
 * libsse encoder: formats events, retry fields and comments as
 * text/event-stream bytes. Pure functions, no state, no allocation.
 * Include <sse.h>, not this file.
 *
 * Two output forms:
 *  - into caller memory (sse_encode_event, sse_encode_retry,
 *    sse_encode_comment), snprintf-style: the size needed is always
 *    reported, and SSE_E_NOSPACE says the buffer was too small;
 *  - as pieces (sse_encode_event_iov): an iovec list that points into the
 *    caller's strings and into constant separators, so large data is never
 *    copied.
 *
 * Injection safety. An event's type or id containing CR or LF, or an id
 * containing NUL, is refused with SSE_E_INVALID_FIELD and nothing is
 * written: such a field cannot travel in one line, and silently changing a
 * routing key or a resume cursor is worse than failing. Data is split at
 * every LF, CR and CRLF into one "data:" line each, so the decoded data
 * equals the input with CR and CRLF turned into LF (the format has no way to
 * carry a CR in data). Comments are split the same way, one ":" line each.
 *
 * Every event frame ends with a blank line, so frames can be concatenated
 * and interleaved with comment frames in any order.
 */
#ifndef SSE_ENCODER_H
#define SSE_ENCODER_H

#include "common.h"
#include "decoder.h" /* sse_event */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Formats one event. In ev, a NULL type, id or data means that field is
 * absent: no line is written for it. An empty (non-NULL, length 0) id writes
 * an "id" line that clears the client's last event ID; empty data writes one
 * empty data line, which the client dispatches as an event with empty data;
 * absent data writes no data line, so the client dispatches nothing (useful
 * for an id-only frame). Output:
 *
 *     event: TYPE\n   (if type)
 *     id: ID\n        (if id)
 *     data: LINE\n    (one per data line, if data)
 *     \n
 *
 * buf may be NULL when cap is 0. *len (len not NULL) gets the bytes written,
 * or on SSE_E_NOSPACE the bytes needed (the buffer's contents are then
 * unspecified).
 * Returns SSE_OK, SSE_E_NOSPACE, SSE_E_INVALID_FIELD (nothing written), or
 * SSE_E_INVALID_ARGUMENT (ev or len NULL, a NULL string with a non-zero
 * length, or buf NULL with cap > 0).
 */
SSE_API int sse_encode_event(void *buf, size_t cap, const sse_event *ev,
                             size_t *len);

/*
 * Formats "retry: MS\n\n", asking clients to wait MS milliseconds before
 * reconnecting. Same buffer rules and codes as sse_encode_event (the frame
 * is at most 29 bytes).
 */
SSE_API int sse_encode_retry(void *buf, size_t cap, uint64_t milliseconds,
                             size_t *len);

/*
 * Formats a comment: ": LINE\n" per line of text (split at LF, CR and CRLF);
 * empty text gives ":\n", the usual keep-alive. Clients ignore comments, but
 * they keep proxies and idle timers from closing the connection. text may be
 * NULL when text_len is 0. Same buffer rules and codes as sse_encode_event.
 */
SSE_API int sse_encode_comment(void *buf, size_t cap, const char *text,
                               size_t text_len, size_t *len);

/*
 * The event of sse_encode_event as pieces, without copying any string: the
 * pieces point into ev's strings and into constant storage inside the
 * library, and stay valid as long as ev's strings do. *count (not NULL)
 * gets the number of pieces used, or on SSE_E_NOSPACE the number needed
 * (at most 2n + 7 pieces for data of n lines). *bytes (may be
 * NULL) gets the total length of the pieces.
 * Returns SSE_OK, SSE_E_NOSPACE, SSE_E_INVALID_FIELD or
 * SSE_E_INVALID_ARGUMENT, as sse_encode_event.
 */
SSE_API int sse_encode_event_iov(const sse_event *ev, sse_iovec *iov,
                                 size_t iov_cap, size_t *count, size_t *bytes);

/*
 * Checks a single-line field as the encoder does: SSE_OK when value can be
 * an event type (no CR, LF) or, with is_id nonzero, an id (no CR, LF, NUL);
 * else SSE_E_INVALID_FIELD. value may be NULL when len is 0.
 */
SSE_API int sse_check_field(const char *value, size_t len, int is_id);

#ifdef __cplusplus
}
#endif

#endif /* SSE_ENCODER_H */
