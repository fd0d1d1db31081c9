/*
 * fuzz_roundtrip: encoder -> decoder round trip, and the encoder's own
 * contracts.
 *
 * Input: byte 0 the chunking plan for decoding, byte 1 flags (1 pieces,
 * 2 record comments, 4 pause), then records until the input ends:
 *   tag: kind = tag & 3 (0 and 3 event, 1 retry, 2 comment);
 *        events: 4 has type, 8 has id, 16 has data
 *        retries: tag >> 2 picks 1, 2 or 8 value bytes
 *   string: length byte (255: two more bytes, little-endian), then bytes.
 *
 * Oracles:
 *  - the encoder refuses an event exactly when its type holds CR or LF or
 *    its id holds CR, LF or NUL (SSE_E_INVALID_FIELD, nothing written);
 *  - the sizing call, a too-small buffer (SSE_E_NOSPACE with the size
 *    needed), an exact buffer and the iovec form all agree byte for byte,
 *    the iovec count is within the documented 2n + 7;
 *  - the output holds no CR, and event and retry frames end in a blank
 *    line;
 *  - decoding the concatenated frames (chunked per the plan) gives exactly
 *    the events, retries and comments put in, with CR and CRLF in data and
 *    comments turned into LF (line breaks), and the last event ID of the
 *    last id written.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

typedef struct field {
  const char *p;
  size_t len;
  int present;
} field;

static field take_string(fuzz_reader *r) {
  field f;
  size_t want = fuzz_u8(r), got;
  if (want == 255)
    want = fuzz_u16(r);
  f.p = (const char *)fuzz_bytes(r, want, &got);
  f.len = got;
  if (!got)
    f.p = "";
  f.present = 1;
  return f;
}

static int has_eol(const field *f) {
  size_t i;
  for (i = 0; i < f->len; i++)
    if (f->p[i] == '\r' || f->p[i] == '\n')
      return 1;
  return 0;
}

static size_t count_lines(const char *s, size_t n) {
  size_t i, lines = 1;
  for (i = 0; i < n; i++)
    if (s[i] == '\n' || (s[i] == '\r' && !(i + 1 < n && s[i + 1] == '\n')))
      lines++;
  return lines;
}

/* Encodes one event every way there is and checks they agree. Appends the
 * frame to wire; returns the code. */
