/*
 * libsse reconnection policy: when an EventSource-style client connects,
 * judges a response, waits and gives up. Include <sse.h>, not this file.
 *
 * A small state machine with no I/O and no clock: the caller reports what
 * happened (an attempt started, a response arrived, bytes arrived, the
 * connection ended), passing the time as monotonic milliseconds from any
 * origin of its choosing, and asks what to do next (the state and one
 * deadline). It works with any HTTP client and any event loop.
 *
 *   state        input                                      next state
 *   WAITING      attempt                                    CONNECTING
 *   CONNECTING   response 200 of type text/event-stream     STREAMING
 *   CONNECTING   response 408, 429 or 5xx; closed           WAITING
 *   CONNECTING   response 204 or another status; response   STOPPED
 *                200 of another type
 *   STREAMING    closed (end of stream, error, idle)        WAITING
 *   any          stop                                       STOPPED
 *
 * A move to WAITING becomes a move to STOPPED when the maximum number of
 * reconnections has been made.
 *
 * A typical client loop:
 *
 *   sse_reconnect_new(&rc, seed, NULL);          (seed: any random value)
 *   for (;;) {
 *     now = monotonic_ms();
 *     switch (sse_reconnect_get_state(rc)) {
 *     case SSE_RECONNECT_WAITING:
 *       sleep until sse_reconnect_get_deadline(rc); then
 *       sse_reconnect_attempt(rc, now) and send the request, with
 *       Last-Event-ID when sse_decoder_get_last_event_id() is not empty;
 *       sse_decoder_reset(decoder).
 *     case SSE_RECONNECT_CONNECTING, SSE_RECONNECT_STREAMING:
 *       wait for bytes until sse_reconnect_get_deadline(rc) (the idle deadline);
 *       report them with sse_reconnect_on_bytes(); once the final response
 *       headers are in, sse_reconnect_response(); while STREAMING feed the
 *       body to the decoder, whose on_retry calls sse_reconnect_on_retry().
 *       When the connection ends, or the deadline passes (close it then),
 *       sse_reconnect_closed().
 *     case SSE_RECONNECT_STOPPED:
 *       done; sse_reconnect_get_reason() says why.
 *     }
 *   }
 *
 * The last event ID is not duplicated here: the decoder keeps it
 * (sse_decoder_get_last_event_id) and sse_decoder_reset() preserves it across
 * connections. Send it as Last-Event-ID when it is not empty, as the
 * standard says. It cannot contain CR, LF or NUL, so it is safe in a header.
 *
 * Delays. The reconnection time T starts at the initial delay and becomes
 * each valid retry field's value, clamped to the maximum delay. After a
 * stream that lived at least reset_after milliseconds, the next attempt
 * waits exactly T, as the standard describes. Every failure in a row (an
 * attempt that ended before an accepted response, a 408, 429 or 5xx, or a
 * stream that ended sooner than reset_after) adds a backoff on top of T, as
 * the standard allows ("optionally, wait some more"):
 *
 *   backoff(n) = min(backoff_max, backoff_base * 2^(n-1)) for the n-th
 *                failure in a row, minus a random part of up to
 *                jitter_percent of it;
 *   delay      = T + backoff(n), or T when n is 0;
 *   with a Retry-After on a 408, 429 or 5xx: max(delay, min(Retry-After,
 *                the maximum delay)).
 *
 * The jitter is drawn from a small generator inside the object, seeded by
 * the caller (there is no global random state); a fixed seed gives a fixed
 * sequence, which tests use.
 *
 * Verdicts on a response (sse_reconnect_response):
 *  - 200 whose Content-Type is text/event-stream: STREAMING.
 *  - 204 No Content: STOPPED for good; the standard's way for a server to
 *    tell a client not to reconnect.
 *  - 200 with any other Content-Type, or none: STOPPED. The standard says
 *    to fail the connection, so no reconnection: an endpoint that answers
 *    with HTML (a login page, a wrong URL, a misconfigured proxy) will most
 *    likely keep doing so, and retrying only adds load; it also keeps the
 *    behaviour the same as browsers', which server authors test against.
 *  - 408 Request Timeout, 429 Too Many Requests and every 5xx: a failure,
 *    retried after the backoff, honouring Retry-After.
 *  - anything else (other 2xx, 3xx left unfollowed, other 4xx, values out
 *    of range): STOPPED. Follow redirects before judging.
 *
 * Idle deadline: while CONNECTING or STREAMING, the connection is dead
 * when no byte at all (headers, events, comments used as heartbeats) has
 * arrived for idle_timeout milliseconds. Off by default: the right value
 * depends on how often the server sends heartbeats.
 *
 * Thread rules: those of the whole library (sse/common.h). No function
 * calls back.
 */
