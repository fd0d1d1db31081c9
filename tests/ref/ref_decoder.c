/* The reference decoder. Each step quotes the standard it implements. The
 * spec works on code points; after the UTF-8 decode step every code point
 * this parser looks at (CR, LF, ":", " ", NUL and the ASCII field names) is
 * a single byte, so working on the UTF-8 bytes of the decoded text is the
 * same thing. */
#include "ref_decoder.h"

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct str {
  char *p;
  size_t len;
  size_t cap;
} str;

static void str_append(str *s, const char *p, size_t n) {
  if (n > ((size_t)-1) / 4)
    abort(); /* cannot happen; tells the compiler n is bounded */
  if (s->len + n + 1 > s->cap) {
    size_t cap = 2 * (s->len + n) + 16;
    char *q = realloc(s->p, cap);
    if (!q)
      abort();
    s->p = q;
    s->cap = cap;
  }
  memcpy(s->p + s->len, p, n);
  s->len += n;
}

static void str_set(str *s, const char *p, size_t n) {
  s->len = 0;
  str_append(s, p, n);
}

static int str_is(const str *s, const char *lit) {
  return s->len == strlen(lit) && memcmp(s->p, lit, s->len) == 0;
}

/* ---- Encoding standard, "UTF-8 decode" ------------------------------------ */