static int encode_event(const sse_message *ev, test_log *wire) {
  size_t need = 0, len = 0, count = 0, bytes = 0, i;
  char canary[8];
  sse_iovec *iov;
  char *buf;
  int rc = sse_encode_message(NULL, 0, ev, &need), rc2;
  if (rc == SSE_E_INVALID_FIELD) {
    memset(canary, 'Z', sizeof canary);
    FUZZ_CHECK(need == 0, "refused event reported a size");
    FUZZ_CHECK(sse_encode_message(canary, sizeof canary, ev, &len) ==
                       SSE_E_INVALID_FIELD &&
                   len == 0 && !memcmp(canary, "ZZZZZZZZ", 8),
               "a refused event wrote something");
    FUZZ_CHECK(sse_encode_message_iov(NULL, 0, ev, &count, &bytes) ==
                       SSE_E_INVALID_FIELD &&
                   count == 0 && bytes == 0,
               "iovec form accepted a refused event");
    return rc;
  }
  FUZZ_CHECK(rc == SSE_E_NOSPACE && need > 0, "sizing call misbehaved");
  buf = malloc(need);
  if (!buf)
    abort();
  rc = sse_encode_message(buf, need - 1, ev, &len);
  FUZZ_CHECK(rc == SSE_E_NOSPACE && len == need,
             "too-small buffer not reported with the size needed");
  rc = sse_encode_message(buf, need, ev, &len);
  FUZZ_CHECK(rc == SSE_OK && len == need, "exact buffer refused");
  FUZZ_CHECK(!memchr(buf, '\r', len), "encoder wrote a CR");
  FUZZ_CHECK(len >= 1 && buf[len - 1] == '\n' &&
                 (len == 1 || buf[len - 2] == '\n'),
             "event frame does not end with a blank line");

  rc2 = sse_encode_message_iov(NULL, 0, ev, &count, &bytes);
  FUZZ_CHECK(rc2 == SSE_E_NOSPACE && count > 0 && bytes == need,
             "iovec sizing disagrees");
  FUZZ_CHECK(count <= 2 * (ev->data ? count_lines(ev->data, ev->data_len)
                                    : 0) + 7,
             "iovec count above the documented 2n + 7");
  iov = malloc(count * sizeof *iov);
  if (!iov)
    abort();
  {
    size_t c2 = 0, b2 = 0, at = 0;
    FUZZ_CHECK(sse_encode_message_iov(iov, count, ev, &c2, &b2) == SSE_OK &&
                   c2 == count && b2 == need,
               "iovec form refused its own count");
    for (i = 0; i < count; i++) {
      FUZZ_CHECK(iov[i].len > 0 && at + iov[i].len <= need &&
                     !memcmp(buf + at, iov[i].base, iov[i].len),
                 "iovec pieces differ from the buffer form");
      at += iov[i].len;
    }
    FUZZ_CHECK(at == need, "iovec pieces do not cover the frame");
  }
  test_log_add(wire, buf, len);
  free(iov);
  free(buf);
  return SSE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader r;
  harness_run run;
  test_log wire = {0}, expect = {0}, got = {0};
  field last = {"", 0, 1};
  size_t *cuts, records = 0;
  uint8_t plan, flags;
  int violations = 0;

  fuzz_set_input(data, size);
  r.p = data;
  r.n = size;
  plan = fuzz_u8(&r);
  flags = fuzz_u8(&r);
  memset(&run, 0, sizeof run);
  run.pieces = flags & 1;
  run.comments = (flags & 2) != 0;
  run.pause_every = flags & 4 ? 2 : 0;
  run.violations = &violations;

  while (r.n && records++ < 512) {
    uint8_t tag = fuzz_u8(&r);
    unsigned kind = tag & 3;
    if (kind == 1) {
      char buf[32];
      size_t len = 0;
      uint64_t ms;
      unsigned width = (tag >> 2) % 3;
      ms = width == 0 ? fuzz_u8(&r) : width == 1 ? fuzz_u16(&r) : fuzz_u64(&r);
      FUZZ_CHECK(sse_encode_retry(buf, sizeof buf, ms, &len) == SSE_OK &&
                     len <= 29 && len >= 10,
                 "retry frame");
      FUZZ_CHECK(!memcmp(buf, "retry: ", 7) && buf[len - 1] == '\n' &&
                     buf[len - 2] == '\n',
                 "retry frame shape");
      test_log_add(&wire, buf, len);
      test_log_printf(&expect, "retry %llu\n", (unsigned long long)ms);
    } else if (kind == 2) {
      field text = take_string(&r);
      size_t need = 0, len = 0;
      char *buf;
      FUZZ_CHECK(sse_encode_comment(NULL, 0, text.p, text.len, &need) ==
                     SSE_E_NOSPACE,
                 "comment sizing");
      buf = malloc(need);
      if (!buf)
        abort();
      FUZZ_CHECK(sse_encode_comment(buf, need, text.p, text.len, &len) ==
                         SSE_OK &&
                     len == need && buf[0] == ':' && buf[len - 1] == '\n' &&
                     !memchr(buf, '\r', len),
                 "comment frame");
      test_log_add(&wire, buf, len);
      free(buf);
      if (run.comments)
        fuzz_log_comments(&expect, text.p, text.len);
    } else {
      field type = {NULL, 0, 0}, id = {NULL, 0, 0}, body = {NULL, 0, 0};
      sse_message ev;
      int bad, rc;
      if (tag & 4)
        type = take_string(&r);
      if (tag & 8)
        id = take_string(&r);
      if (tag & 16)
        body = take_string(&r);
      memset(&ev, 0, sizeof ev);
      ev.type = type.present ? type.p : NULL;
      ev.type_len = type.len;
      ev.id = id.present ? id.p : NULL;
      ev.id_len = id.len;
      ev.data = body.present ? body.p : NULL;
      ev.data_len = body.len;
      bad = has_eol(&type) || has_eol(&id) || memchr(id.p ? id.p : "", 0,
                                                     id.len) != NULL;
      rc = encode_event(&ev, &wire);
      FUZZ_CHECK(bad ? rc == SSE_E_INVALID_FIELD : rc == SSE_OK,
                 "the encoder refused exactly the wrong events");
      if (rc != SSE_OK)
        continue;
      if (id.present)
        last = id;
      if (body.present)
        fuzz_log_event(&expect, ev.type, ev.type_len, body.p, body.len,
                       last.p, last.len);
    }
  }
  test_log_add(&expect, "last ", 5);
  harness_log_str(&expect, last.p, last.len);
  test_log_add(&expect, "\nresult SSE_OK\n", 15);

  cuts = malloc(sizeof(size_t) * FUZZ_CUTS(wire.len));
  if (!cuts)
    abort();
  run.cuts = cuts;
  run.ncuts = fuzz_plan(plan, (const uint8_t *)wire.p, wire.len, cuts);
  harness_decode(&run, wire.p, wire.len, &got);
  if (violations)
    fuzz_fail("the decoder broke its contract on encoder output", &got,
              "decoded", NULL, NULL);
  fuzz_expect_same("decode(encode(x)) differs from x", &expect, "expected",
                   &got, "decoded");
  test_log_free(&wire);
  test_log_free(&expect);
  test_log_free(&got);
  free(cuts);
  return 0;
}
