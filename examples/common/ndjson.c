#include "ndjson.h"

static void string(FILE *out, const char *s, size_t n) {
  size_t i;
  putc('"', out);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\r': fputs("\\r", out); break;
    case '\t': fputs("\\t", out); break;
    default:
      if (c < 0x20 || c == 0x7f)
        fprintf(out, "\\u%04x", c);
      else if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85) {
        fputs("\\u0085", out); /* NEL: a line break to some readers */
        i++;
      } else if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                 ((unsigned char)s[i + 2] & 0xFE) == 0xA8) {
        fprintf(out, "\\u%04x", 0x2000 + ((unsigned char)s[i + 2] - 0x80));
        i += 2; /* U+2028, U+2029: line breaks to JavaScript and Python */
      } else
        putc(c, out);
    }
  }
  putc('"', out);
}

void ndjson_event(FILE *out, const sse_event *ev) {
  fputs("{\"type\":", out);
  string(out, ev->type, ev->type_len);
  fputs(",\"data\":", out);
  string(out, ev->data, ev->data_len);
  fputs(",\"id\":", out);
  string(out, ev->id, ev->id_len);
  fputs("}\n", out);
}

void ndjson_retry(FILE *out, uint64_t ms) {
  fprintf(out, "{\"retry\":%llu}\n", (unsigned long long)ms);
}

void ndjson_comment(FILE *out, const char *text, size_t len) {
  fputs("{\"comment\":", out);
  string(out, text, len);
  fputs("}\n", out);
}
