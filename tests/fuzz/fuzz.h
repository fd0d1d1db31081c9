/* Shared pieces of the libsse fuzz targets.
 *
 * Every target defines LLVMFuzzerTestOneInput() and nothing else; the same
 * source links with libFuzzer (-fsanitize=fuzzer), with AFL++ (fuzz_main.c
 * in persistent mode, built by afl-clang-fast) or with the plain replay
 * driver (fuzz_main.c, which runs files and directories of inputs, the
 * committed corpus under CTest). A finding is an abort() after a report on
 * stderr, so every engine records it as a crash.
 *
 * Inputs start with a few header bytes that choose the run (options,
 * limits, chunking plan); the rest is the payload. fuzz_reader hands them
 * out and returns zeros past the end, so every byte string is a valid
 * input. */
#ifndef SSE_FUZZ_H
#define SSE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_reader {
  const uint8_t *p;
  size_t n;
} fuzz_reader;

uint8_t fuzz_u8(fuzz_reader *r);
uint16_t fuzz_u16(fuzz_reader *r);
uint64_t fuzz_u64(fuzz_reader *r);
/* Takes up to want bytes; *got gets how many there were. */
const uint8_t *fuzz_bytes(fuzz_reader *r, size_t want, size_t *got);

/* A small deterministic PRNG (splitmix64). */
uint64_t fuzz_rand(uint64_t *state);

/*
 * Chunking plans. fuzz_plan() turns a plan byte into feed boundaries for n
 * bytes of payload, written into cuts (room for FUZZ_CUTS(n)) and counted in
 * the return value. Plans: whole buffer, fixed sizes 1..64, one byte at a time,
 * random sizes (small or large) seeded from the byte and n, a cut after
 * every CR and LF and before every LF (where CRLF handling is fragile), and
 * cuts at the first bytes (BOM, "data: "), one two-way split, and random
 * boundaries with empty feeds.
 */
#define FUZZ_CUTS(n) (2 * (n) + 8)
size_t fuzz_plan(uint8_t plan, const uint8_t *payload, size_t n,
                 size_t *cuts);

/* The options/limits header shared by the decoder-shaped targets:
 *   byte 0  flags: 1 UTF8, 2 SKIP_OVERSIZE, 4 comments, 8 pieces,
 *           16 tight limits, 32 set an initial last event ID, 64 no finish,
 *           128 callbacks pause (every 1st..4th, from bits 3-4 of byte 1)
 *   byte 1  chunking plan (fuzz_plan)
 *   byte 2  max_line  = 1 + byte (tight limits only)
 *   byte 3  max_event = 1 + 4 * byte (tight limits only)
 *   byte 4  length of the initial last event ID (taken from the payload)
 * Fills s->run (cuts must have room for FUZZ_CUTS(size of the input)) and
 * points s->payload at the rest of the input. s->run.violations points at
 * s->violations, so s must not move while the run is in use. */
typedef struct fuzz_setup {
  harness_run run;
  int tight;
  int violations;
  const uint8_t *payload;
  size_t n;
} fuzz_setup;

void fuzz_decoder_setup(fuzz_reader *r, fuzz_setup *s, size_t *cuts);

/* Reports a finding and aborts: what went wrong, then both records (up to
 * a point past their first difference), then the input as hex. */
void fuzz_fail(const char *what, const test_log *a, const char *a_name,
               const test_log *b, const char *b_name);

/* Checks a == b, else fuzz_fail. */
void fuzz_expect_same(const char *what, const test_log *a, const char *a_name,
                      const test_log *b, const char *b_name);

/* Removes every line that starts with prefix (the records are one line per
 * report, so this is exact). */
void fuzz_drop_lines(test_log *l, const char *prefix);

/* Records as the harness writes them (harness.h), for a model of what a
 * decoder must report:
 *  - fuzz_log_event: "event TYPE|DATA|ID", with the type "message" when
 *    type is NULL or empty, and CR and CRLF in data turned into LF (what an
 *    encoded event's data decodes to); id is the last event ID in force;
 *  - fuzz_log_comments: one "comment LINE" per line of text, split at LF,
 *    CR and CRLF (an empty text is one empty line), as an encoded comment
 *    decodes. */
void fuzz_log_event(test_log *l, const char *type, size_t type_len,
                    const char *data, size_t data_len, const char *id,
                    size_t id_len);
void fuzz_log_comments(test_log *l, const char *text, size_t len);

/* The input being run, for fuzz_fail's hex dump (set by each target). */
void fuzz_set_input(const uint8_t *data, size_t size);

/* Aborts with a message when cond is false. */
#define FUZZ_CHECK(cond, what)                                                 \
  do {                                                                         \
    if (!(cond))                                                               \
      fuzz_fail(what, NULL, NULL, NULL, NULL);                                 \
  } while (0)

#endif
