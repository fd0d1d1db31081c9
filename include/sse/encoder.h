/*
 * libsse encoder: formats events, retry fields and comments as
 * text/event-stream bytes. Pure functions, no state, no allocation.
 * Include <sse.h>, not this file.
 *
 * Two output forms:
 *  - into caller memory (sse_encode_message, sse_encode_retry,
 *    sse_encode_comment), snprintf-style: the size needed is always
 *    reported, and SSE_E_NOSPACE says the buffer was too small;
 *  - as pieces (sse_encode_message_iov): an iovec list that points into the
 *    caller's strings and into constant separators, so large data is never
 *    copied.
 *
 * Injection safety. A message's type or id containing CR or LF, or an id
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

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What a server sends: the fields of one event. You allocate and fill it;
 * the library only reads it during the call (the encoder, frames and
 * streams copy what they keep). The strings need no NUL terminator.
 *
 * One rule for every field: NULL means "no line for this field"; non-NULL
 * means "a line with this value", even when it is empty:
 *  - type:  NULL: no "event" line (clients dispatch "message"); "": an
 *           "event:" line with an empty value (the same for clients);
 *  - id:    NULL: no "id" line (the client keeps its last event ID); "":
 *           an "id:" line that clears it;
 *  - data:  NULL: no "data" line, so the client dispatches nothing (an
 *           id-only message moves the client's last event ID); "": one
 *           empty data line, an event with empty data.
 * A NULL string must have length 0. The struct never gains fields.
 */
typedef struct sse_message {
  const char *type;
  size_t type_len;
  const char *data;
  size_t data_len;
  const char *id;
  size_t id_len;
} sse_message;

/*
 * Formats one message (see sse_message for what NULL and empty fields
 * write). Output:
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
 * SSE_E_INVALID_ARGUMENT (msg or len NULL, a NULL string with a non-zero
 * length, or buf NULL with cap > 0).
 */
SSE_API int sse_encode_message(void *buf, size_t cap, const sse_message *msg,
                               size_t *len);

/*
 * Formats "retry: MS\n\n", asking clients to wait MS milliseconds before
 * reconnecting. Same buffer rules and codes as sse_encode_message (the frame
 * is at most 29 bytes), without SSE_E_INVALID_FIELD.
 */
SSE_API int sse_encode_retry(void *buf, size_t cap, uint64_t milliseconds,
                             size_t *len);

/*
 * Formats a comment: ": LINE\n" per line of text (split at LF, CR and CRLF);
 * empty text gives ":\n", the usual keep-alive. Clients ignore comments, but
 * they keep proxies and idle timers from closing the connection. text may be
 * NULL when text_len is 0. Same buffer rules and codes as
 * sse_encode_message, without SSE_E_INVALID_FIELD.
 */
SSE_API int sse_encode_comment(void *buf, size_t cap, const char *text,
                               size_t text_len, size_t *len);

/*
 * The message of sse_encode_message as pieces, without copying any string:
 * the pieces point into msg's strings and into constant storage inside the
 * library, and stay valid as long as msg's strings do. iov may be NULL when
 * iov_cap is 0. *count (not NULL) gets the number of pieces used, or on
 * SSE_E_NOSPACE the number needed (at most 2n + 7 pieces for data of n
 * lines). *bytes (may be NULL) gets the total length of the pieces.
 * Returns SSE_OK, SSE_E_NOSPACE, SSE_E_INVALID_FIELD, or
 * SSE_E_INVALID_ARGUMENT (msg or count NULL, a NULL string with a non-zero
 * length, or iov NULL with iov_cap > 0).
 */
SSE_API int sse_encode_message_iov(sse_iovec *iov, size_t iov_cap,
                                   const sse_message *msg, size_t *count,
                                   size_t *bytes);

#ifdef __cplusplus
}
#endif

#endif /* SSE_ENCODER_H */
