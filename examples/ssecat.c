/*
 * ssecat: decode a text/event-stream into one JSON object per line, or
 * encode such lines back into a stream.
 *
 *   ssecat [--chunk-size N] [--comments] [--count] [--max-line BYTES]
 *          [--max-event BYTES] [FILE...]
 *   ssecat --encode [FILE...]
 *
 * Decode output: {"type":"...","data":"...","id":"..."} per event (id is the
 * last event ID at dispatch), {"retry":N} per valid retry field, and with
 * --comments {"comment":"..."} per comment. Strings go through the standard's
 * UTF-8 decode, so the output is valid UTF-8 JSON. --count prints only
 * {"events":N,"data_bytes":M} at the end. Files are read in turn as one
 * stream; no FILE or "-" reads standard input.
 *
 * Exit status: 0 on success, 1 on an input or limit error (one line on
 * stderr), 2 on a usage error.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sse.h>

#include "ndjson.h"

static const char *prog = "ssecat";

static void usage(void) {
  fprintf(stderr,
          "usage: %s [--chunk-size N] [--comments] [--count] [--max-line BYTES]\n"
          "       %*s [--max-event BYTES] [FILE...]\n"
          "       %s --encode [FILE...]\n",
          prog, (int)strlen(prog), "", prog);
  exit(2);
}

/* Parses a positive size; exits with a usage error otherwise. */
static size_t parse_size(const char *opt, const char *s) {
  char *end;
  unsigned long long v;
  errno = 0;
  if (!s || *s < '0' || *s > '9')
    goto bad;
  v = strtoull(s, &end, 10);
  if (errno || *end || v == 0 || v > (unsigned long long)SIZE_MAX)
    goto bad;
  return (size_t)v;
bad:
  fprintf(stderr, "%s: %s needs a positive number, got '%s'\n", prog, opt,
          s ? s : "");
  exit(2);
}

/* ------------------------------------------------------------------------ */
/* Input. */

typedef struct input {
  char **names;
  int count;
  int next;
  FILE *f;
  const char *name;
} input;

/* Reads up to cap bytes from the files in turn; 0 at the end of all. */
static size_t input_read(input *in, char *buf, size_t cap) {
  for (;;) {
    size_t n;
    if (!in->f) {
      if (in->next >= in->count)
        return 0;
      in->name = in->names[in->next++];
      if (strcmp(in->name, "-") == 0) {
        in->f = stdin;
        in->name = "<stdin>";
      } else if (!(in->f = fopen(in->name, "rb"))) {
        fprintf(stderr, "%s: %s: %s\n", prog, in->name, strerror(errno));
        exit(1);
      }
    }
    n = fread(buf, 1, cap, in->f);
    if (n)
      return n;
    if (ferror(in->f)) {
      fprintf(stderr, "%s: %s: read error\n", prog, in->name);
      exit(1);
    }
    if (in->f != stdin)
      fclose(in->f);
    in->f = NULL;
  }
}

/* ------------------------------------------------------------------------ */
/* Decoding. */

typedef struct decode_ctx {
  int count_only;
  unsigned long long events;
  unsigned long long data_bytes;
} decode_ctx;

static int on_event(void *user, const sse_event *ev) {
  decode_ctx *ctx = user;
  ctx->events++;
  ctx->data_bytes += ev->data_len;
  if (!ctx->count_only)
    ndjson_event(stdout, ev);
  return SSE_OK;
}

static int on_retry(void *user, uint64_t ms) {
  decode_ctx *ctx = user;
  if (!ctx->count_only)
    ndjson_retry(stdout, ms);
  return SSE_OK;
}

static int on_comment(void *user, const char *text, size_t len) {
  (void)user;
  ndjson_comment(stdout, text, len);
  return SSE_OK;
}

