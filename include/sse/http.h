/*
 * libsse HTTP helpers: the response header fields an event stream needs,
 * and safe parsing of the two request/response header values SSE relies on.
 * There is no HTTP parser here: you pass single field values your HTTP
 * library already isolated. Pure functions, no allocation, no state.
 * Include <sse.h>, not this file.
 *
 * The body. The stream writes the raw event stream. Over HTTP/1.1 send no
 * Content-Length; either let the connection's close end the body (send no
 * Transfer-Encoding either), or have your write callback add the chunked
 * coding. HTTP/2 and HTTP/3 frame the body themselves.
 */
#ifndef SSE_HTTP_H
#define SSE_HTTP_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for sse_http_fields() and sse_http_headers(). */
enum sse_http_flag {
  /* HTTP/2 or HTTP/3: names in lower case, and no connection-specific field
   * (Connection is forbidden there). Without it: HTTP/1.x. */
  SSE_HTTP_2 = 1u << 0,
  /* sse_http_headers only, HTTP/1.x only: the whole response head, from
   * "HTTP/1.1 200 OK\r\n" to the blank line that ends it. */
  SSE_HTTP_RESPONSE = 1u << 1
};

/* A header field: NUL-terminated name and value. */
typedef struct sse_http_field {
  const char *name;
  const char *value;
} sse_http_field;

/*
 * The recommended response header fields for an event stream:
 *
 *     Content-Type: text/event-stream
 *     Cache-Control: no-cache, no-transform   (no caching; no compression or
 *                                              other transformation, which
 *                                              makes proxies buffer)
 *     X-Accel-Buffering: no                   (nginx and the proxies that
 *                                              follow it: do not buffer)
 *     Connection: keep-alive                  (HTTP/1.x only)
 *
 * Returns a constant array (static storage; never free it) and sets *count
 * (not NULL) to its length; for HTTP/2 (SSE_HTTP_2) the names are lower
 * case and there are three. Unknown flags or SSE_HTTP_RESPONSE give NULL
 * and *count = 0. Feed them to your server's API (e.g.
 * MHD_add_response_header, nghttp2_nv) next to your own fields.
 */
SSE_API const sse_http_field *sse_http_fields(unsigned flags, size_t *count);

/*
 * The same fields as text, "Name: value\r\n" each, into buf (not
 * NUL-terminated), for servers that write the response head themselves.
 * With SSE_HTTP_RESPONSE the text is the complete HTTP/1.1 200 response head,
 * ready to write before the first stream byte; without it, add your own
 * fields and the final "\r\n". buf may be NULL when cap is 0. *len (not
 * NULL) gets the bytes written, or on SSE_E_NOSPACE the bytes needed.
 * Returns SSE_OK, SSE_E_NOSPACE, or SSE_E_INVALID_ARGUMENT (len NULL, buf
 * NULL with cap > 0, unknown flags, SSE_HTTP_RESPONSE with SSE_HTTP_2).
 */
SSE_API int sse_http_headers(char *buf, size_t cap, unsigned flags,
                             size_t *len);

/* Default bound on a Last-Event-ID value (sse_http_last_event_id). */
#define SSE_DEFAULT_MAX_LAST_EVENT_ID ((size_t)1024)

/*
 * Checks a Last-Event-ID request header value (as your HTTP library gives
 * it, without the name) and returns the id inside it, a pointer into value
 * (*id, *id_len; neither may be NULL):
 *  - leading and trailing spaces and tabs are removed (HTTP field values
 *    cannot carry them anyway); inner ones are kept;
 *  - CR, LF or NUL anywhere in value: SSE_E_INVALID_VALUE (they cannot be in
 *    an id, and mean a smuggling attempt or a broken HTTP layer);
 *  - more than max_len bytes after trimming (0 selects
 *    SSE_DEFAULT_MAX_LAST_EVENT_ID): SSE_E_INVALID_VALUE;
 *  - every other byte is kept as is: no decoding (browsers send the id as
 *    the server wrote it, except Safari, which may percent-encode non-ASCII
 *    bytes, so keep ids ASCII);
 *  - an empty (or all-space) value gives SSE_OK with *id_len = 0: no id, so
 *    the client starts from now.
 * On an error *id is NULL and *id_len 0. Returns SSE_OK,
 * SSE_E_INVALID_VALUE, or SSE_E_INVALID_ARGUMENT (id or id_len NULL, value
 * NULL with len > 0).
 */
SSE_API int sse_http_last_event_id(const char *value, size_t len,
                                   size_t max_len, const char **id,
                                   size_t *id_len);

/*
 * For servers: SSE_OK when a client can send id back in Last-Event-ID
 * exactly as the server wrote it, so that resuming from it works through
 * every browser, proxy and this library's sse_http_last_event_id():
 *  - 1 to max_len bytes (0 selects SSE_DEFAULT_MAX_LAST_EVENT_ID);
 *  - every byte a visible ASCII character or a space (0x20 .. 0x7E): an HTTP
 *    field value cannot carry control bytes, and browsers re-encode bytes
 *    from 0x80 up (invalid UTF-8 becomes U+FFFD; some percent-encode);
 *  - no space at either end (HTTP strips them).
 * Anything else is SSE_E_INVALID_VALUE: refuse such an id where it enters
 * your server (e.g. a publish request), or send the event without one. The
 * encoder accepts more (any byte but CR, LF and NUL, as the format allows),
 * but such ids do not come back. id may be NULL when len is 0
 * (SSE_E_INVALID_VALUE); SSE_E_INVALID_ARGUMENT for id NULL with len > 0.
 */
SSE_API int sse_http_check_id(const char *id, size_t len, size_t max_len);

/*
 * For clients: checks a response's Content-Type value. SSE_OK when its
 * media type is text/event-stream, compared case-insensitively, with
 * optional spaces or tabs around it and optional parameters (e.g.
 * "text/event-stream; charset=utf-8"; any parameter is allowed, since an
 * event stream is always UTF-8, whatever a charset says). Parameters must be
 * well-formed (RFC 9110: token "=" token or quoted-string, separated by ";";
 * empty ones allowed). Anything else is SSE_E_INVALID_VALUE: another type,
 * a missing or extra subtype part ("text/event-streams"), a list of types,
 * malformed parameters, or a CR, LF, NUL or other control byte. value may be
 * NULL when len is 0 (SSE_E_INVALID_VALUE); NULL with len > 0 gives
 * SSE_E_INVALID_ARGUMENT.
 */
SSE_API int sse_http_check_content_type(const char *value, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SSE_HTTP_H */
