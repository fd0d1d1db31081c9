/* A deliberately naive second decoder for tests only: the WHATWG HTML text
 * "9.2.6 Interpreting an event stream" transcribed step by step over a whole
 * buffer, with no limits, no incremental state and no cleverness. It shares
 * no code with lib/ and serves as the oracle of fuzz_reference and of the
 * unit vectors. Slow on purpose (it copies freely). */
#ifndef SSE_REF_DECODER_H
#define SSE_REF_DECODER_H

#include <stddef.h>

#include "support.h"

/* Decodes the whole stream in[0..n) and appends to *log, in the format of
 * harness.h, every event, valid retry and (when comments is nonzero)
 * comment, then "last ID" and "result SSE_OK". With utf8 nonzero the stream is
 * first run through the Encoding standard's "UTF-8 decode" (BOM removal and
 * U+FFFD replacement), as the spec says; otherwise it is parsed as bytes
 * after removing one leading UTF-8 BOM (libsse's byte-transparent mode).
 * Comment text is reported with one leading space removed (libsse's
 * on_comment convention; the spec just ignores comments). No "discard"
 * lines are written. */
void ref_decode(const void *in, size_t n, int utf8, int comments,
                test_log *log);

#endif