static int decode(input *in, size_t chunk, int comments, int count_only,
                  size_t max_line, size_t max_event) {
  static char buf[1 << 16];
  decode_ctx ctx = {0, 0, 0};
  sse_decoder_callbacks cb = {0};
  sse_decoder *d;
  size_t n;
  int rc;
  ctx.count_only = count_only;
  cb.on_event = on_event;
  cb.on_retry = on_retry;
  if (comments && !count_only)
    cb.on_comment = on_comment;
  if (sse_decoder_new(&d, &cb, &ctx, NULL) != SSE_OK) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return 1;
  }
  sse_decoder_set_limits(d, max_line, max_event);
  sse_decoder_set_options(d, SSE_DECODER_UTF8);
  rc = SSE_OK;
  while (rc == SSE_OK && (n = input_read(in, buf, sizeof buf)) > 0) {
    size_t off = 0;
    while (rc == SSE_OK && off < n) {
      size_t k = chunk && chunk < n - off ? chunk : n - off;
      rc = sse_decoder_feed(d, buf + off, k, NULL);
      off += k;
    }
  }
  if (rc == SSE_OK)
    rc = sse_decoder_finish(d);
  sse_decoder_free(d);
  if (count_only)
    printf("{\"events\":%llu,\"data_bytes\":%llu}\n", ctx.events,
           ctx.data_bytes);
  fflush(stdout);
  if (rc != SSE_OK) {
    fprintf(stderr, "%s: %s: %s\n", prog, in->name ? in->name : "<stdin>",
            sse_strerror(rc));
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Encoding: a small JSON reader for the lines decode writes. */

typedef struct jstr {
  char *p;
  size_t len;
  size_t cap;
} jstr;

static void jstr_put(jstr *s, const char *b, size_t n) {
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap : 64;
    while (cap < s->len + n)
      cap *= 2;
    s->p = realloc(s->p, cap);
    if (!s->p) {
      fprintf(stderr, "%s: out of memory\n", prog);
      exit(1);
    }
    s->cap = cap;
  }
  memcpy(s->p + s->len, b, n);
  s->len += n;
}

static void jstr_utf8(jstr *s, unsigned long cp) {
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
  jstr_put(s, b, n);
}

typedef struct jreader {
  const char *p;
  const char *end;
  const char *err;
} jreader;

static void skip_ws(jreader *r) {
  while (r->p < r->end &&
         (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n'))
    r->p++;
}

static int hex4(jreader *r, unsigned long *out) {
  unsigned long v = 0;
  int i;
  if (r->end - r->p < 4)
    return 0;
  for (i = 0; i < 4; i++) {
    char c = *r->p++;
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned long)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned long)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned long)(c - 'A' + 10);
    else
      return 0;
  }
  *out = v;
  return 1;
}

/* Reads a JSON string (after its opening quote) into s. */
static int read_string(jreader *r, jstr *s) {
  s->len = 0;
  while (r->p < r->end) {
    char c = *r->p++;
    unsigned long cp, lo;
    if (c == '"')
      return 1;
    if ((unsigned char)c < 0x20) {
      r->err = "control character in string";
      return 0;
    }
    if (c != '\\') {
      jstr_put(s, &c, 1);
      continue;
    }
    if (r->p >= r->end)
      break;
    switch (c = *r->p++) {
    case '"': case '\\': case '/': jstr_put(s, &c, 1); break;
    case 'b': jstr_put(s, "\b", 1); break;
    case 'f': jstr_put(s, "\f", 1); break;
    case 'n': jstr_put(s, "\n", 1); break;
    case 'r': jstr_put(s, "\r", 1); break;
    case 't': jstr_put(s, "\t", 1); break;
    case 'u':
      if (!hex4(r, &cp)) {
        r->err = "bad \\u escape";
        return 0;
      }
      if (cp >= 0xD800 && cp <= 0xDBFF && r->end - r->p >= 6 &&
          r->p[0] == '\\' && r->p[1] == 'u') {
        const char *save = r->p;
        r->p += 2;
        if (hex4(r, &lo) && lo >= 0xDC00 && lo <= 0xDFFF)
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        else
          r->p = save;
      }
      if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 0xFFFD; /* a lone surrogate has no UTF-8 form */
      jstr_utf8(s, cp);
      break;
    default:
      r->err = "bad escape in string";
      return 0;
    }
  }
  if (!r->err)
    r->err = "unterminated string";
  return 0;
}

