/*
 * libsse frames: an event or comment encoded once, immutable and
 * reference-counted, that any number of streams queue without copying (the
 * unit of broadcast) and a history keeps for replay. Include <sse.h>, not
 * this file.
 *
 * Thread model. A frame is immutable once made: its bytes may be read from
 * any number of threads at once, and its reference count is atomic when
 * sse_frame_atomic() returns nonzero (GCC or clang __atomic builtins, or C11
 * atomics; true on every mainstream compiler), so one frame may sit in the
 * queues of streams owned by different threads and be released from any of
 * them. Its allocator must then be thread-safe. When sse_frame_atomic()
 * returns 0, every holder of a frame must be on one thread.
 */
#ifndef SSE_FRAME_H
#define SSE_FRAME_H

#include "common.h"
#include "encoder.h" /* sse_message */

#ifdef __cplusplus
extern "C" {
#endif

/* An encoded frame (opaque): made by sse_frame_new_*, shared by reference
 * count, freed by the last sse_frame_release. */
typedef struct sse_frame sse_frame;

/*
 * Encodes msg once into a new frame, exactly as sse_encode_message() would
 * (see sse_message for what NULL and empty fields write). The frame is one
 * allocation from allocator (NULL: libc) of at most 128 bytes more than the
 * encoded size; the frame keeps a copy of the allocator to free itself.
 * *out gets the frame with one reference, owned by the caller.
 * Returns SSE_OK, SSE_E_INVALID_FIELD (CR or LF in the type or id, NUL in
 * the id; nothing allocated), SSE_E_NOMEM, or SSE_E_INVALID_ARGUMENT (out
 * or msg NULL, or a NULL string with a non-zero length).
 */
SSE_API int sse_frame_new_message(sse_frame **out, const sse_message *msg,
                                  const sse_allocator *allocator);

/*
 * A comment frame, as sse_encode_comment() formats it (": LINE\n" per line;
 * empty text gives ":\n"). Clients ignore it; it keeps connections alive.
 * text may be NULL when len is 0. Returns SSE_OK, SSE_E_NOMEM or
 * SSE_E_INVALID_ARGUMENT (out NULL, or text NULL with len > 0).
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
SSE_API const char *sse_frame_get_bytes(const sse_frame *frame, size_t *len);

/* The message's id as given to sse_frame_new_message (not NUL-terminated),
 * or NULL when the frame has none (a comment, a message whose id was NULL,
 * or a NULL frame; an empty id gives a non-NULL pointer and length 0); *len
 * gets its length (len may be NULL). Valid as long as you hold a
 * reference. */
SSE_API const char *sse_frame_get_id(const sse_frame *frame, size_t *len);

/* Nonzero when frame reference counts are atomic in this build (see the
 * thread model above). */
SSE_API int sse_frame_atomic(void);

#ifdef __cplusplus
}
#endif

#endif /* SSE_FRAME_H */
