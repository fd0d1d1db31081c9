/*
 * fuzz_reference: libsse against the naive reference decoder
 * (tests/ref/ref_decoder.c, the spec's text transcribed step by step).
 *
 * Input: the header of fuzz_decoder_setup(), then the stream. Of the
 * header, the UTF-8 option, comments, pieces, pauses, finish and the
 * chunking plan apply; limits and the initial last event ID are ignored
 * (the reference has neither), so any input is within the default limits.
 *
 * Oracle: the same events (type, data, id), retries and comments in the
 * same order, the same final last event ID (byte mode: libsse keeps the raw
 * bytes, the reference the decoded text under SSE_DECODER_UTF8) and success.
 * Discard reports are libsse's own and are not compared.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "ref_decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader r;
  fuzz_setup s;
  test_log lib = {0}, ref = {0};
  size_t *cuts = malloc(sizeof(size_t) * FUZZ_CUTS(size));
  int utf8;
  if (!cuts)
    abort();
  fuzz_set_input(data, size);
  r.p = data;
  r.n = size;
  fuzz_decoder_setup(&r, &s, cuts);
  s.run.max_line = s.run.max_event = 0;
  s.run.options &= ~(unsigned)SSE_DECODER_SKIP_OVERSIZE;
  s.run.last_id = NULL;
  s.run.last_id_len = 0;
  utf8 = (s.run.options & SSE_DECODER_UTF8) != 0;

  harness_decode(&s.run, s.payload, s.n, &lib);
  if (s.violations)
    fuzz_fail("the decoder broke its contract (see !violation lines)", &lib,
              "libsse", NULL, NULL);
  ref_decode(s.payload, s.n, utf8, s.run.comments, &ref);
  fuzz_drop_lines(&lib, "discard ");
  if (utf8) {
    fuzz_drop_lines(&lib, "last ");
    fuzz_drop_lines(&ref, "last ");
  }
  fuzz_expect_same("libsse and the reference decoder disagree", &ref,
                   "reference", &lib, "libsse");
  test_log_free(&lib);
  test_log_free(&ref);
  free(cuts);
  return 0;
}