enum { K_TYPE, K_DATA, K_ID, K_RETRY, K_COMMENT, K_COUNT };
static const char *const KEYS[K_COUNT] = {"type", "data", "id", "retry",
                                          "comment"};

typedef struct record {
  int has[K_COUNT];
  jstr str[K_COUNT];
  unsigned long long retry;
} record;

static int read_record(jreader *r, record *rec, jstr *key) {
  int k;
  memset(rec->has, 0, sizeof rec->has);
  skip_ws(r);
  if (r->p >= r->end || *r->p++ != '{')
    return r->err = "expected a JSON object", 0;
  skip_ws(r);
  if (r->p < r->end && *r->p == '}') {
    r->p++;
    goto done;
  }
  for (;;) {
    skip_ws(r);
    if (r->p >= r->end || *r->p++ != '"')
      return r->err = "expected a key", 0;
    if (!read_string(r, key))
      return 0;
    for (k = 0; k < K_COUNT; k++)
      if (strlen(KEYS[k]) == key->len && !memcmp(KEYS[k], key->p, key->len))
        break;
    if (k == K_COUNT)
      return r->err = "unknown key", 0;
    if (rec->has[k])
      return r->err = "duplicate key", 0;
    skip_ws(r);
    if (r->p >= r->end || *r->p++ != ':')
      return r->err = "expected ':'", 0;
    skip_ws(r);
    if (k == K_RETRY) {
      unsigned long long v = 0;
      if (r->p >= r->end || *r->p < '0' || *r->p > '9')
        return r->err = "retry must be a non-negative integer", 0;
      while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        unsigned d = (unsigned)(*r->p++ - '0');
        if (v > (ULLONG_MAX - d) / 10)
          return r->err = "retry out of range", 0;
        v = v * 10 + d;
      }
      rec->retry = v;
    } else if (r->end - r->p >= 4 && !memcmp(r->p, "null", 4)) {
      r->p += 4;
      k = -1; /* a null value is the same as an absent key */
    } else {
      if (r->p >= r->end || *r->p++ != '"')
        return r->err = "expected a string", 0;
      if (!read_string(r, &rec->str[k]))
        return 0;
    }
    if (k >= 0)
      rec->has[k] = 1;
    skip_ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == '}') {
      r->p++;
      break;
    }
    return r->err = "expected ',' or '}'", 0;
  }
done:
  skip_ws(r);
  if (r->p != r->end)
    return r->err = "trailing characters after the object", 0;
  return 1;
}

typedef struct encoder {
  char *buf;
  size_t cap;
  jstr last_id; /* the last event ID the output has set */
} encoder;

static int emit_record(encoder *e, const record *rec, const char **err) {
  size_t n = 0;
  int rc, kinds = 0;
  kinds += rec->has[K_RETRY];
  kinds += rec->has[K_COMMENT];
  kinds += rec->has[K_TYPE] || rec->has[K_DATA] || rec->has[K_ID];
  if (kinds > 1) {
    *err = "an object is an event, a retry or a comment, not several";
    return 0;
  }
  for (;;) {
    if (rec->has[K_RETRY])
      rc = sse_encode_retry(e->buf, e->cap, rec->retry, &n);
    else if (rec->has[K_COMMENT])
      rc = sse_encode_comment(e->buf, e->cap, rec->str[K_COMMENT].p,
                              rec->str[K_COMMENT].len, &n);
    else {
      sse_message ev = {0};
      const jstr *t = &rec->str[K_TYPE], *id = &rec->str[K_ID];
      /* "message" is the default type: no line needed. */
      if (rec->has[K_TYPE] && !(t->len == 7 && !memcmp(t->p, "message", 7))) {
        ev.type = t->len ? t->p : "";
        ev.type_len = t->len;
      }
      /* The id is the last event ID: write it only when it changes. */
      if (rec->has[K_ID] && (id->len != e->last_id.len ||
                             (id->len && memcmp(id->p, e->last_id.p, id->len)))) {
        ev.id = id->len ? id->p : "";
        ev.id_len = id->len;
      }
      ev.data = rec->str[K_DATA].len ? rec->str[K_DATA].p : "";
      ev.data_len = rec->str[K_DATA].len;
      if (!rec->has[K_DATA])
        ev.data = NULL;
      rc = sse_encode_message(e->buf, e->cap, &ev, &n);
      if (rc == SSE_OK && ev.id) {
        e->last_id.len = 0;
        jstr_put(&e->last_id, ev.id, ev.id_len);
      }
    }
    if (rc != SSE_E_NOSPACE)
      break;
    free(e->buf);
    e->cap = n;
    if (!(e->buf = malloc(e->cap))) {
      fprintf(stderr, "%s: out of memory\n", prog);
      exit(1);
    }
  }
  if (rc != SSE_OK) {
    *err = rc == SSE_E_INVALID_FIELD
               ? "type or id contains CR or LF, or id contains NUL"
               : sse_strerror(rc);
    return 0;
  }
  fwrite(e->buf, 1, n, stdout);
  return 1;
}

