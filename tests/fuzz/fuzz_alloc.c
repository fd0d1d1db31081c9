/*
 * fuzz_alloc: allocation failure at a point the fuzzer picks.
 *
 * Input: two bytes (little-endian) pick which allocation fails, counted
 * from 1 and folded into the number of allocations the run makes; one byte
 * picks the mode (bit 0: every allocation from that one on fails, else only
 * that one); then the header of fuzz_decoder_setup() and the stream.
 *
 * Oracles:
 *  - fail once: the decoder reports SSE_E_NOMEM, which is recoverable: the
 *    harness feeds the bytes not consumed again, and the record must be
 *    identical to the run without failure;
 *  - fail forever: the record is the no-failure record up to the failure,
 *    then the result SSE_E_NOMEM and nothing else;
 *  - both: no leak (live blocks and bytes 0 after sse_decoder_free) and no
 *    contract violation.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Offset of the first "last " or "result " line. */
static size_t tail_start(const test_log *l) {
  size_t at = 0;
  while (at < l->len) {
    const char *p = l->p + at;
    const char *nl = memchr(p, '\n', l->len - at);
    if (!strncmp(p, "last ", 5) || !strncmp(p, "result ", 7))
      return at;
    at = nl ? (size_t)(nl - l->p) + 1 : l->len;
  }
  return l->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader r;
  fuzz_setup s;
  test_alloc clean, failing;
  test_log good = {0}, bad = {0};
  size_t *cuts = malloc(sizeof(size_t) * FUZZ_CUTS(size));
  size_t pick;
  int forever;
  if (!cuts)
    abort();
  fuzz_set_input(data, size);
  r.p = data;
  r.n = size;
  pick = fuzz_u16(&r);
  forever = fuzz_u8(&r) & 1;
  fuzz_decoder_setup(&r, &s, cuts);

  memset(&clean, 0, sizeof clean);
  s.run.alloc = &clean;
  harness_decode(&s.run, s.payload, s.n, &good);
  if (s.violations)
    fuzz_fail("contract violation without allocation failure", &good,
              "no failure", NULL, NULL);

  memset(&failing, 0, sizeof failing);
  failing.fail_at = 1 + (clean.calls ? pick % clean.calls : 0);
  failing.fail_forever = forever;
  s.run.alloc = &failing;
  s.run.retry_on_nomem = 1;
  harness_decode(&s.run, s.payload, s.n, &bad);
  if (s.violations)
    fuzz_fail("contract violation under allocation failure (leak, error "
              "not sticky, unexpected code...)",
              &bad, "with failure", &good, "no failure");
  if (!forever) {
    fuzz_expect_same("feeding the rest again after SSE_E_NOMEM differs "
                     "from a run without failure",
                     &good, "no failure", &bad, "failed once, retried");
  } else if (clean.calls) {
    size_t cut = tail_start(&bad);
    /* The result line: here, or after the (escaped, one-line) last ID. */
    const char *res = strncmp(bad.p + cut, "result ", 7) == 0
                          ? bad.p + cut
                          : strstr(bad.p + cut, "\nresult ");
    if (res && *res == '\n')
      res++;
    /* Feeding the rest again after SSE_E_NOMEM may need no more memory
     * (e.g. oversized lines being skipped): then the record must be the
     * clean one. Otherwise the run ends in SSE_E_NOMEM. */
    if ((!res || strcmp(res, "result SSE_E_NOMEM\n") != 0) &&
        (bad.len != good.len || memcmp(bad.p, good.p, good.len) != 0))
      fuzz_fail("allocation failure neither gave SSE_E_NOMEM nor was "
                "recovered exactly", &bad, "with failure", &good,
                "no failure");
    if (cut > good.len || memcmp(bad.p, good.p, cut) != 0)
      fuzz_fail("before the failure the record differs", &bad,
                "with failure", &good, "no failure");
  }
  test_log_free(&good);
  test_log_free(&bad);
  free(cuts);
  return 0;
}
