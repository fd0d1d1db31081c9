#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading the input ---------------------------------------------------- */

uint8_t fuzz_u8(fuzz_reader *r) {
  uint8_t b;
  if (!r->n)
    return 0;
  b = r->p[0];
  r->p++;
  r->n--;
  return b;
}

uint16_t fuzz_u16(fuzz_reader *r) {
  uint16_t lo = fuzz_u8(r);
  return (uint16_t)(lo | (uint16_t)(fuzz_u8(r) << 8));
}

uint64_t fuzz_u64(fuzz_reader *r) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < 8; i++)
    v |= (uint64_t)fuzz_u8(r) << (8 * i);
  return v;
}

const uint8_t *fuzz_bytes(fuzz_reader *r, size_t want, size_t *got) {
  const uint8_t *p = r->p;
  *got = want < r->n ? want : r->n;
  r->p += *got;
  r->n -= *got;
  return p;
}

uint64_t fuzz_rand(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* ---- chunking plans ------------------------------------------------------- */

size_t fuzz_plan(uint8_t plan, const uint8_t *payload, size_t n,
                 size_t *cuts) {
  unsigned mode = plan & 7, param = plan >> 3;
  uint64_t seed = plan * UINT64_C(0x100000001B3) ^ n;
  size_t k = 0, at, i;
  switch (mode) {
  case 0: /* whole */
    break;
  case 1: /* fixed sizes 1..32 */
    k = harness_fixed_cuts(n, 1 + param, cuts);
    break;
  case 2: /* random small sizes */
    for (at = 0;;) {
      at += 1 + fuzz_rand(&seed) % (1 + param);
      if (at >= n)
        break;
      cuts[k++] = at;
    }
    break;
  case 3: /* random large sizes */
    for (at = 0;;) {
      at += 1 + fuzz_rand(&seed) % ((size_t)64 << (param % 10));
      if (at >= n)
        break;
      cuts[k++] = at;
    }
    break;
  case 4: /* around line ends: after each CR and before each LF, ... */
    for (i = 0; i < n; i++) {
      if (payload[i] == '\n' || ((param & 1) && payload[i] == '\r'))
        cuts[k++] = i;
      if (payload[i] == '\r' || ((param & 2) && payload[i] == '\n'))
        cuts[k++] = i + 1;
    }
    /* i + 1 may equal the next cut or n: a repeated cut is an empty feed,
     * a cut at n is an empty last feed; both are allowed. */
    break;
  case 5: /* the BOM and the "data: " classification boundary */
    for (at = 1; at <= 7 && at < n; at++)
      if ((param >> (at % 5)) & 1)
        cuts[k++] = at;
    if (n > 7 && param)
      cuts[k++] = 7 + (size_t)fuzz_rand(&seed) % (n - 7);
    break;
  case 6: /* one two-way split, anywhere */
    if (n)
      cuts[k++] = (size_t)(fuzz_rand(&seed) % (n + 1));
    break;
  default: /* each boundary cut at random, empty feeds included */
    for (at = 0; at <= n; at++) {
      uint64_t x = fuzz_rand(&seed);
      if (x % (2 + param % 6) == 0)
        cuts[k++] = at;
      if ((param & 8) && x % 61 == 0)
        cuts[k++] = at; /* an empty feed */
    }
    break;
  }
  return k;
}

/* ---- the decoder header --------------------------------------------------- */

void fuzz_decoder_setup(fuzz_reader *r, fuzz_setup *s, size_t *cuts) {
  uint8_t flags = fuzz_u8(r), plan = fuzz_u8(r);
  uint8_t line = fuzz_u8(r), event = fuzz_u8(r), idlen = fuzz_u8(r);
  size_t got;
  memset(s, 0, sizeof *s);
  s->run.options = (flags & 1 ? SSE_DECODER_UTF8 : 0u) |
                   (flags & 2 ? SSE_DECODER_SKIP_OVERSIZE : 0u);
  s->run.comments = (flags & 4) != 0;
  s->run.pieces = (flags & 8) != 0;
  s->tight = (flags & 16) != 0;
  if (s->tight) {
    s->run.max_line = 1 + (size_t)line;
    s->run.max_event = 1 + 4 * (size_t)event;
  }
  if (flags & 32) {
    size_t want = idlen % 32;
    if (s->tight && want > s->run.max_line)
      want = s->run.max_line; /* a longer one is refused, not a finding */
    s->run.last_id = (const char *)fuzz_bytes(r, want, &got);
    s->run.last_id_len = got;
  }
  s->run.no_finish = (flags & 64) != 0;
  if (flags & 128)
    s->run.pause_every = 1 + ((plan >> 3) & 3);
  s->run.violations = &s->violations;
  s->payload = r->p;
  s->n = r->n;
  s->run.cuts = cuts;
  s->run.ncuts = fuzz_plan(plan, s->payload, s->n, cuts);
}

/* ---- records of a model ------------------------------------------------- */

void fuzz_log_event(test_log *l, const char *type, size_t type_len,
                    const char *data, size_t data_len, const char *id,
                    size_t id_len) {
  char *norm = malloc(data_len ? data_len : 1);
  size_t i, k = 0;
  if (!norm)
    abort();
  for (i = 0; i < data_len; i++) {
    norm[k++] = data[i] == '\r' ? '\n' : data[i];
    if (data[i] == '\r' && i + 1 < data_len && data[i + 1] == '\n')
      i++;
  }
  test_log_add(l, "event ", 6);
  if (type && type_len)
    harness_log_str(l, type, type_len);
  else
    test_log_add(l, "message", 7);
  test_log_add(l, "|", 1);
  harness_log_str(l, norm, k);
  test_log_add(l, "|", 1);
  harness_log_str(l, id, id_len);
  test_log_add(l, "\n", 1);
  free(norm);
}

void fuzz_log_comments(test_log *l, const char *s, size_t n) {
  size_t start = 0, i;
  if (!s)
    s = "";
  for (i = 0; i <= n; i++) {
    if (i < n && s[i] != '\r' && s[i] != '\n')
      continue;
    test_log_add(l, "comment ", 8);
    harness_log_str(l, s + start, i - start);
    test_log_add(l, "\n", 1);
    if (i < n && s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
      i++;
    start = i + 1;
  }
}

/* ---- reporting ------------------------------------------------------------ */

static const uint8_t *cur_data;
static size_t cur_size;

void fuzz_set_input(const uint8_t *data, size_t size) {
  cur_data = data;
  cur_size = size;
}

static void show(const test_log *l, const char *name, size_t upto) {
  size_t n = l->len < upto ? l->len : upto;
  fprintf(stderr, "---- %s (%zu bytes%s)\n", name, l->len,
          n < l->len ? ", cut" : "");
  fwrite(l->p, 1, n, stderr);
  if (n && l->p[n - 1] != '\n')
    fputc('\n', stderr);
}

void fuzz_fail(const char *what, const test_log *a, const char *a_name,
               const test_log *b, const char *b_name) {
  size_t i, first = 0;
  fprintf(stderr, "\n==== libsse fuzz finding: %s\n", what);
  if (a && b) {
    while (first < a->len && first < b->len && a->p[first] == b->p[first])
      first++;
    fprintf(stderr, "first difference at byte %zu of the records\n", first);
    /* Enough to see the divergence without flooding the log. */
    show(a, a_name, first + 2048);
    show(b, b_name, first + 2048);
  } else if (a) {
    show(a, a_name, 8192);
  }
  fprintf(stderr, "---- input (%zu bytes, hex)\n", cur_size);
  for (i = 0; i < cur_size && i < 65536; i++)
    fprintf(stderr, "%02x%s", cur_data[i], i % 32 == 31 ? "\n" : "");
  fprintf(stderr, "\n");
  abort();
}

void fuzz_expect_same(const char *what, const test_log *a, const char *a_name,
                      const test_log *b, const char *b_name) {
  if (a->len != b->len || (a->len && memcmp(a->p, b->p, a->len)))
    fuzz_fail(what, a, a_name, b, b_name);
}

void fuzz_drop_lines(test_log *l, const char *prefix) {
  size_t in = 0, out = 0, plen = strlen(prefix);
  while (in < l->len) {
    const char *nl = memchr(l->p + in, '\n', l->len - in);
    size_t end = nl ? (size_t)(nl - l->p) + 1 : l->len;
    if (!(end - in >= plen && memcmp(l->p + in, prefix, plen) == 0)) {
      memmove(l->p + out, l->p + in, end - in);
      out += end - in;
    }
    in = end;
  }
  l->len = out;
  if (l->p)
    l->p[out] = 0;
}