#ifndef SSE_RECONNECT_H
#define SSE_RECONNECT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults (see the setters). */
#define SSE_RECONNECT_DEFAULT_INITIAL_MS 3000u
#define SSE_RECONNECT_DEFAULT_MAX_MS 300000u /* 5 minutes */
#define SSE_RECONNECT_DEFAULT_BACKOFF_BASE_MS 1000u
#define SSE_RECONNECT_DEFAULT_BACKOFF_MAX_MS 60000u
#define SSE_RECONNECT_DEFAULT_JITTER_PERCENT 50u
#define SSE_RECONNECT_DEFAULT_RESET_AFTER_MS 10000u

/* No limit on reconnections (sse_reconnect_set_max_reconnects). */
#define SSE_RECONNECT_UNLIMITED UINT32_MAX

/* "The response had no Retry-After" (sse_reconnect_response). */
#define SSE_RECONNECT_NO_RETRY_AFTER UINT64_MAX

/* What the client should be doing. */
typedef enum sse_reconnect_state {
  /* Not connected: connect at sse_reconnect_get_deadline() (at once when it
   * has passed). A new object starts here with the deadline 0. */
  SSE_RECONNECT_WAITING = 0,
  /* An attempt started; its response has not been judged yet. */
  SSE_RECONNECT_CONNECTING = 1,
  /* The response was accepted: feed its body to the decoder. */
  SSE_RECONNECT_STREAMING = 2,
  /* No attempt will follow; sse_reconnect_get_reason() says why. Left
   * only by sse_reconnect_reset(). */
  SSE_RECONNECT_STOPPED = 3
} sse_reconnect_state;

/* Why the policy stopped. */
typedef enum sse_reconnect_reason {
  SSE_RECONNECT_NOT_STOPPED = 0,   /* the state is not STOPPED */
  SSE_RECONNECT_NO_CONTENT = 1,    /* the server answered 204 */
  SSE_RECONNECT_BAD_STATUS = 2,    /* a status that is not retried */
  SSE_RECONNECT_BAD_CONTENT_TYPE = 3, /* 200, but not text/event-stream */
  SSE_RECONNECT_ATTEMPTS_USED = 4, /* the connection ended and the maximum
                                      number of reconnections was reached */
  SSE_RECONNECT_STOPPED_BY_CALLER = 5 /* sse_reconnect_stop() */
} sse_reconnect_reason;

/* The reconnection policy of one client (opaque; one thread at a time). */
typedef struct sse_reconnect sse_reconnect;

/*
 * Creates a policy in the WAITING state with its deadline at 0 (connect at
 * once) and the default settings. seed seeds the jitter generator: pass a
 * random value (a fixed one gives a reproducible sequence). allocator (NULL:
 * libc) is copied; only the object itself is allocated.
 * Returns SSE_OK and sets *out, SSE_E_INVALID_ARGUMENT when out is NULL, or
 * SSE_E_NOMEM.
 */
SSE_API int sse_reconnect_new(sse_reconnect **out, uint64_t seed,
                              const sse_allocator *allocator);

/* Frees a policy. NULL is allowed. */
SSE_API void sse_reconnect_free(sse_reconnect *r);

/*
 * Sets the reconnection time used until the server sends a retry field
 * (initial_ms, default 3000; the standard leaves it to the client), and the
 * maximum delay a server may ask for (max_ms, default 300000): larger retry
 * fields and Retry-After values are clamped to it, so a server cannot park
 * a client forever. Also sets the current reconnection time to initial_ms,
 * so call it before the first attempt.
 * Returns SSE_OK, or SSE_E_INVALID_ARGUMENT when r is NULL or initial_ms >
 * max_ms.
 */
SSE_API int sse_reconnect_set_delays(sse_reconnect *r, uint64_t initial_ms,
                                     uint64_t max_ms);

/*
 * Sets the backoff added after failures: base_ms for the first failure in
 * a row (default 1000), doubling each time up to max_ms (default 60000),
 * with up to jitter_percent (0 to 100, default 50) of it taken off at
 * random. base_ms 0 disables the backoff.
 * Returns SSE_OK, or SSE_E_INVALID_ARGUMENT when r is NULL, base_ms >
 * max_ms or jitter_percent > 100.
 */
