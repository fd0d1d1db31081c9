/*
 * A program that uses libsse the way a downstream project does: only through
 * <sse.h> and the installed library. It decodes a stream whole and one byte
 * at a time, checks every event, and encodes an event and decodes it back.
 * Exit status 0 when everything matches, 1 otherwise (with a message).
 */
#include <stdio.h>
#include <string.h>

#include <sse.h>

#define MAX_SEEN 8

typedef struct seen {
  int events;
  char type[MAX_SEEN][16];
  char data[MAX_SEEN][64];
  char id[MAX_SEEN][16];
  unsigned long long retry;
} seen;

static int copy(char *dst, size_t cap, const char *src, size_t len) {
  if (len >= cap)
    return -1;
  memcpy(dst, src, len);
  dst[len] = '\0';
  return 0;
}

static int on_event(void *user, const sse_event *ev) {
  seen *s = user;
  if (s->events == MAX_SEEN)
    return SSE_E_CALLBACK;
  if (copy(s->type[s->events], sizeof s->type[0], ev->type, ev->type_len) ||
      copy(s->data[s->events], sizeof s->data[0], ev->data, ev->data_len) ||
      copy(s->id[s->events], sizeof s->id[0], ev->id, ev->id_len))
    return SSE_E_CALLBACK;
  s->events++;
  return SSE_OK;
}

static int on_retry(void *user, uint64_t ms) {
  ((seen *)user)->retry = (unsigned long long)ms;
  return SSE_OK;
}

static int fail(const char *what, const char *got) {
  fprintf(stderr, "consumer: %s%s%s\n", what, got ? ": got " : "", got ? got : "");
  return 1;
}

/* Decodes len bytes of text in chunks of step bytes into *s. */
static int decode(const char *text, size_t len, size_t step, seen *s) {
  sse_decoder_callbacks cb;
  sse_decoder *d;
  size_t off;
  int rc = SSE_OK;
  memset(&cb, 0, sizeof cb);
  memset(s, 0, sizeof *s);
  cb.on_event = on_event;
  cb.on_retry = on_retry;
  if (sse_decoder_new(&d, &cb, s, NULL) != SSE_OK)
    return SSE_E_NOMEM;
  for (off = 0; rc == SSE_OK && off < len; off += step)
    rc = sse_decoder_feed(d, text + off, len - off < step ? len - off : step, NULL);
  if (rc == SSE_OK)
    rc = sse_decoder_finish(d);
  sse_decoder_free(d);
  return rc;
}

static int check_stream(size_t step) {
  static const char stream[] = "\xEF\xBB\xBFretry: 2500\r\n"
                               ": keep-alive\n"
                               "id: 7\n"
                               "data: hello\n\n"
                               "event: update\r"
                               "data: line one\r\n"
                               "data: line two\n\n"
                               "data: cut off";
  seen s;
  int rc = decode(stream, sizeof stream - 1, step, &s);
  if (rc != SSE_OK)
    return fail("decoding failed", sse_strerror(rc));
  if (s.events != 2)
    return fail("expected 2 events", NULL);
  if (strcmp(s.type[0], "message") || strcmp(s.data[0], "hello") || strcmp(s.id[0], "7"))
    return fail("first event wrong", s.data[0]);
  if (strcmp(s.type[1], "update") || strcmp(s.data[1], "line one\nline two") ||
      strcmp(s.id[1], "7"))
    return fail("second event wrong", s.data[1]);
  if (s.retry != 2500)
    return fail("retry not reported", NULL);
  return 0;
}

static int check_round_trip(void) {
  sse_message ev;
  char buf[128];
  size_t len = 0;
  seen s;
  int rc;
  memset(&ev, 0, sizeof ev);
  ev.type = "tick";
  ev.type_len = 4;
  ev.id = "42";
  ev.id_len = 2;
  ev.data = "a\nb";
  ev.data_len = 3;
  rc = sse_encode_message(buf, sizeof buf, &ev, &len);
  if (rc != SSE_OK)
    return fail("encoding failed", sse_strerror(rc));
  rc = decode(buf, len, len, &s);
  if (rc != SSE_OK)
    return fail("decoding the encoded event failed", sse_strerror(rc));
  if (s.events != 1 || strcmp(s.type[0], "tick") || strcmp(s.data[0], "a\nb") ||
      strcmp(s.id[0], "42"))
    return fail("round trip changed the event", s.data[0]);
  ev.id = "4\n2";
  ev.id_len = 3;
  if (sse_encode_message(buf, sizeof buf, &ev, &len) != SSE_E_INVALID_FIELD)
    return fail("an id with LF was not refused", NULL);
  return 0;
}

int main(void) {
  if (sse_version() != SSE_VERSION_NUMBER)
    return fail("library and header versions differ", sse_version_string());
  if (check_stream(1) || check_stream(5) || check_stream((size_t)-1 / 2) ||
      check_round_trip())
    return 1;
  printf("consumer: libsse %s ok\n", sse_version_string());
  return 0;
}
