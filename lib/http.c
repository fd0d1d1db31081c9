/* HTTP helpers: recommended header fields, Last-Event-ID, Content-Type. */
#include "internal.h"

static const sse_http_field fields_h1[] = {
    {"Content-Type", "text/event-stream"},
    {"Cache-Control", "no-cache, no-transform"},
    {"X-Accel-Buffering", "no"},
    {"Connection", "keep-alive"}};

static const sse_http_field fields_h2[] = {
    {"content-type", "text/event-stream"},
    {"cache-control", "no-cache, no-transform"},
    {"x-accel-buffering", "no"}};

#define STATUS_LINE "HTTP/1.1 200 OK\r\n"

const sse_http_field *sse_http_fields(unsigned flags, size_t *count) {
  if (!count)
    return NULL;
  *count = 0;
  if (flags == SSE_HTTP_2) {
    *count = sizeof fields_h2 / sizeof fields_h2[0];
    return fields_h2;
  }
  if (flags == 0) {
    *count = sizeof fields_h1 / sizeof fields_h1[0];
    return fields_h1;
  }
  return NULL;
}

static void put(char *buf, size_t cap, size_t *pos, const char *s) {
  size_t n = strlen(s);
  if (*pos <= cap && n <= cap - *pos)
    memcpy(buf + *pos, s, n);
  *pos += n;
}

int sse_http_headers(char *buf, size_t cap, unsigned flags, size_t *len) {
  const sse_http_field *f;
  size_t n, i, pos = 0;
  if (!len)
    return SSE_E_INVALID_ARGUMENT;
  *len = 0;
  if (!buf && cap)
    return SSE_E_INVALID_ARGUMENT;
  f = sse_http_fields(flags & ~(unsigned)SSE_HTTP_RESPONSE, &n);
  if (!f || flags == (SSE_HTTP_RESPONSE | SSE_HTTP_2))
    return SSE_E_INVALID_ARGUMENT;
  if (flags & SSE_HTTP_RESPONSE)
    put(buf, cap, &pos, STATUS_LINE);
  for (i = 0; i < n; i++) {
    put(buf, cap, &pos, f[i].name);
    put(buf, cap, &pos, ": ");
    put(buf, cap, &pos, f[i].value);
    put(buf, cap, &pos, "\r\n");
  }
  if (flags & SSE_HTTP_RESPONSE)
    put(buf, cap, &pos, "\r\n");
  *len = pos;
  return pos <= cap ? SSE_OK : SSE_E_NOSPACE;
}

static int ows(char c) { return c == ' ' || c == '\t'; }

int sse_http_last_event_id(const char *value, size_t len, size_t max_len,
                           const char **id, size_t *id_len) {
  size_t a = 0, b = len;
  if (id)
    *id = NULL;
  if (id_len)
    *id_len = 0;
  if (!id || !id_len || (!value && len))
    return SSE_E_INVALID_ARGUMENT;
  if (!len)
    return SSE_OK;
  if (memchr(value, '\r', len) || memchr(value, '\n', len) ||
      memchr(value, '\0', len))
    return SSE_E_INVALID_VALUE;
  while (a < b && ows(value[a]))
    a++;
  while (b > a && ows(value[b - 1]))
    b--;
  if (b - a > (max_len ? max_len : SSE_DEFAULT_MAX_LAST_EVENT_ID))
    return SSE_E_INVALID_VALUE;
  *id = value + a;
  *id_len = b - a;
  return SSE_OK;
}

int sse_http_check_id(const char *id, size_t len, size_t max_len) {
  size_t i;
  if (!id && len)
    return SSE_E_INVALID_ARGUMENT;
  if (!len || len > (max_len ? max_len : SSE_DEFAULT_MAX_LAST_EVENT_ID) ||
      id[0] == ' ' || id[len - 1] == ' ')
    return SSE_E_INVALID_VALUE;
  for (i = 0; i < len; i++)
    if ((unsigned char)id[i] < 0x20 || (unsigned char)id[i] > 0x7e)
      return SSE_E_INVALID_VALUE;
  return SSE_OK;
}

/* RFC 9110 tchar. */
static int tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
    return 1;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static size_t token(const char *s, size_t i, size_t n) {
  while (i < n && tchar((unsigned char)s[i]))
    i++;
  return i;
}

/* A quoted-string starting at s[i] == '"': the index after it, or 0. */
static size_t quoted(const char *s, size_t i, size_t n) {
  for (i++; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"')
      return i + 1;
    if (c == '\\') {
      if (++i == n)
        return 0;
      c = (unsigned char)s[i];
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return 0;
  }
  return 0;
}

static int ieq(const char *s, const char *lower, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c + 32);
    if (c != lower[i])
      return 0;
  }
  return 1;
}

int sse_http_check_content_type(const char *value, size_t len) {
  static const char essence[] = "text/event-stream";
  const size_t elen = sizeof essence - 1;
  size_t i = 0, j;
  if (!value)
    return len ? SSE_E_INVALID_ARGUMENT : SSE_E_INVALID_VALUE;
  while (i < len && ows(value[i]))
    i++;
  if (len - i < elen || !ieq(value + i, essence, elen))
    return SSE_E_INVALID_VALUE;
  i += elen;
  /* parameters = *( OWS ";" OWS [ token "=" ( token / quoted-string ) ] ) */
  for (;;) {
    while (i < len && ows(value[i]))
      i++;
    if (i == len)
      return SSE_OK;
    if (value[i] != ';')
      return SSE_E_INVALID_VALUE;
    i++;
    while (i < len && ows(value[i]))
      i++;
    if (i == len || value[i] == ';')
      continue;
    j = token(value, i, len);
    if (j == i || j == len || value[j] != '=')
      return SSE_E_INVALID_VALUE;
    i = j + 1;
    if (i < len && value[i] == '"')
      j = quoted(value, i, len);
    else
      j = token(value, i, len);
    if (j <= i)
      return SSE_E_INVALID_VALUE;
    i = j;
  }
}