SSE_API int sse_reconnect_set_backoff(sse_reconnect *r, uint64_t base_ms,
                                      uint64_t max_ms,
                                      unsigned jitter_percent);

/*
 * Sets how long an accepted stream must live for its end to count as
 * normal (failures in a row reset to 0, next delay exactly T) rather than
 * as one more failure (default 10000). 0 makes every accepted stream reset
 * the backoff, as browsers do. Streams that end quickly by design (a
 * server that sends one event per connection) pay the backoff unless this
 * is lowered.
 * Returns SSE_OK, or SSE_E_INVALID_ARGUMENT when r is NULL.
 */
SSE_API int sse_reconnect_set_reset_after(sse_reconnect *r, uint64_t ms);

/*
 * Sets the idle timeout: while CONNECTING or STREAMING, the deadline is the
 * time of the last received byte (or of the attempt) plus ms. 0 (the
 * default) turns it off. Takes effect at once.
 * Returns SSE_OK, or SSE_E_INVALID_ARGUMENT when r is NULL.
 */
SSE_API int sse_reconnect_set_idle_timeout(sse_reconnect *r, uint64_t ms);

/*
 * Sets how many reconnections (attempts after the first) may be made over
 * the object's life (until sse_reconnect_reset): when a connection ends
 * with that many made, the state becomes STOPPED (reason
 * SSE_RECONNECT_ATTEMPTS_USED) instead of WAITING. 0 allows none;
 * SSE_RECONNECT_UNLIMITED (the default) allows any number.
 * Returns SSE_OK, or SSE_E_INVALID_ARGUMENT when r is NULL.
 */
SSE_API int sse_reconnect_set_max_reconnects(sse_reconnect *r, uint32_t n);

/*
 * Records that a connection attempt starts at now_ms: WAITING becomes
 * CONNECTING and the idle deadline starts. Attempting before the deadline
 * is allowed (the caller may know better, e.g. the network came back);
 * every attempt after the first counts as a reconnection.
 * Returns SSE_OK, SSE_E_STATE when the state is not WAITING, or
 * SSE_E_INVALID_ARGUMENT when r is NULL.
 */
SSE_API int sse_reconnect_attempt(sse_reconnect *r, uint64_t now_ms);

/*
 * Judges the final response of the attempt (after redirects), as the
 * verdict list at the top of this file says: CONNECTING becomes STREAMING,
 * WAITING (or STOPPED when the reconnections are used up) or STOPPED. Call
 * it once the status and headers are known, before reading the body.
 *  - status: the HTTP status code; any int is accepted.
 *  - content_type, content_type_len: the Content-Type header's value as
 *    received, or NULL when there was none; judged by
 *    sse_http_check_content_type() (text/event-stream, case-insensitive,
 *    well-formed parameters allowed). Not kept after the call.
 *  - retry_after_ms: the Retry-After delay from
 *    sse_reconnect_parse_retry_after(), or SSE_RECONNECT_NO_RETRY_AFTER.
 *    Used only for 408, 429 and 5xx.
 * Counts as received bytes for the idle deadline.
 * Returns SSE_OK (then read the state), SSE_E_STATE when the state is not
 * CONNECTING, or SSE_E_INVALID_ARGUMENT when r is NULL or content_type is
 * NULL with a non-zero length.
 */
SSE_API int sse_reconnect_response(sse_reconnect *r, uint64_t now_ms,
                                   int status, const char *content_type,
                                   size_t content_type_len,
                                   uint64_t retry_after_ms);

/*
 * Records that len bytes arrived at now_ms (headers, body, comments: any
 * byte counts), which moves the idle deadline. len 0 changes nothing.
 * Returns SSE_OK, SSE_E_STATE when the state is not CONNECTING or
 * STREAMING, or SSE_E_INVALID_ARGUMENT when r is NULL.
 */
SSE_API int sse_reconnect_on_bytes(sse_reconnect *r, uint64_t now_ms,
                                   size_t len);

/*
 * Records a valid retry field (the decoder's on_retry): the reconnection
 * time becomes ms, clamped to the maximum delay. Allowed in any state;
 * used for the next delay computed.
 * Returns SSE_OK, or SSE_E_INVALID_ARGUMENT when r is NULL.
 */
SSE_API int sse_reconnect_on_retry(sse_reconnect *r, uint64_t ms);

