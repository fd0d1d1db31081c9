/* TEMPORARY (delete when the libsse 1.0 rename reaches this branch): the
 * 1.0 names sse-hub is written against, mapped onto the 0.1 API, and a
 * local sse_http_check_id with the rule docs/notes give for it. */
#ifndef HUB_COMPAT10_H
#define HUB_COMPAT10_H

#include <sse.h>

typedef sse_event sse_message;
#define sse_frame_new_message sse_frame_new_event
#define sse_frame_get_bytes sse_frame_bytes
#define sse_frame_get_id sse_frame_id
#define sse_stream_get_pending sse_stream_pending

/* SSE_OK when a client can send id back in Last-Event-ID unchanged:
 * 1..max_len bytes (0: SSE_DEFAULT_MAX_LAST_EVENT_ID), each 0x20..0x7E, no
 * leading or trailing space; else SSE_E_INVALID_VALUE. */
static inline int sse_http_check_id(const char *id, size_t len,
                                    size_t max_len) {
  size_t i;
  if (!max_len)
    max_len = SSE_DEFAULT_MAX_LAST_EVENT_ID;
  if (!id || !len || len > max_len || id[0] == ' ' || id[len - 1] == ' ')
    return SSE_E_INVALID_VALUE;
  for (i = 0; i < len; i++)
    if ((unsigned char)id[i] < 0x20 || (unsigned char)id[i] > 0x7e)
      return SSE_E_INVALID_VALUE;
  return SSE_OK;
}

#endif
