/*
 * libsse: Server-Sent Events (text/event-stream) framing and streaming.
 *
 * common.h: what every part of the library shares: the export macro, the
 * version, the error codes and the allocator hooks. Include <sse.h>, not this
 * file.
 *
 * Thread rules for the whole library: there is no global mutable state. Each
 * object (decoder, stream, history, ...) belongs to one thread at a time; the
 * library never locks. Distinct objects may be used from distinct threads at
 * once. Callbacks run synchronously on the calling thread, inside the call
 * that triggers them, and never after the object has been freed.
 *
 * API rules for the whole library (1.x keeps them):
 *  - Objects are opaque: made by sse_<object>_new*(), released by
 *    sse_<object>_free(); getters are sse_<object>_get_<what>(), setters
 *    sse_<object>_set_<what>().
 *  - Arguments come in one order: the object; then an output buffer and its
 *    capacity; then the inputs; then pointers that receive results.
 *  - A struct the library fills and hands to you (sse_event) may gain
 *    fields at its end in a later 1.x. A struct you fill and pass in
 *    (sse_allocator, sse_iovec, sse_message, sse_decoder_callbacks) never
 *    changes: new inputs come as new functions or new flag values.
 *  - Memory is stated as bounds ("at most"), not as layouts.
 */
#ifndef SSE_COMMON_H
#define SSE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SSE_API marks every exported declaration. Builds of the shared library
 * define SSE_BUILDING; users of a static build on Windows define SSE_STATIC. */
#if defined(_WIN32) && !defined(SSE_STATIC)
#  ifdef SSE_BUILDING
#    define SSE_API __declspec(dllexport)
#  else
#    define SSE_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define SSE_API __attribute__((visibility("default")))
#else
#  define SSE_API
#endif

/* The version of the headers. sse_version() gives the library's. */
#define SSE_VERSION_MAJOR 1
#define SSE_VERSION_MINOR 0
#define SSE_VERSION_PATCH 0
#define SSE_VERSION_STRING "1.0.0"
/* (major << 16) | (minor << 8) | patch, for comparisons. */
#define SSE_VERSION_NUMBER \
  ((SSE_VERSION_MAJOR << 16) | (SSE_VERSION_MINOR << 8) | SSE_VERSION_PATCH)

/* The version of the library linked at run time, as SSE_VERSION_NUMBER
 * encodes it. Never fails. */
SSE_API unsigned sse_version(void);

/* The same as a static string, e.g. "1.0.0". Never fails. */
SSE_API const char *sse_version_string(void);

/*
 * Error codes. Every function that can fail returns one of these (SSE_OK on
 * success). Codes are grouped by what the caller does next, and a code
 * means the same for every function that returns it. Codes are never
 * renumbered; new ones are appended to their group.
 *
 *   -1 .. -19  recoverable: nothing was lost and the object is unchanged
 *              past what the call reports; act (wait for writability, give
 *              more room, free memory) and call again
 *  -20 .. -39  input refused: the call refused a value or an input and
 *              changed nothing; the object stays usable
 *  -40 .. -59  bad argument or misuse: a bug in the calling code; nothing
 *              changed
 *  -60 .. -79  finished: the object does no more work of this kind. A
 *              stream is over for good (free it after a last flush); a
 *              decoder refuses the rest of the stream it was decoding until
 *              sse_decoder_reset(). sse_is_fatal() is nonzero for exactly
 *              this group.
 *
 * Callbacks return SSE_OK, SSE_PAUSE or SSE_E_AGAIN where their
 * documentation says so, and any other value to fail.
 */
typedef enum sse_error {
  SSE_OK = 0,

  /* Recoverable. */
  SSE_PAUSE = -1,     /* a callback asked to pause; the call returned early */
  SSE_E_AGAIN = -2,   /* would block: nothing to write or read now; call
                         again when the transport is ready */
  SSE_E_NOSPACE = -3, /* the output buffer is too small; the size needed is
                         reported */
  SSE_E_NOMEM = -4,   /* an allocation failed; nothing changed past what
                         the call reports */

  /* Input refused. */
  SSE_E_INVALID_FIELD = -20, /* a field the format cannot carry (CR or LF
                                in an event type or id, NUL in an id) */
  SSE_E_INVALID_VALUE = -21, /* a header value, id or parameter is
                                malformed or over its limit */
  SSE_E_UNKNOWN_ID = -22,    /* a history holds no frame with this id */
  SSE_E_EVICTED = -23,       /* the frames after this id or position were
                                evicted from the history */
  SSE_E_TRUNCATED = -24,     /* the stream ended inside an event, which was
                                discarded (reported to on_discard, never
                                returned) */

  /* Bad argument or misuse. */
  SSE_E_INVALID_ARGUMENT = -40, /* NULL where an object is required, or an
                                   out-of-range argument */
  SSE_E_STATE = -41,            /* not allowed in the object's state or
                                   kind (e.g. feed after finish) */
  SSE_E_BUSY = -42,             /* called re-entrantly from the object's own
                                   callback */

  /* Finished. */
  SSE_E_LINE_TOO_LONG = -60,   /* a line exceeded the decoder's max_line */
  SSE_E_EVENT_TOO_LARGE = -61, /* an event's data exceeded max_event */
  SSE_E_CALLBACK = -62,        /* a decoder callback returned a failure */
  SSE_E_WRITE = -63,           /* a stream's write callback failed */
  SSE_E_OVERFLOW = -64,        /* a stream would hold more than its cap */
  SSE_E_CLOSED = -65           /* the stream was closed */
} sse_error;

/* A short English description of an error code, e.g. "line too long".
 * Unknown codes give "unknown error". Never NULL, never fails. */
SSE_API const char *sse_strerror(int code);

/* The code's name, e.g. "SSE_E_NOMEM"; "SSE_E_UNKNOWN" for a code that is
 * not one of the above. Never NULL, never fails. */
SSE_API const char *sse_error_name(int code);

/* Nonzero when code is in the "finished" group (-60 .. -79): the object
 * that returned it does no more work of that kind (see above). 0 for
 * SSE_OK and every other code. */
SSE_API int sse_is_fatal(int code);

/* "No deadline": what sse_stream_tick() and sse_reconnect_get_deadline()
 * report when there is nothing to wait for. */
#define SSE_NO_DEADLINE UINT64_MAX

/*
 * Allocator hooks. Every allocation the library makes for an object goes
 * through the hooks given when the object was created; NULL (or a struct with
 * any NULL function) means the C library's malloc, realloc and free. The
 * struct is copied; the user pointer is passed to each call. Hooks must
 * behave like their libc namesakes (realloc(NULL, n) allocates; free(NULL)
 * does nothing); a NULL result is reported as SSE_E_NOMEM. Hooks shared by
 * objects used on several threads must be thread-safe.
 */
typedef struct sse_allocator {
  void *(*malloc_fn)(size_t size, void *user);
  void *(*realloc_fn)(void *ptr, size_t size, void *user);
  void (*free_fn)(void *ptr, void *user);
  void *user;
} sse_allocator;

/*
 * A piece of output for vectored (scatter-gather) writing, laid out like
 * POSIX struct iovec but without depending on <sys/uio.h>.
 */
typedef struct sse_iovec {
  const void *base;
  size_t len;
} sse_iovec;

#ifdef __cplusplus
}
#endif

#endif /* SSE_COMMON_H */