static int encode(input *in) {
  static char buf[1 << 16];
  jstr line = {0}, key = {0};
  record rec;
  encoder e = {0};
  unsigned long long lineno = 0;
  size_t n, i;
  int rc = 0, k;
  const char *err = NULL;
  memset(&rec, 0, sizeof rec);
  for (;;) {
    n = input_read(in, buf, sizeof buf);
    for (i = 0; i < n || (n == 0 && line.len); i++) {
      jreader r;
      if (n && buf[i] != '\n') {
        jstr_put(&line, &buf[i], 1);
        continue;
      }
      lineno++;
      r.p = line.p;
      r.end = line.p + line.len;
      r.err = NULL;
      skip_ws(&r);
      if (r.p != r.end &&
          (!read_record(&r, &rec, &key) || !emit_record(&e, &rec, &err))) {
        fflush(stdout);
        fprintf(stderr, "%s: %s:%llu: %s\n", prog, in->name, lineno,
                r.err ? r.err : err);
        rc = 1;
        goto out;
      }
      line.len = 0;
      if (n == 0)
        break;
    }
    if (n == 0)
      break;
  }
out:
  fflush(stdout);
  free(line.p);
  free(key.p);
  free(e.buf);
  free(e.last_id.p);
  for (k = 0; k < K_COUNT; k++)
    free(rec.str[k].p);
  return rc;
}

int main(int argc, char **argv) {
  size_t chunk = 0, max_line = 0, max_event = 0;
  int comments = 0, count_only = 0, enc = 0, i, nfiles = 0;
  static char *stdin_name[] = {"-"};
  char **files = malloc(sizeof(char *) * (size_t)(argc > 0 ? argc : 1));
  input in = {0};
  int rc;
  static char outbuf[1 << 16];
  if (!files)
    return 1;
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--chunk-size"))
      chunk = parse_size(a, i + 1 < argc ? argv[++i] : NULL);
    else if (!strcmp(a, "--max-line"))
      max_line = parse_size(a, i + 1 < argc ? argv[++i] : NULL);
    else if (!strcmp(a, "--max-event"))
      max_event = parse_size(a, i + 1 < argc ? argv[++i] : NULL);
    else if (!strcmp(a, "--comments"))
      comments = 1;
    else if (!strcmp(a, "--count"))
      count_only = 1;
    else if (!strcmp(a, "--encode"))
      enc = 1;
    else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
      usage();
    else if (!strcmp(a, "--"))
      while (++i < argc)
        files[nfiles++] = argv[i];
    else if (a[0] == '-' && a[1])
      usage();
    else
      files[nfiles++] = argv[i];
  }
  if (enc && (chunk || comments || count_only || max_line || max_event)) {
    fprintf(stderr, "%s: --encode takes no decoding options\n", prog);
    free(files);
    return 2;
  }
  in.names = nfiles ? files : stdin_name;
  in.count = nfiles ? nfiles : 1;
  rc = enc ? encode(&in) : decode(&in, chunk, comments, count_only, max_line,
                                   max_event);
  free(files);
  return rc;
}
