/* The NDJSON output that ssecat and sse-curl share: one JSON object per
 * line for each event, retry and comment a decoder reports. */
#ifndef SSE_EXAMPLE_NDJSON_H
#define SSE_EXAMPLE_NDJSON_H

#include <stdint.h>
#include <stdio.h>

#include <sse.h>

/* {"type":"...","data":"...","id":"..."}: strings escaped as JSON, with
 * every byte sequence a reader could take for a line break (CR, LF, NEL,
 * U+2028, U+2029) escaped, so the output splits into lines on LF only. */
void ndjson_event(FILE *out, const sse_event *ev);
void ndjson_retry(FILE *out, uint64_t ms);      /* {"retry":N} */
void ndjson_comment(FILE *out, const char *text, size_t len); /* {"comment":"..."} */

#endif