static void put_cp(str *out, unsigned long cp) {
  char b[4];
  size_t n;
  if (cp < 0x80) {
    b[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = (char)(0xC0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (char)(0xE0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  str_append(out, b, n);
}

/* "To UTF-8 decode an I/O queue of bytes ioQueue ...: 1. Let buffer be the
 * result of peeking three bytes from ioQueue. 2. If buffer is 0xEF 0xBB
 * 0xBF, then read three bytes from ioQueue. 3. Process a queue with an
 * instance of UTF-8's decoder, ioQueue, output, and "replacement"." */
static str utf8_decode(const unsigned char *in, size_t n) {
  str out = {NULL, 0, 0};
  size_t i = 0;
  unsigned long cp = 0;
  unsigned needed = 0, seen = 0, lower = 0x80, upper = 0xBF;
  if (n >= 3 && in[0] == 0xEF && in[1] == 0xBB && in[2] == 0xBF)
    i = 3;
  str_append(&out, "", 0);
  /* The UTF-8 decoder's handler, run on each byte and then on end-of-queue. */
  while (i <= n) {
    unsigned byte;
    if (i == n) {
      /* "If byte is end-of-queue and UTF-8 bytes needed is not 0, set UTF-8
       * bytes needed to 0 and return error." */
      if (needed != 0)
        put_cp(&out, 0xFFFD);
      break;
    }
    byte = in[i];
    if (needed == 0) {
      if (byte <= 0x7F) {
        put_cp(&out, byte);
      } else if (byte >= 0xC2 && byte <= 0xDF) {
        needed = 1;
        cp = byte & 0x1F;
      } else if (byte >= 0xE0 && byte <= 0xEF) {
        if (byte == 0xE0)
          lower = 0xA0;
        if (byte == 0xED)
          upper = 0x9F;
        needed = 2;
        cp = byte & 0xF;
      } else if (byte >= 0xF0 && byte <= 0xF4) {
        if (byte == 0xF0)
          lower = 0x90;
        if (byte == 0xF4)
          upper = 0x8F;
        needed = 3;
        cp = byte & 0x7;
      } else {
        put_cp(&out, 0xFFFD);
      }
      i++;
      continue;
    }
    /* "If byte is not in the range UTF-8 lower boundary to UTF-8 upper
     * boundary, inclusive, then: set code point, bytes needed and bytes seen
     * to 0, lower boundary to 0x80 and upper boundary to 0xBF; restore byte
     * to ioQueue; return error." */
    if (byte < lower || byte > upper) {
      cp = 0;
      needed = seen = 0;
      lower = 0x80;
      upper = 0xBF;
      put_cp(&out, 0xFFFD);
      continue; /* the byte is read again */
    }
    lower = 0x80;
    upper = 0xBF;
    cp = (cp << 6) | (byte & 0x3F);
    seen++;
    i++;
    if (seen == needed) {
      put_cp(&out, cp);
      cp = 0;
      needed = seen = 0;
    }
  }
  return out;
}

/* ---- HTML 9.2.6 ------------------------------------------------------------- */

typedef struct parser {
  str data;       /* "data buffer" */
  str type;       /* "event type buffer" */
  str id_buffer;  /* "last event ID buffer" */
  str id_string;  /* the event source's "last event ID string" */
  int comments;
  test_log *log;
} parser;

/* "If the field value consists of only ASCII digits, then interpret the
 * field value as an integer in base ten, and set the event stream's
 * reconnection time to that integer. Otherwise, ignore the field." An empty
 * value is ignored, as libsse and browsers do. The integer is kept as a
 * decimal string and saturated to 2^64-1 only for printing. */
static void field_retry(parser *ps, const str *value) {
  static const char max[] = "18446744073709551615";
  size_t i, start = 0;
  if (value->len == 0)
    return;
  for (i = 0; i < value->len; i++)
    if (value->p[i] < '0' || value->p[i] > '9')
      return;
  while (start + 1 < value->len && value->p[start] == '0')
    start++;
  test_log_add(ps->log, "retry ", 6);
  if (value->len - start > 20 ||
      (value->len - start == 20 && memcmp(value->p + start, max, 20) > 0))
    test_log_add(ps->log, max, 20);
  else
    test_log_add(ps->log, value->p + start, value->len - start);
  test_log_add(ps->log, "\n", 1);
}

/* "The steps to process the field given a field name and a field value
 * depend on the field name, as given in the following list. Field names
 * must be compared literally, with no case folding performed." */
static void process_field(parser *ps, const str *name, const str *value) {
  if (str_is(name, "event")) {
    /* "Set the event type buffer to the field value." */
    str_set(&ps->type, value->p, value->len);
  } else if (str_is(name, "data")) {
    /* "Append the field value to the data buffer, then append a single
     * U+000A LINE FEED (LF) character to the data buffer." */
    str_append(&ps->data, value->p, value->len);
    str_append(&ps->data, "\n", 1);
  } else if (str_is(name, "id")) {
    /* "If the field value does not contain U+0000 NULL, then set the last
     * event ID buffer to the field value. Otherwise, ignore the field." */
    if (!memchr(value->p, 0, value->len))
      str_set(&ps->id_buffer, value->p, value->len);
  } else if (str_is(name, "retry")) {
    field_retry(ps, value);
  }
  /* "Otherwise: The field is ignored." */
}

/* "When the user agent is required to dispatch the event, ..." */
static void dispatch(parser *ps) {
  /* "1. Set the last event ID string of the event source to the value of
   * the last event ID buffer." */
  str_set(&ps->id_string, ps->id_buffer.p, ps->id_buffer.len);
  /* "2. If the data buffer is an empty string, set the data buffer and the
   * event type buffer to the empty string and return." */
  if (ps->data.len == 0) {
    str_set(&ps->type, "", 0);
    return;
  }
  /* "3. If the data buffer's last character is a U+000A LINE FEED (LF)
   * character, then remove the last character from the data buffer." */
  if (ps->data.p[ps->data.len - 1] == '\n')
    ps->data.len--;
  /* "4./5. ... Initialize the event's type attribute to "message", its
   * data attribute to the value of the data buffer, ... its lastEventId
   * attribute to the last event ID string of the event source. 6. If the
   * event type buffer has a value other than the empty string, change the
   * type of the newly created event to equal the value of the event type
   * buffer." */
  test_log_add(ps->log, "event ", 6);
  if (ps->type.len)
    harness_log_str(ps->log, ps->type.p, ps->type.len);
  else
    test_log_add(ps->log, "message", 7);
  test_log_add(ps->log, "|", 1);
  harness_log_str(ps->log, ps->data.p, ps->data.len);
  test_log_add(ps->log, "|", 1);
  harness_log_str(ps->log, ps->id_string.p, ps->id_string.len);
  test_log_add(ps->log, "\n", 1);
  /* "7. Set the data buffer and the event type buffer to the empty
   * string." */
  str_set(&ps->data, "", 0);
  str_set(&ps->type, "", 0);
}

static void process_line(parser *ps, const char *line, size_t len) {
  const char *colon = memchr(line, ':', len);
  str name = {NULL, 0, 0}, value = {NULL, 0, 0};
  /* "If the line is empty (a blank line): Dispatch the event." */
  if (len == 0) {
    dispatch(ps);
    return;
  }
  /* "If the line starts with a U+003A COLON character (:): Ignore the
   * line." (libsse reports it as a comment.) */
  if (line[0] == ':') {
    if (ps->comments) {
      size_t skip = len > 1 && line[1] == ' ' ? 2 : 1;
      test_log_add(ps->log, "comment ", 8);
      harness_log_str(ps->log, line + skip, len - skip);
      test_log_add(ps->log, "\n", 1);
    }
    return;
  }
  if (colon) {
    /* "Collect the characters on the line before the first U+003A COLON
     * character (:), and let field be that string. Collect the characters
     * on the line after the first U+003A COLON character (:), and let value
     * be that string. If value starts with a U+0020 SPACE character, remove
     * it from value." */
    size_t at = (size_t)(colon - line);
    str_set(&name, line, at);
    if (at + 1 < len && line[at + 1] == ' ')
      str_set(&value, line + at + 2, len - at - 2);
    else
      str_set(&value, line + at + 1, len - at - 1);
  } else {
    /* "Otherwise, the string is not empty but does not contain a U+003A
     * COLON character (:): Process the field using the whole line as the
     * field name, and the empty string as the field value." */
    str_set(&name, line, len);
    str_set(&value, "", 0);
  }
  process_field(ps, &name, &value);
  free(name.p);
  free(value.p);
}

void ref_decode(const void *in, size_t n, int utf8, int comments,
                test_log *log) {
  const unsigned char *bytes = in;
  parser ps;
  str text = {NULL, 0, 0};
  size_t pos = 0;
  memset(&ps, 0, sizeof ps);
  ps.comments = comments;
  ps.log = log;
  str_set(&ps.data, "", 0);
  str_set(&ps.type, "", 0);
  str_set(&ps.id_buffer, "", 0);
  str_set(&ps.id_string, "", 0);

  /* "Streams must be decoded using the UTF-8 decode algorithm." In byte
   * mode only its first step, the BOM removal, is applied. */
  if (utf8) {
    text = utf8_decode(bytes, n);
  } else if (n >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB &&
             bytes[2] == 0xBF) {
    str_set(&text, (const char *)bytes + 3, n - 3);
  } else {
    str_set(&text, n ? (const char *)bytes : "", n);
  }

  /* "The stream must then be parsed by reading everything line by line,
   * with a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a
   * single U+000A LINE FEED (LF) character not preceded by a U+000D CARRIAGE
   * RETURN (CR) character, and a single U+000D CARRIAGE RETURN (CR)
   * character not followed by a U+000A LINE FEED (LF) character being the
   * ways in which a line can end." */
  for (;;) {
    size_t end = pos, next;
    while (end < text.len && text.p[end] != '\r' && text.p[end] != '\n')
      end++;
    /* "Once the end of the file is reached, any pending data must be
     * discarded. (If the file ends in the middle of an event, before the
     * final empty line, the incomplete event is not dispatched.)" A last
     * line without its line end is incomplete too. */
    if (end == text.len)
      break;
    next = end + 1;
    if (text.p[end] == '\r' && next < text.len && text.p[next] == '\n')
      next++;
    process_line(&ps, text.p + pos, end - pos);
    pos = next;
  }

  test_log_add(log, "last ", 5);
  harness_log_str(log, ps.id_string.p, ps.id_string.len);
  test_log_add(log, "\nresult SSE_OK\n", 15);
  free(text.p);
  free(ps.data.p);
  free(ps.type.p);
  free(ps.id_buffer.p);
  free(ps.id_string.p);
}