/*
 * Records that the connection ended at now_ms, whatever the cause: the
 * stream's end, a transport error, an idle timeout the caller acted on, a
 * decoder error. From CONNECTING it is a failure; from STREAMING it is a
 * failure when the stream lived less than reset_after, else the failures
 * in a row return to 0. The state becomes WAITING with the deadline of the
 * next attempt, or STOPPED when the reconnections are used up. In WAITING
 * and STOPPED (e.g. after a verdict that already closed the attempt) it
 * does nothing, so a caller may call it whenever a connection goes away.
 * Returns SSE_OK, or SSE_E_INVALID_ARGUMENT when r is NULL.
 */
SSE_API int sse_reconnect_closed(sse_reconnect *r, uint64_t now_ms);

/*
 * Stops for good (reason SSE_RECONNECT_STOPPED_BY_CALLER unless already
 * stopped): e.g. the application has seen enough, or the decoder hit a
 * limit that reconnecting would only hit again.
 * Returns SSE_OK, or SSE_E_INVALID_ARGUMENT when r is NULL.
 */
SSE_API int sse_reconnect_stop(sse_reconnect *r);

/*
 * Returns to the state of a new object (WAITING, deadline 0, no failures,
 * no reconnections, reconnection time back to the initial delay), keeping
 * the settings and the jitter generator's state.
 * Returns SSE_OK, or SSE_E_INVALID_ARGUMENT when r is NULL.
 */
SSE_API int sse_reconnect_reset(sse_reconnect *r);

/* The current state. A NULL r gives SSE_RECONNECT_STOPPED. */
SSE_API sse_reconnect_state sse_reconnect_get_state(const sse_reconnect *r);

/* Why the state is STOPPED, or SSE_RECONNECT_NOT_STOPPED. A NULL r gives
 * SSE_RECONNECT_NOT_STOPPED. */
SSE_API sse_reconnect_reason sse_reconnect_get_reason(const sse_reconnect *r);

/*
 * The one deadline the caller must watch, in the caller's milliseconds:
 *  - WAITING: when to attempt (0 for a new object: at once);
 *  - CONNECTING, STREAMING: the idle deadline, when the connection is to
 *    be considered dead (close it and call sse_reconnect_closed);
 *    SSE_NO_DEADLINE when the idle timeout is off;
 *  - STOPPED (and NULL r): SSE_NO_DEADLINE.
 * Sums saturate at UINT64_MAX.
 */
SSE_API uint64_t sse_reconnect_get_deadline(const sse_reconnect *r);

/* The current reconnection time T in milliseconds (the initial delay, or
 * the last retry field clamped). 0 for a NULL r. */
SSE_API uint64_t sse_reconnect_get_retry_ms(const sse_reconnect *r);

/* Failures in a row so far (saturating). 0 for a NULL r. */
SSE_API uint32_t sse_reconnect_get_failures(const sse_reconnect *r);

/* Reconnections made so far: attempts after the first (saturating). 0 for
 * a NULL r. */
SSE_API uint32_t sse_reconnect_get_reconnects(const sse_reconnect *r);

/*
 * Parses a Retry-After header value (RFC 9110, 10.2.3) into a delay in
 * milliseconds from now:
 *  - delta-seconds: one or more ASCII digits; values too large for the
 *    result saturate at UINT64_MAX - 1 (the policy clamps them anyway);
 *  - an HTTP-date, only in its IMF-fixdate form ("Sun, 06 Nov 1994
 *    08:49:37 GMT"), and only when now_unix_s (the current wall-clock time
 *    in seconds since 1970, UTC) is 0 or more: the time left until that
 *    date, 0 when it has passed. The obsolete RFC 850 and asctime forms are
 *    not accepted. The day name is checked to be one, not to match the date.
 * Whitespace (SP, HT, CR, LF) around the value is ignored. value is not kept.
 * Returns SSE_OK and sets *ms; SSE_E_INVALID_VALUE when the value is none of
 * these, or is a date while now_unix_s is negative (treat the header as
 * absent: pass SSE_RECONNECT_NO_RETRY_AFTER); SSE_E_INVALID_ARGUMENT when ms
 * is NULL or value is NULL with a non-zero length.
 */
SSE_API int sse_reconnect_parse_retry_after(const char *value, size_t len,
                                            int64_t now_unix_s, uint64_t *ms);

#ifdef __cplusplus
}
#endif

#endif /* SSE_RECONNECT_H */
