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
#define SSE_VERSION_MAJOR 0
#define SSE_VERSION_MINOR 1
#define SSE_VERSION_PATCH 0
#define SSE_VERSION_STRING "0.1.0"
/* (major << 16) | (minor << 8) | patch, for comparisons. */
#define SSE_VERSION_NUMBER \
  ((SSE_VERSION_MAJOR << 16) | (SSE_VERSION_MINOR << 8) | SSE_VERSION_PATCH)

/* The version of the library linked at run time, as SSE_VERSION_NUMBER
 * encodes it. Never fails. */
SSE_API unsigned sse_version(void);

/* The same as a static string, e.g. "0.1.0". Never fails. */
SSE_API const char *sse_version_string(void);

/*
 * Error codes. Every function that can fail returns one of these (SSE_OK on
 * success); callbacks return SSE_OK, or SSE_PAUSE where documented, and any
 * other value to abort. Codes are never renumbered; new ones are appended to
 * their group.
 *
 *   -1 ..  -9  flow control: not failures, the caller acts and goes on
 *  -10 .. -29  bad input and limits
 *  -30 .. -49  caller misuse
 *  -50 .. -69  fatal for the object: out of memory, a callback or the
 *              transport failed
 */
typedef enum sse_error {
  SSE_OK = 0,

  /* Flow control. */
  SSE_PAUSE = -1,      /* a callback asked to pause; the call returned early */
  SSE_E_AGAIN = -2,    /* the transport would block; try again when writable */
  SSE_E_NOSPACE = -3,  /* the output buffer is too small; the size needed is
                          reported */

  /* Bad input and limits. */
  SSE_E_LINE_TOO_LONG = -10,   /* a line exceeded the decoder's max_line */
  SSE_E_EVENT_TOO_LARGE = -11, /* an event's data exceeded max_event */
  SSE_E_INVALID_FIELD = -12,   /* the encoder refused a field the format
                                  cannot carry (CR or LF in a type or id, NUL
                                  in an id) */
  SSE_E_TRUNCATED = -13,       /* the stream ended inside an event, which was
                                  discarded (reported, never returned) */
  SSE_E_INVALID_VALUE = -14,   /* a header value or parameter is malformed */
  SSE_E_UNKNOWN_ID = -15,      /* a history holds no frame with this id */
  SSE_E_EVICTED = -16,         /* the frames after this id or position were
                                  evicted from the history */

  /* Caller misuse. */
  SSE_E_INVALID_ARGUMENT = -30, /* NULL where an object is required, or an
                                   out-of-range argument */
  SSE_E_STATE = -31,            /* not allowed in the object's state (e.g.
                                   feed after finish without reset) */
  SSE_E_BUSY = -32,             /* called re-entrantly from the object's own
                                   callback */

  /* Fatal for the object. */
  SSE_E_NOMEM = -50,     /* an allocation failed; the object stays valid and
                            can be freed (the decoder needs a reset) */
  SSE_E_CALLBACK = -51,  /* a callback returned a failure */
  SSE_E_WRITE = -52,     /* the write callback reported a transport error */
  SSE_E_OVERFLOW = -53,  /* a stream's pending bytes would exceed its cap */
  SSE_E_CLOSED = -54     /* the stream is closed */
} sse_error;

/* A short English description of an error code, e.g. "line too long".
 * Unknown codes give "unknown error". Never NULL, never fails. */
SSE_API const char *sse_strerror(int code);

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
